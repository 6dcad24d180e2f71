//! The earlier tool's `config.conf` (INI, read by Python's configparser) turned into a `duro.toml`:
//! paths made relative to the new file, secrets moved into the environment variables duro reads.

use crate::config::Secret;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A `config.conf` that cannot be converted, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfError {
    pub file: String,
    pub message: String,
}

/// One environment variable to export, with its value masked for the terminal.
#[derive(Debug)]
pub struct Export {
    pub name: &'static str,
    pub value: Secret,
    pub masked: String,
}

/// What the conversion produced.
#[derive(Debug)]
pub struct Converted {
    /// The text of `duro.toml`.
    pub toml: String,
    pub exports: Vec<Export>,
    /// Settings that have no equivalent or behave differently, for the user to read.
    pub notes: Vec<String>,
    /// The earlier tool's SQLite database (`[main] db`), for `--state`.
    pub db: PathBuf,
}

type Section = BTreeMap<String, String>;

/// Python configparser's reading: `key = value` or `key: value`, keys case-insensitive, indented
/// lines continue a value, `#`/`;` comment lines, no inline comments, `%%` for `%`.
fn sections(text: &str, file: &str) -> Result<BTreeMap<String, Section>, ConfError> {
    let options = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: true,
        enabled_preserve_key_leading_whitespace: false,
    };
    let parsed = ini::Ini::load_from_str_opt(text, options).map_err(|e| ConfError {
        file: file.into(),
        message: format!(
            "is not an INI file ({e}); expected sections like [main] with key = value lines"
        ),
    })?;
    let mut out = BTreeMap::new();
    for (name, properties) in parsed.iter() {
        let Some(name) = name else { continue };
        let section: &mut Section = out.entry(name.to_string()).or_default();
        for (key, value) in properties.iter() {
            let value = interpolate(value, properties).map_err(|message| ConfError {
                file: file.into(),
                message: format!("[{name}] {key}: {message}"),
            })?;
            section.insert(key.trim().to_lowercase(), value.trim().to_string());
        }
    }
    Ok(out)
}

