//! `duro.toml` (SPEC §15): typed settings with `DURO_<SECTION>_<KEY>` environment overrides.
//! Secrets (warehouse passwords, keys, webhook URLs, tokens) are wrapped so that `Debug` and
//! logs never show them.

use crate::interval::Interval;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::{Path, PathBuf};

/// A string that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it (a connection, a request).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Where tables are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarehouseKind {
    Postgres,
    Redshift,
    DuckDb,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarehouseConfig {
    pub url: Secret,
    /// Redshift's workload-management query group, set by every duro session on Redshift: WLM
    /// routes duro's queries by it and it is their `label` in STL_QUERY. Ignored elsewhere.
    pub query_group: String,
}

impl Default for WarehouseConfig {
    fn default() -> Self {
        WarehouseConfig {
            url: Secret::new("duckdb://.duro/warehouse.duckdb"),
            query_group: DEFAULT_QUERY_GROUP.into(),
        }
    }
}

/// The query group duro's Redshift sessions run in unless `warehouse.query_group` says otherwise.
pub const DEFAULT_QUERY_GROUP: &str = "duro";

/// Redshift keeps the first 30 characters of a query group in STL_QUERY.label; a longer one
/// would be cut there, so it is refused.
pub const QUERY_GROUP_MAX_CHARS: usize = 30;

/// A query group is a label: letters, digits and ` _-.:/@`, at most 30 characters, not empty,
/// no leading or trailing space. Returns the reason it is not.
pub fn check_query_group(value: &str) -> Result<(), String> {
    let fix = format!(
        "use a short label such as {DEFAULT_QUERY_GROUP:?} (letters, digits, spaces and _ - . : / @, at most {QUERY_GROUP_MAX_CHARS} characters)"
    );
    let problem = if value.trim().is_empty() {
        Some("is empty".to_string())
    } else if value.chars().count() > QUERY_GROUP_MAX_CHARS {
        Some(format!(
            "is {} characters long; Redshift keeps only the first {QUERY_GROUP_MAX_CHARS} in STL_QUERY.label",
            value.chars().count()
        ))
    } else if value.trim() != value {
        Some("starts or ends with a space".to_string())
    } else {
        value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || " _-.:/@".contains(*c)))
            .map(|c| format!("contains {c:?}"))
    };
    match problem {
        Some(problem) => Err(format!("{value:?} {problem}: {fix}")),
        None => Ok(()),
    }
}

impl WarehouseConfig {
    pub fn kind(&self) -> Option<WarehouseKind> {
        let url = self.url.expose();
        let scheme = url.split_once("://")?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(WarehouseKind::Postgres),
            "redshift" => Some(WarehouseKind::Redshift),
            "duckdb" => Some(WarehouseKind::DuckDb),
            _ => None,
        }
    }

    /// The URL with any password replaced by `***`, safe to print.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// Replaces the password of `scheme://user:password@host…` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    pub allow_cycles: bool,
    pub default_schema: String,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            allow_cycles: false,
            default_schema: "public".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CreatorConfig {
    pub concurrency: u32,
    pub poll_seconds: u64,
    pub retries: u32,
    pub timeout_factor: f64,
    pub timeout_min: String,
    pub timeout_first_run: String,
    pub lease_seconds: u64,
    /// How long a statement waits for a lock before the attempt is retried (PostgreSQL).
    pub lock_timeout: String,
}

impl Default for CreatorConfig {
    fn default() -> Self {
        CreatorConfig {
            concurrency: 2,
            poll_seconds: 30,
            retries: 3,
            timeout_factor: 5.0,
            timeout_min: "5m".into(),
            timeout_first_run: "6h".into(),
            lease_seconds: 30,
            lock_timeout: "30s".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    pub bucket: String,
    pub prefix: String,
    pub region: String,
    pub endpoint: String,
    pub iam_role: Secret,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    pub webhook_url: Secret,
    /// Fallback for any of the three channels left empty.
    pub channel: String,
    pub failure_channel: String,
    pub success_channel: String,
    pub log_channel: String,
    pub username: String,
    pub icon_emoji: String,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            webhook_url: Secret::default(),
            channel: String::new(),
            failure_channel: String::new(),
            success_channel: String::new(),
            log_channel: String::new(),
            username: "duro".into(),
            icon_emoji: ":card_file_box:".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    pub bind: String,
    pub token: Secret,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            bind: "127.0.0.1:8080".into(),
            token: Secret::default(),
        }
    }
}

