//! Rebuilding one table (SPEC §6.1): temp table, grants, tests, dependent views, swap, all in one
//! transaction with one COMMIT; then snapshots in their own. Any failure rolls back, so the old
//! table stays exactly as it was and no `_duro_temp` table survives.

use super::datatests;
use super::{Job, RunContext};
use crate::ident::TableName;
use crate::state::Step;
use crate::warehouse::sql::{self, Dialect, RelKind};
use crate::warehouse::{Connection, WarehouseError};
use std::time::Duration;

/// How one attempt failed.
#[derive(Debug)]
pub enum BuildError {
    TestsFailed(datatests::TestReport),
    Warehouse(WarehouseError),
}

impl From<WarehouseError> for BuildError {
    fn from(e: WarehouseError) -> BuildError {
        BuildError::Warehouse(e)
    }
}

/// One attempt at the whole transaction, on a pooled connection. Returns the new table's row
/// count.
pub async fn attempt(
    ctx: &RunContext<'_>,
    job: &Job,
    source: Option<&crate::process::LoadSource>,
) -> Result<u64, BuildError> {
    let creator = ctx.creator;
    ctx.begin(Step::Connect);
    let conn = match creator.take_connection() {
        // A connection idle for a while may have been closed by the server: check it first.
        Some((conn, idle)) if idle > Duration::from_secs(30) => {
            match conn.execute("select 1").await {
                Ok(_) => conn,
                Err(_) => Connection::open(&creator.url, &creator.session).await?,
            }
        }
        Some((conn, _)) => conn,
        None => Connection::open(&creator.url, &creator.session).await?,
    };
    ctx.set_canceller(Some(conn.canceller()));
    ctx.step(Step::Connect);
    if !creator.schema_known(&job.name.schema) {
        ensure_schema(&conn, &job.name.schema).await?;
        creator.remember_schema(&job.name.schema);
    }
    let result = transaction(ctx, job, &conn, source).await;
    ctx.set_canceller(None);
    let reusable = match &result {
        Ok(_) => true,
        // Roll back explicitly; if the connection is gone the server rolls back by itself.
        Err(e) => {
            let lost = matches!(e, BuildError::Warehouse(w) if w.connection);
            !lost && conn.execute("rollback").await.is_ok()
        }
    };
    if reusable {
        creator.return_connection(conn);
    }
    result
}

