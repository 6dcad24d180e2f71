//! The views directory → a catalog of table definitions (SPEC §2–§3), with every problem found
//! reported as a diagnostic rather than a crash.

pub mod naming;
pub mod table_config;

use crate::diagnostics::Diagnostic;
use crate::ident::TableName;
use crate::interval::Interval;
use naming::{ConfigTarget, FileRole};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use table_config::{ConfFile, EffectiveConfig};

/// A file of the views directory as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFile {
    /// Path relative to the views directory, `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The files duro cares about, read once. Hashing them decides whether anything changed.
#[derive(Debug, Default)]
pub struct Tree {
    pub files: Vec<RawFile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A text file of a table, normalised (SQL: trimmed, trailing `;` removed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// The extra files of a Python processor table (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Processor {
    pub select: SourceFile,
    pub script: SourceFile,
    pub requirements: Option<SourceFile>,
}

/// Everything the views directory says about one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub name: TableName,
    pub interval: Option<Interval>,
    /// The query, or for a processor table its `create table` DDL.
    pub definition: SourceFile,
    pub processor: Option<Processor>,
    pub tests: Option<SourceFile>,
    pub config: EffectiveConfig,
}

impl TableSpec {
    /// The select whose relations are the table's dependencies.
    pub fn query(&self) -> &SourceFile {
        match &self.processor {
            Some(processor) => &processor.select,
            None => &self.definition,
        }
    }
}

/// All tables of a views directory, plus what was wrong with it.
#[derive(Debug, Default)]
pub struct Catalog {
    pub tables: BTreeMap<TableName, TableSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Why the views directory could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(
        "views directory {0} does not exist: create it or set `views` in duro.toml (or DURO_VIEWS)"
    )]
    Missing(PathBuf),
    #[error("views path {0} is not a directory")]
    NotADirectory(PathBuf),
}

fn is_relevant(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".sql", ".py", ".conf", "_requirements.txt"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Reads every relevant file under `root`, skipping hidden files and folders.
pub fn read_tree(root: &Path) -> Result<Tree, CatalogError> {
    if !root.exists() {
        return Err(CatalogError::Missing(root.to_path_buf()));
    }
    if !root.is_dir() {
        return Err(CatalogError::NotADirectory(root.to_path_buf()));
    }
    // The walk lists the files in order and hands them, 64 at a time, to the rayon pool to be
    // read (an open, a read and a close each, the bulk of this function's time) while it goes
    // on. The batches are put back in walk order, so files and diagnostics come out exactly as
    // a sequential read gives them.
    enum Found {
        Problem(Diagnostic),
        File { path: String, full: PathBuf },
    }
    fn read_one(item: Found) -> Result<RawFile, Diagnostic> {
        match item {
            Found::Problem(diagnostic) => Err(diagnostic),
            Found::File { path, full } => match std::fs::read(&full) {
                Ok(bytes) => Ok(RawFile { path, bytes }),
                Err(err) => Err(Diagnostic::error(format!("cannot read: {err}")).in_file(path)),
            },
        }
    }
    /// A batch's number in walk order, and what reading its files gave.
    type ReadBatch = (usize, Vec<Result<RawFile, Diagnostic>>);
    const BATCH: usize = 64;
    let batches: Mutex<Vec<ReadBatch>> = Mutex::default();
    rayon::scope(|scope| {
        let mut batch = Vec::with_capacity(BATCH);
        let mut batch_number = 0;
        let mut send = |batch: Vec<Found>| {
            let (number, batches) = (batch_number, &batches);
            batch_number += 1;
            scope.spawn(move |_| {
                let read = batch.into_iter().map(read_one).collect();
                batches
                    .lock()
                    .expect("no reader panics")
                    .push((number, read));
            });
        };
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let path = err
                        .path()
                        .map(|p| relative(root, p))
                        .unwrap_or_else(|| ".".into());
                    let message = if err.loop_ancestor().is_some() {
                        "symbolic link loop: this folder links back to one of its parents; remove the link".to_string()
                    } else {
                        format!("cannot read: {err}")
                    };
                    batch.push(Found::Problem(Diagnostic::error(message).in_file(path)));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let path = relative(root, entry.path());
            if !is_relevant(&path) {
                continue;
            }
            batch.push(Found::File {
                path,
                full: entry.into_path(),
            });
            if batch.len() == BATCH {
                send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
            }
        }
        if !batch.is_empty() {
            send(batch);
        }
    });
    let mut batches = batches.into_inner().expect("no reader panics");
    batches.sort_unstable_by_key(|(number, _)| *number);
    let read = batches.into_iter().flat_map(|(_, read)| read);
    let mut tree = Tree::default();
    for item in read {
        match item {
            Ok(file) => tree.files.push(file),
            Err(diagnostic) => tree.diagnostics.push(diagnostic),
        }
    }
    Ok(tree)
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

impl Tree {
    /// A hash of every relevant file's path and bytes, plus `salt` (settings that change results).
    pub fn content_hash(&self, salt: &str) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(salt.as_bytes());
        for file in &self.files {
            hasher.update(&(file.path.len() as u64).to_le_bytes());
            hasher.update(file.path.as_bytes());
            hasher.update(&(file.bytes.len() as u64).to_le_bytes());
            hasher.update(&file.bytes);
        }
        hasher.finalize().to_hex().to_string()
    }
}

