//! Bad views directories: each gives a clear diagnostic naming the file (and line where there is
//! one), exit code 1 for errors, never a panic, and `schedule` leaves the state untouched.

mod common;

use common::Project;

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static [u8])],
    severity: &'static str,
    file: &'static str,
    line: Option<u64>,
    message: &'static str,
}

const GOOD_ROOT: (&str, &[u8]) = ("s/root — 1h.sql", b"select 1 as a");

const CASES: &[Case] = &[
    Case {
        name: "bad interval",
        files: &[GOOD_ROOT, ("s/t — 1z.sql", b"select 1")],
        severity: "error",
        file: "s/t — 1z.sql",
        line: None,
        message: "invalid interval \"1z\"",
    },
    Case {
        name: "zero interval",
        files: &[GOOD_ROOT, ("s/t — 0h.sql", b"select 1")],
        severity: "error",
        file: "s/t — 0h.sql",
        line: None,
        message: "invalid interval \"0h\"",
    },
    Case {
        name: "file without schema",
        files: &[GOOD_ROOT, ("cities — 1h.sql", b"select 1")],
        severity: "error",
        file: "cities — 1h.sql",
        line: None,
        message: "no schema: put it in a folder named after its schema or name it schema.table",
    },
    Case {
        name: "space in a table name",
        files: &[GOOD_ROOT, ("s/my table — 1h.sql", b"select 1")],
        severity: "error",
        file: "s/my table — 1h.sql",
        line: None,
        message: "more than one separator run",
    },
    Case {
        name: "invalid identifier",
        files: &[GOOD_ROOT, ("s/ci!ties — 1h.sql", b"select 1")],
        severity: "error",
        file: "s/ci!ties — 1h.sql",
        line: None,
        message: "table name \"ci!ties\" is not a valid identifier",
    },
    Case {
        name: "table name too long",
        files: &[
            GOOD_ROOT,
            (
                "s/a_very_long_table_name_that_goes_on_and_on_and_on_xyz — 1h.sql",
                b"select 1",
            ),
        ],
        severity: "error",
        file: "s/a_very_long_table_name_that_goes_on_and_on_and_on_xyz — 1h.sql",
        line: None,
        message: "the limit is 52",
    },
    Case {
        name: "duplicate table",
        files: &[
            GOOD_ROOT,
            ("s/t — 1h.sql", b"select 1"),
            ("s.t — 2h.sql", b"select 2"),
        ],
        severity: "error",
        file: "s/t — 1h.sql",
        line: None,
        message: "the table of s.t is defined by 2 files: s.t — 2h.sql, s/t — 1h.sql; keep one",
    },
    Case {
        name: "conf syntax error",
        files: &[
            GOOD_ROOT,
            ("s/root.conf", b"# fine\ndistkey=a\nthis is not a pair\n"),
        ],
        severity: "error",
        file: "s/root.conf",
        line: Some(3),
        message: "expected `key=value`",
    },
    Case {
        name: "duplicate conf key",
        files: &[GOOD_ROOT, ("s/root.conf", b"sortkey=a\nsortkey=a\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(2),
        message: "duplicate key `sortkey` (first on line 1)",
    },
    Case {
        name: "cycle",
        files: &[
            GOOD_ROOT,
            ("s/a — 1h.sql", b"select * from s.b"),
            ("s/b — 1h.sql", b"select * from s.c"),
            ("s/c — 1h.sql", b"select * from s.a"),
        ],
        severity: "error",
        file: "s/a — 1h.sql",
        line: None,
        message: "dependency cycle between s.a, s.b, s.c",
    },
    Case {
        name: "root without interval",
        files: &[GOOD_ROOT, ("s/lonely.sql", b"select 1")],
        severity: "error",
        file: "s/lonely.sql",
        line: None,
        message: "root without an interval: nothing depends on s.lonely",
    },
    Case {
        name: "distkey not in the select",
        files: &[
            ("s/root — 1h.sql", b"select 1 as a, 2 as b"),
            ("s/root.conf", b"distkey=c\n"),
        ],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "distkey c is not a column of the query's output (columns: a, b)",
    },
    Case {
        name: "sortkey not in the select",
        files: &[
            ("s/root — 1h.sql", b"select 1 as a, 2 as b"),
            ("s.conf", b"sortkey=a, zz\n"),
        ],
        severity: "error",
        file: "s.conf",
        line: Some(1),
        message: "sortkey zz is not a column",
    },
    Case {
        name: "processor without select",
        files: &[
            GOOD_ROOT,
            ("s/p — 1h.sql", b"create table s.p (a int)"),
            ("s/p.py", b"print(1)"),
        ],
        severity: "error",
        file: "s/p.py",
        line: None,
        message: "processor has no select: add p_select.sql",
    },
    Case {
        name: "processor without DDL",
        files: &[
            GOOD_ROOT,
            ("s/p_select.sql", b"select 1 as a"),
            ("s/p.py", b"print(1)"),
        ],
        severity: "error",
        file: "s/p.py",
        line: None,
        message: "processor has no create table DDL",
    },
    Case {
        name: "processor DDL that is not a create table",
        files: &[
            ("s/p — 1h.sql", b"select 1 as a"),
            ("s/p_select.sql", b"select 1 as a"),
            ("s/p.py", b"print(1)"),
        ],
        severity: "error",
        file: "s/p — 1h.sql",
        line: None,
        message: "expected `create table …`",
    },
    Case {
        name: "test without query",
        files: &[GOOD_ROOT, ("s/ghost_test.sql", b"select true as ok")],
        severity: "error",
        file: "s/ghost_test.sql",
        line: None,
        message: "tests without a query: there is no table s.ghost",
    },
    Case {
        name: "test that is not a select",
        files: &[
            GOOD_ROOT,
            (
                "s/root_test.sql",
                b"select true as ok;\n\ndelete from s.root",
            ),
        ],
        severity: "error",
        file: "s/root_test.sql",
        line: Some(3),
        message: "tests may only be select",
    },
    Case {
        name: "non-UTF-8 file",
        files: &[GOOD_ROOT, ("s/latin — 1h.sql", b"select 'caf\xe9' as c")],
        severity: "error",
        file: "s/latin — 1h.sql",
        line: None,
        message: "not valid UTF-8",
    },
    Case {
        name: "grantee with SQL in it",
        files: &[
            GOOD_ROOT,
            ("global.conf", b"grant_select=jane; drop table x\n"),
        ],
        severity: "error",
        file: "global.conf",
        line: Some(1),
        message: "grant_select: invalid grantee \"jane; drop table x\"",
    },
    Case {
        name: "distkey with SQL in it",
        files: &[
            GOOD_ROOT,
            ("s.root.conf", b"distkey=a); drop table x; --\n"),
        ],
        severity: "error",
        file: "s.root.conf",
        line: Some(1),
        message: "distkey: \"a); drop table x; --\" is not a valid column name",
    },
    Case {
        name: "role grantee outside Redshift",
        files: &[GOOD_ROOT, ("s.conf", b"grant_select=role reader\n")],
        severity: "error",
        file: "s.conf",
        line: Some(1),
        message: "`role name` grantees exist only on Redshift",
    },
    Case {
        name: "empty query file",
        files: &[GOOD_ROOT, ("s/empty — 1h.sql", b"  \n;\n")],
        severity: "error",
        file: "s/empty — 1h.sql",
        line: None,
        message: "the file is empty",
    },
    Case {
        name: "not a select",
        files: &[GOOD_ROOT, ("s/drop — 1h.sql", b"drop table s.root")],
        severity: "error",
        file: "s/drop — 1h.sql",
        line: None,
        message: "expected one select query, found `DROP TABLE s.root`",
    },
    Case {
        name: "unknown key",
        files: &[GOOD_ROOT, ("s/root.conf", b"grant_selct=jane\n")],
        severity: "warning",
        file: "s/root.conf",
        line: Some(1),
        message: "unknown key `grant_selct` is ignored; the nearest known key is `grant_select`",
    },
    Case {
        name: "unparsable query",
        files: &[
            GOOD_ROOT,
            ("s/weird — 1h.sql", b"select * from s.root where ???"),
        ],
        severity: "warning",
        file: "s/weird — 1h.sql",
        line: Some(1),
        message: "the query does not parse",
    },
    Case {
        name: "helper Python file",
        files: &[GOOD_ROOT, ("s/helpers.py", b"def f(): pass")],
        severity: "warning",
        file: "s/helpers.py",
        line: None,
        message: "Python file ignored",
    },
];

#[test]
fn every_bad_input_gets_its_diagnostic() {
    let mut failures = Vec::new();
    for case in CASES {
        let p = Project::new();
        for (path, content) in case.files {
            p.write(path, content);
        }
        let run = p.run(&["check", "--format", "json"]);
        let expected_code = if case.severity == "error" { 1 } else { 0 };
        let diagnostics = run.json();
        let found = diagnostics.as_array().unwrap().iter().any(|d| {
            d["severity"] == case.severity
                && d["file"] == case.file
                && case.line.is_none_or(|l| d["line"] == l)
                && d["message"].as_str().unwrap().contains(case.message)
        });
        if run.code != expected_code || !found {
            failures.push(format!(
                "{}: exit {} (expected {expected_code}); diagnostics: {diagnostics:#}",
                case.name, run.code
            ));
        }
        assert!(
            !run.stderr.contains("panicked"),
            "{}: {}",
            case.name,
            run.stderr
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn text_output_names_file_and_line() {
    let p = Project::new();
    p.write("s/root — 1h.sql", "select 1 as a");
    p.write("s/root.conf", "distkey=b\n");
    let run = p.run(&["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("error: views/s/root.conf:1: [s.root] distkey b is not a column"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("failed: 1 table, 1 error, 0 warnings"),
        "{}",
        run.stdout
    );
}

#[test]
fn all_errors_are_reported_together() {
    let p = Project::new();
    p.write("s/a — 1x.sql", "select 1");
    p.write("nowhere.sql", "select 1");
    p.write("s/lonely.sql", "select 1");
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 1);
    // Three problems plus the summary line of roots without interval.
    assert_eq!(run.json().as_array().unwrap().len(), 4, "{}", run.stdout);
}

#[test]
fn a_failed_schedule_leaves_state_untouched() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let snapshot = |p: &Project| -> (i64, String) {
        p.sqlite()
            .query_row(
                "select (select count(*) from schedules), group_concat(name || ':' || definition_hash || ':' || force, ',') from tables",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let before = snapshot(&p);
    p.write("s/a — 1h.sql", "select 2 as x");
    p.write("s/b — 1q.sql", "select 1");
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("invalid interval \"1q\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing was scheduled"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&p), before);
}

#[test]
fn configuration_errors_exit_2() {
    let p = Project::new();
    p.write_config("[creator]\nconcurrency = \"many\"\n");
    let run = p.run(&["check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("duro.toml"), "{}", run.stderr);
    let p = Project::new();
    let run = p
        .command(&["check"])
        .env("DURO_WAREHOUSE_URL", "oracle://x")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let p = Project::new();
    assert_eq!(p.run(&["--config", "missing.toml", "check"]).code, 2);
    assert_eq!(p.run(&["no-such-command"]).code, 2);
    std::fs::remove_dir(p.views()).unwrap();
    let run = p.run(&["check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[test]
fn symlink_loops_are_reported() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1");
    std::os::unix::fs::symlink(p.views().join("s"), p.views().join("s/loop")).unwrap();
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("symbolic link loop"), "{}", run.stdout);
}
