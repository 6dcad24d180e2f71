//! File names → what a file is and which table it belongs to (SPEC §2.1–§2.2).
//!
//! Every file of the views directory is classified here, once. The catalog indexes the results by
//! table name, so the parser and the "lookup" can never disagree.

use crate::ident::{NameError, TableName};
use crate::interval::{Interval, IntervalError};

/// The characters that separate a table name from its interval, in any run.
pub fn is_separator(c: char) -> bool {
    matches!(c, '-' | '\u{2014}' | '\u{2013}' | ' ' | '\u{a0}')
}

/// What a file of the views directory is, by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRole {
    /// `S/T[ — interval].sql`: the view's query, or a processor table's DDL.
    Definition {
        table: TableName,
        interval: Option<Interval>,
    },
    /// `S/T_test.sql`.
    Test { table: TableName },
    /// `S/T_select.sql`: a processor's select when `S/T.py` exists, else the table `S.T_select`.
    Select {
        table: TableName,
        as_definition: Option<TableName>,
    },
    /// `S/T.py`: a processor when table `S.T` is defined; `None` when the name is not a table's.
    Script { table: Option<TableName> },
    /// `S/T_requirements.txt`; `None` when the name is not a table's.
    Requirements { table: Option<TableName> },
    /// A `.conf` file.
    Config(ConfigTarget),
    /// Anything else: not duro's (READMEs, data files).
    Other,
}

/// Which tables a `.conf` file applies to, in the precedence order of SPEC §3 (lowest first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigTarget {
    /// `global.conf` at the top level.
    Global,
    /// `S.conf` at the top level.
    SchemaTop(String),
    /// `S/S.conf`.
    SchemaFolder(String),
    /// `S.T.conf` (anywhere).
    TableTop(TableName),
    /// `S/T.conf`.
    TableFolder(TableName),
}

impl ConfigTarget {
    /// Precedence level, 0 (lowest) to 4 (highest).
    pub fn level(&self) -> u8 {
        match self {
            ConfigTarget::Global => 0,
            ConfigTarget::SchemaTop(_) => 1,
            ConfigTarget::SchemaFolder(_) => 2,
            ConfigTarget::TableTop(_) => 3,
            ConfigTarget::TableFolder(_) => 4,
        }
    }
}

/// Why a file name was refused. The catalog prefixes the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error(
        "no schema: put it in a folder named after its schema or name it schema.table (e.g. public.{stem}.sql)"
    )]
    NoSchema { stem: String },
    #[error("{0}")]
    Name(#[from] NameError),
    #[error("{0} (after the table name)")]
    Interval(#[from] IntervalError),
    #[error(
        "more than one separator run in {stem:?}: table names cannot contain spaces or dashes; name the file like `table — 24h.sql` (use _ inside names)"
    )]
    ExtraSeparator { stem: String },
    #[error("a separator but no interval after it in {stem:?}: write e.g. `table — 24h.sql`")]
    MissingInterval { stem: String },
    #[error("no table name before the interval in {stem:?}: name the file like `table — 24h.sql`")]
    MissingName { stem: String },
    #[error("{base:?} has an empty schema or table name next to a dot: write `schema.table`")]
    EmptyPart { base: String },
    #[error("{kind} files take no interval: name it `{expected}`")]
    UnexpectedInterval {
        kind: &'static str,
        expected: String,
    },
}

/// Splits a file stem into the name and the optional interval token.
pub fn split_interval(stem: &str) -> Result<(&str, Option<&str>), NamingError> {
    let Some(start) = stem.find(is_separator) else {
        return Ok((stem, None));
    };
    let name = &stem[..start];
    let rest = stem[start..].trim_start_matches(is_separator);
    if name.is_empty() && !rest.is_empty() && !rest.contains(is_separator) {
        return Err(NamingError::MissingName {
            stem: stem.to_string(),
        });
    }
    if rest.is_empty() {
        return Err(NamingError::MissingInterval {
            stem: stem.to_string(),
        });
    }
    if rest.contains(is_separator) || name.is_empty() {
        return Err(NamingError::ExtraSeparator {
            stem: stem.to_string(),
        });
    }
    Ok((name, Some(rest)))
}

/// Resolves a base name to a table: `schema.table` as is, else the immediate folder is the schema.
pub fn resolve_table(folders: &[&str], base: &str) -> Result<TableName, NamingError> {
    if base.contains('.') {
        if base.split('.').any(str::is_empty) {
            return Err(NamingError::EmptyPart {
                base: base.to_string(),
            });
        }
        return Ok(TableName::parse(base)?);
    }
    match folders.last() {
        Some(schema) => Ok(TableName::new(schema, base)?),
        None => Err(NamingError::NoSchema {
            stem: base.to_string(),
        }),
    }
}

