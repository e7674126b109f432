//! The dataset as its readers see it, with no resi code: `resi devnet
//! --keep-running` publishes an epoch to its embedded S3 server, and
//! pyarrow reads it back through its own S3 filesystem (Hive partitions,
//! the documented partition types). Every row count must equal the signed
//! manifest's, and every row must come from a winner of its zipcode in the
//! validator's published results, at its rank.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use common::keep_running_devnet;

/// A Python with pyarrow: `RESI_PYTHON` (.ci/run makes a venv for it),
/// else `python3` if it has pyarrow.
fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RESI_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("python3"))
}

const READ_BACK: &str = r#"
import json, sys
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as fs

endpoint, access, secret, bucket = sys.argv[1:5]
s3 = fs.S3FileSystem(access_key=access, secret_key=secret, region="us-east-1",
                     endpoint_override=endpoint.split("://", 1)[1], scheme=endpoint.split("://", 1)[0])
# Partition values are text: a zipcode like 01234 keeps its zero.
hive = ds.partitioning(pa.schema([("epoch", pa.string()), ("zipcode", pa.string())]), flavor="hive")
listings = ds.dataset(bucket + "/dataset/listings", filesystem=s3, format="parquet", partitioning=hive).to_table()
groups = listings.group_by(["epoch", "zipcode", "miner_hotkey", "rank"]).aggregate([("zpid", "count")])
history = ds.dataset(bucket + "/dataset/history", filesystem=s3, format="parquet",
                     partitioning=ds.partitioning(pa.schema([("zipcode", pa.string())]), flavor="hive")).to_table()
print(json.dumps({
    "rows": listings.num_rows,
    "columns": listings.schema.names,
    "groups": groups.to_pylist(),
    "history_rows": history.num_rows,
    "history_columns": history.schema.names,
}))
"#;

/// `names` (a JSON list of column names) holds every one of `wanted`.
fn assert_columns(names: &serde_json::Value, wanted: &[&str]) {
    let names: Vec<&str> = names.as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
    for column in wanted {
        assert!(names.contains(column), "{column} in {names:?}");
    }
}

