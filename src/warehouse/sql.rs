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

pub fn rename(table: &TableName, kind: RelKind, new_name: &str) -> String {
    format!(
        "alter {} {} rename to {}",
        kind.keyword(),
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

/// Views bound to `table`: schema, name, relkind, definition (schema-qualified when run with an
/// empty search_path) and options.
pub fn dependent_views_query(table: &TableName) -> String {
    format!(
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
    )
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

/// Bounds how long a statement waits for a lock (PostgreSQL; Redshift has no lock timeout).
pub fn lock_timeout(dialect: Dialect, limit: std::time::Duration) -> Option<String> {
    (dialect == Dialect::Postgres)
        .then(|| format!("set local lock_timeout = '{}ms'", limit.as_millis().max(1)))
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
            rename(&t("second.child"), RelKind::Table, "child_duro_old"),
            rename(&temp, RelKind::Table, "child"),
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
