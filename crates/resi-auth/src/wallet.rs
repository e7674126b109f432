//! Bittensor wallet files: `{path}/{wallet}/hotkeys/{hotkey}` (full key pair,
//! JSON), `{path}/{wallet}/hotkeys/{hotkey}pub.txt` and
//! `{path}/{wallet}/coldkeypub.txt` (public part only), in the format
//! bittensor-wallet 4.x writes. Encrypted key files (`$NACL`, Ansible Vault,
//! Fernet) are recognized and refused with a clear error; resi never needs a
//! coldkey's secret.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use resi_core::Hotkey;
use serde::{Deserialize, Serialize};

use crate::keypair::{KeyError, Keypair};

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{path}: not a key file: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("{path}: the file is encrypted ({kind}); resi reads only unencrypted hotkeys and public key files")]
    Encrypted { path: PathBuf, kind: &'static str },
    #[error("{path}: {cause}")]
    Key { path: PathBuf, cause: KeyError },
    #[error("{path}: holds only a public key; signing needs secretPhrase, secretSeed or privateKey")]
    PublicOnly { path: PathBuf },
    #[error("{path}: fields disagree: {reason}")]
    Inconsistent { path: PathBuf, reason: String },
    #[error("{path} already exists; refusing to overwrite a key")]
    Exists { path: PathBuf },
    #[error("invalid {what} name {name:?}: use letters, digits, '-', '_' or '.', not starting with '.'")]
    BadName { what: &'static str, name: String },
}

/// The on-disk JSON of a key file. Field order on disk is irrelevant.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFileJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_phrase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ss58_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crypto_type: Option<u8>,
}

/// Where a wallet's files are.
#[derive(Debug, Clone)]
pub struct WalletPaths {
    pub root: PathBuf,
    pub wallet: String,
    pub hotkey: String,
}

fn check_name(what: &'static str, name: &str) -> Result<(), WalletError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(WalletError::BadName {
            what,
            name: name.to_owned(),
        })
    }
}

impl WalletPaths {
    pub fn new(root: impl Into<PathBuf>, wallet: &str, hotkey: &str) -> Result<Self, WalletError> {
        check_name("wallet", wallet)?;
        check_name("hotkey", hotkey)?;
        Ok(Self {
            root: root.into(),
            wallet: wallet.to_owned(),
            hotkey: hotkey.to_owned(),
        })
    }

    pub fn wallet_dir(&self) -> PathBuf {
        self.root.join(&self.wallet)
    }
    pub fn hotkey_file(&self) -> PathBuf {
        self.wallet_dir().join("hotkeys").join(&self.hotkey)
    }
    pub fn hotkeypub_file(&self) -> PathBuf {
        self.wallet_dir()
            .join("hotkeys")
            .join(format!("{}pub.txt", self.hotkey))
    }
    pub fn coldkeypub_file(&self) -> PathBuf {
        self.wallet_dir().join("coldkeypub.txt")
    }
}

