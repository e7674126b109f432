//! The coordinator's live page in a real browser: `resi devnet
//! --keep-running` serves it, headless Chromium (Debian's `chromium`)
//! renders it, and the rendered DOM, not the HTTP status, is checked: the
//! epoch and its countdown, the zipcodes, the leaderboard of the epoch just
//! judged with its consensus, and the weights set. A screenshot is saved
//! in the target directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::terminate;

/// The browser: `RESI_CHROMIUM`, else the first of Debian's names on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RESI_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
}

/// Headless Chromium as the workplace runs it: no sandbox (root), no GPU,
/// and no background connections (the network is closed), on a fresh profile.
fn headless(browser: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

/// The text of every element whose opening tag contains `marker`, in order
/// (enough of an HTML reader for the page's flat rows and spans).
fn texts_of(dom: &str, marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at..];
        let Some(open_end) = after.find('>') else { break };
        let tag_name: String = rest[..at]
            .rsplit('<')
            .next()
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let body = &after[open_end + 1..];
        let close = format!("</{tag_name}>");
        let end = body.find(&close).unwrap_or(body.len());
        let text: String = strip_tags(&body[..end]);
        found.push(text);
        rest = &body[end..];
    }
    found
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
#[ignore = "needs headless Chromium (apt-get install chromium, or RESI_CHROMIUM); .ci/run installs and runs it"]
fn the_dashboard_shows_a_running_devnet_in_a_real_browser() {
    let Some(browser) = chromium() else {
        panic!("this test needs chromium on PATH (apt-get install chromium) or RESI_CHROMIUM");
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("devnet");
    // The verdict of the judged epoch, then the addresses of the running network.
    let (mut devnet, lines) =
        common::keep_running_devnet(&data, "honest-fast,honest-slow,fabricator", &["--validators", "2"]);
    let url = lines
        .iter()
        .find_map(|l| l.strip_prefix("dashboard:"))
        .map(|u| u.trim().to_owned())
        .unwrap_or_else(|| panic!("no dashboard line in {lines:#?}"));

    let profile = dir.path().join("chromium-profile");
    let dom = headless(&browser, &profile, &["--virtual-time-budget=8000", "--dump-dom", &url]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();

    let epoch = texts_of(&dom, "id=\"epoch-id\"");
    assert!(
        epoch.first().is_some_and(|e| e.len() == 19 && e.starts_with("20")),
        "the current epoch id is shown: {epoch:?}"
    );
    let countdown = texts_of(&dom, "id=\"countdown\"");
    let shown = countdown.first().cloned().unwrap_or_default();
    let (minutes, seconds) = shown.split_once(':').unwrap_or(("", ""));
    assert!(
        minutes.parse::<u32>().is_ok() && seconds.len() == 2 && seconds.parse::<u32>().is_ok_and(|s| s < 60),
        "a countdown like 0:07: {shown:?}"
    );
    assert!(
        dom.contains("assigned zipcodes are shown after the deadline"),
        "the current epoch's zipcodes are not shown before its deadline"
    );

    let rows = texts_of(&dom, "class=\"leaderboard-row\"");
    assert!(rows.len() >= 3, "every miner of the judged epoch is ranked: {rows:#?}");
    assert!(rows[0].starts_with("1 "), "ranked from 1: {rows:#?}");
    assert!(
        // " 0.00 %" with its space: "100.00 %" ends in "0.00 %" too (one
        // scrape, one reward: one miner may take the whole epoch).
        rows.iter().any(|r| r.contains("%") && !r.contains(" 0.00 %")),
        "somebody scored: {rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains(" 0.00 %") && r.split(" 0.00 %").nth(1).is_some_and(|why| !why.trim().is_empty())),
        "the fabricator's zero comes with a reason: {rows:#?}"
    );
    let consensus = texts_of(&dom, "consensus-status");
    assert!(
        consensus.iter().any(|c| c == "PERFECT CONSENSUS"),
        "the judged epoch's consensus: {consensus:?}"
    );
    let weights = texts_of(&dom, "class=\"weights-row\"");
    assert!(!weights.is_empty(), "the weights the validators set: {dom}");
    assert!(weights.iter().all(|w| w.contains('=')), "{weights:?}");
    // Every hotkey with its uid, so the leaderboard reads against the weights.
    assert!(rows.iter().all(|r| r.contains("uid ")), "{rows:#?}");
    // The weights on the first screen: each validator's top miners by share.
    let now = texts_of(&dom, "class=\"latest-weight-row\"");
    assert!(
        !now.is_empty() && now.iter().all(|w| w.starts_with("uid ") && w.ends_with('%')),
        "the newest weights by share: {now:?}"
    );
    // The dataset panel: the judged epoch as the first validator published
    // it, from its signed manifest: epoch, publisher, zipcodes, listings,
    // new, removed, price changes.
    let dataset = texts_of(&dom, "class=\"dataset-row\"");
    assert!(
        dataset
            .iter()
            .any(|d| d.contains(" uid ") && d.split_whitespace().count() >= 9),
        "the judged epoch's dataset: {dataset:?}"
    );
    let first_screen = dom.find("Weights now").unwrap_or(usize::MAX);
    assert!(
        first_screen < dom.find("Zipcodes of this epoch").unwrap_or(0),
        "weights come first"
    );

    // A picture of it, kept where the build keeps its files.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(
        &browser,
        &profile,
        &[
            "--virtual-time-budget=8000",
            "--window-size=1280,1600",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real picture");
    eprintln!("dashboard screenshot: {}", shot.display());

    assert_eq!(
        terminate(&mut devnet),
        Some(0),
        "the devnet passed and stopped on SIGTERM"
    );
}
