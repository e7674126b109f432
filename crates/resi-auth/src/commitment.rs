//! The commitment strings a signed request signs (DESIGN §2), byte for byte.

use resi_core::{EpochId, Hotkey};

/// `zipcode:assignment:current:{timestamp}`
pub fn current_assignment(timestamp: i64) -> String {
    format!("zipcode:assignment:current:{timestamp}")
}

/// `zipcode:assignment:epoch:{epochId}:{timestamp}` (validators, past epochs)
pub fn epoch_assignment(epoch: &EpochId, timestamp: i64) -> String {
    format!("zipcode:assignment:epoch:{epoch}:{timestamp}")
}

/// `miner:status:{hotkey}:{epochId}:{timestamp}`
pub fn miner_status(hotkey: &Hotkey, epoch: &EpochId, timestamp: i64) -> String {
    format!("miner:status:{hotkey}:{epoch}:{timestamp}")
}

/// `s3:data:access:{coldkey}:{hotkey}:{timestamp}` (miner upload access)
pub fn miner_upload_access(coldkey: &Hotkey, hotkey: &Hotkey, timestamp: i64) -> String {
    format!("s3:data:access:{coldkey}:{hotkey}:{timestamp}")
}

/// `s3:validator:read:{epochId}:{timestamp}`
pub fn validator_read_access(epoch: &EpochId, timestamp: i64) -> String {
    format!("s3:validator:read:{epoch}:{timestamp}")
}

/// `s3:validator:upload:{timestamp}`
pub fn validator_upload_access(timestamp: i64) -> String {
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
            miner_status(&hot, &epoch, 1_700_000_000),
            "miner:status:5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT:2025-10-01T16-00-00:1700000000"
        );
        assert_eq!(
            miner_upload_access(&cold, &hot, 1_700_000_000),
            "s3:data:access:5FsX1fqKPD1VNk1eEwY7RtuLLs15kEz4XeZNUsE3SdbjWKse:5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT:1700000000"
        );
        assert_eq!(validator_upload_access(1_700_000_000), "s3:validator:upload:1700000000");
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
