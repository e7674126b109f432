//! ARCHITECTURE.md's dependency rules, enforced (as rust-analyzer's tidy
//! does): the rules block of that file is parsed and every rule is checked
//! against the real dependency graph (`cargo tree` for what a crate pulls
//! in with its own features, `cargo metadata` for what it declares), and
//! against the sources (only `resi-runtime` reads the wall clock; resi-core
//! does no I/O).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo prints UTF-8")
}

/// Every package `krate` depends on (normal edges only, its own default
/// features), itself excluded.
fn closure(krate: &str) -> BTreeSet<String> {
    cargo(&[
        "tree",
        "--offline",
        "-p",
        krate,
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ])
    .lines()
    .filter_map(|l| l.split_whitespace().next())
    .filter(|name| *name != krate)
    .map(str::to_owned)
    .collect()
}

/// One rule line: `crate: !forbidden !forbidden …`.
struct Rule {
    krate: String,
    forbidden: Vec<String>,
}

fn rules() -> Vec<Rule> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text
        .find("<!-- dependency-rules -->")
        .expect("ARCHITECTURE.md has a dependency-rules block");
    let block = &text[start..];
    let end = block.find("<!-- /dependency-rules -->").expect("the block ends");
    block[..end]
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_start_matches("- ").trim_matches('`');
            let (krate, rest) = line.split_once(':')?;
            let forbidden: Vec<String> = rest
                .split_whitespace()
                .filter_map(|w| w.trim_matches('`').strip_prefix('!'))
                .map(str::to_owned)
                .collect();
            (!forbidden.is_empty()).then(|| Rule {
                krate: krate.trim().to_owned(),
                forbidden,
            })
        })
        .collect()
}

/// Every package name in the dependency graph (every platform's), the
/// workspace's own included: the names in `Cargo.lock`.
fn every_package() -> BTreeSet<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");
    lock.lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_crate_pulls_in_what_architecture_md_forbids() {
    let rules = rules();
    assert!(rules.len() >= 8, "the rules block was read: {} rules", rules.len());
    // A misspelt name would forbid nothing: every name must be a real package.
    let known = every_package();
    let unknown: Vec<String> = rules
        .iter()
        .flat_map(|r| std::iter::once(&r.krate).chain(&r.forbidden))
        .filter(|name| !known.contains(*name))
        .cloned()
        .collect();
    assert!(
        unknown.is_empty(),
        "ARCHITECTURE.md names packages that do not exist: {unknown:?}"
    );
    let mut broken = Vec::new();
    for rule in &rules {
        let deps = closure(&rule.krate);
        assert!(!deps.is_empty(), "{} has dependencies (is the name right?)", rule.krate);
        for f in &rule.forbidden {
            if deps.contains(f) {
                broken.push(format!("{} depends on {f}", rule.krate));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "ARCHITECTURE.md's rules are broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn only_development_paths_declare_the_embedded_s3_server_or_the_sim_server() {
    let metadata: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--offline", "--format-version", "1", "--no-deps"])).unwrap();
    let mut declared = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        for dep in package["dependencies"].as_array().unwrap() {
            let normal = dep["kind"].is_null();
            let dep_name = dep["name"].as_str().unwrap();
            let sim_server = dep_name == "resi-sim"
                && dep["features"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f == "server"));
            if normal && (dep_name == "resi-s3-server" || sim_server) {
                declared.push(format!("{name} -> {dep_name}"));
            }
        }
    }
    declared.sort();
    assert_eq!(
        declared,
        [
            "resi -> resi-s3-server",
            "resi -> resi-sim",
            "resi-devnet -> resi-s3-server",
            "resi-devnet -> resi-sim",
        ],
        "only the binary and the devnet run development servers"
    );
}

/// Every `.rs` file under `crates/*/src`, with its crate's folder name.
fn sources() -> Vec<(String, PathBuf, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let krate = entry.unwrap().path();
        let name = krate.file_name().unwrap().to_string_lossy().into_owned();
        let mut stack = vec![krate.join("src")];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    files.push((name.clone(), path, text));
                }
            }
        }
    }
    assert!(files.len() > 50, "the sources were found: {} files", files.len());
    files
}

/// Each way Rust code reads the wall clock: std's, `time`'s, `jiff`'s and `chrono`'s.
const WALL_CLOCK: [&str; 7] = [
    "SystemTime::now",
    "now_utc()",
    "now_local()",
    "Timestamp::now()",
    "Zoned::now()",
    "Utc::now()",
    "Local::now()",
];