/// Decodes a file as UTF-8 (without BOM).
fn decode(file: &RawFile) -> Result<&str, Diagnostic> {
    let bytes = file
        .bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&file.bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(format!(
            "not valid UTF-8 (byte {}): save the file as UTF-8",
            e.valid_up_to()
        ))
        .in_file(&file.path)
    })
}

/// Normalises SQL text: surrounding whitespace and trailing `;` removed.
pub fn normalise_sql(text: &str) -> String {
    let mut text = text.trim();
    while let Some(rest) = text.strip_suffix(';') {
        text = rest.trim_end();
    }
    text.to_string()
}

#[derive(Default)]
struct Collected {
    definitions: BTreeMap<TableName, Vec<(SourceFile, Option<Interval>)>>,
    tests: BTreeMap<TableName, Vec<SourceFile>>,
    selects: Vec<(TableName, Option<TableName>, SourceFile)>,
    scripts: BTreeMap<TableName, Vec<SourceFile>>,
    requirements: BTreeMap<TableName, Vec<SourceFile>>,
    configs: BTreeMap<ConfigTarget, Vec<ConfFile>>,
}

/// Builds the catalog from the files read.
pub fn build(tree: &Tree) -> Catalog {
    let mut diagnostics = tree.diagnostics.clone();
    let mut c = Collected::default();
    // Naming, decoding and normalising each file is independent: done on the rayon pool, then
    // sorted into the maps in file order, as a sequential pass would.
    let prepared: Vec<Result<Prepared, Diagnostic>> = tree
        .files
        .par_iter()
        .with_min_len(64)
        .map(prepare)
        .collect();
    for item in prepared {
        match item {
            Err(problem) | Ok(Prepared::Ignored(problem)) => diagnostics.push(problem),
            Ok(Prepared::Definition {
                table,
                interval,
                sql,
            }) => c
                .definitions
                .entry(table)
                .or_default()
                .push((sql, interval)),
            Ok(Prepared::Test { table, sql }) => c.tests.entry(table).or_default().push(sql),
            Ok(Prepared::Select {
                table,
                as_definition,
                sql,
            }) => c.selects.push((table, as_definition, sql)),
            Ok(Prepared::Script { table, raw }) => c.scripts.entry(table).or_default().push(raw),
            Ok(Prepared::Requirements { table, raw }) => {
                c.requirements.entry(table).or_default().push(raw)
            }
            Ok(Prepared::Config {
                target,
                conf,
                problems,
            }) => {
                diagnostics.extend(problems);
                c.configs.entry(target).or_default().push(conf);
            }
            Ok(Prepared::Other) => {}
        }
    }
    let tables = assemble(c, &mut diagnostics);
    crate::diagnostics::sort(&mut diagnostics);
    Catalog {
        tables,
        diagnostics,
    }
}

