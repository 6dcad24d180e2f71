//! Every SQL statement duro sends to a warehouse, built in one place per dialect from validated
//! names (quoted) and validated config values. Nothing here talks to a database.

use crate::catalog::table_config::Grantee;
use crate::ident::{TableName, quote};
use std::collections::BTreeMap;

/// Which SQL to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Redshift,
    /// The embedded DuckDB: no grants, no lock timeout, views bind late (by name).
    DuckDb,
}

/// Redshift physical properties of a table, from its merged config (validated at schedule time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Physical {
    pub diststyle: Option<String>,
    pub distkey: Option<String>,
    pub sortkey: Vec<String>,
    pub sortstyle: Option<String>,
}

impl Physical {
    /// Reads the keys from a merged config map, dropping anything that is not an identifier or
    /// keyword (the scheduler refused those already; this is the last line of defence).
    pub fn from_config(config: &BTreeMap<String, String>) -> Physical {
        let ident = |v: &str| {
            let v = v.trim().to_lowercase();
            crate::ident::is_identifier(&v).then_some(v)
        };
        let keyword = |key: &str, allowed: &[&str]| {
            config
                .get(key)
                .map(|v| v.trim().to_lowercase())
                .filter(|v| allowed.contains(&v.as_str()))
        };
        Physical {
            diststyle: keyword("diststyle", &["even", "all", "key", "auto"]),
            distkey: config.get("distkey").and_then(|v| ident(v)),
            sortkey: config
                .get("sortkey")
                .map(|v| v.split(',').filter_map(ident).collect())
                .unwrap_or_default(),
            sortstyle: keyword("sortstyle", &["compound", "interleaved"]),
        }
    }

    /// ` diststyle key distkey("a") compound sortkey("b", "c")`, or empty.
    pub fn clause(&self, dialect: Dialect) -> String {
        if dialect != Dialect::Redshift {
            return String::new();
        }
        let mut out = String::new();
        if let Some(style) = &self.diststyle {
            out.push_str(&format!(" diststyle {style}"));
        }
        if let Some(key) = &self.distkey {
            out.push_str(&format!(" distkey({})", quote(key)));
        }
        if !self.sortkey.is_empty() {
            let style = self.sortstyle.as_deref().unwrap_or("compound");
            let columns: Vec<String> = self.sortkey.iter().map(|c| quote(c)).collect();
            out.push_str(&format!(" {style} sortkey({})", columns.join(", ")));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self == &Physical::default()
    }
}

/// A SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub fn drop_table_if_exists(table: &TableName) -> String {
    format!("drop table if exists {}", table.quoted())
}

/// `create table temp as (query)`; the query goes on its own lines so a trailing `--` comment in
/// it cannot swallow the closing parenthesis.
pub fn create_table_as(
    dialect: Dialect,
    temp: &TableName,
    query: &str,
    physical: &Physical,
) -> String {
    format!(
        "create table {}{} as (\n{query}\n)",
        temp.quoted(),
        physical.clause(dialect)
    )
}

/// `grant select on t to a, group b`; `None` when there is nobody to grant to.
pub fn grant_select(table: &TableName, grantees: &[Grantee]) -> Option<String> {
    if grantees.is_empty() {
        return None;
    }
    let list: Vec<String> = grantees.iter().map(Grantee::to_string).collect();
    Some(format!(
        "grant select on {} to {}",
        table.quoted(),
        list.join(", ")
    ))
}

/// What kind of relation a name currently is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelKind {
    Table,
    View,
    MaterializedView,
    Other,
}

impl RelKind {
    pub fn from_relkind(kind: &str) -> RelKind {
        match kind {
            "r" | "p" => RelKind::Table,
            "v" => RelKind::View,
            "m" => RelKind::MaterializedView,
            _ => RelKind::Other,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            RelKind::View => "view",
            RelKind::MaterializedView => "materialized view",
            _ => "table",
        }
    }
}

/// `alter table|view … rename to …`. Redshift has no `ALTER VIEW` (PostgreSQL added it in 8.3,
/// after Redshift's fork): a view is renamed with `ALTER TABLE`, as its guide documents.
pub fn rename(dialect: Dialect, table: &TableName, kind: RelKind, new_name: &str) -> String {
    let keyword = match (dialect, kind) {
        (Dialect::Redshift, RelKind::View) => "table",
        _ => kind.keyword(),
    };
    format!(
        "alter {keyword} {} rename to {}",
        table.quoted(),
        quote(new_name)
    )
}