/// Parses a definition file stem (`cities — 24h`) in its folders into table and interval.
pub fn parse_definition(
    folders: &[&str],
    stem: &str,
) -> Result<(TableName, Option<Interval>), NamingError> {
    let (name, interval) = split_interval(stem)?;
    let table = resolve_table(folders, name)?;
    let interval = interval.map(Interval::parse).transpose()?;
    Ok((table, interval))
}

fn parse_plain(
    folders: &[&str],
    base: &str,
    kind: &'static str,
    suffix: &str,
) -> Result<TableName, NamingError> {
    let (name, interval) = split_interval(base)?;
    if interval.is_some() {
        return Err(NamingError::UnexpectedInterval {
            kind,
            expected: format!("{name}{suffix}"),
        });
    }
    resolve_table(folders, name)
}

/// Classifies one file by its path relative to the views directory (components separated by `/`).
pub fn classify(relative_path: &str) -> Result<FileRole, NamingError> {
    let mut components: Vec<&str> = relative_path.split('/').collect();
    let file_name = components.pop().unwrap_or_default();
    let folders = components;
    let stem_of = |suffix: &str| -> Option<&str> {
        let split = file_name.len().checked_sub(suffix.len())?;
        let tail = file_name.get(split..)?;
        tail.eq_ignore_ascii_case(suffix)
            .then(|| &file_name[..split])
    };

    if let Some(stem) = stem_of(".sql") {
        if let Some(base) = stem_of("_test.sql") {
            let table = parse_plain(&folders, base, "test", "_test.sql")?;
            return Ok(FileRole::Test { table });
        }
        if let Some(base) = stem_of("_select.sql") {
            let table = parse_plain(&folders, base, "select", "_select.sql")?;
            let as_definition = resolve_table(&folders, stem).ok();
            return Ok(FileRole::Select {
                table,
                as_definition,
            });
        }
        let (table, interval) = parse_definition(&folders, stem)?;
        return Ok(FileRole::Definition { table, interval });
    }
    if let Some(stem) = stem_of(".py") {
        let table = parse_plain(&folders, stem, "processor", ".py").ok();
        return Ok(FileRole::Script { table });
    }
    if let Some(base) = stem_of("_requirements.txt") {
        let table = parse_plain(&folders, base, "requirements", "_requirements.txt").ok();
        return Ok(FileRole::Requirements { table });
    }
    if let Some(stem) = stem_of(".conf") {
        return classify_config(&folders, stem).map(FileRole::Config);
    }
    Ok(FileRole::Other)
}

