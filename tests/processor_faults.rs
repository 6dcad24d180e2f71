//! Processor scripts that misbehave: each run fails (or times out) with a bounded error, leaves
//! the old table byte-identical and no `_duro_temp` behind, and duro never hangs.

mod common;

use common::Project;
use common::pg::TestDb;
use std::time::{Duration, Instant};

const GOOD: &str = "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n";

#[test]
fn misbehaving_scripts_leave_the_old_table_intact() {
    let db = TestDb::new("processor_faults");
    db.exec("create schema raw; create table raw.cities (city text); insert into raw.cities values ('paris'), ('ottawa');");
    let p = Project::on_postgres(
        &db.url,
        "[creator]\nretries = 0\ntimeout_first_run = \"120s\"\ntimeout_min = \"3s\"\ntimeout_factor = 0.1\n",
    );
    p.write("s/c_select.sql", "select city from raw.cities");
    p.write("s/c — 1h.sql", "create table s.c (city text)");
    p.write("s/c.py", GOOD);
    assert_eq!(p.run(&["schedule"]).code, 0);
    let run = p.run(&["run", "s.c"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let before = db.checksum("s.c");
    assert!(before.as_deref().unwrap().starts_with("2:"));
    let cases: &[(&str, &str, &str)] = &[
        ("writes nothing", "pass\n", "s.c"),
        (
            "writes a wrong header",
            "import sys\nopen(sys.argv[2], 'w').write('town\\nparis\\n')\n",
            "town",
        ),
        (
            "writes binary garbage",
            "import sys, os\nopen(sys.argv[2], 'wb').write(b'city\\n' + bytes(range(256)) * 64)\n",
            "loading the processor's output failed",
        ),
        (
            "exits non-zero after much output",
            "import sys\nfor i in range(200000):\n    print('noise line', i)\nsys.stderr.write('the real reason\\n')\nsys.exit(2)\n",
            "the real reason",
        ),
        (
            "sleeps past its timeout",
            "import time\ntime.sleep(120)\n",
            "cancelled after 3s",
        ),
        (
            "forks a child that keeps running",
            // The child would keep the output pipes open: duro ends the script's whole process
            // group when the script exits, so the run fails at once with the script's status.
            "import os, sys, time\nif os.fork() == 0:\n    time.sleep(8)\n    os._exit(0)\nsys.exit(1)\n",
            "exit status: 1",
        ),
        (
            "writes a huge amount to stdout",
            "import sys\nchunk = 'x' * 65536 + '\\n'\nfor _ in range(3000):\n    sys.stdout.write(chunk)\nsys.exit(4)\n",
            "s.c",
        ),
    ];
    for (name, script, message) in cases {
        p.write("s/c.py", script);
        assert_eq!(p.run(&["schedule"]).code, 0, "{name}");
        let started = Instant::now();
        let run = p.run(&["run", "s.c"]);
        let elapsed = started.elapsed();
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        assert!(elapsed < Duration::from_secs(30), "{name} took {elapsed:?}");
        let status = p.run(&["status", "s.c", "--format", "json"]).json();
        let error = status["runs"][0]["error"].as_str().unwrap_or_default();
        eprintln!("{name}: {elapsed:?}: {}", &error[..error.len().min(300)]);
        assert!(error.contains(message), "{name}: {error}");
        assert!(
            error.len() < 20_000,
            "{name}: error of {} bytes",
            error.len()
        );
        assert_eq!(db.checksum("s.c"), before, "{name}: the old table changed");
        assert!(db.leftovers().is_empty(), "{name}: {:?}", db.leftovers());
        let row_bytes: i64 = p
            .sqlite()
            .query_row(
                "select max(length(coalesce(error, '')) + length(coalesce(steps, ''))) from runs",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            row_bytes < 100_000,
            "{name}: a run record of {row_bytes} bytes"
        );
        if name.contains("forks") {
            assert!(
                elapsed < Duration::from_secs(6),
                "{name}: waited for the child"
            );
            let ps = std::process::Command::new("ps")
                .args(["-eo", "args"])
                .output()
                .unwrap();
            assert!(
                !String::from_utf8_lossy(&ps.stdout)
                    .lines()
                    .any(|l| l.contains("python") && l.ends_with("/c.py") || l.contains("/c.py ")),
                "{name}: the forked child survived"
            );
        }
        if name.contains("timeout") {
            assert_eq!(
                status["runs"][0]["outcome"], "timeout",
                "{name}: {status:#}"
            );
        }
    }
    // The table still rebuilds once the script behaves.
    p.write("s/c.py", GOOD);
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(p.run(&["run", "s.c"]).code, 0);
    assert_eq!(db.checksum("s.c"), before);
}
