//! Data tests (SPEC §7) against the new version of a table: every statement must return at least
//! one row and every value of every row must be truthy.

use crate::ident::TableName;
use crate::lineage::lexer;
use crate::state::TestFailure;
use crate::warehouse::truthy::{Raw, TestValue};
use crate::warehouse::{Connection, WarehouseError};

/// What the tests found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Failed column names, and `statement at line N returned no rows` for empty results.
    pub failed: Vec<String>,
    /// Each failed statement: its SQL as written, what failed and the rows that failed.
    pub failures: Vec<TestFailure>,
}

/// Failing rows kept per statement, to show what a test returned without storing a table.
const ROWS_KEPT: usize = 5;

/// One test statement: as written in the file, and as sent (pointed at the temp table).
pub struct Prepared {
    pub written: String,
    pub sent: String,
    pub line: u32,
}

/// Splits the test file and points its real references to `table` at `temp`.
pub fn prepare(
    tests: &str,
    table: &TableName,
    temp: &TableName,
    default_schema: &str,
) -> Vec<Prepared> {
    lexer::split_statements(tests)
        .into_iter()
        .map(|s| Prepared {
            sent: lexer::rewrite_table_references(
                &s.text,
                &table.schema,
                &table.table,
                default_schema,
                &temp.quoted(),
            ),
            written: s.text.trim().to_string(),
            line: s.line,
        })
        .collect()
}

/// Runs every statement; a SQL error in a test is returned as an error naming its line.
pub async fn run(conn: &Connection, statements: &[Prepared]) -> Result<TestReport, WarehouseError> {
    let mut report = TestReport::default();
    for statement in statements {
        let describe = |mut err: WarehouseError| {
            err.message = format!(
                "test statement at line {} failed: {}",
                statement.line, err.message
            );
            err
        };
        let (columns, rows) = values(conn, &statement.sent).await.map_err(describe)?;
        if let Some(failure) = judge(statement, columns, rows) {
            for name in &failure.failed {
                let name = if failure.returned_rows == 0 {
                    format!("statement at line {} returned no rows", statement.line)
                } else {
                    name.clone()
                };
                if !report.failed.contains(&name) {
                    report.failed.push(name);
                }
            }
            report.failures.push(failure);
        }
    }
    Ok(report)
}

/// What one statement's result says: `None` when every value of at least one row is truthy.
fn judge(
    statement: &Prepared,
    columns: Vec<String>,
    rows: Vec<Vec<TestValue>>,
) -> Option<TestFailure> {
    let failure = |failed: Vec<String>, kept: Vec<Vec<String>>, failing_rows: usize| TestFailure {
        line: statement.line,
        sql: statement.written.clone(),
        failed,
        columns: columns.clone(),
        rows: kept,
        returned_rows: rows.len(),
        failing_rows,
    };
    if rows.is_empty() {
        return Some(failure(vec!["no rows".into()], Vec::new(), 0));
    }
    let mut failed: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    let mut failing_rows = 0;
    for row in &rows {
        if row.iter().all(|v| v.truthy) {
            continue;
        }
        failing_rows += 1;
        for (column, value) in columns.iter().zip(row) {
            if !value.truthy && !failed.contains(column) {
                failed.push(column.clone());
            }
        }
        if kept.len() < ROWS_KEPT {
            kept.push(row.iter().map(|v| v.shown.clone()).collect());
        }
    }
    (failing_rows > 0).then(|| failure(failed, kept, failing_rows))
}

/// A statement's column names and each value of each row, judged on typed values (binary on
/// PostgreSQL and Redshift).
async fn values(
    conn: &Connection,
    statement: &str,
) -> Result<(Vec<String>, Vec<Vec<TestValue>>), WarehouseError> {
    #[cfg(feature = "duckdb")]
    if let Some(duck) = conn.duck() {
        return duck.query_truthiness(statement).await;
    }
    let Some(pg) = conn.pg() else {
        unreachable!("every connection is PostgreSQL, Redshift or DuckDB");
    };
    let rows = pg
        .client
        .query_typed(statement, &[])
        .await
        .map_err(|e| WarehouseError::from_pg(&e, Some(statement)))?;
    let columns = rows
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    let values = rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    row.try_get::<_, Raw>(i)
                        .map(Raw::into_value)
                        .unwrap_or_else(|_| TestValue::null())
                })
                .collect()
        })
        .collect();
    Ok((columns, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(shown: &str, truthy: bool) -> TestValue {
        TestValue {
            truthy,
            shown: shown.into(),
        }
    }

    fn statement() -> Prepared {
        Prepared {
            written: "select count(*) > 0 as has_rows, min(id) from t".into(),
            sent: String::new(),
            line: 3,
        }
    }

    #[test]
    fn a_row_of_truthy_values_passes() {
        let columns = vec!["has_rows".to_string(), "min".to_string()];
        let rows = vec![vec![value("true", true), value("1", true)]];
        assert_eq!(judge(&statement(), columns, rows), None);
    }

    #[test]
    fn failing_rows_are_kept_with_their_values() {
        let columns = vec!["a".to_string(), "b".to_string()];
        let rows: Vec<Vec<TestValue>> = (0..8)
            .map(|i| vec![value(&i.to_string(), i != 0 && i != 5), value("x", i != 5)])
            .collect();
        let failure = judge(&statement(), columns, rows).unwrap();
        assert_eq!(failure.failed, ["a", "b"]);
        assert_eq!(failure.returned_rows, 8);
        assert_eq!(failure.failing_rows, 2);
        assert_eq!(failure.rows, [["0", "x"], ["5", "x"]]);
        assert_eq!(failure.line, 3);
        assert!(failure.sql.starts_with("select count(*)"));
    }

    #[test]
    fn no_rows_is_a_failure() {
        let failure = judge(&statement(), vec!["a".into()], Vec::new()).unwrap();
        assert_eq!(failure.failed, ["no rows"]);
        assert_eq!(failure.returned_rows, 0);
    }

    #[test]
    fn at_most_five_failing_rows_are_kept() {
        let rows = (0..20).map(|_| vec![value("0", false)]).collect();
        let failure = judge(&statement(), vec!["a".into()], rows).unwrap();
        assert_eq!(failure.rows.len(), ROWS_KEPT);
        assert_eq!(failure.failing_rows, 20);
    }
}
