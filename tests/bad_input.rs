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
const GOOD_ROOT2: (&str, &[u8]) = ("s/root — 1h.sql", b"select 1 as a, 2 as b");
/// `select (((…1…))) as a from s.root` with 500 levels of parentheses.
const DEEP_PARENS: &[u8] = DEEP_PARENS_ARRAY.as_slice();
const DEEP_PARENS_ARRAY: [u8; 1025] = {
    let mut out = [0u8; 1025];
    let head = b"select ";
    let tail = b" as a from s.root";
    let mut i = 0;
    while i < head.len() {
        out[i] = head[i];
        i += 1;
    }
    let mut j = 0;
    while j < 500 {
        out[head.len() + j] = b'(';
        out[head.len() + 501 + j] = b')';
        j += 1;
    }
    out[head.len() + 500] = b'1';
    let mut k = 0;
    while k < tail.len() {
        out[head.len() + 1001 + k] = tail[k];
        k += 1;
    }
    out
};

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
    Case {
        name: "dots in a table name",
        files: &[GOOD_ROOT, ("s/a.b.c — 1h.sql", b"select 1")],
        severity: "error",
        file: "s/a.b.c — 1h.sql",
        line: None,
        message: "table name \"b.c\" is not a valid identifier",
    },
    Case {
        name: "unicode letter in a table name",
        files: &[GOOD_ROOT, ("s/cités — 1h.sql", b"select 1")],
        severity: "error",
        file: "s/cités — 1h.sql",
        line: None,
        message: "table name \"cités\" is not a valid identifier",
    },
    Case {
        name: "table name starting with a digit",
        files: &[GOOD_ROOT, ("s/1cities — 1h.sql", b"select 1")],
        severity: "error",
        file: "s/1cities — 1h.sql",
        line: None,
        message: "table name \"1cities\" is not a valid identifier",
    },
    Case {
        name: "schema folder starting with a digit",
        files: &[GOOD_ROOT, ("1s/cities — 1h.sql", b"select 1")],
        severity: "error",
        file: "1s/cities — 1h.sql",
        line: None,
        message: "schema name \"1s\" is not a valid identifier",
    },
    Case {
        name: "table name of 53 characters",
        files: &[
            GOOD_ROOT,
            (
                "s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa — 1h.sql",
                b"select 1",
            ),
        ],
        severity: "error",
        file: "s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa — 1h.sql",
        line: None,
        message: "is 53 characters long; the limit is 52",
    },
    Case {
        name: "separator without interval",
        files: &[GOOD_ROOT, ("s/t — .sql", b"select 1")],
        severity: "error",
        file: "s/t — .sql",
        line: None,
        message: "a separator but no interval after it in \"t — \"",
    },
    Case {
        name: "separator before the name",
        files: &[GOOD_ROOT, ("s/— 1h.sql", b"select 1")],
        severity: "error",
        file: "s/— 1h.sql",
        line: None,
        message: "no table name before the interval in \"— 1h\"",
    },
    Case {
        name: "two dots in a row",
        files: &[GOOD_ROOT, ("s..t — 1h.sql", b"select 1")],
        severity: "error",
        file: "s..t — 1h.sql",
        line: None,
        message: "\"s..t\" has an empty schema or table name next to a dot",
    },
    Case {
        name: "dot before the separator",
        files: &[GOOD_ROOT, ("s/t. — 1h.sql", b"select 1")],
        severity: "error",
        file: "s/t. — 1h.sql",
        line: None,
        message: "\"t.\" has an empty schema or table name next to a dot",
    },
    Case {
        name: "tab as a separator",
        files: &[GOOD_ROOT, ("s/t\t1h.sql", b"select 1")],
        severity: "error",
        file: "s/t\t1h.sql",
        line: None,
        message: "table name \"t\\t1h\" is not a valid identifier",
    },
    Case {
        name: "underscore is not a separator",
        files: &[GOOD_ROOT, ("s/t_1h.sql", b"select 1")],
        severity: "error",
        file: "s/t_1h.sql",
        line: None,
        message: "root without an interval: nothing depends on s.t_1h",
    },
    Case {
        name: "bad interval 20 folders deep",
        files: &[
            GOOD_ROOT,
            (
                "d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/s.deep — 1x.sql",
                b"select 1",
            ),
        ],
        severity: "error",
        file: "d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/s.deep — 1x.sql",
        line: None,
        message: "invalid interval \"1x\"",
    },
    Case {
        name: "interval overflowing u64",
        files: &[GOOD_ROOT, ("s/t — 99999999999999999999h.sql", b"select 1")],
        severity: "error",
        file: "s/t — 99999999999999999999h.sql",
        line: None,
        message: r#"invalid interval "99999999999999999999h": write a positive whole number"#,
    },
    Case {
        name: "interval overflowing minutes",
        files: &[GOOD_ROOT, ("s/t — 999999999999999999w.sql", b"select 1")],
        severity: "error",
        file: "s/t — 999999999999999999w.sql",
        line: None,
        message: r#"invalid interval "999999999999999999w": write a positive whole number"#,
    },
    Case {
        name: "interval without unit",
        files: &[GOOD_ROOT, ("s/t — 24.sql", b"select 1")],
        severity: "error",
        file: "s/t — 24.sql",
        line: None,
        message: r#"invalid interval "24": write a positive whole number"#,
    },
    Case {
        name: "interval with an unknown unit",
        files: &[GOOD_ROOT, ("s/t — 1y.sql", b"select 1")],
        severity: "error",
        file: "s/t — 1y.sql",
        line: None,
        message: r#"invalid interval "1y": write a positive whole number"#,
    },
    Case {
        name: "fractional interval",
        files: &[GOOD_ROOT, ("s/t — 1.5h.sql", b"select 1")],
        severity: "error",
        file: "s/t — 1.5h.sql",
        line: None,
        message: r#"invalid interval "1.5h": write a positive whole number"#,
    },
    Case {
        name: "unit without a number",
        files: &[GOOD_ROOT, ("s/t — h.sql", b"select 1")],
        severity: "error",
        file: "s/t — h.sql",
        line: None,
        message: r#"invalid interval "h": write a positive whole number"#,
    },
    Case {
        name: "interval with a plus sign",
        files: &[GOOD_ROOT, ("s/t — +1h.sql", b"select 1")],
        severity: "error",
        file: "s/t — +1h.sql",
        line: None,
        message: r#"invalid interval "+1h": write a positive whole number"#,
    },
    Case {
        name: "compound interval",
        files: &[GOOD_ROOT, ("s/t — 1h30m.sql", b"select 1")],
        severity: "error",
        file: "s/t — 1h30m.sql",
        line: None,
        message: r#"invalid interval "1h30m": write a positive whole number"#,
    },
    Case {
        name: "fractional interval in a top-level name",
        files: &[GOOD_ROOT, ("s.t — 1.5h.sql", b"select 1")],
        severity: "error",
        file: "s.t — 1.5h.sql",
        line: None,
        message: "invalid interval \"1.5h\"",
    },
    Case {
        name: "conf line without =",
        files: &[GOOD_ROOT2, ("s/root.conf", b"distkey a\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "expected `key=value` (or `key: value`), found \"distkey a\"",
    },
    Case {
        name: "conf line with an empty key",
        files: &[GOOD_ROOT2, ("s/root.conf", b"=a\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "invalid key \"\": keys are letters, digits and _",
    },
    Case {
        name: "duplicate key in another case and with a colon",
        files: &[GOOD_ROOT2, ("s/root.conf", b"distkey=a\nDISTKEY: b\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(2),
        message: "duplicate key `distkey` (first on line 1)",
    },
    Case {
        name: "duplicate key in global.conf",
        files: &[
            GOOD_ROOT2,
            ("global.conf", b"sortstyle=compound\nsortstyle=compound\n"),
        ],
        severity: "error",
        file: "global.conf",
        line: Some(2),
        message: "duplicate key `sortstyle` (first on line 1)",
    },
    Case {
        name: "quoted grantee",
        files: &[GOOD_ROOT2, ("s/root.conf", b"grant_select=\"jane\"\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "grant_select: invalid grantee \"\\\"jane\\\"\"",
    },
    Case {
        name: "grantee with an unknown kind",
        files: &[GOOD_ROOT2, ("s/root.conf", b"grant_select=user jane\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "grant_select: invalid grantee \"user jane\"",
    },
    Case {
        name: "unknown diststyle",
        files: &[GOOD_ROOT2, ("s/root.conf", b"diststyle=random\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "diststyle: \"random\" is not one of even, all, key, auto",
    },
    Case {
        name: "unknown sortstyle",
        files: &[GOOD_ROOT2, ("s/root.conf", b"sortstyle=zigzag\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "sortstyle: \"zigzag\" is not one of compound, interleaved",
    },
    Case {
        name: "distkey of two columns",
        files: &[GOOD_ROOT2, ("s/root.conf", b"distkey=a, b\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "distkey: a distribution key is one column",
    },
    Case {
        name: "misspelt key",
        files: &[GOOD_ROOT2, ("s/root.conf", b"dist_key=a\n")],
        severity: "warning",
        file: "s/root.conf",
        line: Some(1),
        message: "unknown key `dist_key` is ignored; the nearest known key is `distkey`",
    },
    Case {
        name: "unknown key like no known one",
        files: &[GOOD_ROOT2, ("s/root.conf", b"zzzqqq=1\n")],
        severity: "warning",
        file: "s/root.conf",
        line: Some(1),
        message: "unknown key `zzzqqq` is ignored; the known keys are grant_select, distkey",
    },
    Case {
        name: "empty grantee between commas",
        files: &[GOOD_ROOT2, ("s/root.conf", b"grant_select=a,,b\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "grant_select: \"a,,b\" has an empty item between commas",
    },
    Case {
        name: "plain and + grantees mixed",
        files: &[GOOD_ROOT2, ("s/root.conf", b"grant_select=a, +b\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "grant_select: mixes plain names with +/- items",
    },
    Case {
        name: "signed grantees after +=",
        files: &[GOOD_ROOT2, ("s/root.conf", b"grant_select+=a, -b\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "grant_select: with += or -= write plain names",
    },
    Case {
        name: "zero timeout",
        files: &[GOOD_ROOT2, ("s/root.conf", b"timeout=0m\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "timeout: invalid interval \"0m\"",
    },
    Case {
        name: "overflowing timeout",
        files: &[
            GOOD_ROOT2,
            ("s/root.conf", b"timeout=99999999999999999999h\n"),
        ],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "timeout: invalid interval \"99999999999999999999h\"",
    },
    Case {
        name: "snapshots_interval that is not an interval",
        files: &[GOOD_ROOT2, ("s/root.conf", b"snapshots_interval=often\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "snapshots_interval: invalid interval \"often\"",
    },
    Case {
        name: "negative snapshots_stored_for",
        files: &[GOOD_ROOT2, ("s/root.conf", b"snapshots_stored_for=-3d\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "snapshots_stored_for: invalid interval \"-3d\"",
    },
    Case {
        name: "csv_delimiter of two characters",
        files: &[GOOD_ROOT2, ("s/root.conf", b"csv_delimiter=ab\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "csv_delimiter: \"ab\" is not one ASCII character other than a quote",
    },
    Case {
        name: "UTF-8 BOM in a conf: stripped, lines still counted",
        files: &[GOOD_ROOT2, ("s/root.conf", b"\xef\xbb\xbfdistkey=zz\n")],
        severity: "error",
        file: "s/root.conf",
        line: Some(1),
        message: "distkey zz is not a column of the query's output (columns: a, b)",
    },
    Case {
        name: "UTF-16 conf",
        files: &[
            GOOD_ROOT2,
            (
                "s/root.conf",
                b"\xff\xfed\x00i\x00s\x00t\x00k\x00e\x00y\x00=\x00a\x00\n\x00",
            ),
        ],
        severity: "error",
        file: "s/root.conf",
        line: None,
        message: "not valid UTF-8 (byte 0): save the file as UTF-8",
    },
    Case {
        name: "Latin-1 in a conf comment",
        files: &[GOOD_ROOT2, ("s/root.conf", b"# caf\xe9\ndistkey=a\n")],
        severity: "error",
        file: "s/root.conf",
        line: None,
        message: "not valid UTF-8 (byte 5)",
    },
    Case {
        name: "conf of no table",
        files: &[GOOD_ROOT2, ("s/ghost.conf", b"distkey=a\n")],
        severity: "warning",
        file: "s/ghost.conf",
        line: None,
        message: "config applies to no table",
    },
    Case {
        name: "UTF-16 query",
        files: &[
            GOOD_ROOT,
            (
                "s/t — 1h.sql",
                b"\xff\xfes\x00e\x00l\x00e\x00c\x00t\x00 \x001\x00",
            ),
        ],
        severity: "error",
        file: "s/t — 1h.sql",
        line: None,
        message: "not valid UTF-8 (byte 0): save the file as UTF-8",
    },
    Case {
        name: "Latin-1 test file",
        files: &[
            GOOD_ROOT,
            ("s/root_test.sql", b"select \x27\xe9\x27 = \x27\xe9\x27"),
        ],
        severity: "error",
        file: "s/root_test.sql",
        line: None,
        message: "not valid UTF-8 (byte 8)",
    },
    Case {
        name: "zero-byte query file",
        files: &[GOOD_ROOT, ("s/t — 1h.sql", b"")],
        severity: "error",
        file: "s/t — 1h.sql",
        line: None,
        message: "the file is empty: write the table's select query",
    },
    Case {
        name: "whitespace-only query file",
        files: &[GOOD_ROOT, ("s/t — 1h.sql", b" \n\t\r\n  ")],
        severity: "error",
        file: "s/t — 1h.sql",
        line: None,
        message: "the file is empty",
    },
    Case {
        name: "comment-only query file",
        files: &[GOOD_ROOT, ("s/t — 1h.sql", b"-- nothing\n/* here */")],
        severity: "error",
        file: "s/t — 1h.sql",
        line: None,
        message: "the file holds only comments: write the table's select query",
    },
    Case {
        name: "two statements in a query file",
        files: &[GOOD_ROOT, ("s/t — 1h.sql", b"select 1; select 2")],
        severity: "error",
        file: "s/t — 1h.sql",
        line: None,
        message: "expected one select query, found `2 statements`",
    },
    Case {
        name: "unparsable test",
        files: &[
            GOOD_ROOT,
            ("s/root_test.sql", b"select 1 as ok;\nselect from where (("),
        ],
        severity: "warning",
        file: "s/root_test.sql",
        line: Some(2),
        message: "a test does not parse (sql parser error: ",
    },
    Case {
        name: "empty test file",
        files: &[GOOD_ROOT, ("s/root_test.sql", b"")],
        severity: "warning",
        file: "s/root_test.sql",
        line: None,
        message: "the test file is empty: no tests run",
    },
    Case {
        name: "NUL byte in a query",
        files: &[GOOD_ROOT, ("s/t — 1h.sql", b"select 1\x00")],
        severity: "warning",
        file: "s/t — 1h.sql",
        line: Some(1),
        message: "the query does not parse",
    },
    Case {
        name: "500 nested parentheses",
        files: &[GOOD_ROOT, ("s/deep — 1h.sql", DEEP_PARENS)],
        severity: "warning",
        file: "s/deep — 1h.sql",
        line: None,
        message: "the query does not parse (nested 500 parentheses deep, more than the 48 duro parses); dependencies were found by searching for table names instead: s.root",
    },
    Case {
        name: "two-table cycle",
        files: &[
            GOOD_ROOT,
            ("s/a — 1h.sql", b"select * from s.b"),
            ("s/b — 1h.sql", b"select * from s.a"),
        ],
        severity: "error",
        file: "s/a — 1h.sql",
        line: None,
        message: "dependency cycle between s.a, s.b",
    },
    Case {
        name: "query of keywords only",
        files: &[GOOD_ROOT, ("s/u — 1h.sql", b"select from from where")],
        severity: "warning",
        file: "s/u — 1h.sql",
        line: None,
        message: "the query does not parse",
    },
    Case {
        name: "processor distkey not in its DDL",
        files: &[
            ("s/p_select.sql", b"select 1 as a"),
            ("s/p.py", b"print(1)"),
            ("s/p — 1h.sql", b"create table s.p (a int)"),
            ("s/p.conf", b"distkey=b\n"),
        ],
        severity: "error",
        file: "s/p.conf",
        line: Some(1),
        message: "distkey b is not a column of the create table DDL (columns: a)",
    },
    Case {
        name: "processor DDL without an interval",
        files: &[
            GOOD_ROOT,
            ("s/p_select.sql", b"select 1 as a"),
            ("s/p.py", b"print(1)"),
            ("s/p.sql", b"create table s.p (a int)"),
        ],
        severity: "error",
        file: "s/p.sql",
        line: None,
        message: "root without an interval: nothing depends on s.p",
    },
    Case {
        name: "requirements without a processor",
        files: &[GOOD_ROOT, ("s/q_requirements.txt", b"requests")],
        severity: "warning",
        file: "s/q_requirements.txt",
        line: None,
        message: "requirements ignored: s.q is not a processor table (no q.py)",
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
fn duro_variables_that_are_not_settings_are_ignored_with_a_warning() {
    // A script that exports its own DURO_* variables can still run duro.
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1");
    let run: common::Run = p
        .command(&["check"])
        .env("DURO_BIN", "/usr/local/bin/duro")
        .env("DURO_HOME_DIR", "/srv/duro")
        .env("DURO_NOW", "2026-01-01T00:00:00Z")
        .env("DURO_LOG", "warn")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for name in ["DURO_BIN", "DURO_HOME_DIR"] {
        assert!(
            run.stderr.contains(&format!(
                "warning: ignoring the environment variable {name}"
            )),
            "{}",
            run.stderr
        );
    }
    // Variables duro reads are not warned about, and values are never repeated.
    assert!(!run.stderr.contains("DURO_NOW"), "{}", run.stderr);
    assert!(!run.stderr.contains("DURO_LOG"), "{}", run.stderr);
    assert!(!run.stderr.contains("/srv/duro"), "{}", run.stderr);

    // A known section with an unknown key is a misspelt setting: refused, naming the key meant.
    let run: common::Run = p
        .command(&["check"])
        .env("DURO_WAREHOUSE_URLL", "postgres://duro:hunter2@db/x")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("DURO_WAREHOUSE_URLL")
            && run.stderr.contains("did you mean DURO_WAREHOUSE_URL?"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
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

/// Odd but valid inputs: accepted, with what duro makes of them.
#[test]
fn odd_but_valid_inputs_are_accepted() {
    let p = Project::new();
    // Names are case-insensitive; units too.
    p.write("S/Cities — 1H.sql", "select 1 as a, 2 as b");
    // The separator is any run of - — – space and no-break space, so `— -1h` is the interval 1h.
    p.write("s/t — -1h.sql", "select a from s.cities");
    // A UTF-8 byte-order mark is dropped.
    p.write("s/bom — 2h.sql", b"\xef\xbb\xbfselect a from s.cities");
    // Exactly 52 characters.
    p.write(&format!("s/{} — 1h.sql", "a".repeat(52)), "select 1 as a");
    // Resets (null, None, empty) of a value that would be an error if inherited.
    p.write("s.conf", "distkey=zz\nsortkey=zz\n");
    p.write("s/cities.conf", "distkey=null\nsortkey=None\n");
    p.write("s/t.conf", "distkey=\nsortkey=\n");
    p.write("s/bom.conf", "distkey=None\nsortkey=null\n");
    p.write(
        &format!("s/{}.conf", "a".repeat(52)),
        "distkey=\nsortkey=\n",
    );
    // A quote as the CSV delimiter reaches SQL only as an escaped literal.
    p.write("global.conf", "csv_delimiter='\n");
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json(), serde_json::json!([]));
    let graph = p.run(&["graph", "--format", "json"]).json();
    let tables: Vec<(String, u64)> = graph["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["interval_minutes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(tables.contains(&("s.cities".into(), 60)), "{tables:?}");
    assert!(tables.contains(&("s.t".into(), 60)), "{tables:?}");
    assert!(tables.contains(&("s.bom".into(), 120)), "{tables:?}");
}

/// A 5 MB query (400 000 columns) and a 5 MB comment are checked in bounded time.
#[test]
fn huge_files_do_not_hang() {
    let p = Project::new();
    p.write("s/root — 1h.sql", "select 1 as a");
    let mut wide = String::from("select 1 as a");
    for i in 1..400_000 {
        wide.push_str(&format!(", {i} as c{i}"));
    }
    wide.push_str(" from s.root");
    assert!(wide.len() > 5_000_000);
    p.write("s/wide — 1h.sql", &wide);
    p.write(
        "s/commented — 1h.sql",
        format!("select a from s.root -- {}", "x".repeat(5_000_000)),
    );
    let started = std::time::Instant::now();
    let run = p.run(&["check", "--format", "json"]);
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        elapsed < std::time::Duration::from_secs(60),
        "check took {elapsed:?}"
    );
}

/// Deeply nested subqueries and long union chains fall back with a warning, never a crash (they
/// used to overflow the parser's stack: 15 nested subqueries in a debug build, 20,000 unions).
#[test]
fn deep_queries_do_not_overflow_the_stack() {
    let p = Project::new();
    p.write("s/root — 1h.sql", "select 1 as a");
    let n = 500;
    p.write(
        "s/nested — 1h.sql",
        format!(
            "select a from {}s.root{}",
            "(select a from ".repeat(n),
            ") x".repeat(n)
        ),
    );
    let unions: Vec<String> = (0..20_000)
        .map(|i| format!("select {i} as a from s.root"))
        .collect();
    p.write("s/unions — 1h.sql", unions.join(" union all "));
    let n = 15;
    p.write(
        "s/fifteen — 1h.sql",
        format!(
            "select a from {}s.root{}",
            "(select a from ".repeat(n),
            ") x".repeat(n)
        ),
    );
    let run = p.run(&["check", "--format", "json"]);
    assert!(!run.stderr.contains("overflow"), "{}", run.stderr);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let warnings = run.json().to_string();
    assert!(
        warnings.contains("nested 500 parentheses deep"),
        "{warnings}"
    );
    assert!(warnings.contains("19999 set operations"), "{warnings}");
    // Every one of them still depends on s.root (parsed, or found by the name search).
    let graph = p.run(&["graph", "--format", "json"]).json();
    for table in graph["tables"].as_array().unwrap() {
        if table["name"] != "s.root" {
            assert_eq!(
                table["depends_on"],
                serde_json::json!(["s.root"]),
                "{table}"
            );
        }
    }
}

/// Output piped into a reader that stops early (`duro status | head -1`) ends duro quietly, as
/// other Unix tools do: no panic message about a broken pipe.
#[test]
fn a_closed_stdout_is_no_panic() {
    let p = Project::new();
    for i in 0..300 {
        p.write(&format!("s/t{i:03} — 1h.sql"), "select 1 as x");
    }
    assert_eq!(p.run(&["schedule"]).code, 0);
    let mut child = p
        .command(&["status", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the pipe before duro writes: every write then fails.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
