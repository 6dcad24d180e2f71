//! The git commit of a views directory, read straight from `.git` (no git binary needed):
//! HEAD, loose refs, packed refs and worktree `.git` files.

use std::path::{Path, PathBuf};

/// Finds the `.git` directory of the repository containing `start`, if any.
fn git_dir(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    for dir in start.ancestors() {
        let candidate = dir.join(".git");
        if candidate.is_dir() {
            return Some(candidate);
        }
        if candidate.is_file() {
            let text = std::fs::read_to_string(&candidate).ok()?;
            let target = text.strip_prefix("gitdir:")?.trim();
            return Some(dir.join(target));
        }
    }
    None
}

/// The common directory (for worktrees, refs live there).
fn common_dir(git_dir: &Path) -> PathBuf {
    std::fs::read_to_string(git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|_| git_dir.to_path_buf())
}

fn resolve_ref(git_dir: &Path, name: &str) -> Option<String> {
    for dir in [git_dir.to_path_buf(), common_dir(git_dir)] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
            let text = text.trim();
            if let Some(next) = text.strip_prefix("ref:") {
                return resolve_ref(git_dir, next.trim());
            }
            return Some(text.to_string());
        }
    }
    let packed = std::fs::read_to_string(common_dir(git_dir).join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (hash, reference) = line.split_once(' ')?;
        (reference.trim() == name).then(|| hash.to_string())
    })
}

/// The commit checked out in the repository holding `path`; `None` outside a repository or in
/// one without commits.
pub fn head_commit(path: &Path) -> Option<String> {
    let dir = git_dir(path)?;
    let head = std::fs::read_to_string(dir.join("HEAD")).ok()?;
    let head = head.trim();
    let hash = match head.strip_prefix("ref:") {
        Some(reference) => resolve_ref(&dir, reference.trim())?,
        None => head.to_string(),
    };
    (hash.len() >= 40 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}
