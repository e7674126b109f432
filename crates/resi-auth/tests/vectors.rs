//! The Bittensor test vectors (fixtures/test-vectors, made with bittensor-wallet 4.1.1).

use std::path::PathBuf;

use resi_auth::wallet::{read_keypair, read_public, write_keypair, write_public, WalletError, WalletPaths};
use resi_auth::{verify, Keypair, Signature, VerifyError};
use resi_core::Hotkey;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/test-vectors")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing"))
}

#[test]
fn every_positive_case_verifies() {
    let doc = load("sr25519.json");
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 22);
    for case in cases {
        let signer = Hotkey::parse(s(case, "ss58_address")).unwrap();
        assert_eq!(hex::encode(signer.public_key()), s(case, "public_key_hex"));
        let message = hex::decode(s(case, "message_hex")).unwrap();
        let sig = Signature::parse_hex(s(case, "signature_hex")).unwrap();
        assert_eq!(verify(&signer, &message, &sig), Ok(()), "case {}", s(case, "id"));
        // Never pre-hashed: the blake2b-256 of a long message is not what was signed.
        assert!(!case["verifies_over_blake2b_256_of_message"].as_bool().unwrap_or(false));
    }
}

#[test]
fn every_negative_case_is_rejected() {
    let doc = load("sr25519.json");
    for case in doc["negative_cases"].as_array().unwrap() {
        let signer = Hotkey::parse(s(case, "ss58_address")).unwrap();
        let message = hex::decode(s(case, "message_hex")).unwrap();
        let outcome = Signature::parse_hex(s(case, "signature_hex")).map(|sig| verify(&signer, &message, &sig));
        let rejected = match outcome {
            Err(_) => true,     // wrong length: rejected before verification
            Ok(Err(_)) => true, // bad signature
            Ok(Ok(())) => false,
        };
        assert!(rejected, "negative case {} verified", s(case, "id"));
    }
}

#[test]
fn signature_encodings_follow_the_protocol() {
    // The protocol takes hex with or without a lowercase 0x (PROTOCOL.md §1), so bare
    // hex is accepted where bittensor's str argument raises; "0X" is refused.
    let doc = load("sr25519.json");
    for case in doc["signature_encoding_cases"].as_array().unwrap() {
        let signer = Hotkey::parse(s(case, "ss58_address")).unwrap();
        let message = s(case, "message").as_bytes();
        let form = s(case, "signature_argument_form");
        let parsed = match form {
            "bytes_raw" => Signature::from_slice(&hex::decode(s(case, "signature_argument_hex_of_bytes")).unwrap()),
            "bytes_of_0x_hex_text" => {
                Signature::from_slice(&hex::decode(s(case, "signature_argument_hex_of_bytes")).unwrap())
            }
            _ => Signature::parse_hex(s(case, "signature_argument")),
        };
        let accepted = parsed
            .map(|sig| verify(&signer, message, &sig).is_ok())
            .unwrap_or(false);
        let expected = matches!(
            form,
            "bytes_raw" | "str_0x_lowercase_hex" | "str_0x_uppercase_hex" | "str_bare_hex"
        );
        assert_eq!(accepted, expected, "encoding case {form}");
    }
}

#[test]
fn keys_derive_from_mnemonic_and_seed() {
    let doc = load("sr25519.json");
    for key in doc["keys"].as_array().unwrap() {
        let from_phrase = Keypair::from_mnemonic(s(key, "mnemonic")).unwrap();
        assert_eq!(from_phrase.hotkey().as_str(), s(key, "ss58_address"));
        assert_eq!(hex::encode(from_phrase.seed().unwrap()), s(key, "seed_hex"));
        assert_eq!(
            hex::encode(from_phrase.private_key().as_ref()),
            s(key, "private_key_hex")
        );
        let from_seed = Keypair::from_seed(&hex::decode(s(key, "seed_hex")).unwrap()).unwrap();
        assert_eq!(from_seed.hotkey(), from_phrase.hotkey());
        let from_private = Keypair::from_private_key(&hex::decode(s(key, "private_key_hex")).unwrap()).unwrap();
        assert_eq!(from_private.hotkey(), from_phrase.hotkey());
    }
}

