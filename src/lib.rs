//! duro keeps a folder of SQL `select` files materialized as tables in a warehouse, each on its
//! own refresh interval. This crate holds everything behind the `duro` binary.

pub mod catalog;
pub mod diagnostics;
pub mod ident;
pub mod interval;
pub mod lineage;
