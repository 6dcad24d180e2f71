//! Bounded listings. A line on the terminal or a Slack message never names every table of a
//! list that can hold thousands (a first schedule of 10,000 views, the tables of a tree, the
//! failing tables of a day): it names the first [`SHOWN`], then says how many more there are.
//! The full lists stay where they belong: `--format json`, the state database and the web UI.

/// How many items a listing names before "and N more".
pub const SHOWN: usize = 10;

/// The first [`SHOWN`] items and how many were left out.
pub fn head<T>(items: &[T]) -> (&[T], usize) {
    let shown = items.len().min(SHOWN);
    (&items[..shown], items.len() - shown)
}

/// "and N more", for what [`head`] left out.
pub fn and_more(hidden: usize) -> String {
    format!("and {hidden} more")
}

/// `a, b, c`; past [`SHOWN`] items the first ones and "and N more" (`a, …, j and 490 more`).
pub fn names<S: AsRef<str>>(items: &[S]) -> String {
    let (shown, hidden) = head(items);
    let mut text = shown
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if hidden > 0 {
        text.push(' ');
        text.push_str(&and_more(hidden));
    }
    text
}

/// `Label: a, b`; past [`SHOWN`] items with the count: `Label (500): a, …, j and 490 more`.
pub fn labelled<S: AsRef<str>>(label: &str, items: &[S]) -> String {
    if items.len() > SHOWN {
        format!("{label} ({}): {}", items.len(), names(items))
    } else {
        format!("{label}: {}", names(items))
    }
}

/// Cuts `text` to at most `max` characters, ending it with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s.t{i}")).collect()
    }

    #[test]
    fn short_lists_are_named_in_full() {
        assert_eq!(names::<String>(&[]), "");
        assert_eq!(names(&tables(2)), "s.t0, s.t1");
        assert_eq!(labelled("New tables", &tables(2)), "New tables: s.t0, s.t1");
        assert_eq!(names(&tables(SHOWN)).matches(", ").count(), SHOWN - 1);
        assert!(!names(&tables(SHOWN)).contains("more"));
    }

    #[test]
    fn long_lists_name_the_first_and_count_the_rest() {
        assert_eq!(
            names(&tables(12)),
            "s.t0, s.t1, s.t2, s.t3, s.t4, s.t5, s.t6, s.t7, s.t8, s.t9 and 2 more"
        );
        let line = labelled("New tables", &tables(10_000));
        assert!(
            line.starts_with("New tables (10000): s.t0, s.t1,"),
            "{line}"
        );
        assert!(line.ends_with("s.t9 and 9990 more"), "{line}");
        assert!(line.len() < 200, "{line}");
        let three = tables(3);
        let (shown, hidden) = head(&three);
        assert_eq!((shown.len(), hidden), (3, 0));
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("  abc  ", 3), "abc");
        assert_eq!(shorten("äöüß", 2), "äö…");
    }
}
