//! SQL identifiers: validation of every name that comes from files or configs, and quoting for
//! the statements duro builds. Nothing reaches SQL without passing through here.

use std::fmt;

/// The longest table name: `<table>_duro_temp`, `_duro_old` and `_history` must fit PostgreSQL's
/// 63-byte identifier limit.
pub const MAX_TABLE_NAME: usize = 52;
/// PostgreSQL's identifier limit, applied to schemas and columns.
pub const MAX_IDENTIFIER: usize = 63;

/// True for `[a-z_][a-z0-9_$]*`, the only names duro accepts for schemas and tables.
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'$'))
}

/// Like [`is_identifier`] but case-insensitive: user and column names in configs, which the
/// warehouse folds to lower case.
pub fn is_plain_identifier(name: &str) -> bool {
    is_identifier(&name.to_ascii_lowercase()) && name.len() <= MAX_IDENTIFIER
}

/// Quotes an identifier for PostgreSQL, Redshift and DuckDB.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A validated, lower-case `schema.table` name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(into = "String")]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

/// Why a name was refused, phrased so it can follow "file X: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "{what} name {name:?} is not a valid identifier: use lower-case letters, digits, _ and $, starting with a letter or _"
    )]
    Invalid { what: &'static str, name: String },
    #[error(
        "table name {name:?} is {len} characters long; the limit is {MAX_TABLE_NAME} so that its _duro_temp, _duro_old and _history tables fit PostgreSQL's 63-byte limit"
    )]
    TooLong { name: String, len: usize },
    #[error("schema name {name:?} is longer than {MAX_IDENTIFIER} characters")]
    SchemaTooLong { name: String },
    #[error("{name:?} is not schema.table")]
    NotQualified { name: String },
}

impl TableName {
    /// Builds a name from its two parts, lower-casing them and validating each.
    pub fn new(schema: &str, table: &str) -> Result<TableName, NameError> {
        let schema = schema.to_lowercase();
        let table = table.to_lowercase();
        if !is_identifier(&schema) {
            return Err(NameError::Invalid {
                what: "schema",
                name: schema,
            });
        }
        if schema.len() > MAX_IDENTIFIER {
            return Err(NameError::SchemaTooLong { name: schema });
        }
        if !is_identifier(&table) {
            return Err(NameError::Invalid {
                what: "table",
                name: table,
            });
        }
        if table.len() > MAX_TABLE_NAME {
            let len = table.len();
            return Err(NameError::TooLong { name: table, len });
        }
        Ok(TableName { schema, table })
    }

    /// Parses `schema.table` (case-insensitive).
    pub fn parse(qualified: &str) -> Result<TableName, NameError> {
        match qualified.split_once('.') {
            Some((schema, table)) => TableName::new(schema, table),
            None => Err(NameError::NotQualified {
                name: qualified.to_string(),
            }),
        }
    }

    /// `"schema"."table"`, ready for SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.table))
    }

    /// The same schema with a suffixed table name, e.g. `_duro_temp`.
    pub fn with_suffix(&self, suffix: &str) -> TableName {
        TableName {
            schema: self.schema.clone(),
            table: format!("{}{suffix}", self.table),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

impl From<TableName> for String {
    fn from(name: TableName) -> String {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["a", "_a", "a1", "a$b", "cities_raw"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "A", "a-b", "a b", "a;b", "\"a\"", "é", "$a"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn table_names_are_lower_cased_and_limited() {
        let name = TableName::parse("First.Cities").unwrap();
        assert_eq!(name.to_string(), "first.cities");
        assert_eq!(name.quoted(), "\"first\".\"cities\"");
        assert!(TableName::new("s", &"t".repeat(52)).is_ok());
        assert!(matches!(
            TableName::new("s", &"t".repeat(53)),
            Err(NameError::TooLong { len: 53, .. })
        ));
        assert!(TableName::parse("nodot").is_err());
        assert!(TableName::parse("a.b.c").is_err());
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
