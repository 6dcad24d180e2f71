//! The embedded DuckDB warehouse (`duckdb://path`). DuckDB lets one process open a database
//! file, so every connection of this process to the same file shares one database instance; the
//! file is closed (and free for other processes) once no connection to it is left. DuckDB's API is
//! blocking: statements run on tokio's blocking threads, and can be interrupted from elsewhere.

use super::{Rows, WarehouseError};
use crate::lineage::lexer;
use duckdb::types::{TimeUnit, ValueRef};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// One open database file, shared by the connections of this process.
struct Database {
    root: Mutex<duckdb::Connection>,
}

fn open_databases() -> &'static Mutex<HashMap<PathBuf, Weak<Database>>> {
    static OPEN: std::sync::OnceLock<Mutex<HashMap<PathBuf, Weak<Database>>>> =
        std::sync::OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// One connection to a DuckDB database file.
pub struct DuckConnection {
    conn: Arc<Mutex<duckdb::Connection>>,
    interrupt: Arc<duckdb::InterruptHandle>,
    // Keeps the database open while this connection lives.
    _database: Arc<Database>,
}

/// Describes a DuckDB error; write conflicts between concurrent transactions and a file locked
/// by another process can succeed on a retry.
pub fn describe(error: &duckdb::Error, statement: Option<&str>) -> WarehouseError {
    let text = error.to_string();
    let transient = text.contains("conflict")
        || text.contains("Conflict")
        || text.contains("Could not set lock");
    let mut message = text;
    if let Some(statement) = statement {
        let first = statement.lines().find(|l| !l.trim().is_empty());
        if let Some(first) = first.filter(|_| !message.contains("LINE ")) {
            message.push_str(&format!("\nin the statement: {}", first.trim()));
        }
    }
    WarehouseError {
        message,
        transient,
        connection: false,
        position: None,
    }
}

/// The database file of a `duckdb://path` URL.
pub fn path_of(url: &str) -> Result<PathBuf, WarehouseError> {
    let rest = url
        .strip_prefix("duckdb://")
        .ok_or_else(|| WarehouseError::new("warehouse.url is not a duckdb:// URL"))?;
    if rest.is_empty() {
        return Err(WarehouseError::new(
            "warehouse.url duckdb:// names no file: write e.g. duckdb://.duro/warehouse.duckdb",
        ));
    }
    Ok(PathBuf::from(rest))
}

impl DuckConnection {
    pub async fn open(url: &str) -> Result<DuckConnection, WarehouseError> {
        let path = path_of(url)?;
        tokio::task::spawn_blocking(move || DuckConnection::open_blocking(&path))
            .await
            .map_err(|e| WarehouseError::new(format!("opening DuckDB failed: {e}")))?
    }