async fn transaction(
    ctx: &RunContext<'_>,
    job: &Job,
    conn: &Connection,
    source: Option<&crate::process::LoadSource>,
) -> Result<u64, BuildError> {
    let name = &job.name;
    let temp = name.with_suffix("_duro_temp");
    let old = name.with_suffix("_duro_old");
    // One round trip: begin, bounded lock waits, the run's timeout as the server's backstop, a
    // leftover temp table dropped, the new table. Both settings are `set local`: they end with
    // the transaction, so the pooled connection's next run starts from its own.
    let mut opening = vec!["begin".to_string()];
    opening.extend(sql::lock_timeout(conn.dialect, ctx.creator.lock_timeout));
    opening.extend(sql::statement_timeout(
        conn.dialect,
        ctx.timeout,
        sql::Scope::Transaction,
    ));
    opening.push(sql::drop_table_if_exists(&temp));
    let (create, what) = match &job.processor {
        // A processor table: its DDL, pointed at the temp table, then the script's rows.
        Some(_) => (
            crate::process::rewrite_ddl(&job.query, &temp, &job.physical.clause(conn.dialect))
                .map_err(|e| WarehouseError::new(format!("the DDL of {name}: {e}")))?,
            "the DDL",
        ),
        None => (
            sql::create_table_as(conn.dialect, &temp, &job.query, &job.physical),
            "the query",
        ),
    };
    opening.push(create);
    let sent = opening.join(";\n");
    ctx.begin(Step::CreateTemp);
    let counts = conn.execute_each(&sent).await.map_err(|mut e| {
        if job.processor.is_none() {
            locate_in_file(ctx, job, &sent, &mut e);
        }
        e.message = format!("{what} of {name} failed: {}", e.message);
        e
    })?;
    let mut rows = counts.last().copied().unwrap_or(0);
    if let (Some(processor), Some(source)) = (&job.processor, source) {
        ctx.step(Step::CreateTemp);
        ctx.begin(Step::Upload);
        rows = match source {
            crate::process::LoadSource::Stdin(csv) => {
                let rows =
                    crate::process::load(conn, &temp, &job.columns, processor.delimiter, csv)
                        .await?;
                ctx.step(Step::Upload);
                rows
            }
            crate::process::LoadSource::S3(url) => {
                let s3 = &ctx.creator.s3;
                let auth = if s3.iam_role.is_empty() {
                    sql::S3Auth::Keys {
                        id: s3.access_key_id.expose(),
                        secret: s3.secret_access_key.expose(),
                    }
                } else {
                    sql::S3Auth::IamRole(s3.iam_role.expose())
                };
                let copy = sql::copy_from_s3(
                    &temp,
                    &job.columns,
                    url,
                    &auth,
                    &s3.region,
                    processor.delimiter,
                );
                conn.execute_secret(&copy).await.map_err(|mut e| {
                    e.message = format!(
                        "COPY of the processor's output into {name} failed: {}",
                        e.message
                    );
                    e
                })?
            }
        };
    }
    // DuckDB has no users to grant to.
    if let Some(grant) =
        sql::grant_select(&temp, &job.grantees).filter(|_| conn.dialect != Dialect::DuckDb)
    {
        conn.execute(&grant).await.map_err(|mut e| {
            e.message = format!("grant select on {name} failed: {}", e.message);
            e
        })?;
    }
    if job.processor.is_none() {
        ctx.step(Step::CreateTemp);
    }

    if let Some(tests) = &job.tests {
        ctx.begin(Step::Tests);
        let statements = datatests::prepare(tests, name, &temp, &ctx.creator.default_schema);
        let report = datatests::run(conn, &statements).await?;
        ctx.step(Step::Tests);
        if !report.failed.is_empty() {
            return Err(BuildError::TestsFailed(report));
        }
    }
    ctx.begin(Step::Replace);

    let (current, leftover, has_views) = inspect(conn, name, &old).await?;
    if matches!(current, Some(RelKind::MaterializedView | RelKind::Other)) {
        return Err(WarehouseError::new(format!(
            "{name} exists but is neither a table nor a view: rename or drop it so duro can manage it"
        ))
        .into());
    }
    let views = if has_views {
        conn.query_text(&sql::dependent_views_query(conn.dialect, name))
            .await?
    } else {
        Vec::new()
    };
    if let Some(view) = views.iter().find(|v| v[2].as_deref() == Some("m")) {
        return Err(WarehouseError::new(format!(
            "materialized view {}.{} depends on {name}; duro cannot re-point materialized views: drop it or make it a plain view",
            view[0].as_deref().unwrap_or_default(),
            view[1].as_deref().unwrap_or_default()
        ))
        .into());
    }
    let mut swap = Vec::new();
    if let Some(kind) = current {
        if let Some(leftover) = leftover {
            swap.push(sql::drop(&old, leftover));
        }
        swap.push(sql::rename(conn.dialect, name, kind, &old.table));
    }
    swap.push(sql::rename(
        conn.dialect,
        &temp,
        RelKind::Table,
        &name.table,
    ));
    let mut closing = Vec::new();
    if let Some(kind) = current {
        closing.push(sql::drop(&old, kind));
    }
    closing.push("commit".to_string());
    if views.is_empty() {
        // Nothing to re-point: swap, drop the old table and commit in one round trip.
        swap.extend(closing);
        conn.execute(&swap.join(";\n")).await?;
    } else {
        conn.execute(&swap.join(";\n")).await?;
        ctx.begin(Step::RepointViews);
        for view in &views {
            let [Some(schema), Some(view_name), _, Some(definition), options] = &view[..] else {
                continue;
            };
            let statement = sql::create_or_replace_view(
                schema,
                view_name,
                options.as_deref().unwrap_or(""),
                definition,
            );
            conn.execute(&statement).await.map_err(|e| {
                WarehouseError::new(format!(
                    "view {schema}.{view_name} cannot be re-pointed to the new {name}: {}\nchange or drop the view (or keep what it uses in the query); the old table was left as it was",
                    e.message
                ))
            })?;
        }
        ctx.step(Step::RepointViews);
        ctx.begin(Step::Replace);
        conn.execute(&closing.join(";\n")).await?;
    }
    ctx.step(Step::Replace);
    Ok(rows)
}

