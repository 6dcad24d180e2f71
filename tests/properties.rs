//! Property tests: the file-name parser, the config parser, the statement splitter and lineage
//! never panic on any input, and well-formed names and configs round-trip.
//!
//! Each property runs 2000 cases by default (a few seconds in CI). To fuzz at scale, set
//! `DURO_FUZZ_CASES`, e.g. `DURO_FUZZ_CASES=100000 cargo test --release --test properties`.

use duro::catalog::naming::{FileRole, classify};
use duro::catalog::table_config::{self, Op};
use duro::ident::TableName;
use duro::lineage::{Resolver, SqlDialect, lexer};
use proptest::prelude::*;
use std::collections::HashSet;

fn identifier() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_$]{0,20}"
}

fn separator_run() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['-', '\u{2014}', '\u{2013}', ' ', '\u{a0}']),
        1..4,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn interval() -> impl Strategy<Value = (u64, char, u64)> {
    (
        1u64..1000,
        prop::sample::select(vec!['m', 'h', 'd', 'w', 'M', 'H', 'D', 'W']),
    )
        .prop_map(|(n, unit)| {
            let factor = match unit.to_ascii_lowercase() {
                'm' => 1,
                'h' => 60,
                'd' => 1440,
                _ => 10080,
            };
            (n, unit, n * factor)
        })
}

