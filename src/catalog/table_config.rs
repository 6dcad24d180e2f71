//! Table configs (`.conf` files, SPEC §3): parsing, validation of every value that can reach SQL,
//! and the merge down the levels global → schema → table, including `grant_select` arithmetic.

use crate::diagnostics::Diagnostic;
use crate::ident::is_plain_identifier;
use crate::interval::Interval;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Every key with a meaning. Anything else is a warning.
pub const KNOWN_KEYS: &[&str] = &[
    "grant_select",
    "distkey",
    "sortkey",
    "sortstyle",
    "diststyle",
    "snapshots_interval",
    "snapshots_stored_for",
    "csv_delimiter",
    "timeout",
];

/// How an entry changes the inherited value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `key=value`.
    Set,
    /// `grant_select+=value`.
    Add,
    /// `grant_select-=value`.
    Remove,
}

/// One `key=value` line of a `.conf` file, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub op: Op,
    /// The trimmed value; `None` for `null`, `None` or empty (a reset).
    pub value: Option<String>,
    pub line: u32,
}

/// A parsed `.conf` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfFile {
    pub path: String,
    pub entries: Vec<Entry>,
}

/// A user, group or role that gets `select` on a table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum Grantee {
    User(String),
    Group(String),
    Role(String),
}

/// PostgreSQL's reserved key words (and `role`, which only Redshift's grammar takes as a prefix):
/// grantees are emitted unquoted, so none of these can be one.
fn is_reserved(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "role",
        "select",
        "session_user",
        "some",
        "symmetric",
        "system_user",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&name.to_ascii_lowercase().as_str())
}

impl Grantee {
    /// Parses `jane`, `group analysts` or `role reader`; names must be plain identifiers.
    pub fn parse(text: &str) -> Result<Grantee, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let check = |name: &str| {
            if is_plain_identifier(name) && !is_reserved(name) {
                Ok(name.to_string())
            } else if is_plain_identifier(name) {
                Err(format!(
                    "invalid grantee {text:?}: {name:?} is a reserved SQL word and cannot name a user, group or role unquoted"
                ))
            } else {
                Err(format!(
                    "invalid grantee {text:?}: write a user name, `group name` or `role name` using letters, digits, _ and $"
                ))
            }
        };
        match words.as_slice() {
            [user] => check(user).map(Grantee::User),
            [kind, name] if kind.eq_ignore_ascii_case("group") => check(name).map(Grantee::Group),
            [kind, name] if kind.eq_ignore_ascii_case("role") => check(name).map(Grantee::Role),
            _ => check(text).map(Grantee::User),
        }
    }

    fn key(&self) -> String {
        self.to_string().to_lowercase()
    }
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grantee::User(name) => write!(f, "{name}"),
            Grantee::Group(name) => write!(f, "group {name}"),
            Grantee::Role(name) => write!(f, "role {name}"),
        }
    }
}

impl From<Grantee> for String {
    fn from(grantee: Grantee) -> String {
        grantee.to_string()
    }
}

/// Parses the text of a `.conf` file. Problems become diagnostics (errors for syntax and bad
/// values, warnings for unknown keys); the valid entries are kept.
pub fn parse(path: &str, text: &str) -> (ConfFile, Vec<Diagnostic>) {
    let mut file = ConfFile {
        path: path.to_string(),
        entries: Vec::new(),
    };
    let mut diagnostics = Vec::new();
    let mut seen: BTreeMap<(String, &'static str), u32> = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index as u32 + 1;
        let error = |message: String| Diagnostic::error(message).in_file(path).at_line(line);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let Some(split) = trimmed.find(['=', ':']) else {
            diagnostics.push(error(format!(
                "expected `key=value` (or `key: value`), found {trimmed:?}; start comment lines with # or ;"
            )));
            continue;
        };
        let (mut key, value) = (
            trimmed[..split].trim().to_lowercase(),
            &trimmed[split + 1..],
        );
        let mut op = Op::Set;
        if let Some(base) = key.strip_suffix('+') {
            (key, op) = (base.trim_end().to_string(), Op::Add);
        } else if let Some(base) = key.strip_suffix('-') {
            (key, op) = (base.trim_end().to_string(), Op::Remove);
        }
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            diagnostics.push(error(format!(
                "invalid key {:?}: keys are letters, digits and _",
                &trimmed[..split]
            )));
            continue;
        }
        if op != Op::Set && key != "grant_select" {
            diagnostics.push(error(format!(
                "`{key}{}=` is only for grant_select; write `{key}=value`",
                if op == Op::Add { "+" } else { "-" }
            )));
            continue;
        }
        let op_name = match op {
            Op::Set => "=",
            Op::Add => "+=",
            Op::Remove => "-=",
        };
        if let Some(first) = seen.insert((key.clone(), op_name), line) {
            diagnostics.push(error(format!(
                "duplicate key `{key}` (first on line {first}): keep one"
            )));
            continue;
        }
        if !KNOWN_KEYS.contains(&key.as_str()) {
            diagnostics.push(
                Diagnostic::warning(match nearest_key(&key) {
                    Some(nearest) => format!(
                        "unknown key `{key}` is ignored; the nearest known key is `{nearest}`"
                    ),
                    None => format!(
                        "unknown key `{key}` is ignored; the known keys are {}",
                        KNOWN_KEYS.join(", ")
                    ),
                })
                .in_file(path)
                .at_line(line),
            );
            continue;
        }
        let value = value.trim();
        let value = match value {
            "" | "null" | "None" => None,
            v => Some(v.to_string()),
        };
        if let Some(v) = &value
            && let Err(message) = validate(&key, op, v)
        {
            diagnostics.push(error(format!("{key}: {message}")));
            continue;
        }
        file.entries.push(Entry {
            key,
            op,
            value,
            line,
        });
    }
    (file, diagnostics)
}

