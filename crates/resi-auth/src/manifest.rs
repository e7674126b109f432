//! Signing and verifying miners' manifests.

use resi_core::manifest::{Manifest, SignedManifest};

use crate::keypair::Keypair;
use crate::signature::{verify as verify_signature, Signature, SignatureError, VerifyError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestSignatureError {
    #[error("manifest signature: {0}")]
    Encoding(SignatureError),
    #[error("manifest signature by {hotkey}: {cause}")]
    Invalid { hotkey: String, cause: VerifyError },
    #[error("manifest is for hotkey {found}, but it is stored under {expected}")]
    WrongHotkey { found: String, expected: String },
}

/// Signs a manifest with the miner's hotkey (which must be the manifest's `hotkey`).
pub fn sign(key: &Keypair, manifest: Manifest) -> SignedManifest {
    let signature = key.sign(manifest.canonical_json().as_bytes()).to_hex();
    SignedManifest { manifest, signature }
}

/// Verifies the signature by the manifest's own hotkey over its canonical JSON.
pub fn verify(signed: &SignedManifest) -> Result<&Manifest, ManifestSignatureError> {
    let signature = Signature::parse_hex(&signed.signature)?;
    let manifest = &signed.manifest;
    verify_signature(&manifest.hotkey, manifest.canonical_json().as_bytes(), &signature).map_err(|source| {
        ManifestSignatureError::Invalid {
            hotkey: manifest.hotkey.to_string(),
            cause: source,
        }
    })?;
    Ok(manifest)
}

// The cause is in the message, so it is not also a `source`: printed once.
impl From<SignatureError> for ManifestSignatureError {
    fn from(e: SignatureError) -> Self {
        ManifestSignatureError::Encoding(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_core::manifest::{ManifestFile, ScraperInfo};
    use resi_core::{EpochId, ManifestEntry, Zipcode};

    fn manifest(key: &Keypair) -> Manifest {
        Manifest {
            epoch_id: EpochId::parse("2025-10-01T16-00-00").unwrap(),
            nonce: "00112233aabbccdd".into(),
            hotkey: key.hotkey(),
            scraper: ScraperInfo {
                name: "sim".into(),
                version: "0.1.0".into(),
                source: "resi-sim".into(),
            },
            files: vec![ManifestFile {
                zipcode: Zipcode::parse("77429").unwrap(),
                key: "data/…/listings.parquet".into(),
                sha256: "ab".repeat(32),
                listing_count: 400,
            }],
        }
    }

    #[test]
    fn round_trip_and_tamper() {
        let key = Keypair::generate().unwrap();
        let signed = sign(&key, manifest(&key));
        let bytes = serde_json::to_vec(&signed).unwrap();
        let parsed = SignedManifest::parse(&bytes, 1 << 20).unwrap();
        assert_eq!(verify(&parsed).unwrap(), &manifest(&key));
        assert_eq!(
            parsed.manifest.entry_for(Zipcode::parse("77429").unwrap()),
            ManifestEntry::Sha256([0xab; 32])
        );
        assert_eq!(
            parsed.manifest.entry_for(Zipcode::parse("10001").unwrap()),
            ManifestEntry::Missing
        );
        let mut tampered = parsed.clone();
        tampered.manifest.files[0].listing_count = 401;
        assert!(matches!(verify(&tampered), Err(ManifestSignatureError::Invalid { .. })));
        let other = Keypair::generate().unwrap();
        let mut stolen = parsed;
        stolen.manifest.hotkey = other.hotkey();
        assert!(verify(&stolen).is_err());
    }

    #[test]
    fn malformed_manifests_are_refused() {
        assert!(SignedManifest::parse(b"{}", 100).is_err());
        assert!(SignedManifest::parse(&[b' '; 200], 100).is_err());
        let key = Keypair::generate().unwrap();
        let mut m = manifest(&key);
        m.files.push(m.files[0].clone());
        let bytes = serde_json::to_vec(&sign(&key, m)).unwrap();
        assert!(matches!(
            SignedManifest::parse(&bytes, 1 << 20),
            Err(resi_core::manifest::ManifestError::DuplicateZipcode(_))
        ));
    }
}
