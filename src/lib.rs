//! duro keeps a folder of SQL `select` files materialized as tables in a warehouse, each on its
//! own refresh interval. This crate holds everything behind the `duro` binary.

pub mod analysis;
pub mod catalog;
pub mod checks;
pub mod config;
pub mod create;
pub mod diagnostics;
pub mod gitinfo;
pub mod graph;
pub mod ident;
pub mod interval;
pub mod legacy;
pub mod lineage;
pub mod listing;
pub mod plan;
pub mod process;
pub mod schedule;
pub mod slack;
pub mod state;
pub mod status;
pub mod warehouse;
pub mod web;
