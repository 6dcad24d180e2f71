//! Python processors (SPEC §9): the table's select streamed to CSV, the script run in the
//! table's own virtual environment with the run's timeout, its output checked against the DDL's
//! columns; the creator then loads it inside the one-transaction protocol.

pub mod s3;
pub mod venv;

use crate::create::RunContext;
use crate::ident::TableName;
use crate::state::Step;
use crate::warehouse::sql::{self, Dialect, literal};
use crate::warehouse::{Connection, WarehouseError};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The processor parts of a table's scheduled definition.
#[derive(Debug, Clone)]
pub struct ProcessorJob {
    pub select: String,
    pub script: String,
    pub requirements: Option<String>,
    pub delimiter: char,
}

/// Where the creator loads a processor's output from.
#[derive(Debug, Clone)]
pub enum LoadSource {
    /// PostgreSQL: `COPY … FROM STDIN` of this file.
    Stdin(PathBuf),
    /// Redshift: `COPY … FROM` this `s3://` URL.
    S3(String),
}

/// A run's files: the selected rows, the script and its output. Removed when dropped.
pub struct WorkDir {
    pub path: PathBuf,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl WorkDir {
    pub fn output(&self) -> PathBuf {
        self.path.join("out.csv")
    }
}

/// How a script run ended.
struct ScriptResult {
    status: std::process::ExitStatus,
    /// The end of what it printed (stdout, then stderr).
    printed: Vec<u8>,
}

/// Kills a script's whole process group (children it forked included) when dropped: at the
/// script's exit, and when the run is cancelled or times out.
struct ProcessGroup(i32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a negative pid signals the group we created for the script.
        unsafe {
            libc::kill(-self.0, libc::SIGKILL);
        }
    }
}

/// Bytes of output kept per stream: enough for the run record's tail, bounded whatever the
/// script prints.
const KEPT_OUTPUT: usize = 64 * 1024;

async fn read_tail(stream: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let Some(mut stream) = stream else {
        return Vec::new();
    };
    let mut kept = std::collections::VecDeque::with_capacity(KEPT_OUTPUT);
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        kept.extend(&buffer[..n]);
        let excess = kept.len().saturating_sub(KEPT_OUTPUT);
        kept.drain(..excess);
    }
    kept.into()
}

