//! A fast tokenizer for the plain SQL most views are written in: unquoted words, decimal numbers,
//! simple single-quoted strings, `--` comments and the common operators. For such text it gives
//! exactly the tokens (and positions) sqlparser's tokenizer gives for the PostgreSQL and
//! Redshift dialects, less the whitespace and comments, in a third of the time; for anything
//! else (quoted identifiers, `$`, `/* */`, escapes, prefixed strings, rarer operators, ...) it
//! gives up and the caller uses sqlparser's. The tests compare the two on random text.

use rustc_hash::FxHashMap;
use sqlparser::keywords::{ALL_KEYWORDS, ALL_KEYWORDS_INDEX, Keyword};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Word};
use std::sync::LazyLock;

/// Characters that may continue an operator into a longer (or custom) one in PostgreSQL.
fn is_operator_part(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'<'
            | b'>'
            | b'='
            | b'~'
            | b'!'
            | b'@'
            | b'#'
            | b'%'
            | b'^'
            | b'&'
            | b'|'
            | b'`'
            | b'?'
            | b':'
    )
}

/// Position in the text, as sqlparser counts it: lines from 1, columns in characters from 1.
#[derive(Clone, Copy)]
struct Cursor {
    at: usize,
    line: u64,
    column: u64,
}

impl Cursor {
    fn location(&self) -> Location {
        Location::new(self.line, self.column)
    }

    /// Steps over one byte; UTF-8 continuation bytes do not count as columns.
    fn step(&mut self, byte: u8) {
        self.at += 1;
        if byte == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if byte & 0xC0 != 0x80 {
            self.column += 1;
        }
    }
}

/// The significant tokens of `sql`, or `None` when it uses anything outside the plain subset.
pub(super) fn tokenize(sql: &str) -> Option<Vec<TokenWithSpan>> {
    let bytes = sql.as_bytes();
    let peek = |at: usize| bytes.get(at).copied();
    let mut tokens = Vec::with_capacity(bytes.len() / 5);
    let mut cursor = Cursor {
        at: 0,
        line: 1,
        column: 1,
    };
    while let Some(byte) = peek(cursor.at) {
        let start = cursor;
        // Every arm leaves `cursor.at` past the token's last byte (ASCII, so columns follow).
        let token = match byte {
            b' ' | b'\t' | b'\r' | b'\n' => {
                cursor.step(byte);
                continue;
            }
            b'-' if peek(cursor.at + 1) == Some(b'-') => {
                while let Some(b) = peek(cursor.at).filter(|&b| b != b'\n') {
                    // A lone carriage return ends the comment in PostgreSQL but not in Redshift.
                    if b == b'\r' && peek(cursor.at + 1) != Some(b'\n') {
                        return None;
                    }
                    cursor.step(b);
                }
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let end = bytes[cursor.at..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .map_or(bytes.len(), |n| cursor.at + n);
                // A quote right after a word makes a prefixed string (E'..', N'..', B'..').
                if peek(end) == Some(b'\'') {
                    return None;
                }
                let word = &sql[cursor.at..end];
                let keyword = keyword(word);
                // `COPY ... FROM STDIN` makes sqlparser read data rows: not plain.
                if keyword == Keyword::COPY {
                    return None;
                }
                let token = Token::Word(Word {
                    value: word.to_string(),
                    quote_style: None,
                    keyword,
                });
                advance_ascii(&mut cursor, end);
                token
            }
            b'0'..=b'9' => {
                let mut end = digits_end(bytes, cursor.at);
                if peek(end) == Some(b'.') && peek(end + 1).is_some_and(|b| b.is_ascii_digit()) {
                    end = digits_end(bytes, end + 1);
                }
                // Exponents, suffixes, `1.`, `0x..`, `1_000` and the like are not plain.
                if peek(end).is_some_and(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'_' | b'.' | b'$' | b'#' | b'\'' | b'"')
                }) {
                    return None;
                }
                let token = Token::Number(sql[cursor.at..end].to_string(), false);
                advance_ascii(&mut cursor, end);
                token
            }
            b'\'' => {
                let body = cursor.at + 1;
                let close = body + bytes[body..].iter().position(|&b| b == b'\'')?;
                // An escaped quote (`''`) or a backslash (an escape in Redshift) is not plain.
                if peek(close + 1) == Some(b'\'') || bytes[body..close].contains(&b'\\') {
                    return None;
                }
                let token = Token::SingleQuotedString(sql[body..close].to_string());
                while cursor.at <= close {
                    cursor.step(bytes[cursor.at]);
                }
                token
            }
            b'.' => {
                if peek(cursor.at + 1)
                    .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'_' | b'.'))
                {
                    return None;
                }
                cursor.step(byte);
                Token::Period
            }
            b'(' | b')' | b',' | b';' | b'*' | b'+' => {
                cursor.step(byte);
                match byte {
                    b'(' => Token::LParen,
                    b')' => Token::RParen,
                    b',' => Token::Comma,
                    b';' => Token::SemiColon,
                    b'*' => Token::Mul,
                    _ => Token::Plus,
                }
            }
            b'-' | b'/' | b'=' | b'<' | b'>' | b'!' | b'|' | b':' => {
                let pair = [byte, peek(cursor.at + 1).unwrap_or(0)];
                let (token, len) = match &pair {
                    b"<=" => (Token::LtEq, 2),
                    b">=" => (Token::GtEq, 2),
                    b"<>" | b"!=" => (Token::Neq, 2),
                    b"||" => (Token::StringConcat, 2),
                    b"::" => (Token::DoubleColon, 2),
                    [b'-', _] => (Token::Minus, 1),
                    [b'/', _] => (Token::Div, 1),
                    [b'=', _] => (Token::Eq, 1),
                    [b'<', _] => (Token::Lt, 1),
                    [b'>', _] => (Token::Gt, 1),
                    _ => return None,
                };
                // What follows must not extend the operator (`->>`, `<=>`, `/*`, custom ones).
                if peek(cursor.at + len).is_some_and(is_operator_part) {
                    return None;
                }
                let end = cursor.at + len;
                advance_ascii(&mut cursor, end);
                token
            }
            _ => return None,
        };
        tokens.push(TokenWithSpan::new(
            token,
            Span::new(start.location(), cursor.location()),
        ));
    }
    Some(tokens)
}