pub fn drop(table: &TableName, kind: RelKind) -> String {
    format!("drop {} {}", kind.keyword(), table.quoted())
}

/// One row if the schema exists.
pub fn schema_exists_query(dialect: Dialect, schema: &str) -> String {
    if dialect == Dialect::DuckDb {
        return format!(
            "select 1 from information_schema.schemata where catalog_name = current_database() and schema_name = {}",
            literal(schema)
        );
    }
    format!(
        "select 1 from pg_catalog.pg_namespace where nspname = {}",
        literal(schema)
    )
}

pub fn create_schema(schema: &str) -> String {
    format!("create schema if not exists {}", quote(schema))
}

/// DuckDB's catalog as PostgreSQL relation kinds: name and `r`, `v` or `o`.
fn duckdb_relations(table: &TableName, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| literal(n)).collect();
    format!(
        "select table_name, case table_type when 'BASE TABLE' then 'r' when 'VIEW' then 'v' else 'o' end
         from information_schema.tables
         where table_catalog = current_database() and table_schema = {} and table_name in ({})",
        literal(&table.schema),
        names.join(", ")
    )
}

/// The relation kind of a name, as one text column (`r`, `v`, `m`, …), no row if absent.
pub fn relkind_query(dialect: Dialect, table: &TableName) -> String {
    if dialect == Dialect::DuckDb {
        return format!(
            "select kind from ({}) as relations(name, kind)",
            duckdb_relations(table, &[&table.table])
        );
    }
    format!(
        "select c.relkind::text from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = {} and c.relname = {}",
        literal(&table.schema),
        literal(&table.table)
    )
}

/// Names and kinds of `table` and `old` (same schema), one row each that exists.
pub fn relkinds_query(dialect: Dialect, table: &TableName, old: &TableName) -> String {
    if dialect == Dialect::DuckDb {
        return duckdb_relations(table, &[&table.table, &old.table]);
    }
    format!(
        "select c.relname::text, c.relkind::text from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = {} and c.relname in ({}, {})",
        literal(&table.schema),
        literal(&table.table),
        literal(&old.table)
    )
}

/// PostgreSQL: for `$1`.`$2` and `$1`.`$3` (the table and its `_duro_old` name): name, kind and
/// whether any view is bound to it. Prepared once per connection. The names are compared as
/// `name`, not cast to text, so that pg_class's (relname, relnamespace) index answers: with a
/// cast, every build scanned the whole catalog (≈ 1 ms per table on a warehouse of 500 tables).
pub const INSPECT_PREPARED: &str = "select c.relname::text, c.relkind::text,
    exists (select 1 from pg_catalog.pg_depend d join pg_catalog.pg_rewrite r on r.oid = d.objid
            where d.classid = 'pg_catalog.pg_rewrite'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
              and d.refobjid = c.oid and r.ev_class <> c.oid)
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1::name and c.relname in ($2::name, $3::name)";

/// Views bound to `table`, read before the swap so they can be re-pointed to the new table:
/// schema, name, relkind, definition and options, one row per view.
///
/// PostgreSQL: run with an empty search_path, so that the definitions name every relation in
/// full.
///
/// Redshift: its `pg_class` has no `reloptions` (and array functions are not supported), and
/// `::regclass` is not documented, so the rule and its view are matched the way AWS's own
/// `v_view_dependency` admin view does: through the rule's internal (`'i'`) dependency on its
/// view. Late-binding views (`with no schema binding`) have no `pg_depend` rows and zero
/// `relnatts`; both exclude them, so they are never re-pointed: they bind by name when queried
/// and read the new table by themselves.
pub fn dependent_views_query(dialect: Dialect, table: &TableName) -> String {
    if dialect == Dialect::Redshift {
        return format!(
            "select distinct vn.nspname::text, v.relname::text, v.relkind::text, pg_catalog.pg_get_viewdef(v.oid), ''
         from pg_catalog.pg_class t
         join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
         join pg_catalog.pg_depend d on d.refobjid = t.oid
         join pg_catalog.pg_depend vd on vd.objid = d.objid and vd.deptype = 'i'
         join pg_catalog.pg_class v on v.oid = vd.refobjid
         join pg_catalog.pg_namespace vn on vn.oid = v.relnamespace
         where tn.nspname = {} and t.relname = {} and v.oid <> t.oid and v.relkind = 'v' and v.relnatts > 0
         order by 1, 2",
            literal(&table.schema),
            literal(&table.table)
        );
    }
    let mut query = String::new();
    if dialect == Dialect::Postgres {
        query.push_str("set local search_path = '';\n");
    }
    query.push_str(&format!(
        "select distinct vn.nspname::text, v.relname::text, v.relkind::text, pg_catalog.pg_get_viewdef(v.oid), coalesce(pg_catalog.array_to_string(v.reloptions, ', '), '')
         from pg_catalog.pg_depend d
         join pg_catalog.pg_rewrite r on r.oid = d.objid
         join pg_catalog.pg_class v on v.oid = r.ev_class
         join pg_catalog.pg_namespace vn on vn.oid = v.relnamespace
         join pg_catalog.pg_class t on t.oid = d.refobjid
         join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
         where d.classid = 'pg_catalog.pg_rewrite'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
           and d.refobjid = t.oid and tn.nspname = {} and t.relname = {} and v.oid <> t.oid
         order by 1, 2",
        literal(&table.schema),
        literal(&table.table)
    ));
    query
}