/// A file named, decoded and made ready for its role: SQL normalised, scripts and requirements
/// as written, configuration parsed.
enum Prepared {
    Definition {
        table: TableName,
        interval: Option<Interval>,
        sql: SourceFile,
    },
    Test {
        table: TableName,
        sql: SourceFile,
    },
    Select {
        table: TableName,
        as_definition: Option<TableName>,
        sql: SourceFile,
    },
    Script {
        table: TableName,
        raw: SourceFile,
    },
    Requirements {
        table: TableName,
        raw: SourceFile,
    },
    Config {
        target: ConfigTarget,
        conf: ConfFile,
        problems: Vec<Diagnostic>,
    },
    /// A script or requirements file whose name is not a table's: the warning saying so.
    Ignored(Diagnostic),
    /// Not duro's.
    Other,
}

fn prepare(file: &RawFile) -> Result<Prepared, Diagnostic> {
    let role = naming::classify(&file.path)
        .map_err(|err| Diagnostic::error(err.to_string()).in_file(&file.path))?;
    let text = decode(file)?;
    let source = |text: String| SourceFile {
        path: file.path.clone(),
        text,
    };
    let sql = || source(normalise_sql(text));
    let raw = || source(text.to_string());
    Ok(match role {
        FileRole::Definition { table, interval } => Prepared::Definition {
            table,
            interval,
            sql: sql(),
        },
        FileRole::Test { table } => Prepared::Test { table, sql: sql() },
        FileRole::Select {
            table,
            as_definition,
        } => Prepared::Select {
            table,
            as_definition,
            sql: sql(),
        },
        FileRole::Script { table: Some(table) } => Prepared::Script { table, raw: raw() },
        FileRole::Script { table: None } => Prepared::Ignored(
            Diagnostic::warning(
                "Python file ignored: its name is not a table's, so it is not a processor (helpers are fine)",
            )
            .in_file(&file.path),
        ),
        FileRole::Requirements { table: Some(table) } => {
            Prepared::Requirements { table, raw: raw() }
        }
        FileRole::Requirements { table: None } => Prepared::Ignored(
            Diagnostic::warning("requirements file ignored: its name is not a table's")
                .in_file(&file.path),
        ),
        FileRole::Config(target) => {
            let (conf, problems) = table_config::parse(&file.path, text);
            Prepared::Config {
                target,
                conf,
                problems,
            }
        }
        FileRole::Other => Prepared::Other,
    })
}

/// Takes the one file of a kind for a table; several are an error naming all of them.
fn single<T>(
    table: &TableName,
    what: &str,
    mut items: Vec<T>,
    path: impl Fn(&T) -> &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    if items.len() > 1 {
        let mut paths: Vec<&str> = items.iter().map(&path).collect();
        paths.sort();
        for file in &paths {
            diagnostics.push(
                Diagnostic::error(format!(
                    "{what} of {table} is defined by {} files: {}; keep one",
                    paths.len(),
                    paths.join(", ")
                ))
                .in_file(*file)
                .for_table(table.to_string()),
            );
        }
        return None;
    }
    items.pop()
}