/// Runs `python script in out` in its own process group; returns once the script exits (its
/// forked children are killed then, and do not hold the run).
async fn run_script(
    python: &Path,
    script: &Path,
    input: &Path,
    output: &Path,
    dir: &Path,
) -> std::io::Result<ScriptResult> {
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .arg(input)
        .arg(output)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let group = child.id().map(|pid| ProcessGroup(pid as i32));
    let stdout = tokio::spawn(read_tail(child.stdout.take()));
    let stderr = tokio::spawn(read_tail(child.stderr.take()));
    let status = child.wait().await?;
    // Children left behind would keep the pipes open: end them with the script.
    drop(group);
    let grace = std::time::Duration::from_secs(2);
    let mut printed = tokio::time::timeout(grace, stdout)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    printed.extend(
        tokio::time::timeout(grace, stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
    );
    Ok(ScriptResult { status, printed })
}

/// What the script printed, its last 4,000 characters, for the run record.
pub fn tail(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let start = chars.len().saturating_sub(4000);
    chars[start..].iter().collect::<String>().trim().to_string()
}

fn fail(message: impl Into<String>) -> WarehouseError {
    WarehouseError::new(message)
}

/// `COPY (select) TO STDOUT` in CSV with a header, the table's delimiter, NULL as an empty
/// unquoted field and the empty string as `""`.
pub fn copy_out_statement(select: &str, delimiter: char) -> String {
    format!(
        "copy (\n{select}\n) to stdout with (format csv, header true, delimiter {})",
        literal(&delimiter.to_string())
    )
}

/// `COPY temp FROM STDIN`, the header skipped.
pub fn copy_in_statement(temp: &TableName, columns: &[String], delimiter: char) -> String {
    let list: Vec<String> = columns.iter().map(|c| crate::ident::quote(c)).collect();
    format!(
        "copy {} ({}) from stdin with (format csv, header true, delimiter {})",
        temp.quoted(),
        list.join(", "),
        literal(&delimiter.to_string())
    )
}

/// Selects the rows, runs the script, and checks its output. Returns the work directory holding
/// `out.csv`, and the script's output tail.
pub async fn prepare(
    ctx: &RunContext<'_>,
    name: &TableName,
    job: &ProcessorJob,
    columns: &[String],
) -> Result<(WorkDir, String), WarehouseError> {
    let creator = ctx.creator;
    let seed = format!(
        "{name}-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    );
    let work = WorkDir {
        path: creator.work_dir.join("work").join(format!(
            "{name}-{}",
            &blake3::hash(seed.as_bytes()).to_hex()[..12]
        )),
    };
    tokio::fs::create_dir_all(&work.path)
        .await
        .map_err(|e| fail(format!("cannot create {}: {e}", work.path.display())))?;

    let python = venv::ensure(
        &creator.work_dir.join("venvs"),
        name,
        job.requirements.as_deref(),
    )
    .await
    .map_err(fail)?;

    let input = work.path.join("in.csv");
    ctx.begin(Step::Select);
    select_to_csv(ctx, &job.select, job.delimiter, &input).await?;
    ctx.step(Step::Select);
    ctx.begin(Step::Process);

    let script = work.path.join(format!("{}.py", name.table));
    tokio::fs::write(&script, &job.script)
        .await
        .map_err(|e| fail(format!("cannot write the processor script: {e}")))?;
    let output = work.output();
    let result = run_script(&python, &script, &input, &output, &work.path)
        .await
        .map_err(|e| fail(format!("cannot run {}: {e}", python.display())))?;
    let printed = tail(&String::from_utf8_lossy(&result.printed));
    if !result.status.success() {
        return Err(fail(format!(
            "the processor of {name} failed ({}); its output ends with:\n{printed}",
            result.status
        )));
    }
    ctx.step(Step::Process);
    check_header(&output, job.delimiter, columns)
        .map_err(|m| fail(format!("the processor of {name} {m}")))?;
    Ok((work, printed))
}

async fn select_to_csv(
    ctx: &RunContext<'_>,
    select: &str,
    delimiter: char,
    path: &Path,
) -> Result<(), WarehouseError> {
    let conn = Connection::open(&ctx.creator.url, &ctx.creator.session).await?;
    // This connection serves the select only and is closed after it: a session-wide backstop.
    if let Some(statement) = sql::statement_timeout(conn.dialect, ctx.timeout, sql::Scope::Session)
    {
        conn.execute(&statement).await?;
    }
    #[cfg(feature = "duckdb")]
    if let Some(duck) = conn.duck() {
        return duck
            .copy_to_csv(select, delimiter, path)
            .await
            .map_err(|mut err| {
                err.message = format!("the processor's select failed: {}", err.message);
                err
            });
    }
    let Some(pg) = conn.pg() else {
        unreachable!("every connection is PostgreSQL, Redshift or DuckDB");
    };
    if conn.dialect == Dialect::Redshift {
        return select_rows_to_csv(&conn, pg, select, delimiter, path).await;
    }
    let statement = copy_out_statement(select, delimiter);
    let stream = pg.client.copy_out(statement.as_str()).await.map_err(|e| {
        let mut err = WarehouseError::from_pg(&e, Some(&statement));
        err.message = format!("the processor's select failed: {}", err.message);
        err
    })?;
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| WarehouseError::from_pg(&e, Some(&statement)))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
    }
    file.flush().await.map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Redshift has no `COPY TO STDOUT`: the rows are read as text and written with the same CSV
/// conventions. The header comes from the prepared statement, so zero rows still give one.
async fn select_rows_to_csv(
    conn: &Connection,
    pg: &crate::warehouse::PgConnection,
    select: &str,
    delimiter: char,
    path: &Path,
) -> Result<(), WarehouseError> {
    let describe = |e: tokio_postgres::Error| {
        let mut err = WarehouseError::from_pg(&e, Some(select));
        err.message = format!("the processor's select failed: {}", err.message);
        err
    };
    let statement = pg.client.prepare(select).await.map_err(describe)?;
    let header: Vec<Option<String>> = statement
        .columns()
        .iter()
        .map(|c| Some(c.name().to_string()))
        .collect();
    let rows = conn.query_text(select).await?;
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let fields: Vec<String> = row
            .iter()
            .map(|v| csv_field(v.as_deref(), delimiter))
            .collect();
        out.push_str(&fields.join(&delimiter.to_string()));
        out.push('\n');
    }
    tokio::fs::write(path, out)
        .await
        .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}

