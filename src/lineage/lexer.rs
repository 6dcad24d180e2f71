//! A small SQL lexer that never fails: it tells comments, string literals and quoted identifiers
//! apart from code. Used to split test files on `;`, to find table names when a query does not
//! parse, and to rewrite references to a table without touching strings or comments.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An unquoted word: keyword or identifier.
    Word,
    /// A `"quoted"` identifier (the text includes the quotes).
    QuotedIdent,
    /// A string literal: `'…'`, `E'…'` or `$tag$…$tag$`.
    String,
    Number,
    Comment,
    Whitespace,
    /// Any other single character (`.`, `;`, `(`, …).
    Symbol,
}

/// One token, borrowing its text from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    /// Byte offset in the input.
    pub start: usize,
    /// 1-based line of the token's first character.
    pub line: u32,
}

impl Token<'_> {
    /// True for tokens that carry no meaning (whitespace and comments).
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, Kind::Whitespace | Kind::Comment)
    }

    /// The identifier this token names, unquoted: unquoted words fold to lower case.
    pub fn identifier(&self) -> Option<String> {
        match self.kind {
            Kind::Word => Some(self.text.to_lowercase()),
            Kind::QuotedIdent => {
                let inner = self.text.strip_prefix('"')?;
                let inner = inner.strip_suffix('"').unwrap_or(inner);
                Some(inner.replace("\"\"", "\""))
            }
            _ => None,
        }
    }
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Splits SQL into tokens. Unterminated strings and comments run to the end of the input.
pub fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut line = 1u32;
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let start = sql.len() - rest.len();
        let (kind, len) = next_token(rest, c);
        let len = len.max(c.len_utf8());
        let text = &rest[..len];
        tokens.push(Token {
            kind,
            text,
            start,
            line,
        });
        line += text.matches('\n').count() as u32;
        rest = &rest[len..];
    }
    tokens
}

fn find_from(rest: &str, from: usize, pattern: &str) -> usize {
    rest[from..]
        .find(pattern)
        .map(|i| from + i + pattern.len())
        .unwrap_or(rest.len())
}

/// Length of a quoted run starting at `rest[0]`, where `quote` doubled is an escaped quote.
fn quoted_len(rest: &str, quote: char, backslash_escapes: bool) -> usize {
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if backslash_escapes && c == '\\' {
            chars.next();
        } else if c == quote {
            if chars.peek().map(|(_, n)| *n) == Some(quote) {
                chars.next();
            } else {
                return i + c.len_utf8();
            }
        }
    }
    rest.len()
}

fn next_token(rest: &str, c: char) -> (Kind, usize) {
    if c.is_whitespace() {
        let len = rest
            .find(|ch: char| !ch.is_whitespace())
            .unwrap_or(rest.len());
        return (Kind::Whitespace, len);
    }
    if rest.starts_with("--") {
        return (Kind::Comment, rest.find('\n').unwrap_or(rest.len()));
    }
    if rest.starts_with("/*") {
        let mut depth = 0usize;
        let mut i = 0;
        let bytes = rest.as_bytes();
        while i < bytes.len() {
            if bytes[i..].starts_with(b"/*") {
                depth += 1;
                i += 2;
            } else if bytes[i..].starts_with(b"*/") {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return (Kind::Comment, i);
                }
            } else {
                i += 1;
            }
        }
        return (Kind::Comment, rest.len());
    }
    match c {
        '\'' => return (Kind::String, quoted_len(rest, '\'', false)),
        '"' => return (Kind::QuotedIdent, quoted_len(rest, '"', false)),
        '$' => {
            let tag_len = rest[1..]
                .find(|ch: char| !is_word_char(ch) || ch == '$')
                .map(|i| i + 1);
            if let Some(end) = tag_len
                && rest[end..].starts_with('$')
                && !rest[1..].starts_with(|ch: char| ch.is_ascii_digit())
            {
                let tag = &rest[..=end];
                return (Kind::String, find_from(rest, tag.len(), tag));
            }
            return (Kind::Symbol, 1);
        }
        _ => {}
    }
    if c.is_ascii_digit() {
        let len = rest
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'))
            .unwrap_or(rest.len());
        return (Kind::Number, len);
    }
    if is_word_start(c) {
        let len = rest
            .find(|ch: char| !is_word_char(ch))
            .unwrap_or(rest.len());
        if (len == 1 && (c == 'e' || c == 'E')) && rest[1..].starts_with('\'') {
            return (Kind::String, 1 + quoted_len(&rest[1..], '\'', true));
        }
        return (Kind::Word, len);
    }
    (Kind::Symbol, c.len_utf8())
}