fn classify_config(folders: &[&str], stem: &str) -> Result<ConfigTarget, NamingError> {
    let (name, interval) = split_interval(stem)?;
    if interval.is_some() {
        return Err(NamingError::UnexpectedInterval {
            kind: "config",
            expected: format!("{name}.conf"),
        });
    }
    if name.contains('.') {
        return Ok(ConfigTarget::TableTop(TableName::parse(name)?));
    }
    let lower = name.to_lowercase();
    match folders.last() {
        None if lower == "global" => Ok(ConfigTarget::Global),
        None => {
            // A schema config: validate the schema name like a table's schema.
            let table = TableName::new(&lower, "t")?;
            Ok(ConfigTarget::SchemaTop(table.schema))
        }
        Some(folder) if folder.to_lowercase() == lower => {
            let table = TableName::new(&lower, "t")?;
            Ok(ConfigTarget::SchemaFolder(table.schema))
        }
        Some(folder) => Ok(ConfigTarget::TableFolder(TableName::new(folder, name)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(path: &str) -> Result<(String, Option<u64>), NamingError> {
        match classify(path)? {
            FileRole::Definition { table, interval } => {
                Ok((table.to_string(), interval.map(Interval::minutes)))
            }
            other => panic!("{path}: not a definition: {other:?}"),
        }
    }

    /// The test vectors of original-behavior.md §1.2, plus the separators the original could
    /// parse but never load.
    #[test]
    fn original_test_vectors() {
        assert!(matches!(
            classify("cities.sql"),
            Err(NamingError::NoSchema { .. })
        ));
        let cases = [
            ("first.cities.sql", "first.cities", None),
            ("first/cities.sql", "first.cities", None),
            ("first/cities — 1m.sql", "first.cities", Some(1)),
            ("first/first.cities.sql", "first.cities", None),
            ("second/first.cities.sql", "first.cities", None),
            ("first/first.cities — 1h.sql", "first.cities", Some(60)),
            ("second/first.cities - 1h.sql", "first.cities", Some(60)),
            ("second/first.cities 1h.sql", "first.cities", Some(60)),
            ("second/first.cities- 1h.sql", "first.cities", Some(60)),
            ("second/first.cities-1h.sql", "first.cities", Some(60)),
            ("first/cities — 24h.sql", "first.cities", Some(1440)),
            (
                "first/cities \u{2014}\u{a0}24h.sql",
                "first.cities",
                Some(1440),
            ),
            ("first/cities \u{2014} 1h.sql", "first.cities", Some(60)),
            (
                "first/cities\u{a0}\u{2014}\u{a0}24h.sql",
                "first.cities",
                Some(1440),
            ),
            ("first/cities \u{2013} 2d.sql", "first.cities", Some(2880)),
            ("first/cities 24h.sql", "first.cities", Some(1440)),
            ("first/cities-24h.sql", "first.cities", Some(1440)),
            (
                "org/team/first.cities — 1w.sql",
                "first.cities",
                Some(10080),
            ),
            ("a/b/first/cities — 30m.sql", "first.cities", Some(30)),
            ("First/Cities — 24H.SQL", "first.cities", Some(1440)),
        ];
        for (path, table, minutes) in cases {
            assert_eq!(
                definition(path).unwrap(),
                (table.to_string(), minutes),
                "{path}"
            );
        }
    }

    #[test]
    fn bad_names_are_refused_with_reasons() {
        assert!(matches!(
            classify("first/my table — 1h.sql"),
            Err(NamingError::ExtraSeparator { .. })
        ));
        assert!(matches!(
            classify("first/cities — 1z.sql"),
            Err(NamingError::Interval(_))
        ));
        assert!(matches!(
            classify("first/my-table.sql"),
            Err(NamingError::Interval(_))
        ));
        assert!(matches!(
            classify("first/cities —.sql"),
            Err(NamingError::MissingInterval { .. })
        ));
        assert!(matches!(
            classify("first/ci!ties.sql"),
            Err(NamingError::Name(_))
        ));
        assert!(matches!(
            classify("bad schema/cities.sql"),
            Err(NamingError::Name(_))
        ));
        assert!(matches!(
            classify("first/cities_test — 1h_test.sql"),
            Err(NamingError::UnexpectedInterval { .. }) | Err(NamingError::ExtraSeparator { .. })
        ));
    }

    #[test]
    fn other_kinds() {
        let t = |s: &str| TableName::parse(s).unwrap();
        assert_eq!(
            classify("first/cities_test.sql").unwrap(),
            FileRole::Test {
                table: t("first.cities")
            }
        );
        assert_eq!(
            classify("first.countries_test.sql").unwrap(),
            FileRole::Test {
                table: t("first.countries")
            }
        );
        // `x_test — 1h.sql` is the table x_test, as in the original tool.
        assert_eq!(
            definition("first/x_test — 1h.sql").unwrap(),
            ("first.x_test".to_string(), Some(60))
        );
        assert_eq!(
            classify("first/countries_select.sql").unwrap(),
            FileRole::Select {
                table: t("first.countries"),
                as_definition: Some(t("first.countries_select"))
            }
        );
        assert_eq!(
            classify("first/countries.py").unwrap(),
            FileRole::Script {
                table: Some(t("first.countries"))
            }
        );
        assert_eq!(
            classify("helpers.py").unwrap(),
            FileRole::Script { table: None }
        );
        assert_eq!(
            classify("first/countries_requirements.txt").unwrap(),
            FileRole::Requirements {
                table: Some(t("first.countries"))
            }
        );
        assert_eq!(classify("README.md").unwrap(), FileRole::Other);
    }

    #[test]
    fn config_targets() {
        let t = |s: &str| TableName::parse(s).unwrap();
        let c = |p: &str| match classify(p).unwrap() {
            FileRole::Config(target) => target,
            other => panic!("{other:?}"),
        };
        assert_eq!(c("global.conf"), ConfigTarget::Global);
        assert_eq!(c("first.conf"), ConfigTarget::SchemaTop("first".into()));
        assert_eq!(
            c("first/first.conf"),
            ConfigTarget::SchemaFolder("first".into())
        );
        assert_eq!(
            c("first.countries.conf"),
            ConfigTarget::TableTop(t("first.countries"))
        );
        assert_eq!(
            c("second/child.conf"),
            ConfigTarget::TableFolder(t("second.child"))
        );
        assert!(classify("bad name.conf").is_err());
    }
}
