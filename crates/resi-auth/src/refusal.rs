//! Signing and verifying validators' `refusal.json`.

use resi_core::results::{Refusal, SignedRefusal};
use resi_core::Hotkey;

use crate::keypair::Keypair;
use crate::signature::{verify as verify_signature, Signature};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusalSignatureError {
    #[error("refusal is by {found}, but stored under {expected}")]
    WrongValidator { found: String, expected: String },
    #[error("refusal signature: {0}")]
    Invalid(String),
}

/// Names `key` as the validator and signs the refusal.
pub fn sign(key: &Keypair, mut refusal: Refusal) -> SignedRefusal {
    refusal.validator = key.hotkey();
    let signature = key.sign(&refusal.signing_bytes()).to_hex();
    SignedRefusal { refusal, signature }
}

/// Checks that the refusal is by `expected` (the hotkey of the folder it
/// was read from) and that its signature verifies.
pub fn verify<'a>(signed: &'a SignedRefusal, expected: &Hotkey) -> Result<&'a Refusal, RefusalSignatureError> {
    let refusal = &signed.refusal;
    if &refusal.validator != expected {
        return Err(RefusalSignatureError::WrongValidator {
            found: refusal.validator.to_string(),
            expected: expected.to_string(),
        });
    }
    let signature =
        Signature::parse_hex(&signed.signature).map_err(|e| RefusalSignatureError::Invalid(e.to_string()))?;
    verify_signature(&refusal.validator, &refusal.signing_bytes(), &signature)
        .map_err(|e| RefusalSignatureError::Invalid(e.to_string()))?;
    Ok(refusal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_core::EpochId;

    #[test]
    fn a_refusal_verifies_under_its_validator_only() {
        let key = Keypair::from_seed(&[7; 32]).unwrap();
        let other = Keypair::from_seed(&[8; 32]).unwrap().hotkey();
        let signed = sign(
            &key,
            Refusal {
                epoch_id: EpochId::parse("2026-12-08T00-00-00").unwrap(),
                validator: other.clone(),
                results_version: 7,
                known_versions: [6, 6],
                release: "0.1.0".into(),
                reason: "results version 7 is not one this release validates by".into(),
            },
        );
        assert_eq!(signed.refusal.validator, key.hotkey());
        assert!(verify(&signed, &key.hotkey()).is_ok());
        assert!(matches!(
            verify(&signed, &other),
            Err(RefusalSignatureError::WrongValidator { .. })
        ));
        let mut forged = signed.clone();
        forged.refusal.results_version = 6;
        assert!(matches!(
            verify(&forged, &key.hotkey()),
            Err(RefusalSignatureError::Invalid(_))
        ));
    }
}