/// One statement of a multi-statement file, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: String,
    pub line: u32,
}

/// Splits SQL on `;` outside strings, quoted identifiers and comments. Statements holding only
/// whitespace and comments are dropped.
pub fn split_statements(sql: &str) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut flush = |current: &mut Vec<Token>| {
        if let Some(first) = current.iter().find(|t| !t.is_trivia()) {
            let start = current[0].start;
            let last = current.last().expect("non-empty");
            let text = sql[start..last.start + last.text.len()].trim().to_string();
            statements.push(Statement {
                text,
                line: first.line,
            });
        }
        current.clear();
    };
    for token in tokenize(sql) {
        if token.kind == Kind::Symbol && token.text == ";" {
            flush(&mut current);
        } else {
            current.push(token);
        }
    }
    flush(&mut current);
    statements
}

/// The meaningful tokens only (no whitespace or comments).
pub fn significant(sql: &str) -> Vec<Token<'_>> {
    tokenize(sql)
        .into_iter()
        .filter(|t| !t.is_trivia())
        .collect()
}

/// Every dotted name (`a.b` or `a.b.c`, quoted parts allowed) outside strings and comments, as its
/// identifier parts.
pub fn dotted_names(sql: &str) -> Vec<Vec<String>> {
    let tokens = significant(sql);
    let mut names = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some(first) = tokens[i].identifier() else {
            i += 1;
            continue;
        };
        // Skip identifiers that are themselves the tail of a dotted chain already consumed.
        let mut parts = vec![first];
        let mut j = i + 1;
        while j + 1 < tokens.len() && tokens[j].text == "." {
            match tokens[j + 1].identifier() {
                Some(part) => {
                    parts.push(part);
                    j += 2;
                }
                None => break,
            }
        }
        if parts.len() >= 2 {
            names.push(parts);
        }
        i = j.max(i + 1);
    }
    names
}

