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
    /// What loading noticed but did not refuse (a `DURO_*` variable that is not duro's), for
    /// the command line to print on stderr.
    #[serde(skip)]
    pub warnings: Vec<String>,
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
            warnings: Vec::new(),
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

/// Every key of every section, as `DURO_<SECTION>_<KEY>` can name it (the structs above;
/// a unit test keeps the two in step).
const SECTIONS: &[(&str, &[&str])] = &[
    ("warehouse", &["url", "query_group"]),
    ("scheduler", &["allow_cycles", "default_schema"]),
    (
        "creator",
        &[
            "concurrency",
            "poll_seconds",
            "retries",
            "timeout_factor",
            "timeout_min",
            "timeout_first_run",
            "lease_seconds",
            "lock_timeout",
        ],
    ),
    (
        "s3",
        &[
            "bucket",
            "prefix",
            "region",
            "endpoint",
            "iam_role",
            "access_key_id",
            "secret_access_key",
        ],
    ),
    (
        "slack",
        &[
            "webhook_url",
            "channel",
            "failure_channel",
            "success_channel",
            "log_channel",
            "username",
            "icon_emoji",
        ],
    ),
    ("web", &["bind", "token"]),
];
/// The top-level keys (`DURO_VIEWS`, `DURO_STATE`).
const TOP_LEVEL_KEYS: &[&str] = &["views", "state"];
/// Environment variables that start with DURO_ and that duro (its binary, tests, benchmarks and
/// scripts) reads, but that are not settings: never applied, never warned about.
pub const NOT_SETTINGS: &[&str] = &[
    "DURO_CONFIG",
    "DURO_NOW",
    "DURO_LOG",
    "DURO_TEST_DATABASE_URL",
    "DURO_TEST_MOTO_SERVER",
    "DURO_FUZZ_CASES",
    "DURO_SOAK_SECONDS",
    "DURO_CRASH_ITERATIONS",
    "DURO_UPDATE_SCREENSHOTS",
    "DURO_LOAD_SECONDS",
    "DURO_LOAD_RATE",
    "DURO_BENCH_URL",
    "DURO_LINEAGE_TABLES",
    "DURO_SQLPARSER_VERSION",
    "DURO_ROOTFS",
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
        let warnings = apply_env(&mut table, env)?;
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
        config.warnings = warnings;
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

/// The candidate closest to `name`, if close enough to be a misspelling of it (a third of its
/// letters, at least two, differ).
fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let (distance, nearest) = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(name, c), c))
        .min()?;
    (distance <= (name.chars().count() / 3).max(2)).then_some(nearest)
}

/// The variable that sets `section.key` (or the top-level `key`).
fn variable(section: Option<&str>, key: &str) -> String {
    match section {
        Some(section) => format!("DURO_{section}_{key}"),
        None => format!("DURO_{key}"),
    }
    .to_ascii_uppercase()
}

/// Every variable that sets a key.
fn setting_variables() -> impl Iterator<Item = String> {
    TOP_LEVEL_KEYS.iter().map(|k| variable(None, k)).chain(
        SECTIONS
            .iter()
            .flat_map(|(section, keys)| keys.iter().map(move |k| variable(Some(section), k))),
    )
}

/// What a `DURO_*` variable (other than [`NOT_SETTINGS`]) means: `Ok(Some((section, key)))` for
/// a setting, `Ok(None)` for a variable that is not duro's (ignored, with a warning), and an
/// error for one that names a section with an unknown key, or a setting misspelt by its
/// underscores (`DURO_WEBTOKEN`): those are meant for duro, and ignoring them would run it with
/// a setting silently missing.
fn classify(name: &str) -> Result<Option<(Option<&'static str>, &'static str)>, String> {
    let rest = name["DURO_".len()..].to_ascii_lowercase();
    if let Some(key) = TOP_LEVEL_KEYS.iter().find(|k| **k == rest) {
        return Ok(Some((None, key)));
    }
    for (section, keys) in SECTIONS {
        let key = if rest == *section {
            ""
        } else if let Some(key) = rest.strip_prefix(section).and_then(|r| r.strip_prefix('_')) {
            key
        } else {
            continue;
        };
        if let Some(known) = keys.iter().find(|k| **k == key) {
            return Ok(Some((Some(section), known)));
        }
        let listed = keys
            .iter()
            .map(|k| variable(Some(section), k))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(match nearest(key, keys.iter().copied()) {
            Some(near) if !key.is_empty() => format!(
                "unknown setting {section}.{key}: did you mean {}? (the [{section}] settings are {listed})",
                variable(Some(section), near)
            ),
            _ => format!("unknown setting {section}.{key}: the [{section}] settings are {listed}"),
        });
    }
    let squashed = |s: &str| s.replace('_', "").to_ascii_lowercase();
    if let Some(meant) = setting_variables().find(|v| squashed(v) == squashed(name)) {
        return Err(format!("not a setting: did you mean {meant}?"));
    }
    Ok(None)
}

