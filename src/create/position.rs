//! Where in its file a query's error is. duro does not send a query as written: it wraps it
//! (`create table … as (\n<query>\n)`) and sends it after the transaction's opening statements,
//! and the stored query lost the file's leading blank lines. The warehouse's error position
//! (PostgreSQL's `position`: a 1-based character offset into the text sent) is mapped back to
//! the file's line and column here, so an error reads `at s/t.sql:3:8`, as an editor counts.

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

/// The line and column of the character at `offset` (0-based, in characters) of `text`.
pub fn line_column(text: &str, offset: usize) -> LineColumn {
    let mut at = LineColumn { line: 1, column: 1 };
    for c in text.chars().take(offset) {
        if c == '\n' {
            at.line += 1;
            at.column = 1;
        } else {
            at.column += 1;
        }
    }
    at
}

/// Maps `position` (1-based characters into `sent`) into `query`, found in `sent` at byte
/// `query_start`; `None` when the position is outside the query (in duro's own wrapping).
pub fn in_query(
    sent: &str,
    query_start: usize,
    query: &str,
    position: usize,
) -> Option<LineColumn> {
    let before = sent.get(..query_start)?.chars().count();
    let offset = position.checked_sub(1)?.checked_sub(before)?;
    (offset <= query.chars().count()).then(|| line_column(query, offset))
}

/// Where the stored `query` starts in its file's text (BOM and leading whitespace are not
/// stored): the lines before it and the columns before it on its first line. `None` when the
/// file no longer starts with the query (it changed since the schedule).
pub fn lead_in_file(file_text: &str, query: &str) -> Option<(usize, usize)> {
    let text = file_text.strip_prefix('\u{feff}').unwrap_or(file_text);
    let rest = text.trim_start();
    if !rest.starts_with(query) {
        return None;
    }
    let lead = &text[..text.len() - rest.len()];
    let lines = lead.matches('\n').count();
    let columns = lead.rsplit('\n').next().unwrap_or_default().chars().count();
    Some((lines, columns))
}

/// A query position moved by the file's lead (see [`lead_in_file`]).
pub fn in_file(at: LineColumn, lead: (usize, usize)) -> LineColumn {
    LineColumn {
        line: at.line + lead.0,
        column: if at.line == 1 {
            at.column + lead.1
        } else {
            at.column
        },
    }
}

/// The text of line `line` (1-based) of `text`.
pub fn line_text(text: &str, line: usize) -> &str {
    text.lines().nth(line.saturating_sub(1)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_from_one() {
        let text = "select a,\n  bé,\n  c\nfrom t";
        assert_eq!(line_column(text, 0), LineColumn { line: 1, column: 1 });
        assert_eq!(
            line_column(text, 9),
            LineColumn {
                line: 1,
                column: 10
            }
        );
        assert_eq!(line_column(text, 10), LineColumn { line: 2, column: 1 });
        // `c` on line 3: the é counts as one character.
        let c = text.chars().count() - "c\nfrom t".chars().count();
        assert_eq!(line_column(text, c), LineColumn { line: 3, column: 3 });
    }

    #[test]
    fn a_position_in_the_sent_text_maps_into_the_query() {
        let query = "select 1 as x,\n  2 as y,\n  nope as z\nfrom raw.t";
        let sent = format!(
            "begin;\nset local lock_timeout = '1s';\ncreate table \"s\".\"t_duro_temp\" as (\n{query}\n)"
        );
        let start = sent.find(query).unwrap();
        // PostgreSQL's position of `nope`: 1-based characters into the whole text.
        let position = sent[..sent.find("nope").unwrap()].chars().count() + 1;
        assert_eq!(
            in_query(&sent, start, query, position),
            Some(LineColumn { line: 3, column: 3 })
        );
        // In duro's wrapping, before the query: not the file's.
        assert_eq!(in_query(&sent, start, query, 3), None);
        assert_eq!(in_query(&sent, start, query, 0), None);
        assert_eq!(in_query(&sent, start, query, sent.chars().count()), None);
    }

    #[test]
    fn the_files_leading_lines_and_bom_move_the_position() {
        let query = "select x\nfrom t";
        assert_eq!(lead_in_file(query, query), Some((0, 0)));
        assert_eq!(
            lead_in_file("\u{feff}\n\n  select x\nfrom t;\n", query),
            Some((2, 2))
        );
        assert_eq!(lead_in_file("select y\nfrom t", query), None);
        let at = LineColumn { line: 1, column: 8 };
        assert_eq!(
            in_file(at, (2, 2)),
            LineColumn {
                line: 3,
                column: 10
            }
        );
        let at = LineColumn { line: 2, column: 6 };
        assert_eq!(in_file(at, (2, 2)), LineColumn { line: 4, column: 6 });
        assert_eq!(line_text(query, 2), "from t");
        assert_eq!(line_text(query, 9), "");
    }
}