/// The keyword an unquoted ASCII word is, as sqlparser's binary search over its keyword list
/// finds it (case-insensitively), from a hash map: that search was half of this tokenizer's time.
fn keyword(word: &str) -> Keyword {
    const LONGEST: usize = 64;
    static KEYWORDS: LazyLock<FxHashMap<&'static str, Keyword>> = LazyLock::new(|| {
        assert!(ALL_KEYWORDS.iter().all(|k| k.len() <= LONGEST));
        ALL_KEYWORDS
            .iter()
            .copied()
            .zip(ALL_KEYWORDS_INDEX.iter().copied())
            .collect()
    });
    if word.len() > LONGEST {
        return Keyword::NoKeyword;
    }
    let mut upper = [0u8; LONGEST];
    let upper = &mut upper[..word.len()];
    upper.copy_from_slice(word.as_bytes());
    upper.make_ascii_uppercase();
    // ASCII in, ASCII out.
    let upper = std::str::from_utf8(upper).expect("ASCII");
    KEYWORDS.get(upper).copied().unwrap_or(Keyword::NoKeyword)
}

fn digits_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |n| from + n)
}

/// Moves over ASCII bytes without line breaks up to `end`.
fn advance_ascii(cursor: &mut Cursor, end: usize) {
    cursor.column += (end - cursor.at) as u64;
    cursor.at = end;
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::{Dialect, PostgreSqlDialect, RedshiftSqlDialect};
    use sqlparser::tokenizer::Tokenizer;

    fn reference(dialect: &dyn Dialect, sql: &str) -> Option<Vec<TokenWithSpan>> {
        let mut tokens = Tokenizer::new(dialect, sql).tokenize_with_location().ok()?;
        tokens.retain(|t| !matches!(t.token, Token::Whitespace(_)));
        Some(tokens)
    }

    /// Where the fast tokenizer answers, both dialects' tokenizers give the same tokens, with
    /// the same spans (and they do not fail).
    fn assert_agrees(sql: &str) -> bool {
        let Some(fast) = tokenize(sql) else {
            return false;
        };
        for dialect in [
            &PostgreSqlDialect {} as &dyn Dialect,
            &RedshiftSqlDialect {},
        ] {
            let slow = reference(dialect, sql);
            assert_eq!(
                Some(&fast),
                slow.as_ref(),
                "{dialect:?} on {sql:?}\nfast: {fast:#?}\nslow: {slow:#?}"
            );
            let spans = |t: &[TokenWithSpan]| t.iter().map(|t| t.span).collect::<Vec<_>>();
            assert_eq!(spans(&fast), spans(slow.as_ref().unwrap()), "{sql:?}");
        }
        true
    }

    #[test]
    fn plain_views_are_tokenized_like_sqlparser() {
        let plain = [
            "select 1",
            "-- layer 4\nwith base as (\n  select id, kind from s3.l3_v465\n)\nselect base.id, sum(base.amount) as amount\nfrom base\njoin s8.l3_v1004 p1 using (id)\ngroup by base.id, base.kind",
            "select a.x::int, 'it is' || b.y, 12.50 * 3 - 1 / 2 from t a, u b where a.x <> b.y and a.z >= 4 or a.w != 5 -- tail",
            "SELECT Count(*) FROM \"x\"",
            "select 'straße' as s, 'multi\nline' as m -- größe\r\nfrom t;",
            "select *\r\nfrom t\twhere x<=1 and y<2 and z>3 and w=4",
            "select '--x', 'a/*b', '' from t -- it's \"quoted\" /* not a comment\nwhere a = -1",
            "select 123456789012345678901234567890, 0, 007, 1.0 from t -- end without newline",
            ".a.b.",
        ];
        let answered = plain.iter().filter(|sql| assert_agrees(sql)).count();
        assert_eq!(
            answered,
            plain.len() - 1,
            "only the quoted identifier falls back"
        );
    }

    #[test]
    fn the_fixture_views_are_tokenized_like_sqlparser() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut seen = 0;
        for entry in walkdir::WalkDir::new(root) {
            let path = entry.unwrap().into_path();
            if path.extension().is_some_and(|e| e == "sql") {
                assert_agrees(&std::fs::read_to_string(&path).unwrap());
                seen += 1;
            }
        }
        assert!(seen >= 9, "{seen}");
    }

    #[test]
    fn keywords_are_found_as_sqlparser_finds_them() {
        let words = ALL_KEYWORDS.iter().flat_map(|k| {
            let mixed: String = k
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect();
            [
                k.to_string(),
                k.to_ascii_lowercase(),
                mixed,
                format!("{k}x"),
                format!("x{k}"),
            ]
        });
        let others = ["a", "_", "x1", "select_", "abcdefghijklmnopqrstuvwxyz"];
        let long = "abcdefghijklmnopqrstuvwxyz".repeat(3);
        for word in words.chain(others.map(String::from)).chain([long]) {
            let Token::Word(expected) = Token::make_word(&word, None) else {
                unreachable!()
            };
            assert_eq!(keyword(&word), expected.keyword, "{word}");
        }
    }

    #[test]
    fn anything_else_falls_back() {
        for sql in [
            "select E'x'",
            "select 'it''s'",
            "select 'a\\'b'",
            "select $1",
            "select $$x$$",
            "select 1e5",
            "select 0x1F",
            "select 1_000",
            "select .5",
            "select 1.",
            "select a->>'b'",
            "select a <=> b",
            "select /* c */ 1",
            "select #t",
            "select x @> y",
            "select \"Mixed\" from t",
            "copy t from stdin;\n1\n\\.",
            "select 'unterminated",
            "select t.1",
            "select a ~ b",
        ] {
            assert!(tokenize(sql).is_none(), "{sql:?} should fall back");
        }
    }

    /// Random text from fragments of every kind, glued with and without spaces: wherever the
    /// fast tokenizer answers, it must agree with sqlparser's.
    #[test]
    fn random_text_agrees_with_sqlparser_wherever_it_answers() {
        // Mostly fragments of the plain subset, some of anything else.
        const PLAIN: &[&str] = &[
            "select",
            "from",
            "s.t",
            "_x1",
            "a",
            "b",
            "N",
            "E",
            "x",
            "U",
            "1",
            "42",
            "3.14",
            "'s'",
            "'é'",
            "'\n'",
            "'\r\n'",
            "--c\n",
            "-- ü\r\n",
            "--",
            "(",
            ")",
            ",",
            ";",
            ".",
            "*",
            "+",
            "-",
            "/",
            "=",
            "<",
            ">",
            " ",
            " ",
            " ",
            "\t",
            "\n",
            "\r",
            "\r\n",
            "::",
            "||",
            "<>",
            "!=",
            "<=",
            ">=",
        ];
        const ODD: &[&str] = &[
            "copy", "stdin", "1.", ".5", "0x1f", "1e5", "1_0", "7L", "''", "'it''s'", "'a\\b'",
            "\"Q\"", "/*c*/", "!", "|", ":", "%", "&", "~", "@", "#", "$", "?", "^", "[", "]", "{",
            "}", "\\", "`", "é", "->", "=>", "..", "'",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        let (mut answered, cases) = (0, 100_000);
        for _ in 0..cases {
            let mut sql = String::new();
            for _ in 0..1 + next(12) {
                let kind = if next(20) == 0 { ODD } else { PLAIN };
                sql.push_str(kind[next(kind.len())]);
                if next(3) == 0 {
                    sql.push(' ');
                }
            }
            if assert_agrees(&sql) {
                answered += 1;
            }
        }
        // The comparison only means something if the fast path answers often.
        assert!(answered > cases / 2, "answered {answered}");
        eprintln!("answered {answered}");
    }
}
