//! Records the git revision for `resi --version`: `RESI_GIT_REVISION` from
//! the environment (a container build without `.git`), else
//! `git rev-parse`, else "unknown revision".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RESI_GIT_REVISION");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = root.join(".git");
    // A new commit moves HEAD or the branch it points at.
    for watched in ["HEAD", "packed-refs"] {
        println!("cargo:rerun-if-changed={}", git.join(watched).display());
    }
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
        if let Some(branch) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed={}", git.join(branch).display());
        }
    }
    let revision = std::env::var("RESI_GIT_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(&root)
                .output()
                .ok()?;
            let rev = String::from_utf8(out.stdout).ok()?.trim().to_owned();
            if !out.status.success() || rev.is_empty() {
                return None;
            }
            Some(rev)
        })
        .unwrap_or_else(|| "unknown revision".to_owned());
    println!("cargo:rustc-env=RESI_GIT_REVISION={revision}");
}