#[test]
#[ignore = "needs Python with pyarrow (RESI_PYTHON, or python3 with pyarrow); .ci/run makes a venv and runs it"]
fn pyarrow_reads_the_published_dataset_over_s3() {
    let Some(python) = python() else {
        panic!(
            "this test needs RESI_PYTHON or a python3 with pyarrow (python3 -m venv v && v/bin/pip install pyarrow)"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("devnet");
    let (_devnet, lines) = keep_running_devnet(&data, "honest-fast,honest-slow,fabricator", &[]);
    let s3 = lines
        .iter()
        .find_map(|l| l.strip_prefix("S3:"))
        .unwrap_or_else(|| panic!("no S3 line in {lines:#?}"))
        .trim()
        .to_owned();
    // "http://127.0.0.1:PORT (bucket resi, access key AK, secret key SK)"
    let (endpoint, rest) = s3.split_once(" (bucket ").unwrap();
    let (bucket, rest) = rest.split_once(", access key ").unwrap();
    let (access, secret) = rest.split_once(", secret key ").unwrap();
    let secret = secret.trim_end_matches(')');
    assert!(
        lines.iter().any(|l| l.starts_with("dataset: s3://resi/dataset/")),
        "where the dataset is: {lines:#?}"
    );

    let out = Command::new(&python)
        .args(["-c", READ_BACK, endpoint, access, secret, bucket])
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // What resi says it published: the manifest, and the results it was chosen by.
    let root = data.join("s3").join(bucket);
    let manifests: Vec<resi_dataset::DatasetManifest> = std::fs::read_dir(root.join("dataset/listings"))
        .unwrap()
        .filter_map(|e| std::fs::read(e.unwrap().path().join("_manifest.json")).ok())
        .map(|b| serde_json::from_slice(&b).unwrap())
        .collect();
    assert_eq!(manifests.len(), 1, "one judged epoch");
    let manifest = &manifests[0];
    assert!(manifest.verify());
    let results: resi_core::results::SignedResults = serde_json::from_slice(
        &std::fs::read(
            root.join(
                resi_storage::ObjectKey::Results {
                    validator: manifest.publisher.clone(),
                    epoch: manifest.epoch_id,
                }
                .as_key(),
            ),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(results.results.consensus_hash, manifest.consensus_hash);

    assert_eq!(read["rows"].as_u64(), Some(manifest.rows), "{read}");
    assert!(manifest.rows > 0);
    assert_columns(
        &read["columns"],
        &[
            "zpid",
            "price",
            "scraped_timestamp",
            "miner_hotkey",
            "rank",
            "sample_verdict",
            "epoch",
            "zipcode",
        ],
    );
    let mut per_zipcode: BTreeMap<String, u64> = BTreeMap::new();
    for group in read["groups"].as_array().unwrap() {
        assert_eq!(group["epoch"].as_str(), Some(manifest.epoch_id.to_string().as_str()));
        let zipcode = group["zipcode"].as_str().unwrap();
        let miner = group["miner_hotkey"].as_str().unwrap();
        let rank = group["rank"].as_u64().unwrap();
        let outcome = results
            .results
            .zipcodes
            .iter()
            .find(|z| z.zipcode.to_string() == zipcode)
            .unwrap_or_else(|| panic!("zipcode {zipcode} is not in the results"));
        let from = resi_dataset::winners(outcome)
            .into_iter()
            .find(|s| s.hotkey.as_str() == miner)
            .unwrap_or_else(|| panic!("rows of {zipcode} from {miner}, not a winner"));
        assert_eq!(from.rank.map(u64::from), Some(rank));
        assert!(from.spot_check.is_some(), "tier 3 ran on it");
        *per_zipcode.entry(zipcode.to_owned()).or_default() += group["zpid_count"].as_u64().unwrap();
    }
    let expected: BTreeMap<String, u64> = manifest
        .partitions
        .iter()
        .map(|p| (p.zipcode.to_string(), p.rows))
        .filter(|(_, rows)| *rows > 0)
        .collect();
    assert_eq!(per_zipcode, expected, "rows per zipcode, as the manifest says");
    assert_eq!(
        read["history_rows"].as_u64(),
        Some(manifest.rows),
        "one epoch: a history row per listing"
    );
    assert_columns(
        &read["history_columns"],
        &[
            "zpid",
            "price",
            "first_seen_epoch",
            "last_seen_epoch",
            "epochs_seen",
            "zipcode",
        ],
    );
}

/// Every file under `root` with its bytes, by path relative to `root`.
fn files(root: &std::path::Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

/// An operator's `resi dataset publish` of an epoch the devnet judged, from
/// the validator's saved file, in another process: the same partitions and
/// histories, byte for byte, as the devnet published; `resi dataset stats`
/// reads it back.
#[test]
fn resi_dataset_publish_from_the_command_line_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("devnet");
    let (_devnet, lines) = keep_running_devnet(&data, "honest-fast,honest-slow", &[]);
    let published = data.join("s3").join("resi");
    let manifests: Vec<PathBuf> = std::fs::read_dir(published.join("dataset/listings"))
        .unwrap()
        .map(|e| e.unwrap().path().join("_manifest.json"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(manifests.len(), 1, "{lines:#?}");
    let manifest: resi_dataset::DatasetManifest =
        serde_json::from_slice(&std::fs::read(&manifests[0]).unwrap()).unwrap();
    // The validator that published it: its saved file names its hotkey.
    let config = files(&data)
        .into_keys()
        .map(|p| data.join(p))
        .find(|p| {
            p.ends_with("validator.toml")
                && resi_validator::ValidatorConfig::from_file(p).is_ok_and(|c| {
                    resi_auth::wallet::read_keypair(&c.hotkey_file).is_ok_and(|k| k.hotkey() == manifest.publisher)
                })
        })
        .expect("the publisher's saved validator.toml");

    let out_dir = dir.path().join("published");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["dataset", "publish", "--config", config.to_str().unwrap()])
        .args([
            "--epoch",
            &manifest.epoch_id.to_string(),
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .env("RESI_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "dataset: epoch {}, {} zipcodes, {} listings, in {}",
            manifest.epoch_id,
            manifest.partitions.len(),
            manifest.rows,
            out_dir.join("dataset").display()
        )),
        "{said}"
    );
    let ours = files(&out_dir.join("dataset"));
    let devnets = files(&published.join("dataset"));
    let without_manifests = |all: &BTreeMap<PathBuf, Vec<u8>>| -> BTreeMap<PathBuf, Vec<u8>> {
        all.iter()
            .filter(|(p, _)| !p.ends_with("_manifest.json"))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect()
    };
    assert_eq!(
        without_manifests(&ours).keys().collect::<Vec<_>>(),
        without_manifests(&devnets).keys().collect::<Vec<_>>()
    );
    assert!(
        without_manifests(&ours) == without_manifests(&devnets),
        "another process, the same partitions and histories, byte for byte"
    );
    let again: resi_dataset::DatasetManifest =
        serde_json::from_slice(&std::fs::read(out_dir.join(resi_dataset::manifest_key(&manifest.epoch_id))).unwrap())
            .unwrap();
    assert!(again.verify() && again.same_content(&manifest));

    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["dataset", "stats", "--dir", out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(stats.status.success());
    assert_eq!(
        String::from_utf8_lossy(&stats.stdout).trim(),
        format!(
            "epoch {}: {} zipcodes, {} listings; since the epoch before: 0 new, 0 removed, 0 price changes",
            manifest.epoch_id,
            manifest.partitions.len(),
            manifest.rows
        )
    );
    let neither = std::process::Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["dataset", "stats"])
        .env_remove("RESI_CONFIG")
        .output()
        .unwrap();
    assert_eq!(neither.status.code(), Some(2), "clap: name the dataset");
}
