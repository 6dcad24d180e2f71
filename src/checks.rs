//! The scheduler's checks (SPEC §11) beyond what the catalog finds while reading: query shape,
//! tests, roots without interval, cycles, distribution/sort key columns and grantees.

use crate::catalog::{Catalog, SourceFile, TableSpec};
use crate::config::WarehouseKind;
use crate::diagnostics::Diagnostic;
use crate::graph::Graph;
use crate::ident::TableName;
use crate::lineage::{self, Lineage, SqlDialect, lexer};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The line a sqlparser message points at ("… at Line: 3, Column: 7").
fn parser_line(message: &str) -> Option<u32> {
    let rest = &message[message.find("Line: ")? + "Line: ".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn at(file: &SourceFile, table: &TableName, message: String, error: bool) -> Diagnostic {
    let d = if error {
        Diagnostic::error(message)
    } else {
        Diagnostic::warning(message)
    };
    d.in_file(&file.path).for_table(table.to_string())
}

/// Checks of one table's own files: its query (or DDL and select) and its tests.
pub fn table_checks(
    spec: &TableSpec,
    lineage: &Lineage,
    dialect: SqlDialect,
    warehouse: WarehouseKind,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let query = spec.query();
    if let Some(error) = &lineage.parse_error {
        let list = |names: Vec<String>| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        let found = list(lineage.dependencies.iter().map(|t| t.to_string()).collect());
        let sources = list(lineage.sources.iter().cloned().collect());
        let mut d = at(
            query,
            &spec.name,
            format!(
                "the query does not parse ({error}); dependencies were found by searching for table names instead: {found}; sources: {sources}"
            ),
            false,
        );
        d.line = parser_line(error);
        out.push(d);
    } else if let Some(found) = &lineage.not_a_query {
        let message = if found == "nothing" {
            "the file holds only comments: write the table's select query".to_string()
        } else {
            format!(
                "expected one select query, found `{found}`: the file must hold a single select (or with … select)"
            )
        };
        out.push(at(query, &spec.name, message, true));
    }
    let mut columns = lineage.output_columns.clone();
    if spec.processor.is_some() {
        match lineage::ddl_columns(&spec.definition.text, dialect) {
            Ok(ddl) => columns = Some(ddl),
            Err(message) => out.push(at(
                &spec.definition,
                &spec.name,
                format!("a processor table's interval file holds its DDL: {message}"),
                true,
            )),
        }
    }
    if let Some(tests) = &spec.tests {
        for statement in lexer::split_statements(&tests.text) {
            let first = lexer::significant(&statement.text)
                .into_iter()
                .find(|t| t.text != "(")
                .map(|t| t.text.to_lowercase())
                .unwrap_or_default();
            let is_select = first == "select" || first == "with";
            let parsed_ok = match lineage::parse(&statement.text, dialect) {
                Ok(s) => matches!(s.as_slice(), [sqlparser::ast::Statement::Query(_)]),
                Err(error) if is_select => {
                    out.push(
                        at(
                            tests,
                            &spec.name,
                            format!("a test does not parse ({error}); it will run as written"),
                            false,
                        )
                        .at_line(statement.line),
                    );
                    true
                }
                // Not a select at all: the error below says so.
                Err(_) => true,
            };
            if !is_select || !parsed_ok {
                out.push(
                    at(
                        tests,
                        &spec.name,
                        format!(
                            "tests may only be select (or with … select) statements, found `{first} …`"
                        ),
                        true,
                    )
                    .at_line(statement.line),
                );
            }
        }
    }
    out.extend(key_checks(spec, columns.as_deref()));
    if warehouse != WarehouseKind::Redshift
        && let Some(grant) = spec.config.values.get("grant_select")
        && spec
            .config
            .grantees()
            .iter()
            .any(|g| matches!(g, crate::catalog::table_config::Grantee::Role(_)))
    {
        out.push(
            Diagnostic::error(
                "`role name` grantees exist only on Redshift: on PostgreSQL and DuckDB write the role's name alone",
            )
            .in_file(&grant.file)
            .at_line(grant.line)
            .for_table(spec.name.to_string()),
        );
    }
    out
}

fn key_checks(spec: &TableSpec, columns: Option<&[String]>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let config = &spec.config;
    let located = |key: &str, message: String, error: bool| {
        let source = &config.values[key];
        let d = if error {
            Diagnostic::error(message)
        } else {
            Diagnostic::warning(message)
        };
        d.in_file(&source.file)
            .at_line(source.line)
            .for_table(spec.name.to_string())
    };
    let what = if spec.processor.is_some() {
        "the create table DDL"
    } else {
        "the query's output"
    };
    if let Some(columns) = columns {
        if let Some(distkey) = config.distkey()
            && !columns.iter().any(|c| c == distkey)
        {
            out.push(located(
                "distkey",
                format!(
                    "distkey {distkey} is not a column of {what} (columns: {})",
                    columns.join(", ")
                ),
                true,
            ));
        }
        for key in config.sortkey() {
            if !columns.contains(&key) {
                out.push(located(
                    "sortkey",
                    format!(
                        "sortkey {key} is not a column of {what} (columns: {})",
                        columns.join(", ")
                    ),
                    true,
                ));
            }
        }
    }
    match (config.get("diststyle"), config.distkey()) {
        (Some("key"), None) => out.push(located(
            "diststyle",
            "diststyle key needs a distkey: add `distkey=<column>`".into(),
            true,
        )),
        (Some(style @ ("all" | "even")), Some(_)) => out.push(located(
            "diststyle",
            format!(
                "Redshift expects diststyle key (or none) with a distkey, not diststyle {style}: remove one of the two before building on Redshift"
            ),
            false,
        )),
        _ => {}
    }
    out
}

/// Checks over the whole graph: roots without interval and cycles.
pub fn graph_checks(catalog: &Catalog, graph: &Graph) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cycle in graph.cycles() {
        let names: Vec<String> = cycle.iter().map(|t| t.to_string()).collect();
        let mut d = Diagnostic::error(format!(
            "dependency cycle between {}: break it, or set `allow_cycles = true` in duro.toml",
            names.join(", ")
        ));
        if let Some(spec) = catalog.tables.get(&cycle[0]) {
            d = d
                .in_file(&spec.query().path)
                .for_table(cycle[0].to_string());
        }
        out.push(d);
    }
    let roots: Vec<&TableName> = graph
        .roots()
        .into_iter()
        .filter(|t| graph.nodes[*t].interval.is_none())
        .collect();
    for root in &roots {
        let mut d = Diagnostic::error(format!(
            "root without an interval: nothing depends on {root}, so it needs its own (name the file like `{} — 24h.sql`)",
            root.table
        ))
        .for_table(root.to_string());
        if let Some(spec) = catalog.tables.get(*root) {
            d = d.in_file(&spec.definition.path);
        }
        out.push(d);
    }
    if !roots.is_empty() {
        let listed: Vec<String> = roots.iter().map(|t| t.to_string()).collect();
        out.push(Diagnostic::error(format!(
            "{} without an interval: {}",
            if roots.len() == 1 { "1 root" } else { "roots" },
            listed.join(", ")
        )));
    }
    out
}

/// Notes about the cycles broken under `allow_cycles`.
pub fn broken_cycle_notes(catalog: &Catalog, broken: &[(TableName, TableName)]) -> Vec<Diagnostic> {
    broken
        .iter()
        .map(|(consumer, dependency)| {
            let mut d = Diagnostic::warning(format!(
                "cycle broken: {consumer} reads {dependency} but does not wait for it (allow_cycles)"
            ))
            .for_table(consumer.to_string());
            if let Some(spec) = catalog.tables.get(consumer) {
                d = d.in_file(&spec.query().path);
            }
            d
        })
        .collect()
}

/// Runs the per-table checks for every table.
pub fn all_table_checks(
    catalog: &Catalog,
    lineages: &BTreeMap<TableName, Lineage>,
    dialect: SqlDialect,
    warehouse: WarehouseKind,
) -> Vec<Diagnostic> {
    // Independent per table (the tests' statements are parsed here): spread over the rayon pool,
    // collected in catalog order.
    catalog
        .tables
        .par_iter()
        .flat_map_iter(|(name, spec)| table_checks(spec, &lineages[name], dialect, warehouse))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_lines() {
        assert_eq!(
            parser_line(
                "sql parser error: Expected: end of statement, found: x at Line: 3, Column: 7"
            ),
            Some(3)
        );
        assert_eq!(parser_line("no line here"), None);
    }
}
