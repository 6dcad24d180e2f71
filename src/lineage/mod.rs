//! SQL → the relations a query reads (SPEC §4), with a real parser: FROM, JOIN, subqueries, CTE
//! bodies and set operations count; CTE names, aliases, comments and strings never do. When a
//! query does not parse, a name search outside comments and strings takes over.

mod dialect;
pub mod lexer;
mod plain_tokens;
mod scope;

pub use dialect::DuroRedshiftDialect;

use crate::ident::TableName;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{Expr, Query, SelectItem, SetExpr, Statement, Visit};
use sqlparser::dialect::{Dialect, PostgreSqlDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use std::collections::{BTreeSet, HashSet};

/// A relation as written in a query, after case folding (unquoted parts are lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Relation {
    pub schema: String,
    pub name: String,
}

impl Relation {
    /// `schema.table` for display: as folded, so quoted mixed-case names keep their case.
    pub fn display(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    fn as_table(&self) -> Option<TableName> {
        TableName::new(&self.schema, &self.name)
            .ok()
            .filter(|t| t.schema == self.schema && t.table == self.name)
    }
}

/// What a query reads and outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// Managed tables this query reads (never itself).
    pub dependencies: BTreeSet<TableName>,
    /// Other relations it reads, as `schema.table`.
    pub sources: BTreeSet<String>,
    /// The query reads its own table (the previous version).
    pub reads_itself: bool,
    /// Output column names, or `None` when unknown (a `*`, or the query did not parse).
    pub output_columns: Option<Vec<String>>,
    /// The parser's message when the query did not parse (then the fallback search was used).
    pub parse_error: Option<String>,
    /// The statement is something else than a single query.
    pub not_a_query: Option<String>,
}

/// What parsing a query yields before its names are judged against the catalog. It depends only
/// on the query's text, the dialect, the default schema and duro's version
/// ([`Resolver::cache_key`]), so the scheduler keeps it between runs and parses only queries it
/// has not seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedQuery {
    /// Every relation read, CTE names left out.
    pub relations: BTreeSet<Relation>,
    pub output_columns: Option<Vec<String>>,
    /// Set when the query did not parse; the name search then runs on the text.
    pub parse_error: Option<String>,
    pub not_a_query: Option<String>,
}

/// The version of what lineage computes from a query's text. Parsed queries are kept between
/// runs under keys that include it ([`Resolver::cache_key`]), and the schedule's content hash
/// includes it too: raise it with every change to what parsing, scoping or the fallback yield,
/// or a state file written before the change serves the old answer.
pub const LINEAGE_VERSION: u32 = 2;

/// The sqlparser release duro is built with (read from Cargo.lock by build.rs): another release
/// may parse the same text differently.
pub const SQLPARSER_VERSION: &str = env!("DURO_SQLPARSER_VERSION");

/// Which warehouse's SQL to expect. Both dialects are tried before the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqlDialect {
    #[default]
    Postgres,
    Redshift,
}

fn dialects(primary: SqlDialect) -> [Box<dyn Dialect>; 2] {
    match primary {
        SqlDialect::Postgres => [
            Box::new(PostgreSqlDialect {}),
            Box::new(DuroRedshiftDialect::default()),
        ],
        SqlDialect::Redshift => [
            Box::new(DuroRedshiftDialect::default()),
            Box::new(PostgreSqlDialect {}),
        ],
    }
}