/// Re-creates a view from its saved definition; bound by name, it then reads the new table.
pub fn create_or_replace_view(schema: &str, name: &str, options: &str, definition: &str) -> String {
    let definition = definition.trim().trim_end_matches(';');
    let with = if options.is_empty() {
        String::new()
    } else {
        format!(" with ({options})")
    };
    format!(
        "create or replace view {}.{}{with} as\n{definition}",
        quote(schema),
        quote(name)
    )
}

/// Column names and types of a table, in order.
pub fn columns_query(dialect: Dialect, table: &TableName) -> String {
    if dialect == Dialect::DuckDb {
        return format!(
            "select column_name, data_type from information_schema.columns
             where table_catalog = current_database() and table_schema = {} and table_name = {}
             order by ordinal_position",
            literal(&table.schema),
            literal(&table.table)
        );
    }
    format!(
        "select a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod) from pg_catalog.pg_attribute a
         join pg_catalog.pg_class c on c.oid = a.attrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = {} and c.relname = {} and a.attnum > 0 and not a.attisdropped order by a.attnum",
        literal(&table.schema),
        literal(&table.table)
    )
}

/// `timestamp '…'` for a UTC instant, microsecond precision.
pub fn timestamp(t: jiff::Timestamp) -> String {
    format!(
        "cast({} as timestamp)",
        literal(&t.strftime("%Y-%m-%d %H:%M:%S%.6f").to_string())
    )
}

/// Creates the history table with a first snapshot.
pub fn create_history(history: &TableName, table: &TableName, at: jiff::Timestamp) -> String {
    format!(
        "create table {} as select *, {} as snapshot_timestamp from {}",
        history.quoted(),
        timestamp(at),
        table.quoted()
    )
}

/// Appends a snapshot, matching columns by name.
pub fn insert_snapshot(
    history: &TableName,
    table: &TableName,
    columns: &[String],
    at: jiff::Timestamp,
) -> String {
    let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    format!(
        "insert into {} ({}, snapshot_timestamp) select {}, {} from {}",
        history.quoted(),
        list.join(", "),
        list.join(", "),
        timestamp(at),
        table.quoted()
    )
}

pub fn add_column(table: &TableName, column: &str, data_type: &str) -> String {
    format!(
        "alter table {} add column {} {data_type}",
        table.quoted(),
        quote(column)
    )
}

pub fn newest_snapshot_query(history: &TableName) -> String {
    format!(
        "select extract(epoch from max(snapshot_timestamp))::float8 from {}",
        history.quoted()
    )
}

pub fn delete_snapshots_before(history: &TableName, cutoff: jiff::Timestamp) -> String {
    format!(
        "delete from {} where snapshot_timestamp < {}",
        history.quoted(),
        timestamp(cutoff)
    )
}

/// How Redshift reads the bucket.
pub enum S3Auth<'a> {
    IamRole(&'a str),
    Keys { id: &'a str, secret: &'a str },
}

/// Redshift `COPY … FROM 's3://…'` of a processor's CSV (header skipped; an empty unquoted field
/// is NULL, `""` the empty string). Holds credentials: never log it.
pub fn copy_from_s3(
    temp: &TableName,
    columns: &[String],
    url: &str,
    auth: &S3Auth,
    region: &str,
    delimiter: char,
) -> String {
    let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let auth = match auth {
        S3Auth::IamRole(role) => format!("iam_role {}", literal(role)),
        S3Auth::Keys { id, secret } => format!(
            "access_key_id {} secret_access_key {}",
            literal(id),
            literal(secret)
        ),
    };
    let region = if region.is_empty() {
        String::new()
    } else {
        format!("\nregion {}", literal(region))
    };
    format!(
        "copy {} ({})\nfrom {}\n{auth}{region}\nformat as csv delimiter {} ignoreheader 1",
        temp.quoted(),
        list.join(", "),
        literal(url),
        literal(&delimiter.to_string())
    )
}