    fn open_blocking(path: &Path) -> Result<DuckConnection, WarehouseError> {
        let mut open = open_databases().lock().unwrap_or_else(|p| p.into_inner());
        let database = match open.get(path).and_then(Weak::upgrade) {
            Some(database) => database,
            None => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        WarehouseError::new(format!(
                            "cannot create the folder of the DuckDB warehouse {}: {e}",
                            path.display()
                        ))
                    })?;
                }
                let root = duckdb::Connection::open(path).map_err(|e| {
                    let mut err = describe(&e, None);
                    err.message = format!(
                        "cannot open the DuckDB warehouse {}: {}{}",
                        path.display(),
                        err.message,
                        if err.transient {
                            "\nonly one process can open a DuckDB file: stop the other process using it (another duro create, up or demo, or a DuckDB shell)"
                        } else {
                            ""
                        }
                    );
                    err.connection = true;
                    err
                })?;
                let database = Arc::new(Database {
                    root: Mutex::new(root),
                });
                open.insert(path.to_path_buf(), Arc::downgrade(&database));
                database
            }
        };
        let conn = database
            .root
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_clone()
            .map_err(|e| describe(&e, None))?;
        let interrupt = conn.interrupt_handle();
        Ok(DuckConnection {
            conn: Arc::new(Mutex::new(conn)),
            interrupt,
            _database: database,
        })
    }

    /// Runs `work` with the connection on a blocking thread.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&duckdb::Connection) -> Result<T, WarehouseError> + Send + 'static,
    ) -> Result<T, WarehouseError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            work(&conn)
        })
        .await
        .map_err(|e| WarehouseError::new(format!("a DuckDB statement panicked: {e}")))?
    }

    /// Runs each statement; returns each one's row count.
    pub async fn execute_each(&self, statements: &str) -> Result<Vec<u64>, WarehouseError> {
        let statements = split(statements);
        self.with(move |conn| {
            statements
                .iter()
                .map(|s| {
                    conn.execute(s, [])
                        .map(|n| n as u64)
                        .map_err(|e| describe(&e, Some(s)))
                })
                .collect()
        })
        .await
    }

    /// Like `execute_each`, without quoting the statement in errors.
    pub async fn execute_secret(&self, statement: &str) -> Result<u64, WarehouseError> {
        let statement = statement.to_string();
        self.with(move |conn| {
            conn.execute(&statement, [])
                .map(|n| n as u64)
                .map_err(|e| describe(&e, None))
        })
        .await
    }

    /// Runs each statement and returns its rows as text.
    pub async fn query_each(&self, statements: &str) -> Result<Vec<Rows>, WarehouseError> {
        let statements = split(statements);
        self.with(move |conn| {
            statements
                .iter()
                .map(|s| query_rows(conn, s, text).map(|(_, rows)| rows))
                .collect()
        })
        .await
    }

    /// Runs a query; returns its column names and, per row, whether each value is truthy
    /// (data tests, SPEC §7).
    pub async fn query_truthiness(
        &self,
        statement: &str,
    ) -> Result<Columns<super::truthy::TestValue>, WarehouseError> {
        let statement = statement.to_string();
        self.with(move |conn| query_rows(conn, &statement, test_value))
            .await
    }

    /// Writes a query's result as CSV with a header (SPEC §9 conventions).
    pub async fn copy_to_csv(
        &self,
        select: &str,
        delimiter: char,
        path: &Path,
    ) -> Result<(), WarehouseError> {
        let statement = format!(
            "copy ({}) to {} (format csv, header true, delimiter {}, quote '\"', escape '\"', nullstr '')",
            select.trim().trim_end_matches(';'),
            super::sql::literal(&path.to_string_lossy()),
            super::sql::literal(&delimiter.to_string())
        );
        self.execute_each(&statement).await.map(|_| ())
    }

    /// Loads a CSV file with a header into `columns` of `table`; returns the rows loaded.
    pub async fn copy_from_csv(
        &self,
        table: &crate::ident::TableName,
        columns: &[String],
        delimiter: char,
        path: &Path,
    ) -> Result<u64, WarehouseError> {
        let list: Vec<String> = columns.iter().map(|c| crate::ident::quote(c)).collect();
        let statement = format!(
            "copy {} ({}) from {} (format csv, header true, delimiter {}, quote '\"', escape '\"', allow_quoted_nulls false)",
            table.quoted(),
            list.join(", "),
            super::sql::literal(&path.to_string_lossy()),
            super::sql::literal(&delimiter.to_string())
        );
        Ok(self
            .execute_each(&statement)
            .await?
            .last()
            .copied()
            .unwrap_or(0))
    }

    pub fn interrupter(&self) -> Arc<duckdb::InterruptHandle> {
        self.interrupt.clone()
    }
}

fn split(statements: &str) -> Vec<String> {
    lexer::split_statements(statements)
        .into_iter()
        .map(|s| s.text)
        .filter(|s| !s.trim().is_empty())
        .collect()
}

type Columns<T> = (Vec<String>, Vec<Vec<T>>);

