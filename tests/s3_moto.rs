//! The S3 staging of Redshift processors against a real S3-compatible server (moto's server,
//! from PyPI): the processed file is uploaded under `<prefix>/<S.T>/<run id>.csv` with its exact
//! content, and deleted afterwards. The COPY statement itself is snapshot-tested in
//! `warehouse::sql` (no Redshift cluster exists here).

mod common;

use duro::config::{S3Config, Secret};
use duro::ident::TableName;
use duro::process::s3::Bucket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn moto_server() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("DURO_TEST_MOTO_SERVER")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(paths) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&paths).map(|d| d.join("moto_server")));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/duro-moto/bin/moto_server"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .expect("moto_server not found: `python3 -m venv ~/.cache/duro-moto && ~/.cache/duro-moto/bin/pip install 'moto[server]'` (.ci/run does)")
}

fn start() -> (Moto, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Moto(child), endpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_processed_file_is_uploaded_and_removed() {
    let (_moto, endpoint) = start();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let created = agent
        .put(&format!("{endpoint}/duro-bucket"))
        .send("")
        .unwrap();
    assert_eq!(created.status(), 200);

    let config = S3Config {
        bucket: "duro-bucket".into(),
        prefix: "/staging/".into(),
        region: "us-east-1".into(),
        endpoint: endpoint.clone(),
        iam_role: Secret::default(),
        access_key_id: Secret::new("AKIDTEST"),
        secret_access_key: Secret::new("s3cr3t-key"),
    };
    let bucket = Bucket::open(&config).unwrap();
    assert!(!format!("{bucket:?} {config:?}").contains("s3cr3t-key"));
    let table = TableName::parse("first.countries").unwrap();
    let key = bucket.key(&table, 42);
    assert_eq!(key, "staging/first.countries/42.csv");
    assert_eq!(
        bucket.url(&key),
        "s3://duro-bucket/staging/first.countries/42.csv"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.csv");
    let content = "city;country\n\"Paris; France\";\"say \"\"hi\"\"\"\nOttawa;\n;\"\"\nZürich;CH\n";
    std::fs::write(&file, content).unwrap();
    bucket.upload(&key, &file).await.unwrap();

    // Read back with an independent client.
    use object_store::ObjectStore;
    let reader = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("duro-bucket")
        .with_region("us-east-1")
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_access_key_id("AKIDTEST")
        .with_secret_access_key("s3cr3t-key")
        .build()
        .unwrap();
    let path = object_store::path::Path::from(key.as_str());
    let stored = reader.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(String::from_utf8(stored.to_vec()).unwrap(), content);

    bucket.delete(&key).await.unwrap();
    assert!(matches!(
        reader.get(&path).await,
        Err(object_store::Error::NotFound { .. })
    ));

    // A missing bucket is a clear error naming it.
    let missing = Bucket::open(&S3Config {
        bucket: "no-such-bucket".into(),
        ..config.clone()
    })
    .unwrap();
    let err = missing.upload(&key, &file).await.unwrap_err();
    assert!(
        err.contains("s3://no-such-bucket/staging/first.countries/42.csv"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t-key"), "{err}");
    let err = Bucket::open(&S3Config {
        bucket: String::new(),
        ..config
    })
    .unwrap_err();
    assert!(err.contains("s3.bucket"), "{err}");
}
