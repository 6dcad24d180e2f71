//! A real PostgreSQL for the integration tests: `DURO_TEST_DATABASE_URL` when set, otherwise a
//! throwaway cluster started from the system's PostgreSQL binaries on a free port (as the
//! `postgres` user when the tests run as root). The server gets SIGINT when the test process
//! exits. Every test gets its own database.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where to connect as a superuser: `postgres://user@host:port/`.
struct Cluster {
    base: String,
    admin_db: String,
    /// How the server was started, when this process started it (it can then be restarted).
    server: Option<Server>,
}

#[derive(Clone)]
struct Server {
    bin: PathBuf,
    root: bool,
    dir: PathBuf,
    port: u16,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn bin_dir() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    candidates.reverse();
    if let Ok(path) = std::env::var("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|d| d.join("initdb").exists() && d.join("postgres").exists())
        .expect("PostgreSQL server binaries (initdb, postgres) not found: install Debian's postgresql package or set DURO_TEST_DATABASE_URL")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Removes data directories of earlier test processes that are gone.
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_prefix("duro-test-pg-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--pdeathsig",
            "SIGINT",
            "--",
        ])
        .arg(program);
        c
    } else {
        let mut c = Command::new("setpriv");
        c.args(["--pdeathsig", "SIGINT", "--"]).arg(program);
        c
    }
}

fn start_cluster() -> Cluster {
    let bin = bin_dir();
    let root = is_root();
    let tmp = std::env::temp_dir();
    remove_stale(&tmp);
    let dir = tmp.join(format!("duro-test-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    if root {
        let status = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown of {} failed", dir.display());
    }
    let out = as_server_user(&bin.join("initdb"), root)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "-N",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server {
        bin,
        root,
        dir: dir.clone(),
        port: free_port(),
    };
    spawn_server(&server);
    let base = format!("postgres://postgres@127.0.0.1:{}/", server.port);
    wait_until_up(&base, &dir);
    Cluster {
        base,
        admin_db: "postgres".into(),
        server: Some(server),
    }
}

fn spawn_server(s: &Server) {
    let mut server = as_server_user(&s.bin.join("postgres"), s.root);
    server
        .arg("-D")
        .arg(s.dir.join("data"))
        .args(["-p", &s.port.to_string(), "-k"])
        .arg(&s.dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "log_min_messages=fatal",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(s.dir.join("server.log"))
                .unwrap(),
        );
    // The server is a child of a thread that lives as long as the process, so its
    // parent-death signal fires only when the whole test process exits.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut child = server.spawn().expect("start postgres");
        tx.send(()).unwrap();
        let _ = child.wait();
    });
    rx.recv().unwrap();
}

fn wait_until_up(base: &str, dir: &Path) {
    let started = Instant::now();
    while query(&format!("{base}postgres"), "select 1").is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "PostgreSQL did not start; see {}",
            dir.join("server.log").display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether this test process runs its own server (which it may then restart).
pub fn owns_server() -> bool {
    cluster().server.is_some()
}

/// Stops this process's PostgreSQL (fast shutdown: sessions are cut, open transactions rolled
/// back), waits `down` and starts it again on the same port.
pub fn restart_server(down: Duration) {
    let cluster = cluster();
    let server = cluster.server.as_ref().expect("an own server to restart");
    let pid_file = server.dir.join("data/postmaster.pid");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let started = Instant::now();
    while Path::new("/proc").join(&pid).exists() && pid_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "PostgreSQL did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(down);
    spawn_server(server);
    wait_until_up(&cluster.base, &server.dir);
}

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| match std::env::var("DURO_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let (base, db) = url
                .rsplit_once('/')
                .expect("DURO_TEST_DATABASE_URL like postgres://user@host:port/db");
            Cluster {
                base: format!("{base}/"),
                admin_db: db.split('?').next().unwrap_or("postgres").to_string(),
                server: None,
            }
        }
        _ => start_cluster(),
    })
}

/// Runs statements (simple-query protocol) and returns the rows of the last result as text.
pub fn query(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    // On a thread of its own, so that async tests can call it too.
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || query_blocking(&url, &sql))
        .join()
        .unwrap()
}

fn query_blocking(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let task = tokio::spawn(connection);
        let messages = client
            .simple_query(sql)
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            });
        drop(client);
        let _ = task.await;
        let mut rows = Vec::new();
        for m in messages? {
            match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                tokio_postgres::SimpleQueryMessage::CommandComplete(_) => {}
                _ => {}
            }
        }
        Ok(rows)
    })
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    pub name: String,
}

impl TestDb {
    pub fn new(label: &str) -> TestDb {
        let cluster = cluster();
        let name = format!(
            "duro_{}_{}_{}",
            label,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        query(
            &format!("{}{}", cluster.base, cluster.admin_db),
            &format!("create database {name}"),
        )
        .unwrap();
        TestDb {
            url: format!("{}{name}", cluster.base),
            name,
        }
    }

    /// Runs SQL, panicking with the server's message on error.
    pub fn exec(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        query(&self.url, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The single value of a query.
    pub fn value(&self, sql: &str) -> Option<String> {
        self.exec(sql)
            .first()
            .and_then(|r| r.first().cloned().flatten())
    }

    /// A checksum of a relation's rows (order-independent), `None` if it does not exist.
    pub fn checksum(&self, relation: &str) -> Option<String> {
        query(
            &self.url,
            &format!("select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from {relation} t"),
        )
        .ok()
        .and_then(|r| r.first().and_then(|r| r.first().cloned().flatten()))
    }

    /// Leftover temporary or old tables of duro in this database.
    pub fn leftovers(&self) -> Vec<String> {
        self.exec("select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relname like '%\\_duro\\_temp' or c.relname like '%\\_duro\\_old' order by 1")
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect()
    }

    /// Creates a role if it does not exist (roles are shared by the whole cluster).
    pub fn ensure_role(&self, role: &str) {
        self.exec(&format!(
            "do $$ begin create role {role}; exception when duplicate_object then null; end $$"
        ));
    }
}