/// The known key closest (by edit distance) to an unknown one, if it is close enough to be
/// a likely misspelling (a third of its letters, at least two, differ).
pub fn nearest_key(key: &str) -> Option<&'static str> {
    let (distance, nearest) = KNOWN_KEYS
        .iter()
        .map(|known| (strsim::levenshtein(key, known), *known))
        .min()?;
    (distance <= (key.chars().count() / 3).max(2)).then_some(nearest)
}

fn identifier_list(value: &str, what: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(str::trim)
        .map(|column| {
            if is_plain_identifier(column) {
                Ok(column.to_lowercase())
            } else {
                Err(format!(
                    "{column:?} is not a valid {what}: use letters, digits, _ and $"
                ))
            }
        })
        .collect()
}

/// One grant_select item: its sign (`+`, `-` or none) and the grantee.
fn grant_items(value: &str) -> Result<Vec<(Option<char>, Grantee)>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let sign = item.chars().next().filter(|c| *c == '+' || *c == '-');
            let name = if sign.is_some() {
                item[1..].trim()
            } else {
                item
            };
            Grantee::parse(name).map(|grantee| (sign, grantee))
        })
        .collect()
}

fn validate(key: &str, op: Op, value: &str) -> Result<(), String> {
    match key {
        "grant_select" => {
            if value.split(',').any(|item| item.trim().is_empty()) {
                return Err(format!(
                    "{value:?} has an empty item between commas: list the grantees as `a, b`"
                ));
            }
            let items = grant_items(value)?;
            let signed = items.iter().filter(|(sign, _)| sign.is_some()).count();
            if op == Op::Set && signed != 0 && signed != items.len() {
                return Err(
                    "mixes plain names with +/- items: either assign (`a, b`) or change (`+a, -b`)"
                        .into(),
                );
            }
            if op != Op::Set && signed != 0 {
                return Err("with += or -= write plain names (`grant_select+=a, b`)".into());
            }
            Ok(())
        }
        "distkey" => identifier_list(value, "column name").and_then(|columns| {
            if columns.len() == 1 {
                Ok(())
            } else {
                Err("a distribution key is one column".into())
            }
        }),
        "sortkey" => identifier_list(value, "column name").map(drop),
        "sortstyle" => one_of(value, &["compound", "interleaved"]),
        "diststyle" => one_of(value, &["even", "all", "key", "auto"]),
        "snapshots_interval" | "snapshots_stored_for" | "timeout" => {
            Interval::parse(value).map(drop).map_err(|e| e.to_string())
        }
        "csv_delimiter" if value == "\\t" => Ok(()),
        "csv_delimiter" => {
            let mut chars = value.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !matches!(c, '"' | '\n' | '\r') && c.is_ascii() => Ok(()),
                _ => Err(format!(
                    "{value:?} is not one ASCII character other than a quote (e.g. `;` or `,`; `\\t` for a tab)"
                )),
            }
        }
        _ => Ok(()),
    }
}