/// Replaces the warehouse's position in the text sent (`at line N of the statement: …`, lines of
/// duro's whole batch) by the query file's `at FILE:LINE:COLUMN: …`, when the position is in the
/// query.
fn locate_in_file(ctx: &RunContext<'_>, job: &Job, sent: &str, error: &mut WarehouseError) {
    use super::position;
    let Some(query_start) = sent.rfind(job.query.as_str()) else {
        return;
    };
    let Some(at) = error
        .position
        .and_then(|p| position::in_query(sent, query_start, &job.query, p))
    else {
        return;
    };
    let text = position::line_text(&job.query, at.line).trim().to_string();
    let file_text = job
        .query_file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(ctx.creator.views.join(f)).ok());
    let lead = file_text
        .as_deref()
        .and_then(|t| position::lead_in_file(t, &job.query));
    let place = match (&job.query_file, lead) {
        (Some(file), Some(lead)) => {
            let at = position::in_file(at, lead);
            format!("at {file}:{}:{}: {text}", at.line, at.column)
        }
        (Some(file), None) => format!(
            "at line {}, column {} of the query as scheduled ({file} has changed since: run `duro schedule`): {text}",
            at.line, at.column
        ),
        (None, _) => format!(
            "at line {}, column {} of the query: {text}",
            at.line, at.column
        ),
    };
    // The warehouse module's own note counts lines of the whole batch: replaced.
    if let Some(note) = error.message.rfind("\nat line ")
        && error.message[note..].contains(" of the statement: ")
    {
        error.message.truncate(note);
    }
    error.message.push('\n');
    error.message.push_str(&place);
}

/// What `name` and its `_duro_old` name are, and whether views are bound to `name`: one round
/// trip, on PostgreSQL with a statement prepared once per connection.
async fn inspect(
    conn: &Connection,
    name: &TableName,
    old: &TableName,
) -> Result<(Option<RelKind>, Option<RelKind>, bool), WarehouseError> {
    let rows = match conn.dialect {
        Dialect::Postgres => match conn.pg() {
            Some(pg) => {
                pg.query_prepared(
                    sql::INSPECT_PREPARED,
                    &[&name.schema, &name.table, &old.table],
                )
                .await?
            }
            None => unreachable!("a PostgreSQL dialect has a PostgreSQL connection"),
        },
        // No correlated subqueries on Redshift: ask for the kinds, and always look for views.
        // DuckDB's views bind by name when queried: they follow the rename by themselves.
        Dialect::Redshift | Dialect::DuckDb => {
            let bound = conn.dialect == Dialect::Redshift;
            let mut rows = conn
                .query_text(&sql::relkinds_query(conn.dialect, name, old))
                .await?;
            for row in &mut rows {
                row.push(Some(bound.to_string()));
            }
            rows
        }
    };
    let find = |wanted: &str| {
        rows.iter()
            .find(|r| r.first().cloned().flatten().as_deref() == Some(wanted))
    };
    let kind = |row: Option<&Vec<Option<String>>>| {
        row.and_then(|r| r.get(1).cloned().flatten())
            .map(|k| RelKind::from_relkind(&k))
    };
    let current = find(&name.table);
    let has_views = current
        .and_then(|r| r.get(2).cloned().flatten())
        .is_some_and(|v| v == "true" || v == "t");
    Ok((kind(current), kind(find(&old.table)), has_views))
}