/// configparser's BasicInterpolation: `%%` is `%`, `%(key)s` is another key of the section.
fn interpolate(value: &str, section: &ini::Properties) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            out.push('%');
            rest = after;
        } else if let Some(inner) = rest.strip_prefix('(')
            && let Some((key, after)) = inner.split_once(")s")
        {
            let referenced = section
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
                .ok_or_else(|| format!("%({key})s names no key of its section"))?;
            out.push_str(referenced);
            rest = after;
        } else {
            return Err(
                "a lone % (write %% for a percent sign, as the earlier tool required)".into(),
            );
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn boolean(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// `path` (relative to `base`, the folder of config.conf) as duro.toml writes it: relative to
/// `out` when it lies inside it, else absolute.
fn relative(path: &str, base: &Path, out: &Path) -> String {
    let absolute = normalise(&base.join(path));
    match absolute.strip_prefix(normalise(out)) {
        Ok(inside) if inside.as_os_str().is_empty() => ".".into(),
        Ok(inside) => inside.display().to_string(),
        Err(_) => absolute.display().to_string(),
    }
}

/// An absolute path without `.` and `..` components (the folders may not exist yet).
fn normalise(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

/// Connection keywords passed through from `[redshift]` as URL parameters (the earlier tool gave
/// the whole section to libpq; these are the ones duro's driver accepts).
const URL_PARAMETERS: &[&str] = &[
    "sslmode",
    "connect_timeout",
    "application_name",
    "options",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "tcp_user_timeout",
    "target_session_attrs",
    "channel_binding",
];

/// What a URL's user, password and database may hold unencoded (RFC 3986's unreserved).
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(part: &str) -> String {
    percent_encoding::utf8_percent_encode(part, UNRESERVED).to_string()
}

/// Converts the text of `config.conf` (at `conf`) into a `duro.toml` for the folder `out`.
pub fn convert(text: &str, conf: &Path, out: &Path) -> Result<Converted, ConfError> {
    let file = conf.display().to_string();
    let base = conf.parent().unwrap_or(Path::new("."));
    let sections = sections(text, &file)?;
    let fail = |message: String| ConfError {
        file: file.clone(),
        message,
    };
    let main = sections.get("main").ok_or_else(|| {
        fail("has no [main] section: is this the earlier duro's config.conf?".into())
    })?;
    let mut notes = Vec::new();
    let mut exports = Vec::new();
    let mut toml = format!(
        "# Made by `duro migrate` from {file}.\n# Secrets are not in this file: export the DURO_* variables it printed.\n\n"
    );
    let views = main.get("views").map_or("./views", String::as_str);
    let _ = writeln!(toml, "views = {}", toml_string(&relative(views, base, out)));
    let _ = writeln!(toml, "state = \".duro/state.db\"");
    if !base.join(views).is_dir() {
        notes.push(format!(
            "[main] views = {views}: no such folder next to {file}; fix `views` in duro.toml"
        ));
    }
    let db = normalise(&base.join(main.get("db").map_or("./duro.db", String::as_str)));
    if main.contains_key("logs") {
        notes.push("[main] logs: duro logs to stderr (journald under systemd, `--log-format json` for shippers); the logs folder is not used".into());
    }
    if main.contains_key("graph") {
        notes.push("[main] graph: duro keeps the graph in its state (`duro graph --format dot` prints it); the .dot file is not used".into());
    }
    if let Some(value) = main.get("use_git") {
        let on = boolean(value).ok_or_else(|| {
            fail(format!(
                "[main] use_git = {value} is not a boolean (yes/no, true/false, on/off, 1/0)"
            ))
        })?;
        if on {
            notes.push("[main] use_git = yes: duro records the views folder's git commit by itself, but schedules the files as they are on disk, uncommitted edits included (the earlier tool read only HEAD)".into());
        }
    }
    for key in main.keys() {
        if !["views", "db", "logs", "graph", "use_git"].contains(&key.as_str()) {
            notes.push(format!(
                "[main] {key}: unknown to the earlier tool, not carried over"
            ));
        }
    }

    if let Some(redshift) = sections.get("redshift") {
        let get = |key: &str| redshift.get(key).map(String::as_str).unwrap_or("");
        let host = get("host");
        if host.is_empty() {
            return Err(fail("[redshift] has no host".into()));
        }
        let port = match get("port") {
            "" => 5439,
            p => p
                .parse::<u16>()
                .map_err(|_| fail(format!("[redshift] port = {p} is not a port number")))?,
        };
        let user = get("user");
        let database = get("database");
        let parameters: Vec<String> = redshift
            .iter()
            .filter(|(k, _)| URL_PARAMETERS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        for key in redshift.keys() {
            let known = ["host", "port", "database", "user", "password", "dbname"];
            if !known.contains(&key.as_str()) && !URL_PARAMETERS.contains(&key.as_str()) {
                notes.push(format!("[redshift] {key}: not a connection setting duro's driver knows; not carried over"));
            }
        }
        let database = if database.is_empty() {
            get("dbname")
        } else {
            database
        };
        let query = if parameters.is_empty() {
            String::new()
        } else {
            format!("?{}", parameters.join("&"))
        };
        let user_part = if user.is_empty() {
            String::new()
        } else {
            format!("{}@", encode(user))
        };
        let url = format!(
            "redshift://{user_part}{host}:{port}/{}{query}",
            encode(database)
        );
        let _ = writeln!(
            toml,
            "\n[warehouse]\n# The password comes from DURO_WAREHOUSE_URL.\nurl = {}",
            toml_string(&url)
        );
        let password = get("password");
        if !password.is_empty() && user.is_empty() {
            notes.push("[redshift] has a password but no user: a URL cannot carry one without the other; add the user to DURO_WAREHOUSE_URL".into());
        } else if !password.is_empty() {
            let with = |secret: &str| {
                format!(
                    "redshift://{}:{secret}@{host}:{port}/{}{query}",
                    encode(user),
                    encode(database)
                )
            };
            exports.push(Export {
                name: "DURO_WAREHOUSE_URL",
                value: Secret::new(with(&encode(password))),
                masked: with("****"),
            });
        }
        notes.push("[redshift]: duro connects to redshift:// with TLS required (the earlier tool used libpq's default, sslmode=prefer)".into());
    } else {
        notes.push("no [redshift] section: duro.toml keeps the embedded DuckDB warehouse; set [warehouse] url".into());
    }

    if let Some(s3) = sections.get("s3") {
        toml.push_str("\n[s3]\n");
        if let Some(bucket) = s3.get("bucket") {
            let _ = writeln!(toml, "bucket = {}", toml_string(bucket));
        }
        if let Some(folder) = s3.get("folder") {
            let _ = writeln!(toml, "prefix = {}", toml_string(folder));
        }
        toml.push_str("# region = \"\"   # the earlier tool used boto3's default region (AWS_DEFAULT_REGION)\n");
        for (key, name) in [
            ("aws_access_key_id", "DURO_S3_ACCESS_KEY_ID"),
            ("aws_secret_access_key", "DURO_S3_SECRET_ACCESS_KEY"),
        ] {
            if let Some(value) = s3.get(key).filter(|v| !v.is_empty()) {
                exports.push(Export {
                    name,
                    value: Secret::new(value.clone()),
                    masked: "****".into(),
                });
            }
        }
        for key in s3.keys() {
            if ![
                "bucket",
                "folder",
                "aws_access_key_id",
                "aws_secret_access_key",
            ]
            .contains(&key.as_str())
            {
                notes.push(format!(
                    "[s3] {key}: unknown to the earlier tool, not carried over"
                ));
            }
        }
    }

    if let Some(slack) = sections.get("slack") {
        toml.push_str("\n[slack]\n# The webhook URL comes from DURO_SLACK_WEBHOOK_URL.\n");
        for key in [
            "channel",
            "failure_channel",
            "success_channel",
            "log_channel",
        ] {
            if let Some(value) = slack.get(key) {
                let _ = writeln!(toml, "{key} = {}", toml_string(value));
            }
        }
        match slack.get("url").filter(|v| !v.is_empty()) {
            Some(url) => exports.push(Export {
                name: "DURO_SLACK_WEBHOOK_URL",
                value: Secret::new(url.clone()),
                masked: mask_url(url),
            }),
            None => notes.push("[slack] has no url: Slack stays off, as it was".into()),
        }
        for key in slack.keys() {
            if ![
                "url",
                "channel",
                "failure_channel",
                "success_channel",
                "log_channel",
            ]
            .contains(&key.as_str())
            {
                notes.push(format!(
                    "[slack] {key}: unknown to the earlier tool, not carried over"
                ));
            }
        }
    }
    for name in sections.keys() {
        if !["main", "redshift", "s3", "slack"].contains(&name.as_str()) {
            notes.push(format!(
                "[{name}]: unknown to the earlier tool, not carried over"
            ));
        }
    }
    Ok(Converted {
        toml,
        exports,
        notes,
        db,
    })
}

/// A webhook URL with its secret path hidden: scheme and host only.
fn mask_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or("");
            format!("{scheme}://{host}/****")
        }
        None => "****".into(),
    }
}

/// A value for `export NAME=…` in a POSIX shell.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "[main]\nviews=views_folder\nlogs=logs_folder\ndb=db.db\ngraph=configs/graph.dot\nuse_git=yes\n\n[redshift]\nhost=redshift.amazonaws.com\nport=5439\ndatabase=redshift_db\nuser=redshift_user\npassword=redshift_pwd\n\n[slack]\nurl=https://hooks.slack.com/services/\nfailure_channel=failure\nsuccess_channel=success\nlog_channel=log-channel\n\n[s3]\naws_access_key_id=AAKI\naws_secret_access_key=ASAK\nbucket=s3-bucket\nfolder=duro\n";

    fn convert_here(text: &str) -> Converted {
        let dir = std::env::temp_dir().join("duro-legacy-conf");
        convert(text, &dir.join("config.conf"), &dir).unwrap()
    }

    #[test]
    fn the_full_fixture_config() {
        let c = convert_here(FULL);
        let parsed: toml::Value = toml::from_str(&c.toml).unwrap();
        assert_eq!(parsed["views"].as_str(), Some("views_folder"));
        assert_eq!(
            parsed["warehouse"]["url"].as_str(),
            Some("redshift://redshift_user@redshift.amazonaws.com:5439/redshift_db")
        );
        assert_eq!(parsed["s3"]["bucket"].as_str(), Some("s3-bucket"));
        assert_eq!(parsed["s3"]["prefix"].as_str(), Some("duro"));
        assert_eq!(parsed["slack"]["failure_channel"].as_str(), Some("failure"));
        assert_eq!(parsed["slack"]["log_channel"].as_str(), Some("log-channel"));
        for secret in ["redshift_pwd", "AAKI", "ASAK", "hooks.slack.com/services"] {
            assert!(!c.toml.contains(secret), "{secret} in duro.toml");
        }
        let names: Vec<_> = c.exports.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "DURO_WAREHOUSE_URL",
                "DURO_S3_ACCESS_KEY_ID",
                "DURO_S3_SECRET_ACCESS_KEY",
                "DURO_SLACK_WEBHOOK_URL"
            ]
        );
        let url = &c.exports[0];
        assert!(url.value.expose().contains(":redshift_pwd@"));
        assert!(!url.masked.contains("pwd"), "{}", url.masked);
        assert!(c.db.ends_with("db.db"));
        assert!(c.notes.iter().any(|n| n.contains("use_git")));
    }

    #[test]
    fn python_configparser_rules() {
        let text = "[main]\nViews : my views\n; a comment\n# another\n\n[redshift]\nHOST = h\npassword = p%%w;rd # not a comment\nsslmode = require\nfoo = bar\n";
        let c = convert_here(text);
        let parsed: toml::Value = toml::from_str(&c.toml).unwrap();
        assert_eq!(parsed["views"].as_str(), Some("my views"));
        assert_eq!(
            parsed["warehouse"]["url"].as_str(),
            Some("redshift://h:5439/?sslmode=require")
        );
        assert!(c.notes.iter().any(|n| n.contains("[redshift] foo")));
        // No user: the password cannot go in the URL, and the user is told.
        assert!(c.exports.is_empty());
        assert!(c.notes.iter().any(|n| n.contains("password but no user")));
    }

    #[test]
    fn passwords_are_percent_encoded() {
        let c = convert_here("[main]\n[redshift]\nhost=h\nuser=me\npassword=p@ss:w/rd%%\n");
        assert_eq!(
            c.exports[0].value.expose(),
            "redshift://me:p%40ss%3Aw%2Frd%25@h:5439/"
        );
        let config: tokio_postgres::Config = c.exports[0]
            .value
            .expose()
            .replace("redshift://", "postgresql://")
            .parse()
            .unwrap();
        assert_eq!(config.get_password(), Some(&b"p@ss:w/rd%"[..]));
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let dir = std::env::temp_dir();
        let conf = dir.join("config.conf");
        let e = convert("[redshift]\nhost=h\n", &conf, &dir).unwrap_err();
        assert!(e.to_string().contains("no [main] section"), "{e}");
        let e = convert("[main]\nuse_git=maybe\n", &conf, &dir).unwrap_err();
        assert!(
            e.to_string().contains("use_git = maybe is not a boolean"),
            "{e}"
        );
        let e = convert("[main]\n[redshift]\nhost=h\nport=x\n", &conf, &dir).unwrap_err();
        assert!(e.to_string().contains("port = x"), "{e}");
        let e = convert("[main]\nviews=50%\n", &conf, &dir).unwrap_err();
        assert!(e.to_string().contains("lone %"), "{e}");
        let e = convert("just text\n", &conf, &dir).unwrap_err();
        assert!(e.to_string().contains("config.conf"), "{e}");
    }

    #[test]
    fn paths_outside_the_new_folder_stay_absolute() {
        let base = Path::new("/srv/old");
        assert_eq!(relative("views", base, Path::new("/srv/old")), "views");
        assert_eq!(relative("./views", base, Path::new("/srv/old")), "views");
        assert_eq!(
            relative("../shared/views", base, Path::new("/srv/old")),
            "/srv/shared/views"
        );
        assert_eq!(relative(".", base, Path::new("/srv/old")), ".");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
    }
}
