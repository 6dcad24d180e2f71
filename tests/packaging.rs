//! What installs duro beside the binary: shell completions and the manual page, each checked by
//! the tool that reads it where that tool is on the machine.

mod common;

use common::Project;

#[test]
fn completions_for_every_shell() {
    let p = Project::new();
    for (shell, marker) in [
        ("bash", "_duro()"),
        ("zsh", "#compdef duro"),
        ("fish", "complete -c duro"),
    ] {
        let run = p.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        for command in ["migrate", "schedule", "status", "completions"] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    // bash parses the script it is given.
    let script = p.path().join("duro.bash");
    std::fs::write(&script, p.run(&["completions", "bash"]).stdout).unwrap();
    let parsed = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(parsed.success());
    let unknown = p.run(&["completions", "tcsh"]);
    assert_eq!(unknown.code, 2);
}

#[test]
fn the_manual_page() {
    let p = Project::new();
    let run = p.run(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.contains(".TH duro 1"),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(run.stdout.contains(section), "{section} missing");
    }
    assert!(run.stdout.contains("migrate"));
    // man renders it without warnings, where man is installed.
    if std::path::Path::new("/usr/bin/man").exists() {
        let page = p.path().join("duro.1");
        std::fs::write(&page, &run.stdout).unwrap();
        let rendered = std::process::Command::new("man")
            .arg("--warnings")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(rendered.status.success());
        assert!(String::from_utf8_lossy(&rendered.stdout).contains("migrate"));
    }
}

/// The unit in deploy/ with its ExecStart pointed at the binary under test.
fn unit_for_test(dir: &std::path::Path) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/duro.service"))
        .unwrap()
        .replace("/usr/local/bin/duro", env!("CARGO_BIN_EXE_duro"));
    let path = dir.join("duro.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn systemd_accepts_the_unit_and_rates_it_hardened() {
    let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("systemd-analyze not found: install Debian's systemd package (.ci/run does)");
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test(dir.path());
    let verify = std::process::Command::new(analyze)
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{complaints}");
    assert!(
        !complaints.contains("duro.service"),
        "systemd-analyze verify warns about the unit:\n{complaints}"
    );
    let security = std::process::Command::new(analyze)
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&security.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for duro.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 2.0, "exposure {level}:\n{text}");
}