#[test]
fn own_signatures_verify_raw_and_wrapped_and_never_unwrapped() {
    let key = Keypair::generate().unwrap();
    let message = b"s3:validator:upload:1700000000";
    let sig = key.sign(message);
    assert_eq!(verify(&key.hotkey(), message, &sig), Ok(()));
    let long = vec![b'x'; 1000];
    assert_eq!(verify(&key.hotkey(), &long, &key.sign(&long)), Ok(()));
    let wrapped = key.sign(b"<Bytes>s3:validator:upload:1700000000</Bytes>");
    assert_eq!(verify(&key.hotkey(), message, &wrapped), Ok(()));
    let wrapped_text = b"<Bytes>s3:validator:upload:1700000000</Bytes>";
    assert_eq!(verify(&key.hotkey(), wrapped_text, &sig), Err(VerifyError::Mismatch));
    let other = Keypair::generate().unwrap();
    assert_eq!(verify(&other.hotkey(), message, &sig), Err(VerifyError::Mismatch));
    assert!(Signature::parse_hex(&sig.to_hex()).is_ok());
}

#[test]
fn reads_the_bittensor_wallet() {
    let expected = load("wallet/expected.json");
    let paths = WalletPaths::new(fixtures().join("wallet/wallets"), "testwallet", "testhotkey").unwrap();
    let hot = read_keypair(&paths.hotkey_file()).unwrap();
    assert_eq!(hot.hotkey().as_str(), s(&expected["hotkey"], "ss58_address"));
    assert_eq!(hex::encode(hot.seed().unwrap()), s(&expected["hotkey"], "seed_hex"));
    assert_eq!(read_public(&paths.hotkeypub_file()).unwrap(), hot.hotkey());
    assert_eq!(read_public(&paths.hotkey_file()).unwrap(), hot.hotkey());
    let cold = read_public(&paths.coldkeypub_file()).unwrap();
    assert_eq!(cold.as_str(), s(&expected["coldkey"], "ss58_address"));
    // The encrypted coldkey is recognized and refused, not misread.
    let err = read_keypair(&paths.wallet_dir().join("coldkey")).unwrap_err();
    assert!(matches!(err, WalletError::Encrypted { kind: "NaCl", .. }), "{err}");
    // The sample signature verifies with the key read from the file.
    let sample = &expected["sample_signature"];
    let sig = Signature::parse_hex(s(sample, "signature_hex")).unwrap();
    assert_eq!(verify(&hot.hotkey(), s(sample, "message").as_bytes(), &sig), Ok(()));
}

#[test]
fn written_files_match_the_bittensor_format() {
    let dir = tempfile::tempdir().unwrap();
    let paths = WalletPaths::new(dir.path(), "w", "h").unwrap();
    let key =
        Keypair::from_mnemonic("ethics divorce decide dismiss middle special tenant seek profit staff pretty diary")
            .unwrap();
    write_keypair(&paths.hotkey_file(), &key, false).unwrap();
    write_public(&paths.hotkeypub_file(), &key.hotkey(), false).unwrap();
    let expected = load("wallet/expected.json");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(paths.hotkey_file()).unwrap()).unwrap();
    assert_eq!(written, expected["hotkey"]["file_json"]);
    let written_pub: Value = serde_json::from_str(&std::fs::read_to_string(paths.hotkeypub_file()).unwrap()).unwrap();
    assert_eq!(written_pub, expected["hotkey"]["hotkeypub_file_json"]);
    assert!(matches!(
        write_keypair(&paths.hotkey_file(), &key, false),
        Err(WalletError::Exists { .. })
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(paths.hotkey_file()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn bad_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    std::fs::write(&path, "not json").unwrap();
    assert!(matches!(read_keypair(&path), Err(WalletError::Format { .. })));
    std::fs::write(
        &path,
        r#"{"ss58Address":"5Do4WxQWgskGmQf443Kn8QWvUMj35oCPCWmKKpY2Yyzw4VaJ"}"#,
    )
    .unwrap();
    assert!(matches!(read_keypair(&path), Err(WalletError::PublicOnly { .. })));
    std::fs::write(
        &path,
        r#"{"secretSeed":"0xae569e5b8c4a2fd983d42888ddf3ed6c36e0d8dde0b731d94f8154eca27a37fe","ss58Address":"5Do4WxQWgskGmQf443Kn8QWvUMj35oCPCWmKKpY2Yyzw4VaJ"}"#,
    )
    .unwrap();
    assert!(matches!(read_keypair(&path), Err(WalletError::Inconsistent { .. })));
    assert!(matches!(
        read_keypair(&dir.path().join("missing")),
        Err(WalletError::Io { .. })
    ));
    assert!(WalletPaths::new(dir.path(), "../etc", "h").is_err());
}