/// The schema-qualified names (`schema.table`, `db.schema.table`) that stand as FROM items
/// outside strings and comments: after `from` or `join` (past `only`/`lateral`), and after the
/// commas of a FROM list. A name whose first part is an item bound earlier in the same list
/// (`from s, s.items`) is PartiQL navigation and left out. For queries that do not parse.
pub fn from_relations(sql: &str) -> Vec<Vec<String>> {
    let tokens = significant(sql);
    let word = |i: usize| {
        tokens
            .get(i)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| t.text.to_ascii_lowercase())
    };
    let symbol = |i: usize, s: &str| {
        tokens
            .get(i)
            .is_some_and(|t| t.kind == Kind::Symbol && t.text == s)
    };
    let mut found = Vec::new();
    // Per open parenthesis: whether it is a function call's, where `from` is an argument's
    // keyword (`extract(epoch from o.at)`, `trim(both from x)`) and no FROM clause.
    let mut parens: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if symbol(i, "(") {
            let call = i > 0
                && match tokens[i - 1].kind {
                    Kind::QuotedIdent => true,
                    Kind::Word => {
                        !NOT_CALLS.contains(&tokens[i - 1].text.to_ascii_lowercase().as_str())
                    }
                    _ => false,
                };
            parens.push(call);
        } else if symbol(i, ")") {
            parens.pop();
        }
        // `a is [not] distinct from b.c` compares; it names no relation.
        let comparison = i >= 2
            && word(i - 1).as_deref() == Some("distinct")
            && matches!(word(i - 2).as_deref(), Some("is" | "not"));
        let starts_list = matches!(word(i).as_deref(), Some("from" | "join"))
            && parens.last() != Some(&true)
            && !comparison;
        i += 1;
        if !starts_list {
            continue;
        }
        let mut bound: Vec<String> = Vec::new();
        loop {
            while matches!(word(i).as_deref(), Some("only" | "lateral")) {
                i += 1;
            }
            let mut parts = Vec::new();
            while let Some(part) = tokens.get(i).and_then(Token::identifier) {
                parts.push(part);
                i += 1;
                if !symbol(i, ".") {
                    break;
                }
                i += 1;
            }
            if parts.is_empty() {
                break;
            }
            let navigation = parts.len() >= 2 && bound.contains(&parts[0]);
            // The item's alias: `as x`, or a word that is not a keyword going on with the query.
            if word(i).as_deref() == Some("as") {
                i += 1;
            }
            let alias = match tokens.get(i) {
                Some(t) if t.kind == Kind::QuotedIdent => t.identifier(),
                Some(t)
                    if t.kind == Kind::Word
                        && !CLAUSE_WORDS.contains(&t.text.to_ascii_lowercase().as_str()) =>
                {
                    t.identifier()
                }
                _ => None,
            };
            if alias.is_some() {
                i += 1;
            }
            bound.extend(alias.or_else(|| parts.last().cloned()));
            if parts.len() >= 2 && !navigation {
                found.push(parts);
            }
            if !symbol(i, ",") {
                break;
            }
            i += 1;
        }
    }
    found
}

/// Words a parenthesis can follow without being a function call's.
const NOT_CALLS: &[&str] = &[
    "from",
    "join",
    "in",
    "exists",
    "any",
    "all",
    "some",
    "as",
    "lateral",
    "on",
    "using",
    "select",
    "where",
    "and",
    "or",
    "not",
    "union",
    "intersect",
    "except",
    "minus",
    "with",
    "values",
    "recursive",
    "then",
    "else",
    "when",
    "is",
];

/// Words that go on with a query after a FROM item, so they are not its alias.
const CLAUSE_WORDS: &[&str] = &[
    "where",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "natural",
    "on",
    "using",
    "group",
    "order",
    "having",
    "limit",
    "offset",
    "union",
    "intersect",
    "except",
    "minus",
    "window",
    "qualify",
    "fetch",
    "for",
    "at",
    "tablesample",
    "with",
    "connect",
    "start",
    "pivot",
    "unpivot",
    "select",
    "from",
    "into",
    "returning",
    "when",
    "then",
    "else",
    "end",
    "and",
    "or",
];

