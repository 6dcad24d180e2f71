//! `duro migrate [CONFIG.conf] [--state | --import-db PATH]`: the move from the earlier Python
//! duro. Its config.conf becomes a duro.toml (never over an existing one) with the secrets printed
//! as `export` lines; its SQLite history is imported after a first schedule, so the first
//! `duro create` builds only what the earlier tool would have built now.

use super::commands::plural;
use super::{Failure, output};
use duro::config::Config;
use duro::legacy::{conf, history};
use duro::listing;
use duro::schedule::{self, ScheduleError};
use duro::state::Store;
use std::path::{Path, PathBuf};

pub struct Options {
    pub conf: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub show_secrets: bool,
    pub state: bool,
    pub import_db: Option<PathBuf>,
    /// `--config`: the duro.toml to import into when no config.conf is converted.
    pub config: Option<PathBuf>,
}

pub fn run(options: Options, now: jiff::Timestamp) -> Result<i32, Failure> {
    let Some(conf_path) = &options.conf else {
        if options.state {
            return Err(Failure::new(
                2,
                "--state imports the database named by config.conf: give CONFIG.conf, or name the database with --import-db PATH",
            ));
        }
        let Some(db) = &options.import_db else {
            return Err(Failure::new(
                2,
                "nothing to do: give the earlier duro's config.conf (duro migrate config.conf), or --import-db PATH to import its history",
            ));
        };
        let tables = read_history(db)?;
        let config = super::load_config(options.config)?;
        import(&config, db, &tables, now)?;
        return Ok(0);
    };
    let out = options.out.as_deref().unwrap_or(Path::new("."));
    let converted = convert(conf_path, out)?;
    // The database is read before anything is written: a wrong one leaves no duro.toml behind.
    let db = options
        .import_db
        .clone()
        .or_else(|| options.state.then(|| converted.db.clone()));
    let history = db
        .as_ref()
        .map(|db| read_history(db).map(|tables| (db, tables)))
        .transpose()?;
    let target = write(conf_path, out, &converted, options.show_secrets)?;
    if let Some((db, tables)) = history {
        let config = Config::load(&target, true, std::env::vars())?;
        import(&config, db, &tables, now)?;
    }
    Ok(0)
}

fn read_history(db: &Path) -> Result<Vec<duro::state::ImportedTable>, Failure> {
    history::read(db).map_err(|e| Failure::new(2, e.to_string()))
}

/// Reads and converts config.conf, refusing when `out` already has a duro.toml.
fn convert(conf_path: &Path, out: &Path) -> Result<conf::Converted, Failure> {
    let text = std::fs::read_to_string(conf_path).map_err(|e| {
        Failure::new(
            2,
            format!(
                "cannot read {}: {e}; name the earlier duro's config.conf",
                conf_path.display()
            ),
        )
    })?;
    let target = out.join("duro.toml");
    if target.exists() {
        return Err(Failure::new(
            2,
            format!(
                "{} exists: duro migrate never overwrites it; move it away or choose another folder with --out DIR",
                target.display()
            ),
        ));
    }
    conf::convert(&text, conf_path, out).map_err(|e| Failure::new(2, e.to_string()))
}

/// Writes duro.toml and prints the exports and notes; returns the file's path.
fn write(
    conf_path: &Path,
    out: &Path,
    converted: &conf::Converted,
    show_secrets: bool,
) -> Result<PathBuf, Failure> {
    let target = out.join("duro.toml");
    std::fs::create_dir_all(out)
        .and_then(|_| std::fs::write(&target, &converted.toml))
        .map_err(|e| Failure::new(1, format!("cannot write {}: {e}", target.display())))?;
    println!("Wrote {} from {}.", target.display(), conf_path.display());
    if !converted.exports.is_empty() {
        println!(
            "\nThe secrets are not in the file. Export them where duro runs (a systemd EnvironmentFile, your secret store){}:",
            if show_secrets {
                ""
            } else {
                "; --show-secrets prints the values"
            }
        );
        for export in &converted.exports {
            let value = if show_secrets {
                conf::shell_quote(export.value.expose())
            } else {
                conf::shell_quote(&export.masked)
            };
            println!("export {}={value}", export.name);
        }
    }
    if !converted.notes.is_empty() {
        println!("\nDifferences to know:");
        for note in &converted.notes {
            println!("  - {note}");
        }
    }
    Ok(target)
}

fn import(
    config: &Config,
    db: &Path,
    tables: &[duro::state::ImportedTable],
    now: jiff::Timestamp,
) -> Result<(), Failure> {
    let mut store = Store::open(&config.state)?;
    match schedule::run(config, &mut store, now) {
        Ok(_) => {}
        Err(ScheduleError::Checks(diagnostics)) => {
            output::print_diagnostics(&diagnostics, &config.views);
            return Err(Failure::new(
                1,
                format!(
                    "the views directory has errors, so no history was imported; fix them and run `duro migrate --import-db {}`",
                    db.display()
                ),
            ));
        }
        Err(ScheduleError::Catalog(e)) => return Err(e.into()),
        Err(ScheduleError::State(e)) => return Err(e.into()),
    }
    let source = db.display().to_string();
    let report = store.import_history(&source, tables, now)?;
    println!(
        "\nImported the history of {} ({} runs) from {source}.",
        plural(report.tables.len(), "table"),
        report.runs
    );
    if !report.forced.is_empty() {
        println!(
            "{}: the earlier duro would build them now too (forced there, never built, or changed since).",
            listing::labelled("To build first", &report.forced)
        );
    }
    if !report.not_in_views.is_empty() {
        println!(
            "{}.",
            listing::labelled(
                "Not in the views directory, not imported",
                &report.not_in_views
            )
        );
    }
    if !report.already.is_empty() {
        println!(
            "{}.",
            listing::labelled("Imported before, left as they are", &report.already)
        );
    }
    println!("`duro plan` shows what the first `duro create` will build.");
    Ok(())
}