/// Parses SQL with the primary dialect, then the other; returns the first dialect's error if
/// both fail.
pub fn parse(sql: &str, dialect: SqlDialect) -> Result<Vec<Statement>, String> {
    let mut first_error = None;
    for d in dialects(dialect) {
        match parse_with(d.as_ref(), sql) {
            Ok(statements) => return Ok(statements),
            Err(Unparsed::TooDeep(message)) => return Err(message),
            Err(Unparsed::Syntax(message)) => {
                first_error.get_or_insert(message);
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

enum Unparsed {
    /// Beyond what duro gives the parser: no other dialect is tried.
    TooDeep(String),
    Syntax(String),
}

/// Tokenizes once, checks the nesting on the tokens, and hands the parser only the significant
/// tokens: for the PostgreSQL and Redshift dialects the parser skips whitespace and comments
/// anyway (none of their rules looks at it), so giving them saves it a skip on every look-ahead.
/// Plain SQL is tokenized by [`plain_tokens`], which gives the same tokens faster.
fn parse_with(dialect: &dyn Dialect, sql: &str) -> Result<Vec<Statement>, Unparsed> {
    let syntax = |e: ParserError| Unparsed::Syntax(e.to_string());
    let tokens = match plain_tokens::tokenize(sql) {
        Some(tokens) => tokens,
        None => {
            let mut tokens = Tokenizer::new(dialect, sql)
                .tokenize_with_location()
                .map_err(|e| syntax(e.into()))?;
            tokens.retain(|t| !matches!(t.token, Token::Whitespace(_)));
            tokens
        }
    };
    too_deep(&tokens).map_err(Unparsed::TooDeep)?;
    Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(syntax)
}

/// Deepest parenthesis nesting and most set operations the parser is given; beyond them its
/// recursion (and the syntax tree's) would cost more stack and memory than any real query needs,
/// so such a query gets the name search instead.
const MAX_NESTING: usize = 48;
const MAX_SET_OPERATIONS: usize = 500;

fn too_deep(tokens: &[TokenWithSpan]) -> Result<(), String> {
    let (mut depth, mut deepest, mut set_operations) = (0usize, 0usize, 0usize);
    for token in tokens {
        match &token.token {
            Token::LParen => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(word)
                if matches!(
                    word.keyword,
                    Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT
                ) =>
            {
                set_operations += 1
            }
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return Err(format!(
            "nested {deepest} parentheses deep, more than the {MAX_NESTING} duro parses"
        ));
    }
    if set_operations > MAX_SET_OPERATIONS {
        return Err(format!(
            "{set_operations} set operations (union, intersect, except), more than the {MAX_SET_OPERATIONS} duro parses"
        ));
    }
    Ok(())
}

/// Where PostgreSQL and Redshift find the system catalogs and views: searched before any schema
/// of the search path, so an unqualified `pg_class` or `stl_query` is `pg_catalog`'s.
const SYSTEM_SCHEMA: &str = "pg_catalog";

/// Whether an unqualified name is a system relation's: PostgreSQL's catalogs (`pg_…`), and on
/// Redshift its system tables and views (`stl_`, `stv_`, `svl_`, `svv_`, `svcs_`, `stcs_`,
/// `sys_`).
fn is_system_relation(name: &str, dialect: SqlDialect) -> bool {
    const REDSHIFT: &[&str] = &["stl_", "stv_", "svl_", "svv_", "svcs_", "stcs_", "sys_"];
    name.starts_with("pg_")
        || (dialect == SqlDialect::Redshift && REDSHIFT.iter().any(|p| name.starts_with(p)))
}

/// Context for resolving names: the managed tables and the schema of unqualified names.
pub struct Resolver<'a> {
    pub managed: &'a HashSet<TableName>,
    pub default_schema: &'a str,
    pub dialect: SqlDialect,
}

impl Resolver<'_> {
    /// The relation a name stands for, from its parts as PostgreSQL folds them (unquoted parts
    /// lower-cased, quoted ones kept): the last two, or an unqualified name in the default
    /// schema (or the system catalog's).
    fn relation(&self, folded: Vec<String>) -> Option<Relation> {
        let mut parts = folded.into_iter().rev();
        let name = parts.next()?;
        let schema = match parts.next() {
            Some(schema) => schema,
            None if is_system_relation(&name, self.dialect) => SYSTEM_SCHEMA.to_string(),
            None => self.default_schema.to_string(),
        };
        Some(Relation { schema, name })
    }

    /// Analyses a table's query. `this` is the table the query defines (for self-references).
    pub fn analyze(&self, this: &TableName, sql: &str) -> Lineage {
        self.resolve(this, sql, &self.parse_query(sql))
    }

    /// The key under which [`Resolver::parse_query`]'s result for `sql` may be kept.
    pub fn cache_key(&self, sql: &str) -> String {
        self.cache_key_at(LINEAGE_VERSION, sql)
    }

    /// [`Resolver::cache_key`] as a duro whose lineage is at `version` would compute it.
    pub fn cache_key_at(&self, version: u32, sql: &str) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(
            format!(
                "lineage {version}\0sqlparser {SQLPARSER_VERSION}\0{:?}\0{}\0",
                self.dialect, self.default_schema
            )
            .as_bytes(),
        );
        hasher.update(sql.as_bytes());
        hasher.finalize().to_hex().to_string()
    }

    /// Parses a query: the relations it reads and its output columns.
    pub fn parse_query(&self, sql: &str) -> ParsedQuery {
        let mut parsed = ParsedQuery::default();
        let statements = match parse(sql, self.dialect) {
            Ok(statements) => statements,
            Err(error) => {
                parsed.parse_error = Some(error);
                return parsed;
            }
        };
        match statements.as_slice() {
            [Statement::Query(query)] => {
                parsed.output_columns = output_columns(query);
            }
            [other] => {
                parsed.not_a_query = Some(first_words(&other.to_string()));
            }
            [] => parsed.not_a_query = Some("nothing".into()),
            _ => parsed.not_a_query = Some(format!("{} statements", statements.len())),
        }
        let mut collector = scope::Collector::new(self);
        let _ = statements.visit(&mut collector);
        parsed.relations = collector.relations;
        parsed
    }

    /// Judges a parsed query's relations against the catalog (a query that did not parse gets
    /// the name search over `sql`).
    pub fn resolve(&self, this: &TableName, sql: &str, parsed: &ParsedQuery) -> Lineage {
        let mut lineage = Lineage {
            output_columns: parsed.output_columns.clone(),
            parse_error: parsed.parse_error.clone(),
            not_a_query: parsed.not_a_query.clone(),
            ..Lineage::default()
        };
        if parsed.parse_error.is_some() {
            self.fallback(this, sql, &mut lineage);
            return lineage;
        }
        for relation in &parsed.relations {
            self.classify(this, relation.clone(), &mut lineage);
        }
        lineage
    }

    fn classify(&self, this: &TableName, mut relation: Relation, lineage: &mut Lineage) {
        // An unqualified name like a system relation's that is a managed table of the default
        // schema: the parse cannot know the catalog, so the managed table is found here.
        if relation.schema == SYSTEM_SCHEMA
            && let Ok(table) = TableName::new(self.default_schema, &relation.name)
            && table.table == relation.name
            && (self.managed.contains(&table) || &table == this)
        {
            relation.schema = self.default_schema.to_string();
        }
        match relation.as_table() {
            Some(table) if &table == this => lineage.reads_itself = true,
            Some(table) if self.managed.contains(&table) => {
                lineage.dependencies.insert(table);
            }
            _ => {
                lineage.sources.insert(relation.display());
            }
        }
    }

    /// Searches for managed `schema.table` names outside comments and strings (dependencies),
    /// and for the schema-qualified FROM items of the text (sources).
    fn fallback(&self, this: &TableName, sql: &str, lineage: &mut Lineage) {
        for parts in lexer::dotted_names(sql) {
            if let Some(relation) = self.relation(parts)
                && let Some(table) = relation.as_table()
                && (self.managed.contains(&table) || &table == this)
            {
                self.classify(this, relation, lineage);
            }
        }
        for parts in lexer::from_relations(sql) {
            if let Some(relation) = self.relation(parts) {
                self.classify(this, relation, lineage);
            }
        }
    }
}

fn first_words(statement: &str) -> String {
    statement
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The output column names of a query, `None` when it selects `*` or a name cannot be known.
pub fn output_columns(query: &Query) -> Option<Vec<String>> {
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(inner) => body = inner.body.as_ref(),
            SetExpr::Select(select) => {
                return select
                    .projection
                    .iter()
                    .map(|item| match item {
                        SelectItem::ExprWithAlias { alias, .. } => Some(scope::fold(alias)),
                        SelectItem::UnnamedExpr(expr) => expr_name(expr),
                        SelectItem::Wildcard(_)
                        | SelectItem::QualifiedWildcard(..)
                        | SelectItem::ExprWithAliases { .. } => None,
                    })
                    .collect();
            }
            _ => return None,
        }
    }
}

fn expr_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(scope::fold(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map(scope::fold),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => expr_name(expr),
        Expr::Function(function) => function
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(scope::fold),
        // PostgreSQL names other expressions `?column?`; they cannot be keys.
        _ => Some("?column?".into()),
    }
}

/// The column names of a `create table` DDL, or `None` if it is not one.
pub fn ddl_columns(sql: &str, dialect: SqlDialect) -> Result<Vec<String>, String> {
    let statements = parse(sql, dialect)?;
    match statements.as_slice() {
        [Statement::CreateTable(create)] => Ok(create
            .columns
            .iter()
            .map(|c| scope::fold(&c.name))
            .collect()),
        [other] => Err(format!(
            "expected `create table …`, found `{}`",
            first_words(&other.to_string())
        )),
        _ => Err(format!(
            "expected one `create table` statement, found {}",
            statements.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::RedshiftSqlDialect;

    fn managed() -> HashSet<TableName> {
        [
            "schema.table",
            "first.cities",
            "second.child",
            "public.people",
            "s.t",
        ]
        .iter()
        .map(|n| TableName::parse(n).unwrap())
        .collect()
    }

    fn lineage(sql: &str) -> Lineage {
        let managed = managed();
        let resolver = Resolver {
            managed: &managed,
            default_schema: "public",
            dialect: SqlDialect::Postgres,
        };
        resolver.analyze(&TableName::parse("x.me").unwrap(), sql)
    }

    fn deps(sql: &str) -> Vec<String> {
        let l = lineage(sql);
        assert_eq!(l.parse_error, None, "{sql}");
        l.dependencies.iter().map(|t| t.to_string()).collect()
    }

    /// original-behavior.md §3.1 vectors, now parsed: quoted lower-case parts match.
    #[test]
    fn original_dependency_vectors() {
        for used in [
            "select * from schema.table",
            "select * from \"schema\".table",
            "select * from \"schema\".\"table\"",
            "select * from schema.\"table\"",
            "select * from schema.table -- from schema.table2",
            "select * from SCHEMA.Table",
        ] {
            assert_eq!(deps(used), ["schema.table"], "{used}");
        }
        for unused in [
            "select * from schema.table2",
            "select * from schema2.table",
            "select * from a_schema.table",
            "select * from \"schema2\".\"table\"",
            "select 1 -- from schema.table",
            "select * from schema2.table -- from schema.table",
            "select 'from schema.table' as s",
            "select 1 /* from schema.table */",
            "select * from \"Schema\".\"table\"",
        ] {
            assert!(deps(unused).is_empty(), "{unused}");
        }
    }

    #[test]
    fn every_place_a_relation_can_hide() {
        let sql = "with c as (select * from first.cities), \
                   d as (select * from c join second.child using (city)) \
                   select * from d \
                   where exists (select 1 from s.t) \
                   union all select * from raw.events e left join people p on true \
                   cross join generate_series(1, 3) g \
                   where e.id in (select id from raw.ids)";
        let l = lineage(sql);
        assert_eq!(
            l.dependencies
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["first.cities", "public.people", "s.t", "second.child"]
        );
        assert_eq!(
            l.sources.iter().collect::<Vec<_>>(),
            ["raw.events", "raw.ids"]
        );
    }

    #[test]
    fn cte_names_shadow_only_unqualified_names() {
        let l = lineage("with cities as (select 1) select * from cities, first.cities");
        assert_eq!(l.dependencies.len(), 1);
        assert!(l.sources.is_empty());
    }

    #[test]
    fn self_reference_is_neither_dependency_nor_source() {
        let l = lineage("select * from x.me union select * from first.cities");
        assert!(l.reads_itself);
        assert_eq!(l.dependencies.len(), 1);
        assert!(l.sources.is_empty());
    }

    #[test]
    fn quoted_sources_keep_their_case() {
        let l = lineage("select * from \"Raw\".\"Events\" join Raw.Other using (id)");
        assert_eq!(
            l.sources.iter().collect::<Vec<_>>(),
            ["Raw.Events", "raw.other"]
        );
    }

    #[test]
    fn unparsable_queries_fall_back_to_a_name_search() {
        let l =
            lineage("select * from first.cities where ??? -- second.child\n and 'schema.table'");
        assert!(l.parse_error.is_some());
        assert_eq!(
            l.dependencies
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["first.cities"]
        );
    }

    #[test]
    fn the_fallback_reports_schema_qualified_from_items_as_sources() {
        let l = lineage(
            "select e.id, extract(epoch from e.at), trim(both from x.y) \
             from raw.events e join \"Raw\".\"Other\" o on o.id = e.id, first.cities c, c.tags t \
             left join lateral other.fn_rows r on true \
             where e.kind in (select kind from raw.kinds) -- from raw.commented\n \
             and e.note <> 'from raw.quoted' and ???",
        );
        assert!(l.parse_error.is_some());
        assert_eq!(
            l.sources.iter().collect::<Vec<_>>(),
            ["Raw.Other", "other.fn_rows", "raw.events", "raw.kinds"]
        );
        assert_eq!(
            l.dependencies
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["first.cities"]
        );
        // Names in other places than FROM items are no sources.
        let l = lineage(
            "select a.b, db.s.t from ??? where x.y = 1 and a is distinct from b.c \
             and a is not distinct from d.e",
        );
        assert!(l.sources.is_empty(), "{:?}", l.sources);
        let l = lineage("select * FROM ONLY db.raw.x, raw.y AS yy ??? JOIN raw.z");
        assert_eq!(
            l.sources.iter().collect::<Vec<_>>(),
            ["raw.x", "raw.y", "raw.z"]
        );
    }

    /// A parse result kept under one lineage version is never served to another.
    #[test]
    fn parse_cache_keys_change_with_the_lineage_version() {
        let managed = managed();
        let resolver = Resolver {
            managed: &managed,
            default_schema: "public",
            dialect: SqlDialect::Postgres,
        };
        let sql = "select * from people";
        assert_eq!(
            resolver.cache_key(sql),
            resolver.cache_key_at(LINEAGE_VERSION, sql)
        );
        assert_ne!(
            resolver.cache_key_at(LINEAGE_VERSION, sql),
            resolver.cache_key_at(LINEAGE_VERSION + 1, sql)
        );
        // build.rs found sqlparser in Cargo.lock.
        assert_ne!(SQLPARSER_VERSION, "unknown");
        assert!(SQLPARSER_VERSION.contains('.'), "{SQLPARSER_VERSION}");
    }

    #[test]
    fn unqualified_system_relations_are_pg_catalogs() {
        let mut managed = managed();
        managed.insert(TableName::parse("public.sys_config").unwrap());
        let analyze = |dialect, sql: &str| {
            Resolver {
                managed: &managed,
                default_schema: "public",
                dialect,
            }
            .analyze(&TableName::parse("x.me").unwrap(), sql)
        };
        let sql = "select * from pg_class c join PG_NAMESPACE n on n.oid = c.relnamespace \
                   join stl_query q on true join svv_table_info i on true join sys_config s on true \
                   join public.stv_locks l on true";
        let redshift = analyze(SqlDialect::Redshift, sql);
        assert_eq!(
            redshift.sources.iter().collect::<Vec<_>>(),
            [
                "pg_catalog.pg_class",
                "pg_catalog.pg_namespace",
                "pg_catalog.stl_query",
                "pg_catalog.svv_table_info",
                "public.stv_locks"
            ]
        );
        // A managed table named like a system view is still found.
        assert_eq!(
            redshift
                .dependencies
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["public.sys_config"]
        );
        // PostgreSQL has no Redshift system views: only `pg_…` is the catalog's.
        let postgres = analyze(SqlDialect::Postgres, sql);
        assert_eq!(
            postgres.sources.iter().collect::<Vec<_>>(),
            [
                "pg_catalog.pg_class",
                "pg_catalog.pg_namespace",
                "public.stl_query",
                "public.stv_locks",
                "public.svv_table_info"
            ]
        );
    }

    #[test]
    fn output_columns_for_key_checks() {
        let l = lineage(
            "select city, c.country, count(*), upper(x) as Big, y::text from first.cities c",
        );
        assert_eq!(
            l.output_columns.unwrap(),
            ["city", "country", "count", "big", "y"]
        );
        assert_eq!(
            lineage("select *, a from first.cities").output_columns,
            None
        );
    }

    #[test]
    fn non_queries_are_flagged() {
        assert!(lineage("drop table first.cities").not_a_query.is_some());
        assert!(lineage("select 1; select 2").not_a_query.is_some());
        assert!(lineage("select 1").not_a_query.is_none());
    }

    #[test]
    fn parse_cache_keys_cover_text_dialect_and_default_schema() {
        let managed = managed();
        let resolver = |dialect, default_schema| Resolver {
            managed: &managed,
            default_schema,
            dialect,
        };
        let sql = "select * from people";
        let key = resolver(SqlDialect::Postgres, "public").cache_key(sql);
        assert_eq!(key, resolver(SqlDialect::Postgres, "public").cache_key(sql));
        assert_ne!(key, resolver(SqlDialect::Redshift, "public").cache_key(sql));
        assert_ne!(key, resolver(SqlDialect::Postgres, "other").cache_key(sql));
        assert_ne!(
            key,
            resolver(SqlDialect::Postgres, "public").cache_key("select * from people ")
        );
    }

    /// `parse` hands the parser only the significant tokens; the trees must be exactly those
    /// of parsing the text, for both dialects.
    #[test]
    fn parsing_without_trivia_gives_the_same_trees() {
        let queries = [
            "select 1",
            "-- leading comment\nselect a /* inline */ from s.t -- trailing",
            "select 'a' 'b' as glued, 'x'\n'y' as newline_glued from t",
            "select date '2020-01-01', interval '1 day', timestamp with time zone '2020-01-01 00:00'",
            "select x::numeric(10, 2), cast(y as text), z::int[] from t",
            "with a as (select * from s.t), b as (select * from a join s.u using (id)) select * from b",
            "select * from t where id in (select id from u union all select id from v) order by 1 limit 5",
            "select count(*) filter (where x > 1) over (partition by y order by z) from t",
            "select case when a then 'x' else 'y' end, coalesce(b, 0), b is not distinct from c from t",
            "select \"Mixed\".\"Case\", e'\\n', $$dollar$$, u&'\\0041' from \"Raw\".\"Events\"",
            "select a - -1, b->>'k', c @> '{}'::jsonb, d ~* 'x' from t",
            "select * from s.t a left join lateral (select 1) b on true cross join generate_series(1, 3) g",
            "select listagg(x, ',') within group (order by x) from t",
            "select 1; select 2",
            "drop table s.t",
        ];
        for sql in queries {
            for (ours, theirs) in [
                (SqlDialect::Postgres, &PostgreSqlDialect {} as &dyn Dialect),
                (SqlDialect::Redshift, &RedshiftSqlDialect {} as &dyn Dialect),
            ] {
                let expected = Parser::parse_sql(theirs, sql).map_err(|e| e.to_string());
                let got = parse_with(theirs, sql).map_err(|e| match e {
                    Unparsed::TooDeep(m) | Unparsed::Syntax(m) => m,
                });
                assert_eq!(got, expected, "{ours:?}: {sql}");
            }
        }
    }

    #[test]
    fn ddl_columns_of_processor_tables() {
        assert_eq!(
            ddl_columns(
                "create table first.countries(\ncity text,\nCountry text\n)",
                SqlDialect::Postgres
            )
            .unwrap(),
            ["city", "country"]
        );
        assert!(ddl_columns("select 1", SqlDialect::Postgres).is_err());
    }
}
