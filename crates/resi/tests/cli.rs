//! `resi …` as a user runs it: the real binary, real files, exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

use common::start_dev_coordinator;
use serde_json::Value;

mod common;

fn resi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(args)
        .env("RESI_LOG", "error")
        .output()
        .expect("run resi")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/test-vectors/sr25519.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn verify(ss58: &str, message_hex: &str, signature: &str) -> Output {
    resi(&[
        "keys",
        "verify",
        "--ss58",
        ss58,
        "--message-hex",
        message_hex,
        "--signature",
        signature,
    ])
}

#[test]
fn verify_accepts_every_valid_vector() {
    let doc = vectors();
    for case in doc["cases"].as_array().unwrap() {
        let sig = case["signature_hex"].as_str().unwrap();
        let out = verify(
            case["ss58_address"].as_str().unwrap(),
            case["message_hex"].as_str().unwrap(),
            sig,
        );
        assert_eq!(out.status.code(), Some(0), "{}: {}", case["id"], stdout(&out));
        assert_eq!(stdout(&out), "valid");
        // The 0x form is the same signature.
        let out = verify(
            case["ss58_address"].as_str().unwrap(),
            case["message_hex"].as_str().unwrap(),
            &format!("0x{sig}"),
        );
        assert_eq!(out.status.code(), Some(0));
    }
}

#[test]
fn verify_rejects_every_invalid_vector_with_a_reason() {
    let doc = vectors();
    for case in doc["negative_cases"].as_array().unwrap() {
        let out = verify(
            case["ss58_address"].as_str().unwrap(),
            case["message_hex"].as_str().unwrap(),
            case["signature_hex"].as_str().unwrap(),
        );
        assert_eq!(out.status.code(), Some(1), "{} verified", case["id"]);
        let line = stdout(&out);
        assert!(line.starts_with("invalid: ") && !line.contains('\n'), "{line}");
    }
}

#[test]
fn verify_takes_a_text_message() {
    let doc = vectors();
    let case = &doc["cases"][0];
    let out = resi(&[
        "keys",
        "verify",
        "--ss58",
        case["ss58_address"].as_str().unwrap(),
        "--message",
        case["message"].as_str().unwrap(),
        "--signature",
        case["signature_hex"].as_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = resi(&[
        "keys",
        "verify",
        "--ss58",
        "not-an-address",
        "--message",
        "m",
        "--signature",
        "00",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("invalid: invalid SS58 address"));
}

#[test]
fn new_show_sign_verify_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let wallet = ["--wallet-path", path, "--wallet", "miner", "--hotkey", "h1"];
    let new = resi(&[&["keys", "new"][..], &wallet].concat());
    assert_eq!(new.status.code(), Some(0), "{}", String::from_utf8_lossy(&new.stderr));
    let address = stdout(&new);
    assert_eq!(address.len(), 48);
    assert!(String::from_utf8_lossy(&new.stderr).contains("mnemonic"));
    assert!(dir.path().join("miner/coldkeypub.txt").exists());
    assert!(dir.path().join("miner/hotkeys/h1pub.txt").exists());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("miner"), 0o700);
        assert_eq!(mode("miner/hotkeys"), 0o700);
        assert_eq!(mode("miner/hotkeys/h1"), 0o600);
    }

    let show = resi(&[&["keys", "show"][..], &wallet].concat());
    assert!(stdout(&show).contains(&address));
    assert!(stdout(&show).contains("coldkey 5"));

    let sign = resi(
        &[
            &["keys", "sign"][..],
            &wallet,
            &["--message", "s3:validator:upload:1700000000"],
        ]
        .concat(),
    );
    assert_eq!(sign.status.code(), Some(0));
    let sig = stdout(&sign);
    assert!(sig.starts_with("0x") && sig.len() == 130, "{sig}");
    let ok = resi(&[
        "keys",
        "verify",
        "--ss58",
        &address,
        "--message",
        "s3:validator:upload:1700000000",
        "--signature",
        &sig,
    ]);
    assert_eq!(ok.status.code(), Some(0));
    let bad = resi(&[
        "keys",
        "verify",
        "--ss58",
        &address,
        "--message",
        "s3:validator:upload:1700000001",
        "--signature",
        &sig,
    ]);
    assert_eq!(bad.status.code(), Some(1));

    // A second `new` for the same hotkey refuses to overwrite it.
    let again = resi(&[&["keys", "new"][..], &wallet].concat());
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
}