/// Applies the `DURO_*` settings of `env` to `table`; returns a warning for each `DURO_*`
/// variable that is not duro's (ignored).
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("DURO_") && !NOT_SETTINGS.contains(&k.as_str()))
        .collect();
    vars.sort();
    let mut warnings = Vec::new();
    for (name, value) in vars {
        let error = |message: String| ConfigError {
            origin: format!("environment variable {name}"),
            message,
        };
        let Some((section, key)) = classify(&name).map_err(error)? else {
            let known: Vec<String> = setting_variables().collect();
            let hint = nearest(&name, known.iter().map(String::as_str))
                .map(|v| format!("; did you mean {v}?"))
                .unwrap_or_default();
            warnings.push(format!(
                "ignoring the environment variable {name}: it is not a duro setting (those are DURO_VIEWS, DURO_STATE and DURO_<SECTION>_<KEY>){hint}"
            ));
            continue;
        };
        let key = key.to_string();
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
    Ok(warnings)
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
        assert!(
            e.to_string().contains("did you mean DURO_WEB_TOKEN?"),
            "{e}"
        );
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
    fn variables_that_are_not_duros_are_ignored_with_a_warning() {
        let config = load(
            "",
            &[
                ("DURO_BIN", "/usr/local/bin/duro"),
                ("DURO_HOME_DIR", "/srv/duro"),
                ("DURO_STAGE", "prod"),
                ("DURO_CREATOR_RETRIES", "5"),
            ],
        )
        .unwrap();
        assert_eq!(config.creator.retries, 5);
        assert_eq!(config.warnings.len(), 3, "{:?}", config.warnings);
        for (warning, name) in
            config
                .warnings
                .iter()
                .zip(["DURO_BIN", "DURO_HOME_DIR", "DURO_STAGE"])
        {
            assert!(warning.contains(name), "{warning}");
            assert!(warning.contains("not a duro setting"), "{warning}");
        }
        // A value is never repeated: it may be a secret.
        assert!(!config.warnings.iter().any(|w| w.contains("/srv/duro")));
        assert!(config.warnings[2].contains("did you mean DURO_STATE?"));
        assert!(!config.warnings[0].contains("did you mean"));
    }

    #[test]
    fn a_known_section_with_an_unknown_key_names_the_nearest_key() {
        let e = load("", &[("DURO_WAREHOUSE_URLL", "postgres://u:pw@h/db")]).unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("environment variable DURO_WAREHOUSE_URLL"),
            "{message}"
        );
        assert!(
            message.contains("did you mean DURO_WAREHOUSE_URL?"),
            "{message}"
        );
        assert!(!message.contains("pw@"), "{message}");
        let e = load("", &[("DURO_CREATOR_CONCURENCY", "4")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("did you mean DURO_CREATOR_CONCURRENCY?"),
            "{e}"
        );
        // Nothing close: the section's settings are listed.
        let e = load("", &[("DURO_WEB_COLOUR_SCHEME", "dark")]).unwrap_err();
        assert!(
            e.to_string().contains("DURO_WEB_BIND, DURO_WEB_TOKEN"),
            "{e}"
        );
        let e = load("", &[("DURO_SLACK", "x")]).unwrap_err();
        assert!(e.to_string().contains("DURO_SLACK_WEBHOOK_URL"), "{e}");
    }

    #[test]
    fn variables_duro_reads_are_never_warned_about() {
        let env: Vec<(&str, &str)> = NOT_SETTINGS.iter().map(|n| (*n, "1")).collect();
        let config = load("", &env).unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    /// The backticked names of a serde "unknown field" message, after the unknown one.
    fn expected_fields(toml_text: &str) -> Vec<String> {
        let table: toml::Table = toml_text.parse().unwrap();
        let e = Config::deserialize(toml::Value::Table(table)).unwrap_err();
        let message = e.message().to_string();
        let mut fields: Vec<String> = message
            .split('`')
            .skip(1)
            .step_by(2)
            .skip(1)
            .map(str::to_string)
            .collect();
        fields.sort();
        fields
    }

    #[test]
    fn the_environment_knows_every_key_of_the_config_structs() {
        for (section, keys) in SECTIONS {
            let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            keys.sort();
            assert_eq!(
                expected_fields(&format!("[{section}]\nzz_unknown = 1\n")),
                keys,
                "[{section}]"
            );
        }
        let mut top: Vec<String> = TOP_LEVEL_KEYS
            .iter()
            .chain(SECTIONS.iter().map(|(s, _)| s))
            .map(|k| k.to_string())
            .collect();
        top.sort();
        assert_eq!(expected_fields("zz_unknown = 1\n"), top);
    }

    /// Every `DURO_*` variable read anywhere in the repository (the binary, tests, benchmarks,
    /// scripts) is a setting or listed in [`NOT_SETTINGS`], so that none is ever warned about.
    #[test]
    fn every_variable_duro_reads_is_known() {
        fn files(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    if !matches!(name.as_str(), "target" | "fixtures" | "node_modules")
                        && !name.starts_with('.')
                        || name == ".ci"
                    {
                        files(&path, out);
                    }
                } else if [".rs", ".py", ".sh", ".js"]
                    .iter()
                    .any(|e| name.ends_with(e))
                    || name == "run"
                {
                    out.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = vec![root.join("build.rs")];
        for dir in ["src", "tests", "benches", "bench", "scripts", ".ci"] {
            files(&root.join(dir), &mut paths);
        }
        let readers = [
            "var(\"",
            "var_os(\"",
            "env!(\"",
            "from_env(\"",
            "environ.get(\"",
            "environ[\"",
            "getenv(\"",
            "rustc-env=",
            "export ",
            "${",
            "$",
        ];
        let mut unknown = Vec::new();
        let mut found = 0;
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for (at, _) in text.match_indices("DURO_") {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let before = &text[..at];
                if name.ends_with('_') || !readers.iter().any(|r| before.ends_with(r)) {
                    continue;
                }
                found += 1;
                if !NOT_SETTINGS.contains(&name.as_str()) && !matches!(classify(&name), Ok(Some(_)))
                {
                    unknown.push(format!("{name} in {}", path.display()));
                }
            }
        }
        assert!(found >= 10, "the search found only {found} reads");
        assert!(unknown.is_empty(), "not in NOT_SETTINGS: {unknown:?}");
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