/// One CSV field: NULL as nothing, the empty string as `""`, quoted when it holds the
/// delimiter, a quote or a line break (quotes doubled).
pub fn csv_field(value: Option<&str>, delimiter: char) -> String {
    match value {
        None => String::new(),
        Some("") => "\"\"".into(),
        Some(v) if v.contains([delimiter, '"', '\n', '\r']) => {
            format!("\"{}\"", v.replace('"', "\"\""))
        }
        Some(v) => v.to_string(),
    }
}

/// The output's header must name the DDL's columns, in order.
pub fn check_header(path: &Path, delimiter: char, columns: &[String]) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|_| "wrote no output file".to_string())?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .has_headers(false)
        .from_reader(file);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err("wrote an empty file: a header row is expected".into()),
        Err(e) => return Err(format!("wrote a file that is not CSV: {e}")),
    }
    let header: Vec<String> = record.iter().map(|h| h.trim().to_lowercase()).collect();
    if header != columns {
        return Err(format!(
            "wrote the columns {} but the table's DDL has {} (separated by {delimiter:?})",
            header.join(", "),
            columns.join(", ")
        ));
    }
    Ok(())
}

/// Streams `out.csv` into the temp table with `COPY … FROM STDIN` (DuckDB: its own CSV reader);
/// returns the rows loaded.
pub async fn load(
    conn: &Connection,
    temp: &TableName,
    columns: &[String],
    delimiter: char,
    path: &Path,
) -> Result<u64, WarehouseError> {
    #[cfg(feature = "duckdb")]
    if let Some(duck) = conn.duck() {
        return duck
            .copy_from_csv(temp, columns, delimiter, path)
            .await
            .map_err(|mut err| {
                err.message = format!("loading the processor's output failed: {}", err.message);
                err
            });
    }
    let Some(pg) = conn.pg() else {
        unreachable!("every connection is PostgreSQL, Redshift or DuckDB");
    };
    let statement = copy_in_statement(temp, columns, delimiter);
    let sink = pg
        .client
        .copy_in::<_, bytes::Bytes>(statement.as_str())
        .await
        .map_err(|e| WarehouseError::from_pg(&e, Some(&statement)))?;
    futures_util::pin_mut!(sink);
    let data = tokio::fs::read(path)
        .await
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    use futures_util::SinkExt;
    for chunk in data.chunks(1 << 20) {
        sink.send(bytes::Bytes::copy_from_slice(chunk))
            .await
            .map_err(|e| copy_error(&e, &statement))?;
    }
    sink.as_mut()
        .finish()
        .await
        .map_err(|e| copy_error(&e, &statement))
}

fn copy_error(e: &tokio_postgres::Error, statement: &str) -> WarehouseError {
    let mut err = WarehouseError::from_pg(e, Some(statement));
    err.message = format!("loading the processor's output failed: {}", err.message);
    err
}

