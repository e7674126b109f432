//! Signed results: what a validator accepts from its peers.

use resi_auth::results::{sign, verify, ResultsSignatureError};
use resi_auth::Keypair;
use resi_core::{
    EpochContext, EpochId, EpochLength, EpochValidation, Listing, ListingVerifier, ValidationConfig, Verdict, Zipcode,
};

struct Nobody;

impl ListingVerifier for Nobody {
    async fn verify(&self, _: &Listing) -> Verdict {
        Verdict::Verified
    }

    async fn verify_claim(&self, _: &resi_core::verify::Claim) -> Verdict {
        Verdict::Verified
    }
}

async fn results() -> resi_core::ValidationResults {
    let window = EpochLength::PRODUCTION
        .window(EpochId::parse("2026-11-25T04-00-00").unwrap())
        .unwrap();
    let zipcodes = [(Zipcode::parse("77429").unwrap(), 300)].into_iter().collect();
    let ctx = EpochContext::new(
        window,
        "00112233aabbccdd",
        "5eed",
        zipcodes,
        ValidationConfig::default(),
    )
    .unwrap();
    EpochValidation::new(&ctx).finish(&Nobody).await
}

#[tokio::test]
async fn signed_results_verify_and_every_tampering_is_refused() {
    let key = Keypair::generate().unwrap();
    let signed = sign(&key, results().await);
    assert_eq!(signed.results.validator, Some(key.hotkey()));
    // Through the file format and back.
    let parsed = resi_core::results::SignedResults::parse(signed.to_json().as_bytes(), 1 << 20).unwrap();
    assert!(verify(&parsed, &key.hotkey()).is_ok());

    // Stored under someone else's folder.
    let other = Keypair::generate().unwrap().hotkey();
    assert!(matches!(
        verify(&parsed, &other),
        Err(ResultsSignatureError::WrongValidator { .. })
    ));

    // A changed total with the hash left alone: the signature no longer matches.
    let mut forged = parsed.clone();
    forged.results.totals.submissions += 1;
    assert!(matches!(
        verify(&forged, &key.hotkey()),
        Err(ResultsSignatureError::Invalid(_))
    ));

    // Re-signed by the validator but with a hash that is not its scores' hash.
    let mut lying = parsed.results.clone();
    lying.consensus_hash = "00".repeat(32);
    let relabelled = sign(&key, lying);
    assert!(matches!(
        verify(&relabelled, &key.hotkey()),
        Err(ResultsSignatureError::HashMismatch { .. })
    ));

    // Not JSON, or too large.
    assert!(resi_core::results::SignedResults::parse(b"{", 1 << 20).is_err());
    assert!(resi_core::results::SignedResults::parse(signed.to_json().as_bytes(), 10).is_err());
}