/// The whole configuration, with paths resolved against the config file's folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub views: PathBuf,
    pub state: PathBuf,
    pub warehouse: WarehouseConfig,
    pub scheduler: SchedulerConfig,
    pub creator: CreatorConfig,
    pub s3: S3Config,
    pub slack: SlackConfig,
    pub web: WebConfig,
    /// The file the settings came from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            views: "views".into(),
            state: ".duro/state.db".into(),
            warehouse: WarehouseConfig::default(),
            scheduler: SchedulerConfig::default(),
            creator: CreatorConfig::default(),
            s3: S3Config::default(),
            slack: SlackConfig::default(),
            web: WebConfig::default(),
            source: None,
        }
    }
}

/// A configuration problem: exit code 2, naming the file and key.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    pub origin: String,
    pub message: String,
}

const SECTIONS: &[&str] = &["warehouse", "scheduler", "creator", "s3", "slack", "web"];
/// Environment variables that start with DURO_ but are not settings.
const NOT_SETTINGS: &[&str] = &[
    "DURO_CONFIG",
    "DURO_NOW",
    "DURO_LOG",
    "DURO_TEST_DATABASE_URL",
];
const INTEGER_KEYS: &[&str] = &["concurrency", "poll_seconds", "retries", "lease_seconds"];
const FLOAT_KEYS: &[&str] = &["timeout_factor"];
const BOOL_KEYS: &[&str] = &["allow_cycles"];

impl Config {
    /// Loads `path` (if given or present) and applies the environment. `explicit` says whether
    /// the user named the file (then it must exist).
    pub fn load(
        path: &Path,
        explicit: bool,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let mut table = if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                origin: origin.clone(),
                message: format!("cannot read: {e}"),
            })?;
            text.parse::<toml::Table>().map_err(|e| ConfigError {
                origin: origin.clone(),
                message: format!("not valid TOML: {}", e.message().trim()),
            })?
        } else if explicit {
            return Err(ConfigError {
                origin,
                message: "config file not found (run `duro init` to create one)".into(),
            });
        } else {
            toml::Table::new()
        };
        apply_env(&mut table, env)?;
        let mut config: Config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError {
                origin: origin.clone(),
                message: e.message().trim().to_string(),
            })?;
        // Paths in the file are relative to its folder.
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty() && path.exists())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if path.exists() {
            config.source = Some(path.to_path_buf());
        }
        config.views = base.join(&config.views);
        config.state = base.join(&config.state);
        if let Some(rest) = config.warehouse.url.expose().strip_prefix("duckdb://")
            && !rest.is_empty()
            && !rest.starts_with('/')
            && rest != ":memory:"
        {
            let path = base.join(rest);
            config.warehouse.url = Secret::new(format!("duckdb://{}", path.display()));
        }
        config.validate(&origin)?;
        Ok(config)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            Err(ConfigError {
                origin: origin.to_string(),
                message: format!("{key}: {message}"),
            })
        };
        if self.warehouse.kind().is_none() {
            return fail(
                "warehouse.url",
                format!(
                    "{:?} is not a warehouse URL: use postgres://…, postgresql://…, redshift://… or duckdb://path",
                    self.warehouse.redacted_url()
                ),
            );
        }
        if let Err(e) = check_query_group(&self.warehouse.query_group) {
            return fail("warehouse.query_group", e);
        }
        if !crate::ident::is_identifier(&self.scheduler.default_schema) {
            return fail(
                "scheduler.default_schema",
                format!("{:?} is not a schema name", self.scheduler.default_schema),
            );
        }
        if self.creator.concurrency == 0 {
            return fail("creator.concurrency", "must be at least 1".into());
        }
        if self.creator.poll_seconds == 0 || self.creator.lease_seconds == 0 {
            return fail(
                "creator.poll_seconds/lease_seconds",
                "must be at least 1".into(),
            );
        }
        if !(self.creator.timeout_factor > 0.0 && self.creator.timeout_factor.is_finite()) {
            return fail("creator.timeout_factor", "must be a positive number".into());
        }
        for (key, value) in [
            ("creator.timeout_min", &self.creator.timeout_min),
            ("creator.timeout_first_run", &self.creator.timeout_first_run),
            ("creator.lock_timeout", &self.creator.lock_timeout),
        ] {
            if let Err(e) = parse_timeout(value) {
                return fail(key, e);
            }
        }
        if self.web.bind.parse::<std::net::SocketAddr>().is_err() {
            return fail(
                "web.bind",
                format!("{:?} is not an address like 127.0.0.1:8080", self.web.bind),
            );
        }
        Ok(())
    }

    /// The SQL dialect queries are parsed with.
    pub fn sql_dialect(&self) -> crate::lineage::SqlDialect {
        match self.warehouse.kind() {
            Some(WarehouseKind::Redshift) => crate::lineage::SqlDialect::Redshift,
            _ => crate::lineage::SqlDialect::Postgres,
        }
    }
}

