//! Tells the code which sqlparser release it is built with (from Cargo.lock), so parse results
//! kept in a state file are never reused by a duro that parses differently.

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find(|package| package.lines().any(|l| l.trim() == "name = \"sqlparser\""))
        .and_then(|package| {
            package
                .lines()
                .find_map(|l| l.trim().strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DURO_SQLPARSER_VERSION={version}");
}
