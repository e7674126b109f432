//! sr25519 key pairs, derived the way Bittensor wallets derive them.

use bip39::{Language, Mnemonic};
use resi_core::Hotkey;
use schnorrkel::{ExpansionMode, MiniSecretKey};
use zeroize::Zeroizing;

use crate::signature::{Signature, SIGNING_CONTEXT};

/// Why key material was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("invalid BIP39 mnemonic: {0}")]
    Mnemonic(String),
    #[error("invalid secret seed: {0}")]
    Seed(String),
    #[error("invalid private key: {0}")]
    PrivateKey(String),
    #[error("the system random generator failed: {0}")]
    Random(String),
    #[error("invalid key URI {0:?}: only hard junctions (`//name`) are supported")]
    Uri(String),
}

/// The mnemonic of Substrate's development accounts (`//Alice`, `//Bob`, …).
pub const DEV_PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// A signing key with the mnemonic and seed it came from, when known.
pub struct Keypair {
    inner: schnorrkel::Keypair,
    mnemonic: Option<Zeroizing<String>>,
    seed: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.hotkey())
    }
}

impl Keypair {
    /// A new key from 128 bits of system randomness (a 12-word mnemonic).
    pub fn generate() -> Result<Self, KeyError> {
        let mut entropy = Zeroizing::new([0u8; 16]);
        getrandom::getrandom(entropy.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        let mnemonic = Mnemonic::from_entropy(entropy.as_ref()).map_err(|e| KeyError::Mnemonic(e.to_string()))?;
        Self::from_mnemonic(&mnemonic.to_string())
    }

    /// BIP39 English mnemonic → entropy → substrate-bip39 mini secret (empty password).
    pub fn from_mnemonic(phrase: &str) -> Result<Self, KeyError> {
        let mnemonic = Mnemonic::parse_in_normalized(Language::English, phrase.trim())
            .map_err(|e| KeyError::Mnemonic(e.to_string()))?;
        let entropy = Zeroizing::new(mnemonic.to_entropy());
        let mini = substrate_bip39::mini_secret_from_entropy(&entropy, "")
            .map_err(|e| KeyError::Mnemonic(format!("{e:?}")))?;
        let mut key = Self::from_mini_secret(&mini);
        key.mnemonic = Some(Zeroizing::new(mnemonic.to_string()));
        Ok(key)
    }

    /// A Substrate secret URI: `PHRASE//hard//junctions`, or `//Alice…` on
    /// the development phrase (what `subkey` and btcli's `--uri` accept; soft
    /// junctions and passwords are refused). Local chains' sudo and
    /// pre-funded accounts are `//Alice`, `//Bob`, ….
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let (phrase, path) = match uri.find("//") {
            Some(at) => (uri[..at].trim(), &uri[at..]),
            None => (uri.trim(), ""),
        };
        let phrase = if phrase.is_empty() { DEV_PHRASE } else { phrase };
        let base = Self::from_mnemonic(phrase)?;
        if path.is_empty() {
            return Ok(base);
        }
        let junctions: Vec<&str> = path.split("//").skip(1).collect();
        if junctions
            .iter()
            .any(|j| j.is_empty() || j.contains('/') || j.contains("///"))
        {
            return Err(KeyError::Uri(uri.to_owned()));
        }
        let mut mini = MiniSecretKey::from_bytes(&base.seed.as_deref().copied().unwrap_or_default())
            .map_err(|e| KeyError::Seed(e.to_string()))?;
        for junction in junctions {
            let secret = mini.expand(ExpansionMode::Ed25519);
            let (next, _) =
                secret.hard_derive_mini_secret_key(Some(schnorrkel::derive::ChainCode(chain_code(junction))), b"");
            mini = next;
        }
        Ok(Self::from_mini_secret(&mini))
    }

    /// From the 32-byte mini secret (`secretSeed`).
    pub fn from_seed(seed: &[u8]) -> Result<Self, KeyError> {
        let mini = MiniSecretKey::from_bytes(seed).map_err(|e| KeyError::Seed(e.to_string()))?;
        Ok(Self::from_mini_secret(&mini))
    }

    fn from_mini_secret(mini: &MiniSecretKey) -> Self {
        Self {
            inner: mini.expand_to_keypair(ExpansionMode::Ed25519),
            mnemonic: None,
            seed: Some(Zeroizing::new(mini.to_bytes())),
        }
    }

    /// From the 64-byte schnorrkel secret key (`privateKey`: scalar ‖ nonce).
    pub fn from_private_key(bytes: &[u8]) -> Result<Self, KeyError> {
        let secret = schnorrkel::SecretKey::from_bytes(bytes).map_err(|e| KeyError::PrivateKey(e.to_string()))?;
        Ok(Self {
            inner: secret.to_keypair(),
            mnemonic: None,
            seed: None,
        })
    }

    pub fn hotkey(&self) -> Hotkey {
        Hotkey::from_public_key(self.inner.public.to_bytes())
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.inner.public.to_bytes()
    }

    pub fn private_key(&self) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.inner.secret.to_bytes())
    }

    pub fn mnemonic(&self) -> Option<&str> {
        self.mnemonic.as_deref().map(String::as_str)
    }

    pub fn seed(&self) -> Option<&[u8; 32]> {
        self.seed.as_deref()
    }

    /// Signs the raw bytes (randomized: two signatures of one message differ).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.inner.sign_simple(SIGNING_CONTEXT, message).to_bytes())
    }
}

/// A junction's chain code as Substrate makes it: a number is its u64
/// little-endian bytes, anything else its SCALE encoding (compact length,
/// bytes); padded with zeros to 32 bytes, or hashed with BLAKE2b-256 when
/// longer.
fn chain_code(junction: &str) -> [u8; 32] {
    use blake2::Digest;
    let encoded: Vec<u8> = match junction.parse::<u64>() {
        Ok(n) => n.to_le_bytes().to_vec(),
        Err(_) => {
            let bytes = junction.as_bytes();
            let mut out = compact_len(bytes.len());
            out.extend_from_slice(bytes);
            out
        }
    };
    let mut code = [0u8; 32];
    if encoded.len() > 32 {
        code.copy_from_slice(&blake2::Blake2b::<blake2::digest::consts::U32>::digest(&encoded));
    } else {
        code[..encoded.len()].copy_from_slice(&encoded);
    }
    code
}

fn compact_len(n: usize) -> Vec<u8> {
    match n {
        0..=0x3f => vec![(n as u8) << 2],
        0x40..=0x3fff => ((n as u16) << 2 | 1).to_le_bytes().to_vec(),
        _ => ((n as u32) << 2 | 2).to_le_bytes().to_vec(),
    }
}

#[cfg(test)]
mod uri_tests {
    use super::*;

    // Well-known development accounts (subkey inspect //Alice, //Bob).
    #[test]
    fn dev_accounts_match_subkey() {
        assert_eq!(
            Keypair::from_uri("//Alice").unwrap().hotkey().as_str(),
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
        assert_eq!(
            Keypair::from_uri("//Bob").unwrap().hotkey().as_str(),
            "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
        );
        assert_eq!(
            Keypair::from_uri(&format!("{DEV_PHRASE}//Alice")).unwrap().hotkey(),
            Keypair::from_uri("//Alice").unwrap().hotkey()
        );
    }

    #[test]
    fn soft_junctions_are_refused() {
        assert!(matches!(Keypair::from_uri("//Alice/soft"), Err(KeyError::Uri(_))));
    }
}