fn read_json(path: &Path) -> Result<KeyFileJson, WalletError> {
    let bytes = fs::read(path).map_err(|source| WalletError::Io {
        path: path.to_owned(),
        cause: source,
    })?;
    let encrypted = |kind| WalletError::Encrypted {
        path: path.to_owned(),
        kind,
    };
    if bytes.starts_with(b"$NACL") {
        return Err(encrypted("NaCl"));
    }
    if bytes.starts_with(b"$ANSIBLE_VAULT") {
        return Err(encrypted("Ansible Vault"));
    }
    if bytes.starts_with(b"gAAAAA") {
        return Err(encrypted("Fernet"));
    }
    serde_json::from_slice(&bytes).map_err(|e| WalletError::Format {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn hex_field(path: &Path, name: &str, value: &str) -> Result<Vec<u8>, WalletError> {
    let digits = value.strip_prefix("0x").unwrap_or(value);
    hex::decode(digits).map_err(|e| WalletError::Format {
        path: path.to_owned(),
        reason: format!("{name} is not hex: {e}"),
    })
}

fn public_from_json(path: &Path, json: &KeyFileJson) -> Result<Option<Hotkey>, WalletError> {
    let from_hex = match json.public_key.as_deref().or(json.account_id.as_deref()) {
        Some(text) => {
            let bytes = hex_field(path, "publicKey", text)?;
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| WalletError::Format {
                path: path.to_owned(),
                reason: format!("publicKey is {} bytes, expected 32", bytes.len()),
            })?;
            Some(Hotkey::from_public_key(key))
        }
        None => None,
    };
    let from_ss58 = match json.ss58_address.as_deref() {
        Some(text) => Some(Hotkey::parse(text).map_err(|e| WalletError::Format {
            path: path.to_owned(),
            reason: format!("ss58Address: {e}"),
        })?),
        None => None,
    };
    match (from_hex, from_ss58) {
        (Some(a), Some(b)) if a != b => Err(WalletError::Inconsistent {
            path: path.to_owned(),
            reason: format!("publicKey is {a} but ss58Address is {b}"),
        }),
        (a, b) => Ok(a.or(b)),
    }
}

/// Reads the public key of any key file (full or `*pub.txt`).
pub fn read_public(path: &Path) -> Result<Hotkey, WalletError> {
    let json = read_json(path)?;
    if json.crypto_type.is_some_and(|t| t != 1) {
        return Err(WalletError::Format {
            path: path.to_owned(),
            reason: "cryptoType is not 1 (sr25519)".into(),
        });
    }
    public_from_json(path, &json)?.ok_or_else(|| WalletError::Format {
        path: path.to_owned(),
        reason: "no publicKey, accountId or ss58Address".into(),
    })
}

/// Reads a full key file the way bittensor-wallet does: the first of
/// `secretPhrase`, `secretSeed`, `privateKey` that is present, checked against
/// the file's public key if it has one.
pub fn read_keypair(path: &Path) -> Result<Keypair, WalletError> {
    let json = read_json(path)?;
    if json.crypto_type.is_some_and(|t| t != 1) {
        return Err(WalletError::Format {
            path: path.to_owned(),
            reason: "cryptoType is not 1 (sr25519)".into(),
        });
    }
    let key_err = |source| WalletError::Key {
        path: path.to_owned(),
        cause: source,
    };
    let keypair = if let Some(phrase) = json.secret_phrase.as_deref() {
        Keypair::from_mnemonic(phrase).map_err(key_err)?
    } else if let Some(seed) = json.secret_seed.as_deref() {
        Keypair::from_seed(&hex_field(path, "secretSeed", seed)?).map_err(key_err)?
    } else if let Some(private) = json.private_key.as_deref() {
        Keypair::from_private_key(&hex_field(path, "privateKey", private)?).map_err(key_err)?
    } else {
        return Err(WalletError::PublicOnly { path: path.to_owned() });
    };
    if let Some(public) = public_from_json(path, &json)? {
        if public != keypair.hotkey() {
            return Err(WalletError::Inconsistent {
                path: path.to_owned(),
                reason: format!("the secret gives {} but the file says {public}", keypair.hotkey()),
            });
        }
    }
    Ok(keypair)
}

fn public_json(hotkey: &Hotkey) -> KeyFileJson {
    let hex_key = format!("0x{}", hex::encode(hotkey.public_key()));
    KeyFileJson {
        account_id: Some(hex_key.clone()),
        public_key: Some(hex_key),
        ss58_address: Some(hotkey.to_string()),
        crypto_type: Some(1),
        ..Default::default()
    }
}

fn write_file(path: &Path, json: &KeyFileJson, overwrite: bool) -> Result<(), WalletError> {
    let io = |source| WalletError::Io {
        path: path.to_owned(),
        cause: source,
    };
    if !overwrite && path.exists() {
        return Err(WalletError::Exists { path: path.to_owned() });
    }
    if let Some(dir) = path.parent() {
        // Wallet directories are the owner's alone (btcli makes them 0700 too).
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(io)?;
    }
    let text = serde_json::to_string(json).map_err(|e| WalletError::Format {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    // Write beside, then rename: a crash never leaves half a key file.
    let tmp = path.with_extension("resi-tmp");
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)
}

/// Writes a public key file (`coldkeypub.txt`, `{hotkey}pub.txt`).
pub fn write_public(path: &Path, hotkey: &Hotkey, overwrite: bool) -> Result<(), WalletError> {
    write_file(path, &public_json(hotkey), overwrite)
}

/// Writes an unencrypted full key file, as `create_new_hotkey(use_password=False)` does.
pub fn write_keypair(path: &Path, keypair: &Keypair, overwrite: bool) -> Result<(), WalletError> {
    let mut json = public_json(&keypair.hotkey());
    json.private_key = Some(format!("0x{}", hex::encode(keypair.private_key().as_ref())));
    json.secret_phrase = keypair.mnemonic().map(str::to_owned);
    json.secret_seed = keypair.seed().map(|s| format!("0x{}", hex::encode(s)));
    write_file(path, &json, overwrite)
}
