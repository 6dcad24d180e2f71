//! Data tests (SPEC §7) against the new version of a table: every statement must return at least
//! one row and every value of every row must be truthy.

use crate::ident::TableName;
use crate::lineage::lexer;
use crate::warehouse::truthy::Raw;
use crate::warehouse::{Connection, WarehouseError};

/// What the tests found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Failed column names, and `statement at line N returned no rows` for empty results.
    pub failed: Vec<String>,
}

/// Splits the test file and points its real references to `table` at `temp`.
pub fn prepare(
    tests: &str,
    table: &TableName,
    temp: &TableName,
    default_schema: &str,
) -> Vec<lexer::Statement> {
    lexer::split_statements(tests)
        .into_iter()
        .map(|s| lexer::Statement {
            text: lexer::rewrite_table_references(
                &s.text,
                &table.schema,
                &table.table,
                default_schema,
                &temp.quoted(),
            ),
            line: s.line,
        })
        .collect()
}

/// Runs every statement; a SQL error in a test is returned as an error naming its line.
pub async fn run(
    conn: &Connection,
    statements: &[lexer::Statement],
) -> Result<TestReport, WarehouseError> {
    let mut report = TestReport::default();
    for statement in statements {
        let describe = |mut err: WarehouseError| {
            err.message = format!(
                "test statement at line {} failed: {}",
                statement.line, err.message
            );
            err
        };
        let (columns, rows) = values(conn, &statement.text).await.map_err(describe)?;
        if rows.is_empty() {
            report.failed.push(format!(
                "statement at line {} returned no rows",
                statement.line
            ));
            continue;
        }
        for row in &rows {
            for (column, truthy) in columns.iter().zip(row) {
                if !truthy && !report.failed.iter().any(|f| f == column) {
                    report.failed.push(column.clone());
                }
            }
        }
    }
    Ok(report)
}

/// A statement's column names and whether each value of each row is truthy, judged on typed
/// values (binary on PostgreSQL and Redshift).
async fn values(
    conn: &Connection,
    statement: &str,
) -> Result<(Vec<String>, Vec<Vec<bool>>), WarehouseError> {
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
    let truthiness = rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    row.try_get::<_, Raw>(i)
                        .map(|v| v.truthy())
                        .unwrap_or(false)
                })
                .collect()
        })
        .collect();
    Ok((columns, truthiness))
}