/// Bounds how long a statement waits for a lock (PostgreSQL; Redshift has no `lock_timeout`
/// parameter, and DuckDB does not wait for locks).
pub fn lock_timeout(dialect: Dialect, limit: std::time::Duration) -> Option<String> {
    (dialect == Dialect::Postgres)
        .then(|| format!("set local lock_timeout = '{}ms'", limit.as_millis().max(1)))
}

/// How long a `SET` lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `SET LOCAL`: until the transaction ends (commit or rollback), on PostgreSQL and Redshift
    /// alike; what a pooled connection needs, since its next run has another timeout.
    Transaction,
    /// `SET`: until the session ends; for a connection used once and closed.
    Session,
}

/// The server-side backstop of a run's timeout: `statement_timeout` in whole milliseconds (the
/// unit both PostgreSQL and Redshift take), at least 1 (0 would mean no limit) and at most
/// 2^31 - 1 (the parameter is a 32-bit integer). The server cancels any statement that runs
/// longer, even when the duro that sent it is gone. DuckDB runs in duro's own process: nothing
/// to set.
pub fn statement_timeout(
    dialect: Dialect,
    limit: std::time::Duration,
    scope: Scope,
) -> Option<String> {
    if dialect == Dialect::DuckDb {
        return None;
    }
    let millis = limit.as_millis().clamp(1, i32::MAX as u128);
    let set = match scope {
        Scope::Transaction => "set local",
        Scope::Session => "set",
    };
    Some(format!("{set} statement_timeout = {millis}"))
}