fn assemble(mut c: Collected, diagnostics: &mut Vec<Diagnostic>) -> BTreeMap<TableName, TableSpec> {
    let mut processor_selects: BTreeMap<TableName, Vec<SourceFile>> = BTreeMap::new();
    for (table, as_definition, file) in std::mem::take(&mut c.selects) {
        if c.scripts.contains_key(&table) {
            processor_selects.entry(table).or_default().push(file);
        } else if let Some(name) = as_definition {
            c.definitions.entry(name).or_default().push((file, None));
        } else {
            diagnostics.push(
                Diagnostic::error("not a valid table name for a select file").in_file(&file.path),
            );
        }
    }

    let mut tables = BTreeMap::new();
    let mut definitions = std::mem::take(&mut c.definitions);
    let script_tables: Vec<TableName> = c.scripts.keys().cloned().collect();
    for table in script_tables {
        let scripts = c.scripts.remove(&table).unwrap_or_default();
        let has_definition = definitions.contains_key(&table);
        let selects = processor_selects.remove(&table);
        if !has_definition && selects.is_none() {
            for script in scripts {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "Python file ignored: no table {table} is defined and there is no {}_select.sql, so it is not a processor",
                        table.table
                    ))
                    .in_file(&script.path),
                );
            }
            continue;
        }
        let Some(script) = single(&table, "the processor", scripts, |f| &f.path, diagnostics)
        else {
            continue;
        };
        let with_table = |d: Diagnostic| d.in_file(&script.path).for_table(table.to_string());
        let Some(selects) = selects else {
            diagnostics.push(with_table(Diagnostic::error(format!(
                "processor has no select: add {}_select.sql beside it with the query whose rows it processes",
                table.table
            ))));
            definitions.remove(&table);
            continue;
        };
        if !has_definition {
            diagnostics.push(with_table(Diagnostic::error(format!(
                "processor has no create table DDL: add `{} — <interval>.sql` holding `create table {table} (...)`",
                table.table
            ))));
            continue;
        }
        let Some(select) = single(
            &table,
            "the processor select",
            selects,
            |f| &f.path,
            diagnostics,
        ) else {
            definitions.remove(&table);
            continue;
        };
        let requirements = c
            .requirements
            .remove(&table)
            .and_then(|r| single(&table, "the requirements", r, |f| &f.path, diagnostics));
        let defs = definitions.remove(&table).unwrap_or_default();
        if let Some((definition, interval)) =
            single(&table, "the table", defs, |(f, _)| &f.path, diagnostics)
        {
            tables.insert(
                table.clone(),
                (
                    definition,
                    interval,
                    Some(Processor {
                        select,
                        script,
                        requirements,
                    }),
                ),
            );
        }
    }
    for (table, defs) in definitions {
        if let Some((definition, interval)) =
            single(&table, "the table", defs, |(f, _)| &f.path, diagnostics)
        {
            tables.insert(table, (definition, interval, None));
        }
    }
    for (table, files) in c.requirements {
        for file in files {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "requirements ignored: {table} is not a processor table (no {}.py)",
                    table.table
                ))
                .in_file(&file.path),
            );
        }
    }

    // Merging the configuration levels is the costly part of a table's assembly, and independent.
    let configs: Vec<EffectiveConfig> = tables
        .par_iter()
        .map(|(table, _)| merged_config(table, &c.configs))
        .collect();
    let mut specs = BTreeMap::new();
    for ((table, (definition, interval, processor)), config) in tables.into_iter().zip(configs) {
        if definition.text.is_empty() {
            diagnostics.push(
                Diagnostic::error("the file is empty: write the table's select query")
                    .in_file(&definition.path)
                    .for_table(table.to_string()),
            );
            continue;
        }
        if let Some(p) = &processor
            && p.select.text.is_empty()
        {
            diagnostics.push(
                Diagnostic::error("the processor select is empty: write a select")
                    .in_file(&p.select.path)
                    .for_table(table.to_string()),
            );
            continue;
        }
        let tests = c
            .tests
            .remove(&table)
            .and_then(|t| single(&table, "the tests", t, |f| &f.path, diagnostics));
        if let Some(t) = &tests
            && t.text.is_empty()
        {
            diagnostics.push(
                Diagnostic::warning("the test file is empty: no tests run")
                    .in_file(&t.path)
                    .for_table(table.to_string()),
            );
        }
        specs.insert(
            table.clone(),
            TableSpec {
                name: table,
                interval,
                definition,
                processor,
                tests,
                config,
            },
        );
    }

    for (table, files) in c.tests {
        for file in files {
            diagnostics.push(
                Diagnostic::error(format!(
                    "tests without a query: there is no table {table}; add {}/{}.sql (or rename the test file)",
                    table.schema, table.table
                ))
                .in_file(&file.path)
                .for_table(table.to_string()),
            );
        }
    }
    for (target, files) in &c.configs {
        let known = match target {
            ConfigTarget::Global => true,
            ConfigTarget::SchemaTop(s) | ConfigTarget::SchemaFolder(s) => {
                specs.keys().any(|t| &t.schema == s)
            }
            ConfigTarget::TableTop(t) | ConfigTarget::TableFolder(t) => specs.contains_key(t),
        };
        if !known {
            for file in files {
                diagnostics.push(
                    Diagnostic::warning(
                        "config applies to no table: no table of that name or schema is defined",
                    )
                    .in_file(&file.path),
                );
            }
        }
        if files.len() > 1 {
            let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
            diagnostics.push(
                Diagnostic::error(format!(
                    "the same config level is defined by {} files: {}; keep one",
                    paths.len(),
                    paths.join(", ")
                ))
                .in_file(paths[1]),
            );
        }
    }
    specs
}

