//! Python processors on a real PostgreSQL with real Python: the table built from the script's
//! output, the virtual environment reused and rebuilt when its requirements change, every
//! failure leaving the old table intact, and awkward values round-tripping exactly.

mod common;

use common::Project;
use common::pg::TestDb;
use std::path::Path;

/// Builds a tiny wheel (`duro_tinypkg`, with `shout()`) in `dir` using Python's zipfile.
fn tiny_wheel(dir: &Path) -> std::path::PathBuf {
    let wheel = dir.join("duro_tinypkg-1.0-py3-none-any.whl");
    let script = format!(
        r#"
import zipfile
files = {{
    "duro_tinypkg/__init__.py": "def shout(s):\n    return s.upper() + '!'\n",
    "duro_tinypkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: duro-tinypkg\nVersion: 1.0\n",
    "duro_tinypkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: duro-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}}
record = "".join(f"{{name}},,\n" for name in files) + "duro_tinypkg-1.0.dist-info/RECORD,,\n"
files["duro_tinypkg-1.0.dist-info/RECORD"] = record
with zipfile.ZipFile({path:?}, "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
"#,
        path = wheel.display().to_string()
    );
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .status()
        .unwrap();
    assert!(status.success());
    wheel
}

const SHOUT: &str = r#"import csv, sys
from duro_tinypkg import shout
with open(sys.argv[1], newline="") as f:
    rows = list(csv.reader(f, delimiter=";"))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, delimiter=";")
    w.writerow(["city", "loud"])
    for city, in rows[1:]:
        w.writerow([city, shout(city)])
print(f"processed {len(rows) - 1} rows")
"#;

fn setup(label: &str, extra: &str) -> (TestDb, Project) {
    let db = TestDb::new(label);
    db.exec("create schema raw; create table raw.cities (name text); insert into raw.cities values ('paris'), ('ottawa');");
    let p = Project::on_postgres(&db.url, extra);
    p.write(
        "s/cities_select.sql",
        "select name from raw.cities order by name",
    );
    p.write(
        "s/cities — 1h.sql",
        "create table s.cities (\n  city text,\n  loud text\n)",
    );
    p.write("s/cities.py", SHOUT);
    (db, p)
}

fn build(p: &Project) -> common::Run {
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    p.run(&["run", "s.cities"])
}

#[test]
fn a_processor_builds_its_table_and_reuses_its_environment() {
    let (db, p) = setup("processor", "[creator]\nretries = 0\n");
    let wheel = tiny_wheel(p.path());
    p.write(
        "s/cities_requirements.txt",
        format!("{}\n", wheel.display()),
    );
    let started = std::time::Instant::now();
    let run = build(&p);
    let first = started.elapsed();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        db.exec("select city, loud from s.cities order by city"),
        [
            vec![Some("ottawa".into()), Some("OTTAWA!".into())],
            vec![Some("paris".into()), Some("PARIS!".into())]
        ]
    );
    let status = p.run(&["status", "s.cities", "--format", "json"]).json();
    let steps: Vec<String> = status["runs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        steps,
        [
            "select",
            "process",
            "connect",
            "create_temp",
            "upload",
            "replace"
        ]
    );
    assert_eq!(status["runs"][0]["rows"], 2);
    let venv = p.path().join("state/venvs/s.cities");
    assert!(venv.join("bin/python").exists());
    std::fs::write(venv.join("marker"), "kept").unwrap();

    // Unchanged requirements: the environment is reused (and the run is much faster).
    let started = std::time::Instant::now();
    assert_eq!(p.run(&["run", "s.cities"]).code, 0);
    let second = started.elapsed();
    assert!(venv.join("marker").exists(), "the environment was rebuilt");
    assert!(second < first, "reuse {second:?} vs first {first:?}");
    eprintln!("first run with a new environment {first:?}, second run reusing it {second:?}");

    // Changed requirements: rebuilt.
    p.write(
        "s/cities_requirements.txt",
        format!("# pinned\n{}\n", wheel.display()),
    );
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        !venv.join("marker").exists(),
        "the environment was not rebuilt"
    );
    assert!(db.leftovers().is_empty());
}

