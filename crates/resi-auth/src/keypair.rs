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
}

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
