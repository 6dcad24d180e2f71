//! `duro init [DIR]`: a `duro.toml` and a small example views directory. Existing files are
//! never overwritten, so running it twice is harmless.

use super::Failure;
use std::path::{Path, PathBuf};

const DURO_TOML: &str = r#"# duro configuration: see the README's configuration reference.
views = "views"                  # relative to this file
state = ".duro/state.db"

[warehouse]
# postgres://user@host/db, redshift://user@cluster:5439/db (TLS), or duckdb://path.
# Passwords are best given in the environment: DURO_WAREHOUSE_URL.
url = "duckdb://.duro/warehouse.duckdb"

[scheduler]
allow_cycles = false
default_schema = "public"

[creator]
concurrency = 2
poll_seconds = 30
retries = 3
timeout_factor = 5
timeout_min = "5m"
timeout_first_run = "6h"
lease_seconds = 30
lock_timeout = "30s"

[web]
bind = "127.0.0.1:8080"
token = ""
"#;

/// The example views: (path under views/, content).
const EXAMPLE: &[(&str, &str)] = &[
    (
        "global.conf",
        "# Settings inherited by every table; schema.conf and table confs override them.\n# grant_select=analysts\n",
    ),
    (
        "example/numbers.sql",
        "-- No interval: it inherits the interval of the tables that read it.\nselect n\nfrom (values (1), (2), (3), (4), (5)) as t(n)\n",
    ),
    (
        "example/squares — 1h.sql",
        "select n, n * n as square\nfrom example.numbers\n",
    ),
    (
        "example/squares_test.sql",
        "-- Every value of every row must be true for the new table to replace the old one.\nselect count(*) = 5 as five_rows from example.squares;\nselect min(square) = 1 as smallest_is_one from example.squares;\n",
    ),
];

fn write_new(path: &Path, content: &str, written: &mut Vec<PathBuf>) -> Result<(), Failure> {
    if path.exists() {
        println!("kept     {} (already exists)", path.display());
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::new(1, format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(path, content)
        .map_err(|e| Failure::new(1, format!("cannot write {}: {e}", path.display())))?;
    println!("created  {}", path.display());
    written.push(path.to_path_buf());
    Ok(())
}

pub fn run(dir: PathBuf) -> Result<i32, Failure> {
    let mut written = Vec::new();
    write_new(&dir.join("duro.toml"), DURO_TOML, &mut written)?;
    let views = dir.join("views");
    let fresh_views = !views.exists();
    if fresh_views {
        for (path, content) in EXAMPLE {
            write_new(&views.join(path), content, &mut written)?;
        }
    } else {
        println!("kept     {} (already exists)", views.display());
    }
    println!(
        "\nNext: `duro check` to validate the views, `duro schedule` to record them{}.",
        if dir == Path::new(".") {
            String::new()
        } else {
            format!(" (from {})", dir.display())
        }
    );
    Ok(0)
}
