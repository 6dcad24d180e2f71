//! Shared helpers for the integration tests: a throwaway project folder and a way to run the
//! `duro` binary in it with a clean environment.

#![allow(dead_code)]

pub mod pg;
pub mod proxy;
pub mod warehouse;
pub mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl Project {
    /// An empty project with a duro.toml pointing at `views/` (PostgreSQL dialect by default).
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("views")).unwrap();
        let project = Project { dir };
        project.write_config("");
        project
    }

    /// A project holding a copy of a fixture views tree.
    pub fn with_fixture(name: &str) -> Project {
        let project = Project::new();
        copy_dir(&fixture(name).join("views"), &project.views());
        project
    }

    /// A project whose warehouse is the given PostgreSQL database.
    pub fn on_postgres(url: &str, extra: &str) -> Project {
        let project = Project::new();
        project.write_config_with_url(url, extra);
        project
    }

    pub fn write_config_with_url(&self, url: &str, extra: &str) {
        std::fs::write(
            self.dir.path().join("duro.toml"),
            format!(
                "views = \"views\"\nstate = \"state/duro.db\"\n[warehouse]\nurl = \"{url}\"\n{extra}"
            ),
        )
        .unwrap();
    }

    pub fn write_config(&self, extra: &str) {
        std::fs::write(
            self.dir.path().join("duro.toml"),
            format!(
                "views = \"views\"\nstate = \"state/duro.db\"\n[warehouse]\nurl = \"postgres://duro@localhost/duro\"\n{extra}"
            ),
        )
        .unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn views(&self) -> PathBuf {
        self.dir.path().join("views")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state/duro.db")
    }

    pub fn write(&self, relative: &str, content: impl AsRef<[u8]>) {
        let path = self.views().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn remove(&self, relative: &str) {
        std::fs::remove_file(self.views().join(relative)).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_duro"));
        command.args(args).current_dir(self.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("DURO_") || key == "NO_COLOR" {
                command.env_remove(key);
            }
        }
        command.env("NO_COLOR", "1");
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().unwrap().into()
    }

    /// Runs with the clock set to `now` (RFC 3339).
    pub fn run_at(&self, now: &str, args: &[&str]) -> Run {
        self.command(args)
            .env("DURO_NOW", now)
            .output()
            .unwrap()
            .into()
    }

    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.state()).unwrap()
    }
}
