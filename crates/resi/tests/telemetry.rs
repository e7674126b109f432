//! Operating the daemons: every one serves Prometheus metrics a real
//! text-format parser accepts, and logs as JSON lines when asked.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{http_get, lines_until, new_wallet, spawn, start_dev_coordinator, terminate};
use prometheus_parse::{Scrape, Value};

/// `GET /metrics` on `addr`, parsed; the content type is Prometheus text 0.0.4.
fn scrape(addr: &str) -> Scrape {
    let (head, body) = http_get(addr, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

fn names(scrape: &Scrape) -> BTreeSet<String> {
    scrape.samples.iter().map(|s| s.metric.clone()).collect()
}

/// The value of the counter `name` whose label `key` is `value`.
fn counter(scrape: &Scrape, name: &str, key: &str, value: &str) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && s.labels.get(key) == Some(value))
        .find_map(|s| match s.value {
            Value::Counter(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
}

fn metrics_address(lines: &[String]) -> String {
    let line = lines.last().expect("a metrics line");
    line.strip_prefix("metrics: http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("not a metrics line: {line}"))
        .to_owned()
}

#[test]
fn every_daemon_serves_metrics_a_prometheus_parser_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, lines) = start_dev_coordinator(&dir.path().join("coordinator"));
    let url = lines[0].strip_prefix("coordinator: ").unwrap().to_owned();
    let coordinator_addr = url.trim_start_matches("http://").trim_end_matches('/').to_owned();

    // A miner and a validator the subnet has never heard of: they run, ask
    // the coordinator, are refused (403), and say so in their metrics.
    let wallets = dir.path().join("wallets");
    new_wallet(&wallets, "miner");
    new_wallet(&wallets, "validator");
    let miner_toml = dir.path().join("miner.toml");
    std::fs::write(
        &miner_toml,
        format!(
            "coordinator = \"{url}\"\nhotkey_file = \"wallets/miner/hotkeys/default\"\n\
             coldkeypub_file = \"wallets/miner/coldkeypub.txt\"\ndata_dir = \"miner-data\"\n\
             metrics_listen = \"127.0.0.1:0\"\nretry_seconds = 1\n\
             [scraper]\nkind = \"sim\"\nurl = \"http://127.0.0.1:9\"\nprofile = \"honest-fast\"\n"
        ),
    )
    .unwrap();
    let validator_toml = dir.path().join("validator.toml");
    std::fs::write(
        &validator_toml,
        format!(
            "coordinator = \"{url}\"\nhotkey_file = \"wallets/validator/hotkeys/default\"\n\
             data_dir = \"validator-data\"\nmetrics_listen = \"127.0.0.1:0\"\nretry_seconds = 1\n\
             property_source = \"http://127.0.0.1:9\"\n[chain]\nmetagraph = \"metagraph.json\"\n"
        ),
    )
    .unwrap();
    let mut miner = spawn(&["miner", "--config", miner_toml.to_str().unwrap()]);
    let miner_addr = metrics_address(&lines_until(&mut miner, |l| l.starts_with("metrics: ")));
    let mut validator = spawn(&["validator", "--config", validator_toml.to_str().unwrap()]);
    let validator_addr = metrics_address(&lines_until(&mut validator, |l| l.starts_with("metrics: ")));

    let miner_metrics = scrape(&miner_addr);
    for outcome in ["scraped", "uploaded", "failed", "rejected"] {
        assert_eq!(
            counter(&miner_metrics, "resi_miner_zipcodes_total", "outcome", outcome),
            Some(0.0),
            "{outcome}"
        );
    }
    let validator_metrics = scrape(&validator_addr);
    assert_eq!(
        counter(&validator_metrics, "resi_validator_epochs_total", "outcome", "done"),
        Some(0.0)
    );
    // Every series says which daemon it is from (in a devnet every daemon
    // shares the process's one recorder): its role and hotkey.
    for (scraped, role, prefix) in [
        (&miner_metrics, "miner", "resi_miner_"),
        (&validator_metrics, "validator", "resi_validator_"),
    ] {
        let own: Vec<_> = scraped
            .samples
            .iter()
            .filter(|s| s.metric.starts_with(prefix))
            .collect();
        assert!(!own.is_empty(), "{role}");
        for s in own {
            assert_eq!(s.labels.get("role"), Some(role), "{}: {:?}", s.metric, s.labels);
            assert!(
                s.labels
                    .get("hotkey")
                    .is_some_and(|h| h.len() == 48 && h.starts_with('5')),
                "{}: {:?}",
                s.metric,
                s.labels
            );
        }
    }

    // The coordinator counted the refused requests, by reason and endpoint.
    let until = Instant::now() + Duration::from_secs(20);
    let coordinator_metrics = loop {
        let m = scrape(&coordinator_addr);
        if counter(&m, "resi_coordinator_auth_failures_total", "reason", "not_registered").unwrap_or(0.0) >= 2.0 {
            break m;
        }
        assert!(
            Instant::now() < until,
            "no not_registered failures counted: {:?}",
            names(&m)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let refused = coordinator_metrics
        .samples
        .iter()
        .filter(|s| s.metric == "resi_coordinator_requests_total")
        .find(|s| {
            s.labels.get("endpoint") == Some("/api/v1/zipcode-assignments/current")
                && s.labels.get("status") == Some("403")
        });
    assert!(refused.is_some(), "403s on the current assignment are counted");
    assert_eq!(
        refused.and_then(|s| s.labels.get("role")),
        Some("coordinator"),
        "the coordinator's series say so"
    );
    let present = names(&coordinator_metrics);
    for name in [
        "resi_coordinator_epoch_start_timestamp_seconds",
        "resi_coordinator_epoch_seconds_to_deadline",
        "resi_coordinator_metagraph_neurons",
        "resi_coordinator_metagraph_age_seconds",
        "resi_coordinator_db_connections",
        "resi_coordinator_build_info",
        // A histogram is a family of _bucket, _sum and _count samples.
        "resi_coordinator_request_duration_seconds_count",
    ] {
        assert!(present.contains(name), "{name} missing from {present:?}");
    }

    for child in [&mut *miner, &mut *validator, &mut *coordinator] {
        assert_eq!(terminate(child), Some(0));
    }
}

/// `--log-format json`: one JSON object per line on stderr, with the
/// daemon's role and hotkey from its span.
#[test]
fn json_logs_are_one_object_per_line_with_the_daemons_fields() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let hotkey = new_wallet(&wallets, "validator");
    let config = dir.path().join("validator.toml");
    // A coordinator that refuses connections: the validator logs a warning
    // inside its daemon span at once.
    std::fs::write(
        &config,
        "coordinator = \"http://127.0.0.1:9\"\nhotkey_file = \"wallets/validator/hotkeys/default\"\n\
         data_dir = \"data\"\nmetrics_listen = \"off\"\nretry_seconds = 1\n\
         property_source = \"http://127.0.0.1:9\"\n[chain]\nmetagraph = \"metagraph.json\"\n",
    )
    .unwrap();
    let mut child = common::Running(
        Command::new(env!("CARGO_BIN_EXE_resi"))
            .args([
                "validator",
                "--config",
                config.to_str().unwrap(),
                "--log-format",
                "json",
            ])
            .env("RESI_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Every line is a JSON object; the daemon's own lines carry its span.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (line, event, daemon) = loop {
        let line = lines.next().expect("the validator logs").unwrap();
        if line.trim().is_empty() {
            continue;
        }
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(event["timestamp"].is_string() && event["level"].is_string(), "{line}");
        let daemon = event["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["name"] == "daemon").cloned());
        if let Some(daemon) = daemon {
            break (line, event, daemon);
        }
    };
    common::terminate(&mut child);
    assert_eq!(event["level"], "WARN", "{line}");
    assert!(event["message"].as_str().is_some_and(|m| !m.is_empty()), "{line}");
    assert_eq!(daemon["role"], "validator");
    assert_eq!(daemon["hotkey"], hotkey.as_str());
    assert!(!line.contains('\u{1b}'), "no colour codes in a log file: {line}");

    // Text logs written to a pipe (a file, journald) carry no colour codes.
    let mut text = common::Running(
        Command::new(env!("CARGO_BIN_EXE_resi"))
            .args(["validator", "--config", config.to_str().unwrap()])
            .env("RESI_LOG", "warn")
            .env_remove("NO_COLOR")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let first = BufReader::new(text.stderr.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .find(|l| l.contains("WARN"))
        .expect("a warning");
    common::terminate(&mut text);
    assert!(!first.contains('\u{1b}'), "no colour codes on a pipe: {first:?}");
    assert!(
        first.contains("role=\"validator\"") || first.contains("role=validator"),
        "{first}"
    );

    // An unknown format is refused before anything runs.
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["--log-format", "yaml", "chain", "show", "--metagraph", "nowhere.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("yaml"));
}
