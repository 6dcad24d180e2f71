//! One Python virtual environment per processor table under the state directory, rebuilt only
//! when its requirements change: `uv` when it is on PATH, else `python3 -m venv` and pip. An
//! install failure is an error carrying the installer's output.

use crate::ident::TableName;
use std::path::{Path, PathBuf};
use tokio::process::Command;

const HASH_FILE: &str = ".duro-requirements";

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

async fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Err(format!(
        "{what} failed ({}):\n{}",
        output.status,
        super::tail(&text)
    ))
}

/// The environment's python for `table`, created or rebuilt as needed.
pub async fn ensure(
    root: &Path,
    table: &TableName,
    requirements: Option<&str>,
) -> Result<PathBuf, String> {
    let dir = root.join(table.to_string());
    let python = dir.join("bin").join("python");
    let wanted = blake3::hash(requirements.unwrap_or("").as_bytes())
        .to_hex()
        .to_string();
    let current = tokio::fs::read_to_string(dir.join(HASH_FILE)).await.ok();
    if current.as_deref() == Some(wanted.as_str()) && python.exists() {
        return Ok(python);
    }
    let _ = tokio::fs::remove_dir_all(&dir).await;
    tokio::fs::create_dir_all(root)
        .await
        .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let uv = on_path("uv");
    if uv {
        run(
            Command::new("uv").arg("venv").arg("--quiet").arg(&dir),
            "creating the virtual environment with uv",
        )
        .await?;
    } else {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&dir),
            "creating the virtual environment (python3 -m venv)",
        )
        .await?;
    }
    if let Some(requirements) = requirements.filter(|r| !r.trim().is_empty()) {
        let file = dir.join("requirements.txt");
        tokio::fs::write(&file, requirements)
            .await
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let result = if uv {
            run(
                Command::new("uv")
                    .args(["pip", "install", "--quiet", "--python"])
                    .arg(&python)
                    .arg("-r")
                    .arg(&file),
                &format!("installing the requirements of {table} (uv pip install)"),
            )
            .await
        } else {
            run(
                Command::new(dir.join("bin").join("pip"))
                    .args([
                        "install",
                        "--disable-pip-version-check",
                        "--no-input",
                        "--quiet",
                        "-r",
                    ])
                    .arg(&file),
                &format!("installing the requirements of {table} (pip install)"),
            )
            .await
        };
        if let Err(e) = result {
            // Leave no half-built environment that a later run would take for a good one.
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    }
    tokio::fs::write(dir.join(HASH_FILE), &wanted)
        .await
        .map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    Ok(python)
}
