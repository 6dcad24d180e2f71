//! Terminal output helpers: colour only on a terminal and never with `NO_COLOR`.

use duro::diagnostics::{Diagnostic, Severity};
use std::io::IsTerminal;

pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn paint(text: &str, code: &str) -> String {
    if color_enabled() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn print_error(message: &str) {
    eprintln!("{} {message}", paint("error:", "1;31"));
}

pub fn print_warning(message: &str) {
    eprintln!("{} {message}", paint("warning:", "1;33"));
}

/// A diagnostic line, with the file shown under the views folder the user configured.
pub fn diagnostic_line(d: &Diagnostic, views: &std::path::Path) -> String {
    let mut d = d.clone();
    if let Some(file) = &d.file {
        d.file = Some(views.join(file).display().to_string());
    }
    let text = d.to_string();
    match d.severity {
        Severity::Error => text.replacen("error:", &paint("error:", "1;31"), 1),
        Severity::Warning => text.replacen("warning:", &paint("warning:", "1;33"), 1),
    }
}

/// Prints diagnostics to stderr.
pub fn print_diagnostics(diagnostics: &[Diagnostic], views: &std::path::Path) {
    for d in diagnostics {
        eprintln!("{}", diagnostic_line(d, views));
    }
}

pub fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("serialisable")
}
