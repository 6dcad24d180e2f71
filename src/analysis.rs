//! Scan → catalog → lineage → graph → checks: everything `check`, `graph` and `schedule` know
//! about a views directory, computed once.

use crate::catalog::{self, Catalog, CatalogError, Tree};
use crate::checks;
use crate::config::{Config, WarehouseKind};
use crate::diagnostics::{self, Diagnostic};
use crate::graph::{Graph, Node};
use crate::ident::TableName;
use crate::lineage::{Lineage, ParsedQuery, Resolver};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Parsed queries by [`Resolver::cache_key`]: what an earlier schedule parsed.
pub type ParseCache = HashMap<String, ParsedQuery>;

/// A fully analysed views directory.
#[derive(Debug)]
pub struct Analysis {
    pub catalog: Catalog,
    pub lineages: BTreeMap<TableName, Lineage>,
    pub graph: Graph,
    /// Catalog problems and check results, sorted, errors first.
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        diagnostics::has_errors(&self.diagnostics)
    }
}

/// Settings that change the analysis of identical files; part of the content hash.
pub fn settings_salt(config: &Config) -> String {
    format!(
        "duro {} lineage={} sqlparser={} schema={} cycles={} dialect={:?} warehouse={:?}",
        env!("CARGO_PKG_VERSION"),
        crate::lineage::LINEAGE_VERSION,
        crate::lineage::SQLPARSER_VERSION,
        config.scheduler.default_schema,
        config.scheduler.allow_cycles,
        config.sql_dialect(),
        config.warehouse.kind(),
    )
}

/// Reads and analyses the configured views directory.
pub fn analyze(config: &Config) -> Result<(Tree, Analysis), CatalogError> {
    let tree = catalog::read_tree(&config.views)?;
    let analysis = analyze_tree(&tree, config);
    Ok((tree, analysis))
}

/// Analyses files already read.
pub fn analyze_tree(tree: &Tree, config: &Config) -> Analysis {
    analyze_tree_with(tree, config, &ParseCache::new()).0
}

/// Analyses files already read, taking parsed queries from `cache` where it has them (parsing
/// dominates the analysis of a large directory). Also returns the parsed query of every table,
/// by key: the cache the next schedule wants.
pub fn analyze_tree_with(
    tree: &Tree,
    config: &Config,
    cache: &ParseCache,
) -> (Analysis, ParseCache) {
    let (unchecked, parsed) = prepare_tree_with(tree, config, cache);
    let found = unchecked.checks(config);
    (unchecked.finish(found), parsed)
}

/// An analysis before its checks: the catalog, every query's lineage and the graph the creator
/// will walk (cycles already broken under `allow_cycles`). The checks only read it, so a
/// schedule runs them while it writes its rows.
#[derive(Debug)]
pub struct Unchecked {
    pub catalog: Catalog,
    pub lineages: BTreeMap<TableName, Lineage>,
    pub graph: Graph,
    /// Found so far: the catalog's problems and the notes on broken cycles.
    found: Vec<Diagnostic>,
}

impl Unchecked {
    /// The per-table and graph checks.
    pub fn checks(&self, config: &Config) -> Vec<Diagnostic> {
        let warehouse = config.warehouse.kind().unwrap_or(WarehouseKind::Postgres);
        let mut found = checks::all_table_checks(
            &self.catalog,
            &self.lineages,
            config.sql_dialect(),
            warehouse,
        );
        // Cycles left (none once broken) and roots, judged on the graph the creator will walk.
        found.extend(checks::graph_checks(&self.catalog, &self.graph));
        found
    }

    /// The analysis, with the checks' results.
    pub fn finish(self, checks: Vec<Diagnostic>) -> Analysis {
        let mut found = self.found;
        found.extend(checks);
        diagnostics::sort(&mut found);
        found.dedup();
        Analysis {
            catalog: self.catalog,
            lineages: self.lineages,
            graph: self.graph,
            diagnostics: found,
        }
    }
}

/// Everything of [`analyze_tree_with`] but the checks.
pub fn prepare_tree_with(
    tree: &Tree,
    config: &Config,
    cache: &ParseCache,
) -> (Unchecked, ParseCache) {
    let started = std::time::Instant::now();
    let catalog = catalog::build(tree);
    tracing::debug!(elapsed = ?started.elapsed(), "catalog built");
    let managed: HashSet<TableName> = catalog.tables.keys().cloned().collect();
    let resolver = Resolver {
        managed: &managed,
        default_schema: &config.scheduler.default_schema,
        dialect: config.sql_dialect(),
    };
    let analysed: Vec<(TableName, Lineage, String, ParsedQuery)> = catalog
        .tables
        .par_iter()
        .map(|(name, spec)| {
            let sql = &spec.query().text;
            let key = resolver.cache_key(sql);
            let parsed = match cache.get(&key) {
                Some(hit) => hit.clone(),
                None => resolver.parse_query(sql),
            };
            let lineage = resolver.resolve(name, sql, &parsed);
            (name.clone(), lineage, key, parsed)
        })
        .collect();
    let mut lineages = BTreeMap::new();
    let mut used = ParseCache::with_capacity(analysed.len());
    for (name, lineage, key, parsed) in analysed {
        lineages.insert(name, lineage);
        used.insert(key, parsed);
    }
    tracing::debug!(elapsed = ?started.elapsed(), cached = cache.len(), "lineage parsed");
    let nodes = catalog
        .tables
        .iter()
        .map(|(name, spec)| {
            let lineage = &lineages[name];
            let node = Node {
                interval: spec.interval,
                depends_on: lineage.dependencies.clone(),
                sources: lineage.sources.clone(),
            };
            (name.clone(), node)
        })
        .collect();
    let mut graph = Graph::new(nodes);
    let mut found = catalog.diagnostics.clone();
    if config.scheduler.allow_cycles {
        let broken = graph.break_cycles();
        found.extend(checks::broken_cycle_notes(&catalog, &broken));
    }
    tracing::debug!(elapsed = ?started.elapsed(), "graph built");
    let unchecked = Unchecked {
        catalog,
        lineages,
        graph,
        found,
    };
    (unchecked, used)
}