fn merged_config(
    table: &TableName,
    configs: &BTreeMap<ConfigTarget, Vec<ConfFile>>,
) -> EffectiveConfig {
    let levels = [
        ConfigTarget::Global,
        ConfigTarget::SchemaTop(table.schema.clone()),
        ConfigTarget::SchemaFolder(table.schema.clone()),
        ConfigTarget::TableTop(table.clone()),
        ConfigTarget::TableFolder(table.clone()),
    ];
    EffectiveConfig::merge(
        levels
            .iter()
            .filter_map(|level| configs.get(level).and_then(|files| files.first())),
    )
}

/// Reads and builds in one go.
pub fn load(root: &Path) -> Result<Catalog, CatalogError> {
    Ok(build(&read_tree(root)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files are read on the rayon pool in batches while the walk goes on; what comes out is
    /// still in the walk's order, whatever batch finishes first.
    #[test]
    fn a_large_tree_reads_in_walk_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for schema in ["b", "a", "c"] {
            std::fs::create_dir(root.join(schema)).unwrap();
            std::fs::write(root.join(format!("{schema}.conf")), "grant_select=x\n").unwrap();
            for n in (0..150).rev() {
                let body = format!("select {n} as n -- {schema}\n");
                std::fs::write(root.join(schema).join(format!("v{n:03}.sql")), body).unwrap();
            }
            std::fs::write(root.join(schema).join("notes.txt"), "not relevant").unwrap();
            std::fs::write(root.join(schema).join(".hidden.sql"), "select 1").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("b").join("loop")).unwrap();

        let tree = read_tree(root).unwrap();

        let expected: Vec<String> = walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| relative(root, e.path()))
            .filter(|p| is_relevant(p))
            .collect();
        let paths: Vec<&str> = tree.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths.len(), 3 * 151);
        assert_eq!(paths, expected);
        for file in &tree.files {
            let text = std::str::from_utf8(&file.bytes).unwrap();
            let (schema, name) = file.path.split_once('/').unwrap_or((&file.path, ""));
            if let Some(n) = name.strip_prefix('v').and_then(|n| n.strip_suffix(".sql")) {
                let n: u32 = n.parse().unwrap();
                assert_eq!(
                    text,
                    format!("select {n} as n -- {schema}\n"),
                    "{}",
                    file.path
                );
            }
        }
        #[cfg(unix)]
        {
            assert_eq!(tree.diagnostics.len(), 1, "{:?}", tree.diagnostics);
            let loop_found = format!("{:?}", tree.diagnostics[0]);
            assert!(loop_found.contains("symbolic link loop"), "{loop_found}");
            assert!(loop_found.contains("b/loop"), "{loop_found}");
        }
    }
}