#[test]
fn processor_failures_leave_the_old_table_intact() {
    let (db, p) = setup("processor_failures", "[creator]\nretries = 0\n");
    let wheel = tiny_wheel(p.path());
    p.write(
        "s/cities_requirements.txt",
        format!("{}\n", wheel.display()),
    );
    // The first build makes the environment, which can take a while on a busy machine; the
    // failure cases then run with a short timeout.
    let first = build(&p);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    p.write_config_with_url(
        &db.url,
        "[creator]\nretries = 0\ntimeout_first_run = \"10s\"\ntimeout_min = \"10s\"\ntimeout_factor = 0.1\n",
    );
    let before = db.checksum("s.cities");
    let cases: [(&str, &str, &str, Option<&str>); 4] = [
        (
            "non-zero exit",
            "import sys\nprint('working')\nsys.stderr.write('boom: bad row 7\\n')\nsys.exit(3)\n",
            "boom: bad row 7",
            None,
        ),
        (
            "wrong columns",
            "import sys\nopen(sys.argv[2], 'w').write('city;shout\\nparis;PARIS\\n')\n",
            "wrote the columns city, shout but the table's DDL has city, loud",
            None,
        ),
        (
            "hangs",
            "import time\ntime.sleep(60)\n",
            "cancelled after 10s",
            None,
        ),
        (
            "uninstallable requirements",
            SHOUT,
            "installing the requirements of s.cities",
            Some("--no-index\nduro-no-such-package==9.9\n"),
        ),
    ];
    for (name, script, message, requirements) in cases {
        p.write("s/cities.py", script);
        if let Some(r) = requirements {
            p.write("s/cities_requirements.txt", r);
        }
        let started = std::time::Instant::now();
        let run = build(&p);
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        assert!(
            started.elapsed().as_secs() < 30,
            "{name} took {:?}",
            started.elapsed()
        );
        let status = p.run(&["status", "s.cities", "--format", "json"]).json();
        let error = status["runs"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(error.contains(message), "{name}: {error}");
        assert_eq!(
            db.checksum("s.cities"),
            before,
            "{name}: the old table changed"
        );
        assert!(db.leftovers().is_empty(), "{name}");
    }
    // The hung script was killed with its run.
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&ps.stdout).contains("cities.py"),
        "the processor still runs"
    );
}

#[test]
fn awkward_values_round_trip_exactly_and_zero_rows_work() {
    let db = TestDb::new("processor_values");
    db.exec(
        "create schema raw; create table raw.values (id int, v text);
         insert into raw.values values (1, 'a;b'), (2, 'say \"hi\", ok'), (3, E'line1\\nline2'), (4, 'héllo ✓ 日本'), (5, ''), (6, null), (7, E'tab\\there'), (8, '\\\\back');",
    );
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\n");
    p.write("s/copy_select.sql", "select id, v from raw.values");
    p.write("s/copy — 1h.sql", "create table s.copy (id int, v text)");
    p.write(
        "s/copy.py",
        "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n",
    );
    assert_eq!(p.run(&["schedule"]).code, 0);
    let run = p.run(&["run", "s.copy"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(db.checksum("s.copy"), db.checksum("raw.values"));
    assert_eq!(
        db.value("select count(*)::text from s.copy where v is null"),
        Some("1".into())
    );
    assert_eq!(
        db.value("select count(*)::text from s.copy where v = ''"),
        Some("1".into())
    );

    // Zero input rows: a header-only file, an empty table.
    db.exec("delete from raw.values");
    let run = p.run(&["run", "s.copy"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        db.value("select count(*)::text from s.copy"),
        Some("0".into())
    );

    // Another delimiter.
    db.exec("insert into raw.values values (1, 'x,y;z')");
    p.write("s/copy.conf", "csv_delimiter=,\n");
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(p.run(&["run", "s.copy"]).code, 0);
    assert_eq!(db.value("select v from s.copy"), Some("x,y;z".into()));
}
