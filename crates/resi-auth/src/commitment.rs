//! The commitment strings a signed request signs (PROTOCOL.md §1), byte for byte.

use resi_core::{EpochId, Hotkey};

/// `zipcode:assignment:current:{timestamp}`
pub fn current_assignment(timestamp: i64) -> String {
    format!("zipcode:assignment:current:{timestamp}")
}

/// `zipcode:assignment:epoch:{epochId}:{timestamp}` (validators, past epochs)
pub fn epoch_assignment(epoch: &EpochId, timestamp: i64) -> String {
    format!("zipcode:assignment:epoch:{epoch}:{timestamp}")
}

/// `miner:status:{hotkey}:{epochId}:{timestamp}:{bodySha256}`: the report is
/// signed too, so nobody can store a report in another miner's name.
pub fn miner_status(hotkey: &Hotkey, epoch: &EpochId, timestamp: i64, body_sha256: &str) -> String {
    format!("miner:status:{hotkey}:{epoch}:{timestamp}:{body_sha256}")
}

/// `miner:status:{hotkey}:{epochId}:{timestamp}`: what the original API's
/// clients sign. Accepted for compatibility; the report itself is then not
/// covered by the signature (reports never affect rewards).
pub fn legacy_miner_status(hotkey: &Hotkey, epoch: &EpochId, timestamp: i64) -> String {
    format!("miner:status:{hotkey}:{epoch}:{timestamp}")
}

/// The fields of a status body that are not the report itself.
pub const STATUS_ENVELOPE_FIELDS: [&str; 4] = ["hotkey", "timestamp", "signature", "epochId"];

/// SHA-256 (hex) of a status report: the body's JSON object without
/// [`STATUS_ENVELOPE_FIELDS`], in RFC 8785 canonical form.
pub fn status_body_sha256(body: &serde_json::Map<String, serde_json::Value>) -> String {
    use sha2::Digest;
    let report: serde_json::Map<String, serde_json::Value> = body
        .iter()
        .filter(|(k, _)| !STATUS_ENVELOPE_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // A map of JSON values always serializes.
    let canonical = serde_jcs::to_vec(&report).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(&canonical))
}

/// `s3:data:access:{coldkey}:{hotkey}:{timestamp}` (miner upload access)
pub fn miner_upload_access(coldkey: &Hotkey, hotkey: &Hotkey, timestamp: i64) -> String {
    format!("s3:data:access:{coldkey}:{hotkey}:{timestamp}")
}

/// `s3:validator:read:{epochId}:{timestamp}`
pub fn validator_read_access(epoch: &EpochId, timestamp: i64) -> String {
    format!("s3:validator:read:{epoch}:{timestamp}")
}

/// `s3:validator:upload:{epochId}:{timestamp}`: one signature opens one epoch's folder.
pub fn validator_upload_access(epoch: &EpochId, timestamp: i64) -> String {
    format!("s3:validator:upload:{epoch}:{timestamp}")
}

/// `s3:validator:upload:{timestamp}`: what the original API's validators
/// sign. Accepted for compatibility; the signature is still single-use.
pub fn legacy_validator_upload_access(timestamp: i64) -> String {
    format!("s3:validator:upload:{timestamp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_the_test_vector_messages() {
        let hot = Hotkey::parse("5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT").unwrap();
        let cold = Hotkey::parse("5FsX1fqKPD1VNk1eEwY7RtuLLs15kEz4XeZNUsE3SdbjWKse").unwrap();
        let epoch = EpochId::parse("2025-10-01T16-00-00").unwrap();
        assert_eq!(
            current_assignment(1_700_000_000),
            "zipcode:assignment:current:1700000000"
        );
        assert_eq!(
            miner_status(&hot, &epoch, 1_700_000_000, "ab"),
            "miner:status:5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT:2025-10-01T16-00-00:1700000000:ab"
        );
        // The envelope is not part of the report; key order does not matter.
        let a = serde_json::json!({"hotkey": "x", "epochId": "e", "b": 1, "a": [1, 2]});
        let b = serde_json::json!({"a": [1, 2], "b": 1, "signature": "s"});
        let c = serde_json::json!({"a": [1, 2], "b": 2});
        let hash = |v: &serde_json::Value| status_body_sha256(v.as_object().unwrap());
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(hash(&a), hash(&c));
        assert_eq!(
            miner_upload_access(&cold, &hot, 1_700_000_000),
            "s3:data:access:5FsX1fqKPD1VNk1eEwY7RtuLLs15kEz4XeZNUsE3SdbjWKse:5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT:1700000000"
        );
        assert_eq!(
            validator_upload_access(&epoch, 1_700_000_000),
            "s3:validator:upload:2025-10-01T16-00-00:1700000000"
        );
        assert_eq!(
            epoch_assignment(&epoch, 5),
            "zipcode:assignment:epoch:2025-10-01T16-00-00:5"
        );
        assert_eq!(
            validator_read_access(&epoch, 5),
            "s3:validator:read:2025-10-01T16-00-00:5"
        );
    }
}