/// Creates the table's schema when it is missing, on its own (another creator may race us to it).
async fn ensure_schema(conn: &Connection, schema: &str) -> Result<(), WarehouseError> {
    if !conn
        .query_text(&sql::schema_exists_query(conn.dialect, schema))
        .await?
        .is_empty()
    {
        return Ok(());
    }
    match conn.execute(&sql::create_schema(schema)).await {
        Ok(_) => Ok(()),
        // Created by someone else meanwhile: unique violation on pg_namespace.
        Err(e) if e.message.contains("(23505)") || e.message.contains("(42P06)") => Ok(()),
        // A concurrent creation (DuckDB: a write-write conflict): fine once the other commits.
        Err(e) if e.transient => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let exists = conn
                .query_text(&sql::schema_exists_query(conn.dialect, schema))
                .await
                .is_ok_and(|rows| !rows.is_empty());
            if exists { Ok(()) } else { Err(e) }
        }
        Err(e) => Err(WarehouseError::new(format!(
            "schema {schema} does not exist and could not be created: {}",
            e.message
        ))),
    }
}

async fn relkind(conn: &Connection, table: &TableName) -> Result<Option<RelKind>, WarehouseError> {
    let rows = conn
        .query_text(&sql::relkind_query(conn.dialect, table))
        .await?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .map(|k| RelKind::from_relkind(&k)))
}

/// Snapshots (SPEC §8), in their own transaction after the swap.
pub async fn snapshot(
    ctx: &RunContext<'_>,
    job: &Job,
    started: jiff::Timestamp,
) -> Result<bool, WarehouseError> {
    let Some(every) = job.snapshots_interval else {
        return Ok(false);
    };
    let conn = Connection::open(&ctx.creator.url, &ctx.creator.session).await?;
    let history = job.name.with_suffix("_history");
    let mut begin = vec!["begin".to_string()];
    begin.extend(sql::statement_timeout(
        conn.dialect,
        ctx.timeout,
        sql::Scope::Transaction,
    ));
    conn.execute(&begin.join(";\n")).await?;
    let result = async {
        let mut made = false;
        if relkind(&conn, &history).await?.is_none() {
            conn.execute(&sql::create_history(&history, &job.name, started)).await?;
            made = true;
        } else {
            let newest = conn.query_text(&sql::newest_snapshot_query(&history)).await?;
            let newest: Option<f64> = newest
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .and_then(|v| v.parse().ok());
            let due = newest.is_none_or(|n| started.as_second() as f64 - n > every.seconds() as f64);
            if due {
                let current = columns(&conn, &job.name).await?;
                let existing = columns(&conn, &history).await?;
                for (column, data_type) in &current {
                    match existing.iter().find(|(c, _)| c == column) {
                        None => {
                            conn.execute(&sql::add_column(&history, column, data_type)).await?;
                        }
                        Some((_, old_type)) if old_type != data_type => {
                            return Err(WarehouseError::new(format!(
                                "snapshot of {}: column {column} changed type from {old_type} to {data_type}; alter or rename {history} by hand",
                                job.name
                            )));
                        }
                        Some(_) => {}
                    }
                }
                let names: Vec<String> = current.into_iter().map(|(c, _)| c).collect();
                conn.execute(&sql::insert_snapshot(&history, &job.name, &names, started))
                    .await?;
                made = true;
            }
        }
        if let Some(keep) = job.snapshots_stored_for {
            let cutoff = started - jiff::SignedDuration::from_secs(keep.seconds() as i64);
            conn.execute(&sql::delete_snapshots_before(&history, cutoff)).await?;
        }
        conn.execute("commit").await?;
        Ok(made)
    }
    .await;
    if result.is_err() {
        let _ = conn.execute("rollback").await;
    }
    result
}

async fn columns(
    conn: &Connection,
    table: &TableName,
) -> Result<Vec<(String, String)>, WarehouseError> {
    Ok(conn
        .query_text(&sql::columns_query(conn.dialect, table))
        .await?
        .into_iter()
        .filter_map(|r| Some((r.first()?.clone()?, r.get(1)?.clone()?)))
        .collect())
}