/// Redshift: the session's workload-management query group, so WLM routes duro's queries to its
/// queue and they carry it as `label` in STL_QUERY and SVL_QLOG. It can only be set at run time
/// (`SET`), not in the startup packet. `None` elsewhere. The label was validated with the config
/// (`warehouse.query_group`) and is quoted here all the same.
pub fn query_group(dialect: Dialect, label: &str) -> Option<String> {
    (dialect == Dialect::Redshift).then(|| format!("set query_group to {}", literal(label)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> TableName {
        TableName::parse(name).unwrap()
    }

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Redshift statements, snapshot-tested and parsed back with sqlparser's Redshift dialect.
    #[test]
    fn redshift_statements() {
        let physical = Physical::from_config(&config(&[
            ("diststyle", "key"),
            ("distkey", "City"),
            ("sortkey", "country, city"),
            ("sortstyle", "interleaved"),
        ]));
        let temp = t("second.child_duro_temp");
        let statements = [
            create_table_as(
                Dialect::Redshift,
                &temp,
                "select city, country from first.cities -- trailing comment",
                &physical,
            ),
            create_table_as(
                Dialect::Redshift,
                &t("second.parent_duro_temp"),
                "select * from second.child limit 10",
                &Physical::from_config(&config(&[("diststyle", "even")])),
            ),
            grant_select(
                &temp,
                &[
                    Grantee::User("jane".into()),
                    Grantee::Group("analysts".into()),
                    Grantee::Role("reader".into()),
                ],
            )
            .unwrap(),
            rename(
                Dialect::Redshift,
                &t("second.child"),
                RelKind::Table,
                "child_duro_old",
            ),
            rename(Dialect::Redshift, &temp, RelKind::Table, "child"),
            drop(&t("second.child_duro_old"), RelKind::Table),
            drop_table_if_exists(&temp),
        ];
        insta::assert_snapshot!(statements.join(";\n"), @r#"
        create table "second"."child_duro_temp" diststyle key distkey("city") interleaved sortkey("country", "city") as (
        select city, country from first.cities -- trailing comment
        );
        create table "second"."parent_duro_temp" diststyle even as (
        select * from second.child limit 10
        );
        grant select on "second"."child_duro_temp" to jane, group analysts, role reader;
        alter table "second"."child" rename to "child_duro_old";
        alter table "second"."child_duro_temp" rename to "child";
        drop table "second"."child_duro_old";
        drop table if exists "second"."child_duro_temp"
        "#);
        // Everything but the role grant (which sqlparser does not know) parses as Redshift SQL.
        for statement in statements.iter().filter(|s| !s.contains("role reader")) {
            let without_physical = statement
                .replace(
                    " diststyle key distkey(\"city\") interleaved sortkey(\"country\", \"city\")",
                    "",
                )
                .replace(" diststyle even", "");
            sqlparser::parser::Parser::parse_sql(
                &sqlparser::dialect::RedshiftSqlDialect {},
                &without_physical,
            )
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }

    fn parse_redshift(statement: &str) {
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::RedshiftSqlDialect {}, statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// What a Redshift session and a build transaction set, snapshot-tested and parsed back.
    #[test]
    fn redshift_session_settings() {
        let seven_minutes = std::time::Duration::from_secs(420);
        let statements = [
            query_group(Dialect::Redshift, "duro").unwrap(),
            query_group(Dialect::Redshift, "etl: it's").unwrap(),
            statement_timeout(Dialect::Redshift, seven_minutes, Scope::Transaction).unwrap(),
            statement_timeout(Dialect::Redshift, seven_minutes, Scope::Session).unwrap(),
        ];
        insta::assert_snapshot!(statements.join(";\n"), @r"
        set query_group to 'duro';
        set query_group to 'etl: it''s';
        set local statement_timeout = 420000;
        set statement_timeout = 420000
        ");
        for statement in &statements {
            parse_redshift(statement);
        }
        // Redshift has no lock_timeout; DuckDB sets nothing; PostgreSQL has no query group.
        assert_eq!(lock_timeout(Dialect::Redshift, seven_minutes), None);
        assert_eq!(query_group(Dialect::Postgres, "duro"), None);
        assert_eq!(query_group(Dialect::DuckDb, "duro"), None);
        assert_eq!(
            statement_timeout(Dialect::DuckDb, seven_minutes, Scope::Transaction),
            None
        );
        assert_eq!(
            statement_timeout(Dialect::Postgres, seven_minutes, Scope::Transaction).as_deref(),
            Some("set local statement_timeout = 420000")
        );
    }

    #[test]
    fn statement_timeout_stays_within_the_parameter() {
        let set = |d: std::time::Duration| {
            statement_timeout(Dialect::Postgres, d, Scope::Session).unwrap()
        };
        // Never 0 (no limit), never past a 32-bit integer (4 weeks is 2,419,200,000 ms).
        assert_eq!(set(std::time::Duration::ZERO), "set statement_timeout = 1");
        assert_eq!(
            set(std::time::Duration::from_secs(4 * 7 * 24 * 3600)),
            "set statement_timeout = 2147483647"
        );
        assert_eq!(
            set(std::time::Duration::from_millis(1500)),
            "set statement_timeout = 1500"
        );
    }

    /// Redshift renames views with ALTER TABLE (it has no ALTER VIEW); PostgreSQL keeps ALTER VIEW.
    #[test]
    fn views_are_renamed_with_alter_table_on_redshift() {
        let view = t("second.child");
        let redshift = rename(Dialect::Redshift, &view, RelKind::View, "child_duro_old");
        insta::assert_snapshot!(redshift, @r#"alter table "second"."child" rename to "child_duro_old""#);
        parse_redshift(&redshift);
        assert_eq!(
            rename(Dialect::Postgres, &view, RelKind::View, "child_duro_old"),
            "alter view \"second\".\"child\" rename to \"child_duro_old\""
        );
        assert_eq!(
            drop(&t("second.child_duro_old"), RelKind::View),
            "drop view \"second\".\"child_duro_old\""
        );
    }

    /// The catalog queries of a Redshift build, snapshot-tested and parsed back: no
    /// `reloptions`, no array function, no `::regclass`; late-binding views excluded.
    #[test]
    fn redshift_catalog_queries() {
        let table = t("second.child");
        let dependents = dependent_views_query(Dialect::Redshift, &table);
        insta::assert_snapshot!(dependents, @r"
        select distinct vn.nspname::text, v.relname::text, v.relkind::text, pg_catalog.pg_get_viewdef(v.oid), ''
                 from pg_catalog.pg_class t
                 join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
                 join pg_catalog.pg_depend d on d.refobjid = t.oid
                 join pg_catalog.pg_depend vd on vd.objid = d.objid and vd.deptype = 'i'
                 join pg_catalog.pg_class v on v.oid = vd.refobjid
                 join pg_catalog.pg_namespace vn on vn.oid = v.relnamespace
                 where tn.nspname = 'second' and t.relname = 'child' and v.oid <> t.oid and v.relkind = 'v' and v.relnatts > 0
                 order by 1, 2
        ");
        for absent in ["reloptions", "array_to_string", "regclass", "search_path"] {
            assert!(!dependents.contains(absent), "{absent} in {dependents}");
        }
        let old = t("second.child_duro_old");
        let statements = [
            dependents,
            relkinds_query(Dialect::Redshift, &table, &old),
            relkind_query(Dialect::Redshift, &t("second.child_history")),
            schema_exists_query(Dialect::Redshift, "second"),
            create_schema("second"),
            columns_query(Dialect::Redshift, &table),
            newest_snapshot_query(&t("second.child_history")),
            create_history(
                &t("second.child_history"),
                &table,
                "2026-01-02T03:04:05Z".parse().unwrap(),
            ),
            insert_snapshot(
                &t("second.child_history"),
                &table,
                &["city".into()],
                "2026-01-02T03:04:05Z".parse().unwrap(),
            ),
            add_column(&t("second.child_history"), "city", "character varying(256)"),
            delete_snapshots_before(
                &t("second.child_history"),
                "2026-01-02T03:04:05Z".parse().unwrap(),
            ),
            create_or_replace_view(
                "second",
                "reader",
                "",
                "SELECT child.city FROM second.child;",
            ),
        ];
        for statement in &statements {
            parse_redshift(statement);
        }
        // PostgreSQL keeps its own form: options, regclass, and an empty search_path.
        let postgres = dependent_views_query(Dialect::Postgres, &table);
        assert!(postgres.starts_with("set local search_path = '';\n"));
        assert!(postgres.contains("array_to_string(v.reloptions"));
    }

    #[test]
    fn redshift_copy_from_s3() {
        let temp = t("first.countries_duro_temp");
        let columns = ["city".to_string(), "country".to_string()];
        insta::assert_snapshot!(
            copy_from_s3(&temp, &columns, "s3://bucket/duro/first.countries/42.csv", &S3Auth::IamRole("arn:aws:iam::1:role/duro"), "eu-west-1", ';'),
            @r#"
        copy "first"."countries_duro_temp" ("city", "country")
        from 's3://bucket/duro/first.countries/42.csv'
        iam_role 'arn:aws:iam::1:role/duro'
        region 'eu-west-1'
        format as csv delimiter ';' ignoreheader 1
        "#
        );
        insta::assert_snapshot!(
            copy_from_s3(&temp, &columns, "s3://b/k.csv", &S3Auth::Keys { id: "AKID", secret: "it's" }, "", ','),
            @r#"
        copy "first"."countries_duro_temp" ("city", "country")
        from 's3://b/k.csv'
        access_key_id 'AKID' secret_access_key 'it''s'
        format as csv delimiter ',' ignoreheader 1
        "#
        );
    }

    #[test]
    fn postgres_ignores_physical_properties() {
        let physical = Physical::from_config(&config(&[("distkey", "a"), ("sortkey", "b")]));
        assert_eq!(
            create_table_as(
                Dialect::Postgres,
                &t("s.t_duro_temp"),
                "select 1 as a, 2 as b",
                &physical
            ),
            "create table \"s\".\"t_duro_temp\" as (\nselect 1 as a, 2 as b\n)"
        );
        assert_eq!(grant_select(&t("s.t"), &[]), None);
    }

    #[test]
    fn injection_cannot_pass_through_physical_properties() {
        let physical = Physical::from_config(&config(&[
            ("distkey", "a\"); drop table x; --"),
            ("diststyle", "even; drop table x"),
            ("sortkey", "ok, bad name"),
        ]));
        assert_eq!(physical.distkey, None);
        assert_eq!(physical.diststyle, None);
        assert_eq!(physical.sortkey, ["ok"]);
    }

    #[test]
    fn snapshot_statements() {
        let at = "2026-01-02T03:04:05.123456Z".parse().unwrap();
        assert_eq!(
            insert_snapshot(&t("s.t_history"), &t("s.t"), &["a".into(), "B".into()], at),
            "insert into \"s\".\"t_history\" (\"a\", \"B\", snapshot_timestamp) select \"a\", \"B\", cast('2026-01-02 03:04:05.123456' as timestamp) from \"s\".\"t\""
        );
        assert_eq!(
            create_or_replace_view("s", "v", "security_barrier=true", "SELECT 1;"),
            "create or replace view \"s\".\"v\" with (security_barrier=true) as\nSELECT 1"
        );
    }
}
