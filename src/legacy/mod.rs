//! Moving from the earlier Python duro (`duro migrate`): its `config.conf` becomes a `duro.toml`,
//! and its SQLite history is imported into duro's state.

pub mod conf;
pub mod history;
