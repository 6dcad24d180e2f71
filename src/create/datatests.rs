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
        let rows = conn
            .client
            .query_typed(statement.text.as_str(), &[])
            .await
            .map_err(|e| {
                let mut err = WarehouseError::from_pg(&e, Some(&statement.text));
                err.message = format!(
                    "test statement at line {} failed: {}",
                    statement.line, err.message
                );
                err
            })?;
        if rows.is_empty() {
            report.failed.push(format!(
                "statement at line {} returned no rows",
                statement.line
            ));
            continue;
        }
        for row in &rows {
            for (i, column) in row.columns().iter().enumerate() {
                let truthy = row
                    .try_get::<_, Raw>(i)
                    .map(|v| v.truthy())
                    .unwrap_or(false);
                if !truthy && !report.failed.iter().any(|f| f == column.name()) {
                    report.failed.push(column.name().to_string());
                }
            }
        }
    }
    Ok(report)
}