fn one_of(value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
        Ok(())
    } else {
        Err(format!("{value:?} is not one of {}", allowed.join(", ")))
    }
}

/// One effective value and the file and line it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced {
    pub value: String,
    pub file: String,
    pub line: u32,
}

impl Sourced {
    /// `file:line`.
    pub fn source(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A table's merged config. Only set keys are present; resets remove a key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EffectiveConfig {
    pub values: BTreeMap<String, Sourced>,
}

impl EffectiveConfig {
    /// Merges the files that apply to one table, lowest precedence first.
    pub fn merge<'a>(levels: impl IntoIterator<Item = &'a ConfFile>) -> EffectiveConfig {
        let mut values: BTreeMap<String, Sourced> = BTreeMap::new();
        let mut grants: Option<(Vec<Grantee>, String, u32)> = None;
        for file in levels {
            for entry in &file.entries {
                let (path, line) = (file.path.clone(), entry.line);
                if entry.key == "grant_select" {
                    let current = grants.take().map(|(g, ..)| g).unwrap_or_default();
                    grants = Some((apply_grants(current, entry), path, line));
                    continue;
                }
                match &entry.value {
                    Some(value) => {
                        let value = normalise(&entry.key, value);
                        let sourced = Sourced {
                            value,
                            file: path,
                            line,
                        };
                        values.insert(entry.key.clone(), sourced);
                    }
                    None => {
                        values.remove(&entry.key);
                    }
                }
            }
        }
        if let Some((grantees, file, line)) = grants
            && !grantees.is_empty()
        {
            let value = grantees
                .iter()
                .map(Grantee::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            values.insert("grant_select".into(), Sourced { value, file, line });
        }
        EffectiveConfig { values }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|s| s.value.as_str())
    }