#[test]
fn only_resi_runtime_reads_the_wall_clock() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(_, path, _)| !path.ends_with("resi-runtime/src/clock.rs"))
        .flat_map(|(_, path, text)| {
            WALL_CLOCK
                .iter()
                .filter(|needle| text.contains(*needle))
                .map(move |needle| format!("{}: {needle}", path.display()))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "read the clock through resi_runtime::Clock:\n{}",
        offenders.join("\n")
    );
}

/// resi-core and resi-dataset do no I/O and read no clock, not even the
/// monotonic one: no files, sockets, environment, processes, sleeps or
/// `Instant`.
#[test]
fn resi_core_and_resi_dataset_do_no_io() {
    const IO: [&str; 8] = [
        "std::fs",
        "std::net",
        "std::env",
        "std::process",
        "std::thread::sleep",
        "Instant::now",
        "std::io::stdin",
        "std::io::stdout",
    ];
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(krate, _, _)| krate == "resi-core" || krate == "resi-dataset")
        .flat_map(|(_, path, text)| {
            IO.iter()
                .filter(|needle| text.contains(*needle))
                .map(move |needle| format!("{}: {needle}", path.display()))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "resi-core and resi-dataset do no I/O:\n{}",
        offenders.join("\n")
    );
}

/// A crate's modules, by path (`["engine", "checks"]`), with their source
/// (the `#[cfg(test)] mod tests` block and comments left out). The crate
/// root (`lib.rs`, `main.rs`) is its facade and is not among them.
fn modules(krate: &str) -> std::collections::BTreeMap<Vec<String>, String> {
    let base = root().join("crates").join(krate).join("src");
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![base.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&base).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|l| l == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(parts, code);
        }
    }
    out
}

/// The module paths `code` (in module `at`) names: `crate::a::b`,
/// `super::x`, `self::x` and its declared children's `child::x`.
fn named_paths(at: &[String], code: &str) -> Vec<Vec<String>> {
    let mut named = Vec::new();
    let words = |from: usize| -> Vec<String> {
        code[from..]
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (head, base) in [
        ("crate::", Vec::new()),
        ("super::", at[..at.len().saturating_sub(1)].to_vec()),
        ("self::", at.to_vec()),
    ] {
        for (i, _) in code.match_indices(head) {
            let boundary = code[..i]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            if boundary {
                named.push([base.clone(), words(i + head.len())].concat());
            }
        }
    }
    for line in code.lines() {
        let decl = line.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
        if let Some(child) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            let prefix = format!("{child}::");
            for (i, _) in code.match_indices(&prefix) {
                let boundary = code[..i]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
                if boundary {
                    named.push([at.to_vec(), words(i)].concat());
                }
            }
        }
    }
    named
}

/// No two modules of a crate import each other, directly or in a ring (the
/// crate root, which declares and re-exports, aside): what a module uses
/// from its parent lives in a sibling, not in the parent's `mod.rs`.
#[test]
fn no_module_imports_form_a_loop() {
    let mut loops = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let krate = entry.unwrap().file_name().to_string_lossy().into_owned();
        let mods = modules(&krate);
        let mut edges: std::collections::BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = Default::default();
        for (at, code) in &mods {
            let targets = edges.entry(at).or_default();
            for path in named_paths(at, code) {
                // The longest prefix that is a module: what the path reaches into.
                let target = (1..=path.len())
                    .rev()
                    .find_map(|k| mods.get_key_value(&path[..k]).map(|(m, _)| m));
                if let Some(target) = target.filter(|t| *t != at) {
                    targets.insert(target);
                }
            }
        }
        for (from, targets) in &edges {
            for to in targets {
                // Does `to` lead back to `from`?
                let mut seen = BTreeSet::new();
                let mut stack = vec![*to];
                while let Some(m) = stack.pop() {
                    for next in edges.get(m).into_iter().flatten() {
                        if seen.insert(*next) {
                            stack.push(next);
                        }
                    }
                }
                if seen.contains(from) {
                    loops.push(format!(
                        "{krate}: {} -> {} -> … -> {}",
                        from.join("::"),
                        to.join("::"),
                        from.join("::")
                    ));
                }
            }
        }
    }
    assert!(loops.is_empty(), "module import loops:\n{}", loops.join("\n"));
}