/// Points a `create table` DDL at `temp`, keeping everything else as written; appends Redshift
/// physical properties the DDL does not set.
pub fn rewrite_ddl(ddl: &str, temp: &TableName, physical: &str) -> Result<String, String> {
    use crate::lineage::lexer::{Kind, significant};
    let tokens = significant(ddl);
    let word = |i: usize, w: &str| {
        tokens
            .get(i)
            .is_some_and(|t| t.kind == Kind::Word && t.text.eq_ignore_ascii_case(w))
    };
    if !word(0, "create") {
        return Err("the DDL does not start with create table".into());
    }
    let mut i = 1;
    while ["temporary", "temp", "local", "global", "unlogged"]
        .iter()
        .any(|w| word(i, w))
    {
        i += 1;
    }
    if !word(i, "table") {
        return Err("the DDL is not a create table".into());
    }
    i += 1;
    if word(i, "if") && word(i + 1, "not") && word(i + 2, "exists") {
        i += 3;
    }
    let start = i;
    if tokens.get(i).and_then(|t| t.identifier()).is_none() {
        return Err("the DDL names no table".into());
    }
    while tokens.get(i + 1).is_some_and(|t| t.text == ".")
        && tokens.get(i + 2).and_then(|t| t.identifier()).is_some()
    {
        i += 2;
    }
    let (from, to) = (tokens[start].start, tokens[i].start + tokens[i].text.len());
    let mut out = format!("{}{}{}", &ddl[..from], temp.quoted(), &ddl[to..]);
    let sets_physical = tokens.iter().any(|t| {
        t.kind == Kind::Word
            && ["diststyle", "distkey", "sortkey"].contains(&t.text.to_lowercase().as_str())
    });
    if !sets_physical && !physical.is_empty() {
        out = format!(
            "{}\n{}",
            out.trim_end().trim_end_matches(';'),
            physical.trim()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_is_pointed_at_the_temp_table_without_touching_the_rest() {
        let temp = TableName::parse("first.countries_duro_temp").unwrap();
        assert_eq!(
            rewrite_ddl("CREATE TABLE First.Countries(\nCity text default 'First.Countries',\ncountry text\n)", &temp, "").unwrap(),
            "CREATE TABLE \"first\".\"countries_duro_temp\"(\nCity text default 'First.Countries',\ncountry text\n)"
        );
        assert_eq!(
            rewrite_ddl(
                "create table if not exists \"first\".\"countries\" (a int)",
                &temp,
                "diststyle even"
            )
            .unwrap(),
            "create table if not exists \"first\".\"countries_duro_temp\" (a int)\ndiststyle even"
        );
        assert_eq!(
            rewrite_ddl(
                "create table first.countries (a int) diststyle all",
                &temp,
                "diststyle even"
            )
            .unwrap(),
            "create table \"first\".\"countries_duro_temp\" (a int) diststyle all"
        );
        assert!(rewrite_ddl("select 1", &temp, "").is_err());
    }

    #[test]
    fn csv_fields() {
        assert_eq!(csv_field(None, ';'), "");
        assert_eq!(csv_field(Some(""), ';'), "\"\"");
        assert_eq!(csv_field(Some("a;b"), ';'), "\"a;b\"");
        assert_eq!(csv_field(Some("a,b"), ';'), "a,b");
        assert_eq!(csv_field(Some("say \"hi\""), ','), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(Some("l1\nl2"), ';'), "\"l1\nl2\"");
        assert_eq!(csv_field(Some("héllo"), ';'), "héllo");
    }

    #[test]
    fn copy_statements() {
        let temp = TableName::parse("s.t_duro_temp").unwrap();
        assert_eq!(
            copy_in_statement(&temp, &["a".into(), "b".into()], ';'),
            "copy \"s\".\"t_duro_temp\" (\"a\", \"b\") from stdin with (format csv, header true, delimiter ';')"
        );
        assert_eq!(
            copy_out_statement("select 1", '\''),
            "copy (\nselect 1\n) to stdout with (format csv, header true, delimiter '''')"
        );
    }

    #[test]
    fn headers_are_checked() {
        let dir = std::env::temp_dir().join(format!("duro-header-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("out.csv");
        std::fs::write(&file, "City;\"country\"\nParis;France\n").unwrap();
        assert!(check_header(&file, ';', &["city".into(), "country".into()]).is_ok());
        let err = check_header(&file, ';', &["city".into(), "continent".into()]).unwrap_err();
        assert!(
            err.contains("city, country") && err.contains("city, continent"),
            "{err}"
        );
        std::fs::write(&file, "").unwrap();
        assert!(check_header(&file, ';', &["city".into()]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