/// Cases per property: `DURO_FUZZ_CASES`, default 2000.
fn config() -> ProptestConfig {
    let cases = std::env::var("DURO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        // Shrinking a rare failure out of 100 000 cases must not take forever.
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn classify_never_panics(path in "\\PC{0,60}") {
        let _ = classify(&path);
    }

    #[test]
    fn classify_never_panics_on_sql_like_names(
        folders in prop::collection::vec("[a-zA-Z_. \u{a0}—–-]{0,8}", 0..3),
        stem in "[a-zA-Z0-9_. \u{a0}—–$-]{0,30}",
        ext in prop::sample::select(vec![".sql", "_test.sql", "_select.sql", ".py", ".conf", "_requirements.txt", ".SQL"]),
    ) {
        let mut path = folders.join("/");
        if !path.is_empty() { path.push('/'); }
        path.push_str(&stem);
        path.push_str(ext);
        let _ = classify(&path);
    }

    #[test]
    fn definition_names_round_trip(
        schema in identifier(),
        table in identifier(),
        sep in separator_run(),
        with_interval in any::<bool>(),
        (n, unit, minutes) in interval(),
        layout in 0..3u8,
        upper in any::<bool>(),
    ) {
        prop_assume!(table.len() <= 52);
        let stem = if with_interval { format!("{table}{sep}{n}{unit}") } else { table.clone() };
        let stem = if upper { stem.to_uppercase() } else { stem };
        let path = match layout {
            0 => format!("{schema}/{stem}.sql"),
            1 => format!("{schema}.{stem}.sql"),
            _ => format!("org/team/{schema}.{stem}.sql"),
        };
        // A table called x_test or x_select is written with an interval; skip the other forms.
        prop_assume!(with_interval || !(table.ends_with("_test") || table.ends_with("_select")));
        let role = classify(&path).unwrap();
        let expected = FileRole::Definition {
            table: TableName::new(&schema, &table).unwrap(),
            interval: with_interval.then(|| duro::interval::Interval::from_minutes(minutes).unwrap()),
        };
        prop_assert_eq!(role, expected);
    }

    #[test]
    fn config_parser_never_panics(text in "\\PC{0,200}") {
        let _ = table_config::parse("x.conf", &text);
    }

    #[test]
    fn config_parser_never_panics_on_conf_like_lines(
        lines in prop::collection::vec(
            (
                "(grant_select|distkey|sortkey|sortstyle|diststyle|csv_delimiter|timeout|snapshots_interval|snapshots_stored_for|[a-zA-Z_ ]{0,12}|#|;)",
                "( ?(=|:|\\+=|-=|\\+ =|- :) ?)?",
                "(null|None|[+-]?[a-z0-9_$ ]{0,10}|group [a-z]{0,5}|role [a-z]{0,5}|[0-9]{1,25}[mhdwMHDWy]?|\\t|'|\"|\\$\\$|,|\\PC{0,8}){0,4}",
            ),
            0..12,
        ),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let text: String = lines.iter().map(|(k, op, v)| format!("{k}{op}{v}{eol}")).collect();
        let (file, diagnostics) = table_config::parse("x.conf", &text);
        for d in &diagnostics {
            prop_assert!(d.line.is_none_or(|l| l as usize <= lines.len()), "{:?}", d);
        }
        for e in &file.entries {
            prop_assert!(!e.key.is_empty());
        }
    }

    #[test]
    fn config_lines_round_trip(
        entries in prop::collection::btree_map(
            prop::sample::select(vec!["distkey", "sortkey", "diststyle", "timeout", "snapshots_interval", "grant_select", "csv_delimiter"]),
            any::<u8>(),
            1..7,
        ),
        colon in any::<bool>(),
        spaces in any::<bool>(),
    ) {
        let value_for = |key: &str, seed: u8| -> String {
            match key {
                "distkey" => format!("col{seed}"),
                "sortkey" => format!("a{seed}, b"),
                "diststyle" => ["even", "all", "key", "auto"][seed as usize % 4].to_string(),
                "timeout" | "snapshots_interval" => format!("{}h", seed as u32 + 1),
                "grant_select" => format!("user{seed}, group g{seed}"),
                _ => [";", ",", "|", "\\t"][seed as usize % 4].to_string(),
            }
        };
        let sep = match (colon, spaces) {
            (true, true) => ": ",
            (true, false) => ":",
            (false, true) => " = ",
            (false, false) => "=",
        };
        let mut text = String::from("# generated\n\n");
        let mut expected = Vec::new();
        for (key, seed) in &entries {
            let value = value_for(key, *seed);
            text.push_str(&format!("{key}{sep}{value}\n; comment\n"));
            expected.push((key.to_string(), value.trim().to_string()));
        }
        let (file, diagnostics) = table_config::parse("x.conf", &text);
        prop_assert!(diagnostics.is_empty(), "{:?}", diagnostics);
        let got: Vec<(String, String)> = file
            .entries
            .iter()
            .map(|e| { assert_eq!(e.op, Op::Set); (e.key.clone(), e.value.clone().unwrap()) })
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn splitter_never_panics_and_keeps_code(sql in "\\PC{0,200}") {
        for statement in lexer::split_statements(&sql) {
            prop_assert!(sql.contains(statement.text.as_str()));
            prop_assert!(statement.line >= 1);
        }
    }

    #[test]
    fn splitter_never_panics_on_sql_like_text(sql in "(select|'|\"|--|/\\*|\\*/|\\$\\$|\\$q\\$|;|\n|[a-z]{1,4}| |E'|\\\\|\\(|\\)|\\PC){0,60}") {
        for statement in lexer::split_statements(&sql) {
            prop_assert!(sql.contains(statement.text.as_str()));
            prop_assert!(statement.line >= 1);
            prop_assert!(statement.line as usize <= sql.matches('\n').count() + 1);
        }
    }

    #[test]
    fn lineage_never_panics(sql in "(select|with|from|join|\\(|\\)|;|'|\"|--|/\\*|\\*/|\\$\\$|[a-z]{1,6}|\\.| |,|\n){0,40}") {
        let managed: HashSet<TableName> = [TableName::parse("a.b").unwrap()].into_iter().collect();
        let resolver = Resolver { managed: &managed, default_schema: "public", dialect: SqlDialect::Postgres };
        let _ = resolver.analyze(&TableName::parse("x.y").unwrap(), &sql);
    }
}

/// Random queries of CTEs (plain and recursive), derived tables, subqueries in SELECT and WHERE,
/// joins, set operations and PartiQL navigation, built together with the relations they read
/// by the scoping rules (README, Dependencies): lineage must find exactly those.
mod scoping {
    use super::*;
    use std::collections::BTreeSet;

    /// Table names as folded; `Orders` can only be written quoted.
    const NAMES: &[&str] = &["a", "b", "orders", "Orders", "items"];
    const SCHEMAS: &[&str] = &["raw", "mart", "public"];

    /// Draws choices from a list of numbers, 0 once it runs out: 0 is always the simplest
    /// choice, so every query ends.
    struct Choices {
        values: Vec<u32>,
        at: usize,
        aliases: usize,
    }

    impl Choices {
        fn pick(&mut self, n: usize) -> usize {
            let value = self.values.get(self.at).copied().unwrap_or(0);
            self.at += 1;
            value as usize % n
        }

        fn alias(&mut self) -> String {
            self.aliases += 1;
            format!("t{}", self.aliases)
        }
    }

    /// A folded name written in one of the ways that fold to it.
    fn spell(name: &str, c: &mut Choices) -> String {
        if name.chars().any(|ch| ch.is_uppercase()) {
            return format!("\"{name}\"");
        }
        match c.pick(4) {
            0 => name.to_string(),
            1 => name.to_uppercase(),
            2 => format!("\"{name}\""),
            _ => {
                let mut chars = name.chars();
                let first = chars.next().unwrap().to_uppercase().collect::<String>();
                first + chars.as_str()
            }
        }
    }

    /// A query, and the relations (`schema.name`) it reads given the CTE names visible to it.
    fn query(c: &mut Choices, visible: &[String], depth: usize) -> (String, BTreeSet<String>) {
        let mut reads = BTreeSet::new();
        let mut sql = String::new();
        let mut scope = visible.to_vec();
        if depth < 3 && c.pick(2) == 1 {
            let recursive = c.pick(4) == 1;
            let names: Vec<String> = (0..1 + c.pick(3))
                .map(|_| NAMES[c.pick(NAMES.len())].to_string())
                .collect();
            sql.push_str(if recursive {
                "with recursive "
            } else {
                "with "
            });
            for (i, name) in names.iter().enumerate() {
                let mut inner = visible.to_vec();
                if recursive {
                    inner.extend(names.iter().cloned());
                } else {
                    inner.extend(names[..i].iter().cloned());
                }
                let (body, body_reads) = query(c, &inner, depth + 1);
                reads.extend(body_reads);
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("{} as ({body})", spell(name, c)));
            }
            sql.push(' ');
            scope.extend(names);
        }
        let (first, first_reads) = select(c, &scope, depth);
        sql.push_str(&first);
        reads.extend(first_reads);
        if c.pick(4) == 1 {
            let op = ["union all", "union", "except", "intersect"][c.pick(4)];
            let (second, second_reads) = select(c, &scope, depth);
            sql.push_str(&format!(" {op} {second}"));
            reads.extend(second_reads);
        }
        (sql, reads)
    }

    fn select(c: &mut Choices, visible: &[String], depth: usize) -> (String, BTreeSet<String>) {
        let mut reads = BTreeSet::new();
        let mut columns = "*".to_string();
        if depth < 3 && c.pick(4) == 1 {
            let (sub, sub_reads) = query(c, visible, depth + 1);
            columns = format!("({sub}) as v");
            reads.extend(sub_reads);
        }
        let mut from = String::new();
        let mut bound: Vec<String> = Vec::new();
        for i in 0..1 + c.pick(3) {
            let alias = c.alias();
            let item = match c.pick(if bound.is_empty() { 3 } else { 4 }) {
                1 if depth < 3 => {
                    let (sub, sub_reads) = query(c, visible, depth + 1);
                    reads.extend(sub_reads);
                    format!("({sub}) {alias}")
                }
                3 => {
                    let parent = bound[c.pick(bound.len())].clone();
                    format!("{parent}.items {alias}")
                }
                2 => {
                    let schema = SCHEMAS[c.pick(SCHEMAS.len())];
                    let name = NAMES[c.pick(NAMES.len())];
                    reads.insert(format!("{schema}.{name}"));
                    format!("{}.{} {alias}", spell(schema, c), spell(name, c))
                }
                _ => {
                    let name = NAMES[c.pick(NAMES.len())];
                    if !visible.iter().any(|v| v == name) {
                        reads.insert(format!("public.{name}"));
                    }
                    format!("{} {alias}", spell(name, c))
                }
            };
            bound.push(alias);
            if i == 0 {
                from = item;
            } else if c.pick(2) == 0 {
                from.push_str(&format!(", {item}"));
            } else {
                from.push_str(&format!(" join {item} on true"));
            }
        }
        let mut sql = format!("select {columns} from {from}");
        if depth < 3 && c.pick(3) == 1 {
            let (sub, sub_reads) = query(c, visible, depth + 1);
            reads.extend(sub_reads);
            let test = ["exists", "1 in", "not exists"][c.pick(3)];
            sql.push_str(&format!(" where {test} ({sub})"));
        }
        (sql, reads)
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn lineage_matches_the_scoping_rules(values in prop::collection::vec(any::<u32>(), 0..200)) {
            let mut choices = Choices { values, at: 0, aliases: 0 };
            let (sql, expected) = query(&mut choices, &[], 0);
            let managed: HashSet<TableName> = ["public.a", "mart.orders", "raw.items"]
                .iter()
                .map(|n| TableName::parse(n).unwrap())
                .collect();
            for dialect in [SqlDialect::Postgres, SqlDialect::Redshift] {
                let resolver = Resolver { managed: &managed, default_schema: "public", dialect };
                let lineage = resolver.analyze(&TableName::parse("x.me").unwrap(), &sql);
                prop_assert_eq!(&lineage.parse_error, &None, "{}", sql);
                let mut found: BTreeSet<String> = lineage.sources.clone();
                found.extend(lineage.dependencies.iter().map(|t| t.to_string()));
                prop_assert_eq!(&found, &expected, "{:?}: {}", dialect, sql);
            }
        }
    }
}