    /// The grantees, already validated.
    pub fn grantees(&self) -> Vec<Grantee> {
        self.get("grant_select")
            .map(|v| grant_items(v).unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .map(|(_, g)| g)
            .collect()
    }

    pub fn distkey(&self) -> Option<&str> {
        self.get("distkey")
    }

    pub fn sortkey(&self) -> Vec<String> {
        self.get("sortkey")
            .map(|v| identifier_list(v, "column").unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn interval(&self, key: &str) -> Option<Interval> {
        self.get(key).and_then(|v| Interval::parse(v).ok())
    }

    /// The processor CSV delimiter: `;` unless configured (`\t` means a tab).
    pub fn csv_delimiter(&self) -> char {
        csv_delimiter(self.get("csv_delimiter"))
    }

    /// `{"key": "value"}` for state and JSON output.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }
}

/// The processor CSV delimiter of a `csv_delimiter` value: `;` when unset, `\t` for a tab.
pub fn csv_delimiter(value: Option<&str>) -> char {
    match value {
        Some("\\t") => '\t',
        Some(v) => v.chars().next().unwrap_or(';'),
        None => ';',
    }
}

/// Canonical form of a validated value, so that equivalent spellings hash the same.
fn normalise(key: &str, value: &str) -> String {
    match key {
        "distkey" | "sortkey" | "sortstyle" | "diststyle" => value
            .split(',')
            .map(|v| v.trim().to_lowercase())
            .collect::<Vec<_>>()
            .join(", "),
        _ => value.to_string(),
    }
}

fn apply_grants(mut current: Vec<Grantee>, entry: &Entry) -> Vec<Grantee> {
    let Some(value) = &entry.value else {
        return Vec::new();
    };
    let items = grant_items(value).unwrap_or_default();
    let assign = entry.op == Op::Set && items.iter().all(|(sign, _)| sign.is_none());
    if assign {
        current.clear();
    }
    for (sign, grantee) in items {
        let remove = entry.op == Op::Remove || sign == Some('-');
        current.retain(|g| g.key() != grantee.key());
        if !remove {
            current.push(grantee);
        }
    }
    current.sort_by_key(Grantee::key);
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(path: &str, text: &str) -> ConfFile {
        let (file, diagnostics) = parse(path, text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        file
    }

    fn grants(levels: &[Option<&str>]) -> String {
        let files: Vec<ConfFile> = levels
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Some(v) => conf(&format!("{i}.conf"), &format!("grant_select={v}")),
                None => ConfFile::default(),
            })
            .collect();
        EffectiveConfig::merge(&files)
            .get("grant_select")
            .unwrap_or("")
            .to_string()
    }

    /// original-behavior.md §2.5 `parse_permissions` vectors.
    #[test]
    fn grant_arithmetic_of_the_original() {
        assert_eq!(
            grants(&[Some("Jane"), Some("Tegan, Sara"), Some("+Kendrick")]),
            "Kendrick, Sara, Tegan"
        );
        assert_eq!(
            grants(&[Some("Jane"), Some("Tegan, Sara"), Some("-Sara")]),
            "Tegan"
        );
        assert_eq!(
            grants(&[Some("Jane"), Some("Tegan, Sara"), Some("-Valerie")]),
            "Sara, Tegan"
        );
        assert_eq!(grants(&[Some("Jane"), Some("+Kendrick")]), "Jane, Kendrick");
        assert_eq!(
            grants(&[Some("Jane"), None, Some("+Kendrick")]),
            "Jane, Kendrick"
        );
        assert_eq!(grants(&[None, None]), "");
        // Fixture: first.conf then first.countries.conf.
        assert_eq!(
            grants(&[Some("jane, john"), Some("-jane, +joan")]),
            "joan, john"
        );
    }

    #[test]
    fn grant_fixes_over_the_original() {
        // A first level that is a delta starts from nothing (the original crashed).
        assert_eq!(grants(&[Some("+a, -b")]), "a");
        // null resets (the original granted to a user called null).
        assert_eq!(grants(&[Some("a, b"), Some("null")]), "");
        // Groups and roles keep their space; removal is case-insensitive.
        assert_eq!(
            grants(&[Some("group Analysts, jane"), Some("-JANE, +role reader")]),
            "group Analysts, role reader"
        );
        let files = [
            conf("g.conf", "grant_select = a, b"),
            conf("s.conf", "grant_select+=c\ngrant_select-=a"),
        ];
        assert_eq!(
            EffectiveConfig::merge(&files).get("grant_select"),
            Some("b, c")
        );
    }

    #[test]
    fn precedence_and_resets() {
        let files = [
            conf(
                "global.conf",
                "diststyle=even\nsortkey=a\n# comment\n; also\n",
            ),
            conf("second.conf", "diststyle: ALL\ndistkey=City"),
            conf("second/child.conf", "sortkey=null\nsnapshots_interval=24h"),
        ];
        let merged = EffectiveConfig::merge(&files);
        assert_eq!(merged.get("diststyle"), Some("all"));
        assert_eq!(merged.get("distkey"), Some("city"));
        assert_eq!(merged.get("sortkey"), None);
        assert_eq!(merged.values["distkey"].source(), "second.conf:2");
        assert_eq!(
            merged.interval("snapshots_interval").unwrap().minutes(),
            1440
        );
    }

    #[test]
    fn bad_lines_are_reported_with_their_line() {
        let (_, d) = parse(
            "x.conf",
            "grant_select=jane\nnot a pair\ndistkey=a\ndistkey=b\ngrant_select=jane; drop table x\nsortstyle=zigzag\ngrant_slect=a\ngrant_select=a, +b\ntimeout=soon\ncsv_delimiter=ab",
        );
        let lines: Vec<(u32, bool)> = d.iter().map(|d| (d.line.unwrap(), d.is_error())).collect();
        assert_eq!(
            lines,
            [
                (2, true),
                (4, true),
                (5, true),
                (6, true),
                (7, false),
                (8, true),
                (9, true),
                (10, true)
            ]
        );
        assert!(d[4].message.contains("grant_select"), "{}", d[4].message);
    }

    #[test]
    fn injection_through_values_is_refused() {
        for (key, value) in [
            ("grant_select", "jane; drop table x"),
            ("grant_select", "group a b"),
            ("distkey", "a); drop table x; --"),
            ("sortkey", "a, \"b\""),
            ("diststyle", "even; drop"),
        ] {
            let (_, d) = parse("x.conf", &format!("{key}={value}"));
            assert!(d.iter().any(Diagnostic::is_error), "{key}={value} accepted");
        }
    }

    #[test]
    fn reserved_words_are_not_grantees() {
        for word in ["group", "SELECT", "order", "role", "user"] {
            let err = Grantee::parse(word).unwrap_err();
            assert!(err.contains("reserved SQL word"), "{word}: {err}");
        }
        assert!(Grantee::parse("group select").is_err());
        assert_eq!(Grantee::parse("public"), Ok(Grantee::User("public".into())));
        assert_eq!(
            Grantee::parse("group analysts"),
            Ok(Grantee::Group("analysts".into()))
        );
    }
}