/// Rewrites real references to `schema.table` (qualified, or unqualified after FROM/JOIN when
/// `schema` is the default schema) into `replacement`, leaving strings, comments, other tables
/// (`schema.table_other`) and column references alone.
pub fn rewrite_table_references(
    sql: &str,
    schema: &str,
    table: &str,
    default_schema: &str,
    replacement: &str,
) -> String {
    let tokens = significant(sql);
    let mut edits: Vec<(usize, usize)> = Vec::new();
    let ident = |i: usize| tokens.get(i).and_then(Token::identifier);
    let is_dot = |i: usize| {
        tokens
            .get(i)
            .is_some_and(|t| t.kind == Kind::Symbol && t.text == ".")
    };
    let end_of = |i: usize| tokens[i].start + tokens[i].text.len();
    let mut i = 0;
    while i < tokens.len() {
        let preceded_by_dot = i > 0 && is_dot(i - 1);
        if !preceded_by_dot
            && ident(i).as_deref() == Some(schema)
            && is_dot(i + 1)
            && ident(i + 2).as_deref() == Some(table)
            && !is_dot(i + 3)
        {
            edits.push((tokens[i].start, end_of(i + 2)));
            i += 3;
            continue;
        }
        let after_from = i > 0
            && tokens[i - 1].kind == Kind::Word
            && ["from", "join"].contains(&tokens[i - 1].text.to_lowercase().as_str());
        if schema == default_schema
            && after_from
            && ident(i).as_deref() == Some(table)
            && !is_dot(i + 1)
        {
            edits.push((tokens[i].start, end_of(i)));
        }
        // Skip the rest of a dotted chain (db.schema.table matches on its last two parts).
        if is_dot(i + 1)
            && i + 2 < tokens.len()
            && !(ident(i + 2).as_deref() == Some(schema) && is_dot(i + 3))
        {
            i += 2;
            continue;
        }
        i += 1;
    }
    let mut out = String::with_capacity(sql.len() + edits.len() * 12);
    let mut last = 0;
    for (start, end) in edits {
        out.push_str(&sql[last..start]);
        out.push_str(replacement);
        last = end;
    }
    out.push_str(&sql[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_real_references() {
        let rewrite = |sql: &str| {
            rewrite_table_references(
                sql,
                "first",
                "cities",
                "public",
                "\"first\".\"cities_duro_temp\"",
            )
        };
        assert_eq!(
            rewrite(
                "select count(*) > 0 as ok from first.cities where city <> 'first.cities' -- first.cities"
            ),
            "select count(*) > 0 as ok from \"first\".\"cities_duro_temp\" where city <> 'first.cities' -- first.cities"
        );
        assert_eq!(
            rewrite(
                "select * from first.cities_raw join \"first\".\"cities\" c using (id) join first.cities.x"
            ),
            "select * from first.cities_raw join \"first\".\"cities_duro_temp\" c using (id) join first.cities.x"
        );
        assert_eq!(
            rewrite("select cities.city from cities"),
            "select cities.city from cities"
        );
        let public = rewrite_table_references(
            "select people.id from people join public.people p using (id)",
            "public",
            "people",
            "public",
            "T",
        );
        assert_eq!(public, "select people.id from T join T p using (id)");
    }

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        let sql =
            "select 'a;b' as x; -- c;d\nselect \"q;\" from t /* ; */;\n\n;  -- only a comment\n";
        let statements = split_statements(sql);
        assert_eq!(
            statements,
            [
                Statement {
                    text: "select 'a;b' as x".into(),
                    line: 1
                },
                Statement {
                    text: "-- c;d\nselect \"q;\" from t /* ; */".into(),
                    line: 2
                },
            ]
        );
    }

    #[test]
    fn strings_of_every_kind() {
        for sql in ["'it''s'", "E'a\\'b'", "$$a ' b$$", "$x$ $$ ; $x$"] {
            let tokens = tokenize(sql);
            assert_eq!(tokens.len(), 1, "{sql}: {tokens:?}");
            assert_eq!(tokens[0].kind, Kind::String, "{sql}");
        }
        assert_eq!(tokenize("$1")[0].kind, Kind::Symbol);
        assert_eq!(tokenize("/* a /* b */ c */x").len(), 2);
    }

    #[test]
    fn dotted_names_skip_comments_and_strings() {
        let names = dotted_names(
            "select a.b from \"First\".cities c -- x.y\n join 'z.w' on db.s.t /* p.q */",
        );
        assert_eq!(
            names,
            [
                vec!["a".to_string(), "b".into()],
                vec!["First".into(), "cities".into()],
                vec!["db".into(), "s".into(), "t".into()],
            ]
        );
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in ["'abc", "\"abc", "/* abc", "$a$ abc", "E'\\", "é'", "$"] {
            let _ = tokenize(sql);
            let _ = split_statements(sql);
        }
    }
}