#[test]
fn reads_the_bittensor_test_wallet() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/test-vectors/wallet/wallets");
    let root = root.to_str().unwrap();
    let wallet = [
        "--wallet-path",
        root,
        "--wallet",
        "testwallet",
        "--hotkey",
        "testhotkey",
    ];
    let show = resi(&[&["keys", "show"][..], &wallet].concat());
    let text = stdout(&show);
    assert!(
        text.contains("5Do4WxQWgskGmQf443Kn8QWvUMj35oCPCWmKKpY2Yyzw4VaJ"),
        "{text}"
    );
    assert!(
        text.contains("5EZuHJ7QjxuJz7QsBQFfVZzA1fqR4x2TVtzPLKzAnz9PZY4z"),
        "{text}"
    );
    let sign = resi(&[&["keys", "sign"][..], &wallet, &["--message", "hello"]].concat());
    let sig = stdout(&sign);
    let ok = resi(&[
        "keys",
        "verify",
        "--ss58",
        "5Do4WxQWgskGmQf443Kn8QWvUMj35oCPCWmKKpY2Yyzw4VaJ",
        "--message",
        "hello",
        "--signature",
        &sig,
    ]);
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn bad_input_exits_non_zero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = resi(&[
        "keys",
        "sign",
        "--wallet-path",
        dir.path().to_str().unwrap(),
        "--wallet",
        "nope",
        "--hotkey",
        "h",
        "--message",
        "m",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("No such file"), "{err}");
    let out = resi(&[
        "keys",
        "new",
        "--wallet-path",
        "/tmp",
        "--wallet",
        "../x",
        "--hotkey",
        "h",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = resi(&["bench", "validate", "--miners", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_and_version() {
    for args in [
        &["--help"][..],
        &["keys", "--help"],
        &["keys", "verify", "--help"],
        &["bench", "validate", "--help"],
    ] {
        let out = resi(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(stdout(&out).contains("Usage"));
    }
    let version = stdout(&resi(&["--version"]));
    assert!(version.starts_with("resi 0."), "{version}");
    // The git revision it was built from (a clean clone has one).
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|r| !r.is_empty());
    if let Some(revision) = revision {
        assert!(version.contains(&format!("({revision})")), "{version} lacks {revision}");
    }
}

#[test]
fn small_bench_prints_its_summary_line() {
    let out = resi(&[
        "bench",
        "validate",
        "--miners",
        "6",
        "--zipcodes",
        "2",
        "--listings",
        "50",
        "--threads",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("bench validate: 600 listings in "), "{last}");
    assert!(last.contains("listings/s, peak RSS "), "{last}");
}

#[test]
fn listings_sample_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("77429.parquet");
    let out = resi(&[
        "listings",
        "sample",
        "--zipcode",
        "77429",
        "--count",
        "40",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = resi(&["listings", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("ok: 40 listings"), "{}", stdout(&out));
    std::fs::write(&file, b"not parquet").unwrap();
    let out = resi(&["listings", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("unreadable: not a Parquet file"));
    let out = resi(&[
        "listings",
        "sample",
        "--zipcode",
        "00000",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[tokio::test]
async fn s3_serve_speaks_s3_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args([
            "s3",
            "serve",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--port",
            "0",
            "--bucket",
            "devnet",
        ])
        .args(["--access-key", "testkey", "--secret-key", "testsecret"])
        .env("RESI_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let endpoint = first.strip_prefix("S3 endpoint: ").expect("endpoint line").to_owned();
    // A secret given on the command line is the operator's: never printed.
    let banner: Vec<String> = lines.by_ref().take(5).map(Result::unwrap).collect();
    assert!(banner.iter().any(|l| l == "secret key:  (as given)"), "{banner:?}");
    assert!(!banner.iter().any(|l| l.contains("testsecret")), "{banner:?}");
    let config = resi_storage::S3Config {
        endpoint: endpoint.parse().unwrap(),
        region: "us-east-1".into(),
        bucket: "devnet".into(),
        access_key: "testkey".into(),
        secret_key: "testsecret".into(),
        path_style: true,
        session_token: None,
    };
    let presigner = resi_storage::Presigner::new(config).unwrap();
    let client = resi_storage::S3Client::new(resi_storage::RetryPolicy::default()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ttl = std::time::Duration::from_secs(60);
    let body = bytes::Bytes::from_static(b"hello");
    client
        .put(&presigner.put("data/x", now, ttl).unwrap(), "data/x", body.clone())
        .await
        .unwrap();
    assert_eq!(
        client
            .get(&presigner.get("data/x", now, ttl).unwrap(), "data/x", 100)
            .await
            .unwrap(),
        body
    );
    assert!(dir.path().join("devnet").is_dir());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn chain_register_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metagraph.json");
    let f = file.to_str().unwrap();
    let hot = "5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT";
    let cold = "5FsX1fqKPD1VNk1eEwY7RtuLLs15kEz4XeZNUsE3SdbjWKse";
    let val = "5C7mGLnCd53F8XctZyLa1wXKrxrj9YfrBarg4TXrJZTut7kN";
    let register = |hotkey: &str, extra: &[&str]| {
        resi(
            &[
                &[
                    "chain",
                    "register",
                    "--metagraph",
                    f,
                    "--hotkey",
                    hotkey,
                    "--coldkey",
                    cold,
                ][..],
                extra,
            ]
            .concat(),
        )
    };
    let out = register(hot, &[]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), "0".to_owned()));
    let out = register(val, &["--validator"]);
    assert_eq!(stdout(&out), "1");
    let again = register(hot, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already registered"));
    let show = stdout(&resi(&["chain", "show", "--metagraph", f]));
    assert!(
        show.contains(hot) && show.contains(val) && show.contains("yes"),
        "{show}"
    );
    let bad = resi(&[
        "chain",
        "register",
        "--metagraph",
        f,
        "--hotkey",
        "x",
        "--coldkey",
        cold,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    // Or from a wallet's files, as `resi keys new` wrote them.
    let wallets = dir.path().join("wallets");
    let from_wallet = common::new_wallet(&wallets, "miner");
    let register_wallet = |name: &str| {
        resi(&[
            "chain",
            "register",
            "--metagraph",
            f,
            "--wallet-path",
            wallets.to_str().unwrap(),
            "--wallet",
            name,
        ])
    };
    let out = register_wallet("miner");
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "2".to_owned()),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&resi(&["chain", "show", "--metagraph", f])).contains(from_wallet.as_str()));
    let missing = register_wallet("nobody");
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("wallet nobody"), "{}", stderr(&missing));
}

#[test]
fn coordinator_import_zipcodes_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A plain SQLite URL creates its file.
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let csv = dir.path().join("u.csv");
    std::fs::write(
        &csv,
        "zipcode,state,city,county,expected_listings,market_tier,geographic_region\n\
77429,TX,Cypress,Harris County,420,standard,south\n\
00000,TX,Nowhere,,100,standard,south\n",
    )
    .unwrap();
    let out = resi(&[
        "coordinator",
        "--database-url",
        &db,
        "import-zipcodes",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("nothing imported"), "{err}");
    std::fs::write(
        &csv,
        "zipcode,state,city,county,expected_listings,market_tier,geographic_region\n77429,TX,Cypress,Harris County,420,standard,south\n",
    )
    .unwrap();
    let out = resi(&[
        "coordinator",
        "--database-url",
        &db,
        "import-zipcodes",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "imported 1 zipcodes");
    // Another file adds to the universe and says so; --replace retires the rest.
    let other = dir.path().join("v.csv");
    std::fs::write(
        &other,
        "zipcode,state,city,county,expected_listings,market_tier,geographic_region\n78704,TX,Austin,Travis County,380,standard,south\n",
    )
    .unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["coordinator", "--database-url", &db, "import-zipcodes"];
        args.extend_from_slice(extra);
        args.push(other.to_str().unwrap());
        resi(&args)
    };
    let out = import(&[]);
    assert_eq!(
        stdout(&out),
        "imported 1 zipcodes; 1 others stay in the universe (2 in all): --replace retires them"
    );
    let out = import(&["--replace"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        stdout(&out),
        format!("imported 1 zipcodes; retired 1 not in {}", other.display())
    );
}

fn stop(child: &mut std::process::Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn coordinator_dev_mode_serves_and_stops() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, lines) = start_dev_coordinator(dir.path());
    let url = lines[0].strip_prefix("coordinator: ").unwrap().to_owned();
    let s3 = lines[1].clone();
    assert!(s3.starts_with("S3 endpoint: http://127.0.0.1:"), "{s3}");
    assert!(
        lines.iter().any(|l| l.starts_with("S3 secret key: ")),
        "a generated secret is shown once"
    );
    // A plain HTTP GET without extra crates.
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"service\":\"resi-coordinator\""));
    // The rules it announces, as a validator asks before an upgrade.
    assert!(response.contains("\"rules\":{\"currentVersion\":6}"), "{response}");
    let wallets = dir.path().join("wallets");
    common::new_wallet(&wallets, "validator");
    let validator_toml = dir.path().join("validator.toml");
    std::fs::write(
        &validator_toml,
        format!(
            "coordinator = \"{url}\"\nhotkey_file = \"wallets/validator/hotkeys/default\"\nmetrics_listen = \"off\"\n\
             property_source = \"http://127.0.0.1:9\"\n[chain]\nmetagraph = \"metagraph.json\"\n"
        ),
    )
    .unwrap();
    let check = resi(&[
        "validator",
        "--config",
        validator_toml.to_str().unwrap(),
        "--check-upgrade",
    ]);
    let said = stdout(&check);
    assert_eq!(check.status.code(), Some(0), "{said}{}", stderr(&check));
    assert!(
        said.contains("validates results versions 6 to 7")
            && said.contains("the subnet runs results version 6: validated")
            && said.contains("no upgrade is announced"),
        "{said}"
    );
    stop(&mut child);
    assert!(dir.path().join("coordinator.db").exists() && dir.path().join("secret").exists());
    // Secrets and the database (unrevealed seeds) are the owner's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for file in ["secret", "coordinator.db", "s3/dev-credentials.json"] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(dir.path()), 0o700);
    // Restarted, it serves S3 on the same endpoint with the same keys (miners
    // hold policies for it) and does not print the secret again.
    let (mut again, lines) = start_dev_coordinator(dir.path());
    assert_eq!(lines[1], s3, "the S3 endpoint moved");
    assert!(!lines.iter().any(|l| l.starts_with("S3 secret key: ")), "{lines:?}");
    stop(&mut again);
}

/// `dir/coordinator.toml`: SQLite and a metagraph in `dir`, a secret, and
/// `extra` (its top-level keys first, then its tables).
fn coordinator_toml(dir: &std::path::Path, extra: &str) -> PathBuf {
    let config = dir.join("coordinator.toml");
    let db = format!("sqlite://{}?mode=rwc", dir.join("c.db").display());
    let (keys, tables) = extra.split_at(extra.find('[').unwrap_or(extra.len()));
    std::fs::write(
        &config,
        format!(
            "{keys}database_url = \"{db}\"\nsecret = \"0123456789abcdef-secret\"\n{tables}[chain]\nmetagraph = \"{}\"\n",
            dir.join("m.json").display()
        ),
    )
    .unwrap();
    config
}

#[test]
fn coordinator_config_layers_file_env_and_flags() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let config = coordinator_toml(dir.path(), "listen = \"127.0.0.1:1\"\n");
    let cfg = config.to_str().unwrap();
    // No S3 anywhere: a clear error.
    let out = resi(&["coordinator", "--config", cfg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no [s3] section"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // S3 from the environment, the listen address from a flag over the file's.
    let mut child = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["coordinator", "--config", cfg, "--listen", "127.0.0.1:0"])
        .env("RESI_LOG", "error")
        .env("RESI_S3_ENDPOINT", "http://127.0.0.1:9/")
        .env("RESI_S3_BUCKET", "resi")
        .env("RESI_S3_ACCESS_KEY", "a")
        .env("RESI_S3_SECRET_KEY", "b")
        .env("RESI_S3_PATH_STYLE", "true")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("coordinator: http://127.0.0.1:") && !first.ends_with(":1"),
        "{first}"
    );
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "S3 endpoint: http://127.0.0.1:9/ (bucket resi)"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // Unknown keys in the file are refused.
    std::fs::write(&config, "bogus = 1\n").unwrap();
    let out = resi(&["coordinator", "--config", cfg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
}

/// The standard AWS variables and profile files fill what resi's own S3
/// settings leave open; resi's own win.
#[test]
fn coordinator_takes_s3_settings_from_the_aws_environment() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let config = coordinator_toml(
        dir.path(),
        "listen = \"127.0.0.1:0\"\n[s3]\nbucket = \"resi\"\npath_style = true\n",
    );
    // A profile in a shared credentials file, chosen by AWS_PROFILE.
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret\n",
    )
    .unwrap();
    std::fs::write(
        home.join(".aws/config"),
        "[profile ops]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:7/\n",
    )
    .unwrap();
    let start = |env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_resi"));
        command
            .args(["coordinator", "--config", config.to_str().unwrap()])
            .env("RESI_LOG", "error")
            .env("HOME", &home)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_REGION",
        ] {
            command.env_remove(var);
        }
        for var in [
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_CONFIG_FILE",
        ] {
            command.env_remove(var);
        }
        command.env_remove("AWS_SHARED_CREDENTIALS_FILE");
        command.envs(env.iter().copied());
        command.spawn().unwrap()
    };
    let endpoint_line = |child: &mut std::process::Child| {
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(first.starts_with("coordinator: http://127.0.0.1:"), "{first}");
        let second = lines.next().unwrap().unwrap();
        stop(child);
        second
    };
    // Keys and endpoint from the variables.
    let mut child = start(&[
        ("AWS_ACCESS_KEY_ID", "AKIDENV"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9/"),
    ]);
    assert_eq!(
        endpoint_line(&mut child),
        "S3 endpoint: http://127.0.0.1:9/ (bucket resi)"
    );
    // Keys, region and endpoint from the profile.
    let mut child = start(&[("AWS_PROFILE", "ops")]);
    assert_eq!(
        endpoint_line(&mut child),
        "S3 endpoint: http://127.0.0.1:7/ (bucket resi)"
    );
    // resi's own setting wins over AWS's.
    let mut child = start(&[("AWS_PROFILE", "ops"), ("RESI_S3_ENDPOINT", "http://127.0.0.1:8/")]);
    assert_eq!(
        endpoint_line(&mut child),
        "S3 endpoint: http://127.0.0.1:8/ (bucket resi)"
    );
    // No keys anywhere, or half a pair: a readable refusal.
    for (env, complaint) in [
        (&[][..], "AWS_ACCESS_KEY_ID"),
        (&[("AWS_ACCESS_KEY_ID", "AKID")][..], "AWS_SECRET_ACCESS_KEY"),
    ] {
        let out = start(env).wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: ") && stderr.contains(complaint), "{stderr}");
    }
}

#[test]
fn sim_serve_exports_and_looks_up() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["sim", "serve", "--zipcodes", "4", "--port", "0", "--seed", "3"])
        .env("RESI_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("market: http://")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        std::io::Write::write_all(
            &mut stream,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let csv = get("/api/v1/zipcodes.csv");
    assert!(
        csv.starts_with("HTTP/1.1 200") && csv.contains("zipcode,state,city,county,expected_listings"),
        "{csv}"
    );
    let missing = get("/api/v1/properties/1");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_owned()
}

#[test]
fn daemons_refuse_bad_configuration_with_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    for role in ["miner", "validator"] {
        let out = resi(&[role, "--config", missing.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{role}");
        assert!(
            stderr(&out).starts_with("error: ") && stderr(&out).contains("nope.toml"),
            "{}",
            stderr(&out)
        );
    }
    // Unknown keys are refused, naming the key.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(examples().join("miner.toml")).unwrap();
    std::fs::write(&bad, format!("colour = \"blue\"\n{text}")).unwrap();
    let out = resi(&["miner", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("colour"), "{}", stderr(&out));
    // The examples parse; they fail only because their wallets do not exist here.
    let copy = dir.path().join("conf");
    std::fs::create_dir_all(&copy).unwrap();
    for role in ["miner", "validator"] {
        let file = copy.join(format!("{role}.toml"));
        std::fs::copy(examples().join(format!("{role}.toml")), &file).unwrap();
        let out = resi(&[role, "--config", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{role}");
        assert!(
            stderr(&out).contains("hotkey") && stderr(&out).contains("wallets"),
            "{role}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn devnet_refuses_an_empty_network() {
    let out = resi(&["devnet", "--epochs", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at least one epoch"), "{}", stderr(&out));
    let out = resi(&["devnet", "--miners", "honest-fast,sneaky"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown profile"), "{}", stderr(&out));
}

#[test]
fn chain_show_prints_the_weight_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metagraph.json");
    let f = file.to_str().unwrap();
    let out = resi(&["chain", "show", "--metagraph", f]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("weights: none set yet"), "{}", stdout(&out));
    let line = r#"{"block":149631693,"at":1795580316,"validator":"5C7mGLnCd53F8XctZyLa1wXKrxrj9YfrBarg4TXrJZTut7kN","validatorUid":1,"epochId":"2026-11-25T04-18-20","uids":[3,4],"weights":[65535,2979]}"#;
    std::fs::write(dir.path().join("weights.jsonl"), format!("{line}\n")).unwrap();
    let out = stdout(&resi(&["chain", "show", "--metagraph", f]));
    assert!(
        out.contains("weights (1 set") && out.contains("3=65535 4=2979") && out.contains("149631693"),
        "{out}"
    );
}

/// SIGTERM stops a validator whatever it is doing: following epochs, or in
/// the middle of a one-off `--once` validation whose coordinator never answers.
#[test]
fn validator_honours_sigterm_even_mid_validation() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let out = resi(&[
        "keys",
        "new",
        "--wallet-path",
        wallets.to_str().unwrap(),
        "--wallet",
        "validator",
        "--hotkey",
        "default",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A coordinator that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = dir.path().join("validator.toml");
    std::fs::write(
        &config,
        format!(
            "coordinator = \"http://{}\"\nhotkey_file = \"wallets/validator/hotkeys/default\"\n\
             data_dir = \"data\"\nmetrics_listen = \"off\"\nproperty_source = \"http://127.0.0.1:9\"\n[chain]\nmetagraph = \"metagraph.json\"\n",
            silent.local_addr().unwrap()
        ),
    )
    .unwrap();
    let term = |child: &std::process::Child| {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
    };
    let wait = |child: &mut std::process::Child| {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            assert!(std::time::Instant::now() < until, "still running 10 s after SIGTERM");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let cfg = config.to_str().unwrap();
    let mut once = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["validator", "--config", cfg, "--once", "2026-11-25T04-00-00"])
        .env("RESI_LOG", "error")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert!(
        once.try_wait().unwrap().is_none(),
        "the silent coordinator should keep it waiting"
    );
    term(&once);
    assert_eq!(wait(&mut once), Some(130));
    let mut following = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["validator", "--config", cfg])
        .env("RESI_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let first = BufReader::new(following.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert!(first.starts_with("validator "), "{first}");
    term(&following);
    assert_eq!(wait(&mut following), Some(0));
}