fn query_rows<T>(
    conn: &duckdb::Connection,
    statement: &str,
    convert: impl Fn(ValueRef<'_>) -> T,
) -> Result<Columns<T>, WarehouseError> {
    let mut prepared = conn
        .prepare(statement)
        .map_err(|e| describe(&e, Some(statement)))?;
    let mut rows = prepared
        .query([])
        .map_err(|e| describe(&e, Some(statement)))?;
    let mut out = Vec::new();
    let mut names = Vec::new();
    while let Some(row) = rows.next().map_err(|e| describe(&e, Some(statement)))? {
        if names.is_empty() {
            names = row.as_ref().column_names();
        }
        let width = row.as_ref().column_count();
        out.push(
            (0..width)
                .map(|i| convert(row.get_ref(i).unwrap_or(ValueRef::Null)))
                .collect(),
        );
    }
    drop(rows);
    if names.is_empty() {
        names = prepared.column_names();
    }
    Ok((names, out))
}

/// A value as PostgreSQL would print it in text (NULL as `None`).
fn text(value: ValueRef<'_>) -> Option<String> {
    Some(match value {
        ValueRef::Null => return None,
        ValueRef::Boolean(b) => if b { "t" } else { "f" }.to_string(),
        ValueRef::TinyInt(v) => v.to_string(),
        ValueRef::SmallInt(v) => v.to_string(),
        ValueRef::Int(v) => v.to_string(),
        ValueRef::BigInt(v) => v.to_string(),
        ValueRef::HugeInt(v) => v.to_string(),
        ValueRef::UTinyInt(v) => v.to_string(),
        ValueRef::USmallInt(v) => v.to_string(),
        ValueRef::UInt(v) => v.to_string(),
        ValueRef::UBigInt(v) => v.to_string(),
        ValueRef::Float(v) => v.to_string(),
        ValueRef::Double(v) => v.to_string(),
        ValueRef::Decimal(v) => v.to_string(),
        ValueRef::Text(v) => String::from_utf8_lossy(v).into_owned(),
        ValueRef::Timestamp(unit, v) => {
            let micros = match unit {
                TimeUnit::Second => v.saturating_mul(1_000_000),
                TimeUnit::Millisecond => v.saturating_mul(1_000),
                TimeUnit::Microsecond => v,
                TimeUnit::Nanosecond => v / 1_000,
            };
            jiff::Timestamp::from_microsecond(micros)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S%.f").to_string())
                .unwrap_or_else(|_| micros.to_string())
        }
        ValueRef::Date32(days) => jiff::civil::date(1970, 1, 1)
            .checked_add(jiff::Span::new().days(days as i64))
            .map(|d| d.to_string())
            .unwrap_or_else(|_| days.to_string()),
        other => format!("{:?}", other.to_owned()),
    })
}

/// A value a data test returned: whether it passes (NULL, false, numeric zero and the empty
/// string fail) and its text.
fn test_value(value: ValueRef<'_>) -> super::truthy::TestValue {
    let (truthy, shown) = match value {
        ValueRef::Null => (false, "null".into()),
        ValueRef::Boolean(b) => (b, b.to_string()),
        ValueRef::TinyInt(v) => (v != 0, v.to_string()),
        ValueRef::SmallInt(v) => (v != 0, v.to_string()),
        ValueRef::Int(v) => (v != 0, v.to_string()),
        ValueRef::BigInt(v) => (v != 0, v.to_string()),
        ValueRef::HugeInt(v) => (v != 0, v.to_string()),
        ValueRef::UTinyInt(v) => (v != 0, v.to_string()),
        ValueRef::USmallInt(v) => (v != 0, v.to_string()),
        ValueRef::UInt(v) => (v != 0, v.to_string()),
        ValueRef::UBigInt(v) => (v != 0, v.to_string()),
        ValueRef::Float(v) => (v != 0.0, v.to_string()),
        ValueRef::Double(v) => (v != 0.0, v.to_string()),
        ValueRef::Decimal(v) => (v.value() != 0, v.to_string()),
        ValueRef::Text(v) => (
            !v.is_empty(),
            super::truthy::shorten(&String::from_utf8_lossy(v)),
        ),
        ValueRef::Date32(days) => (
            true,
            jiff::civil::date(1970, 1, 1)
                .checked_add(jiff::Span::new().days(i64::from(days)))
                .map(|d| d.to_string())
                .unwrap_or_else(|_| days.to_string()),
        ),
        ValueRef::Timestamp(unit, t) => (
            true,
            jiff::Timestamp::from_microsecond(unit.to_micros(t))
                .map(|t| t.to_string())
                .unwrap_or_else(|_| t.to_string()),
        ),
        other => (true, format!("({:?})", other.data_type())),
    };
    super::truthy::TestValue { truthy, shown }
}