/// A creator timeout: an interval (`5m`, `6h`) or, for short limits, whole seconds (`30s`).
pub fn parse_timeout(value: &str) -> Result<std::time::Duration, String> {
    if let Some(seconds) = value.strip_suffix(['s', 'S'])
        && !seconds.is_empty()
        && seconds.bytes().all(|b| b.is_ascii_digit())
    {
        return match seconds.parse::<u64>() {
            Ok(n) if n > 0 => Ok(std::time::Duration::from_secs(n)),
            _ => Err(format!("{value:?} is not a positive number of seconds")),
        };
    }
    Interval::parse(value)
        .map(Interval::duration)
        .map_err(|e| format!("{e} (or seconds, e.g. 30s)"))
}

fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("DURO_") && !NOT_SETTINGS.contains(&k.as_str()))
        .collect();
    vars.sort();
    for (name, value) in vars {
        let rest = name["DURO_".len()..].to_ascii_lowercase();
        let error = |message: String| ConfigError {
            origin: format!("environment variable {name}"),
            message,
        };
        let (section, key) = match rest.as_str() {
            "views" | "state" => (None, rest.clone()),
            _ => {
                let Some(section) = SECTIONS.iter().find(|s| rest.starts_with(&format!("{s}_")))
                else {
                    return Err(error(format!(
                        "unknown setting: expected DURO_VIEWS, DURO_STATE or DURO_<SECTION>_<KEY> with a section of {}",
                        SECTIONS.join(", ")
                    )));
                };
                (Some(*section), rest[section.len() + 1..].to_string())
            }
        };
        let parsed = if INTEGER_KEYS.contains(&key.as_str()) {
            value
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| error(format!("{value:?} is not a whole number")))?
        } else if FLOAT_KEYS.contains(&key.as_str()) {
            value
                .trim()
                .parse::<f64>()
                .map(toml::Value::Float)
                .map_err(|_| error(format!("{value:?} is not a number")))?
        } else if BOOL_KEYS.contains(&key.as_str()) {
            match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
                "false" | "0" | "no" | "off" | "" => toml::Value::Boolean(false),
                _ => return Err(error(format!("{value:?} is not true or false"))),
            }
        } else {
            toml::Value::String(value)
        };
        let target = match section {
            None => &mut *table,
            Some(section) => table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| error(format!("[{section}] in the config file is not a table")))?,
        };
        target.insert(key, parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duro.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(
            &path,
            true,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_and_relative_paths() {
        let config = load("", &[]).unwrap();
        assert!(config.views.ends_with("views"));
        assert!(config.state.ends_with(".duro/state.db"));
        assert_eq!(config.creator.concurrency, 2);
        assert_eq!(config.warehouse.kind(), Some(WarehouseKind::DuckDb));
        assert!(
            config
                .warehouse
                .url
                .expose()
                .ends_with(".duro/warehouse.duckdb")
        );
    }

    #[test]
    fn environment_overrides() {
        let config = load(
            "[creator]\nconcurrency = 4\n",
            &[
                ("DURO_CREATOR_CONCURRENCY", "8"),
                ("DURO_WAREHOUSE_URL", "postgresql://u:pw@localhost/db"),
                ("DURO_SCHEDULER_ALLOW_CYCLES", "true"),
                ("DURO_VIEWS", "elsewhere"),
                ("DURO_CONFIG", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(config.creator.concurrency, 8);
        assert_eq!(config.warehouse.kind(), Some(WarehouseKind::Postgres));
        assert!(config.scheduler.allow_cycles);
        assert!(config.views.ends_with("elsewhere"));
    }

    #[test]
    fn errors_name_the_key() {
        let e = load("[creator]\nconcurency = 4\n", &[]).unwrap_err();
        assert!(e.to_string().contains("concurency"), "{e}");
        let e = load("[warehouse]\nurl = \"mysql://x\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("warehouse.url"), "{e}");
        let e = load("", &[("DURO_CREATOR_RETRIES", "many")]).unwrap_err();
        assert!(e.to_string().contains("DURO_CREATOR_RETRIES"), "{e}");
        let e = load("", &[("DURO_WEBTOKEN", "x")]).unwrap_err();
        assert!(e.to_string().contains("DURO_WEBTOKEN"), "{e}");
        let e = load("views = [", &[]).unwrap_err();
        assert!(e.to_string().contains("TOML"), "{e}");
    }

    #[test]
    fn query_group_default_file_and_environment() {
        assert_eq!(load("", &[]).unwrap().warehouse.query_group, "duro");
        let config = load("[warehouse]\nquery_group = \"etl nightly\"\n", &[]).unwrap();
        assert_eq!(config.warehouse.query_group, "etl nightly");
        let config = load(
            "[warehouse]\nquery_group = \"etl\"\n",
            &[("DURO_WAREHOUSE_QUERY_GROUP", "duro-prod:eu")],
        )
        .unwrap();
        assert_eq!(config.warehouse.query_group, "duro-prod:eu");
    }

    #[test]
    fn query_group_must_be_a_label() {
        for bad in [
            "",
            " ",
            "it's",
            "a\"b",
            "back\\slash",
            "semi;colon",
            "line\nbreak",
            "tab\there",
            " padded",
            "thirty-one-characters-long-xxxx",
        ] {
            let e = load("", &[("DURO_WAREHOUSE_QUERY_GROUP", bad)]).unwrap_err();
            let message = e.to_string();
            assert!(message.contains("warehouse.query_group"), "{message}");
            assert!(message.contains("use a short label"), "{message}");
        }
        let e = load("[warehouse]\nquery_group = \"x'; drop table t; --\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("contains '\\''"), "{e}");
        let thirty = "a".repeat(QUERY_GROUP_MAX_CHARS);
        assert!(check_query_group(&thirty).is_ok());
        assert!(check_query_group("duro 2/eu-west-1@prod_x.y").is_ok());
    }

    #[test]
    fn secrets_are_never_debug_printed() {
        let config = load(
            "[warehouse]\nurl = \"postgres://me:hunter2@db/x\"\n[slack]\nwebhook_url = \"https://hooks.example/T0/B0/xyzzy\"\n[web]\ntoken = \"tok3n\"\n[s3]\nsecret_access_key = \"s3cr3t\"\n",
            &[],
        )
        .unwrap();
        let debug = format!("{config:?}");
        for secret in ["hunter2", "xyzzy", "tok3n", "s3cr3t"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        assert_eq!(config.warehouse.redacted_url(), "postgres://me:***@db/x");
    }
}
