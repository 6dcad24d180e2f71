//! A test warehouse of either dialect — a fresh PostgreSQL database or a fresh DuckDB file — with
//! the same helpers, so one scenario runs on both.

use super::pg::TestDb;
use std::path::PathBuf;

pub type Rows = Vec<Vec<Option<String>>>;

pub enum Warehouse {
    Postgres(TestDb),
    DuckDb {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
}

impl Warehouse {
    pub fn postgres(label: &str) -> Warehouse {
        Warehouse::Postgres(TestDb::new(label))
    }

    pub fn duckdb() -> Warehouse {
        let dir = tempfile::tempdir().unwrap();
        Warehouse::DuckDb {
            path: dir.path().join("warehouse.duckdb"),
            _dir: dir,
        }
    }

    pub fn is_duckdb(&self) -> bool {
        matches!(self, Warehouse::DuckDb { .. })
    }

    pub fn url(&self) -> String {
        match self {
            Warehouse::Postgres(db) => db.url.clone(),
            Warehouse::DuckDb { path, .. } => format!("duckdb://{}", path.display()),
        }
    }

    /// Runs SQL (several statements allowed), returning the rows of the last one as text. On
    /// DuckDB the file is opened for this call only: duro must not be running.
    pub fn exec(&self, sql: &str) -> Rows {
        match self {
            Warehouse::Postgres(db) => db.exec(sql),
            Warehouse::DuckDb { path, .. } => {
                duck_exec(path, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }

    pub fn try_exec(&self, sql: &str) -> Result<Rows, String> {
        match self {
            Warehouse::Postgres(db) => super::pg::query(&db.url, sql),
            Warehouse::DuckDb { path, .. } => duck_exec(path, sql),
        }
    }

    pub fn value(&self, sql: &str) -> Option<String> {
        self.exec(sql)
            .first()
            .and_then(|r| r.first().cloned().flatten())
    }

    /// An order-independent checksum of a relation's rows; `None` if it does not exist.
    pub fn checksum(&self, relation: &str) -> Option<String> {
        self.try_exec(&format!(
            "select cast(count(*) as varchar) || ':' || coalesce(md5(string_agg(cast(t as varchar), '|' order by cast(t as varchar))), '') from {relation} t"
        ))
        .ok()
        .and_then(|r| r.first().and_then(|r| r.first().cloned().flatten()))
    }

    /// duro's temporary or old tables left in the warehouse.
    pub fn leftovers(&self) -> Vec<String> {
        self.exec(
            "select table_schema || '.' || table_name from information_schema.tables
             where table_name like '%\\_duro\\_temp' escape '\\' or table_name like '%\\_duro\\_old' escape '\\'
             order by 1",
        )
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
    }

    /// `BASE TABLE`, `VIEW` or `None`.
    pub fn kind(&self, schema: &str, table: &str) -> Option<String> {
        self.value(&format!(
            "select table_type from information_schema.tables where table_schema = '{schema}' and table_name = '{table}'"
        ))
    }
}

fn duck_exec(path: &std::path::Path, sql: &str) -> Result<Rows, String> {
    let conn = duckdb::Connection::open(path).map_err(|e| e.to_string())?;
    let statements = duro::lineage::lexer::split_statements(sql);
    let mut rows = Vec::new();
    for statement in statements {
        let mut prepared = conn.prepare(&statement.text).map_err(|e| e.to_string())?;
        let mut result = prepared.query([]).map_err(|e| e.to_string())?;
        rows.clear();
        while let Some(row) = result.next().map_err(|e| e.to_string())? {
            let width = row.as_ref().column_count();
            rows.push(
                (0..width)
                    .map(|i| {
                        use duckdb::types::ValueRef;
                        match row.get_ref(i).unwrap() {
                            ValueRef::Null => None,
                            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Boolean(b) => Some(b.to_string()),
                            ValueRef::BigInt(v) => Some(v.to_string()),
                            ValueRef::Int(v) => Some(v.to_string()),
                            ValueRef::HugeInt(v) => Some(v.to_string()),
                            ValueRef::Double(v) => Some(v.to_string()),
                            ValueRef::Decimal(v) => Some(v.to_string()),
                            other => Some(format!("{:?}", other.to_owned())),
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}
