//! Signing and verifying validators' `validation_results.json`.

use resi_core::results::{SignedResults, ValidationResults};
use resi_core::Hotkey;

use crate::keypair::Keypair;
use crate::signature::{verify as verify_signature, Signature};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultsSignatureError {
    #[error("results name no validator")]
    NoValidator,
    #[error("results are by {found}, but stored under {expected}")]
    WrongValidator { found: String, expected: String },
    #[error("results signature: {0}")]
    Invalid(String),
    #[error("results claim consensus hash {claimed}, but their scores hash to {actual}")]
    HashMismatch { claimed: String, actual: String },
}

/// Names `key` as the validator and signs the results.
pub fn sign(key: &Keypair, mut results: ValidationResults) -> SignedResults {
    results.validator = Some(key.hotkey());
    let signature = key.sign(&results.signing_bytes()).to_hex();
    SignedResults { results, signature }
}

/// Checks that the file is by `expected` (the hotkey of the folder it was
/// read from), that its signature verifies, and that its consensus hash is
/// the hash of its own scores.
pub fn verify<'a>(
    signed: &'a SignedResults,
    expected: &Hotkey,
) -> Result<&'a ValidationResults, ResultsSignatureError> {
    let results = &signed.results;
    let by = results.validator.as_ref().ok_or(ResultsSignatureError::NoValidator)?;
    if by != expected {
        return Err(ResultsSignatureError::WrongValidator {
            found: by.to_string(),
            expected: expected.to_string(),
        });
    }
    let signature =
        Signature::parse_hex(&signed.signature).map_err(|e| ResultsSignatureError::Invalid(e.to_string()))?;
    verify_signature(by, &results.signing_bytes(), &signature)
        .map_err(|e| ResultsSignatureError::Invalid(e.to_string()))?;
    let actual = results.recompute_consensus_hash();
    if actual != results.consensus_hash {
        return Err(ResultsSignatureError::HashMismatch {
            claimed: results.consensus_hash.clone(),
            actual,
        });
    }
    Ok(results)
}
