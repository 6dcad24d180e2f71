//! Secrets — the warehouse password, S3 keys, the Slack webhook URL and the web token — never
//! show up: not in any command's output or logs (debug level, text and JSON), not in any page or
//! API answer of the web UI, not in the state database.

mod common;

use common::Project;
use common::web::{Server, get};

const SECRETS: &[&str] = &[
    "hunter2-SECRET",
    "hunter3-ENV",
    "XSECRETX",
    "S3KEY-SECRET",
    "TOKEN-SECRET",
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

fn project() -> Project {
    let p = Project::new();
    p.write_config_with_url(
        "postgres://duro:hunter2-SECRET@127.0.0.1:1/warehouse",
        "[creator]\nretries = 0\n\
         [s3]\nbucket = \"b\"\naccess_key_id = \"AKIAEXAMPLE\"\nsecret_access_key = \"S3KEY-SECRET\"\n\
         [slack]\nwebhook_url = \"http://127.0.0.1:9/T000/B000/XSECRETX\"\n\
         [web]\ntoken = \"TOKEN-SECRET\"\n",
    );
    p.write("s/t — 1h.sql", "select 1 as x");
    p.write("s/u — 1h.sql", "select x from s.t");
    p
}

#[test]
fn no_command_prints_a_secret() {
    let p = project();
    let commands: &[&[&str]] = &[
        &["check"],
        &["check", "--format", "json"],
        &["schedule"],
        &["graph", "--format", "json"],
        &["plan"],
        &["create", "--once"],
        &["run", "s.t"],
        &["status"],
        &["status", "s.t", "--format", "json"],
        &["digest"],
        &["force", "s.t", "--tree"],
        &["serve", "--bind", "0.0.0.0:0", "--config", "missing.toml"],
    ];
    for format in ["text", "json"] {
        for args in commands {
            let mut all = vec!["--log-format", format];
            all.extend_from_slice(args);
            let run: common::Run = p
                .command(&all)
                .env("DURO_LOG", "debug")
                .output()
                .unwrap()
                .into();
            assert_clean(
                &format!("duro {}", all.join(" ")),
                &format!("{}{}", run.stdout, run.stderr),
            );
        }
    }
    // The same with the password from the environment.
    let run: common::Run = p
        .command(&["--log-format", "json", "run", "s.t"])
        .env("DURO_LOG", "trace")
        .env(
            "DURO_WAREHOUSE_URL",
            "postgres://duro:hunter3-ENV@127.0.0.1:1/warehouse",
        )
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "the warehouse is unreachable: {}", run.stderr);
    assert!(
        run.stderr.contains("127.0.0.1"),
        "the error still says where: {}",
        run.stderr
    );
    assert_clean(
        "run with DURO_WAREHOUSE_URL",
        &format!("{}{}", run.stdout, run.stderr),
    );

    // Nor does the state database hold one.
    for file in ["state/duro.db", "state/duro.db-wal"] {
        if let Ok(bytes) = std::fs::read(p.path().join(file)) {
            assert_clean(file, &String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn no_page_or_api_answer_shows_a_secret() {
    let p = project();
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(p.run(&["create", "--once"]).code, 1);
    let server = Server::start(&p);
    for path in [
        "/",
        "/tables",
        "/tables/s.t",
        "/graph",
        "/api/tables",
        "/api/tables/s.t",
        "/api/jobs",
        "/api/graph",
        "/api/stats?hours=24",
        "/metrics",
        "/healthz",
        "/no/such/page",
    ] {
        let reply = get(&server.url(path));
        assert_clean(path, &format!("{}{:?}", reply.body, reply.set_cookie));
    }
}
