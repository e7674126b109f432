//! Encoding and decoding against what a real subtensor runtime said, without
//! the runtime: `tests/recorded/` holds the runtime metadata (spec 293,
//! `state_getMetadata`) and `state_call` answers recorded from it under
//! chopsticks, block 42, after the real-runtime suite had created subnet 2
//! (owner uid 0, a staked validator uid 1, miners 2 and 3, all with //Alice
//! as coldkey). Recorded with JSON-RPC `state_getMetadata` and
//! `state_call("SubnetInfoRuntimeApi_get_metagraph", SCALE(netuid: u16))`.

use std::io::Read;

use resi_core::Hotkey;
use resi_subtensor::metagraph;
use resi_subtensor::weights;
use subxt::ext::scale_value;
use subxt::Metadata;

fn metadata() -> Metadata {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded/spec293-metadata.scale.gz");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    Metadata::decode_from(&bytes).expect("the recorded metadata decodes")
}

fn response(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded/spec293-responses.json");
    let all: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    hex::decode(all[name].as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn get_metagraph(metadata: &Metadata, bytes: &[u8]) -> scale_value::Value {
    let method = metadata
        .runtime_api_trait_by_name("SubnetInfoRuntimeApi")
        .and_then(|t| t.method_by_name("get_metagraph"))
        .expect("spec 293 has SubnetInfoRuntimeApi.get_metagraph");
    let mut input = bytes;
    let value = scale_value::scale::decode_as_type(&mut input, method.output_ty(), metadata.types()).unwrap();
    assert!(input.is_empty(), "every byte of the answer is read");
    value.remove_context()
}

#[test]
fn the_recorded_metagraph_decodes_into_neurons() {
    let metadata = metadata();
    let value = get_metagraph(&metadata, &response("getMetagraph2"));
    let read = metagraph::from_value(&value, 2, 0).unwrap();
    let alice = Hotkey::parse("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").unwrap();
    let neurons = read.metagraph.neurons();
    assert_eq!(read.block, 42);
    let hotkeys: Vec<&str> = neurons.iter().map(|n| n.hotkey.as_str()).collect();
    assert_eq!(
        hotkeys,
        [
            "5ExxhpJR6UDSsUzzhjSnvs7UFLWqYcVQ33xPFSzFHiu842r1",
            "5CMPzCH89gJ6DHVbc4dkniz5sZSnae2eh3TrsvtRUJdYTxgS",
            "5GxsBbNkLrWJnrjQvpCQS8Syz7s9NaYKxkSxAAEX8cJEAqkS",
            "5FyMpW2yXhfdL7nehVmRvTaVTZy6rpayEtbFS8LQshPQjWLA",
        ]
    );
    assert!(neurons.iter().all(|n| n.coldkey == alice));
    let permits: Vec<bool> = neurons.iter().map(|n| n.validator_permit).collect();
    // By block 42 a second subnet epoch had passed: the owner's hotkey, which
    // holds stake from emissions, has a permit too; the unstaked miners none.
    assert_eq!(permits, [true, true, false, false]);
    assert!(
        neurons[1].stake > 90_000_000_000,
        "the validator's 100 TAO stake, less the swap"
    );
    // The miners hold what the weights set at block 37 paid them since.
    assert!(neurons[2].stake < neurons[1].stake && neurons[3].stake < neurons[1].stake);
    assert!(neurons.iter().all(|n| n.registered_block > 0));
    assert!(neurons[2].registered_block <= neurons[3].registered_block);
    // Alpha and TAO stake kept apart: the validator's stake is alpha (no
    // root stake on this subnet), and the total is no less than it.
    let v = &neurons[1];
    assert!(v.alpha_stake > 90_000_000_000, "{v:?}");
    assert_eq!(v.tao_stake, 0, "{v:?}");
    assert!(v.stake >= v.alpha_stake, "{v:?}");
}

#[test]
fn a_subnet_that_does_not_exist_is_refused_in_words() {
    let metadata = metadata();
    let value = get_metagraph(&metadata, &response("getMetagraph999"));
    let e = metagraph::from_value(&value, 999, 42).unwrap_err();
    assert_eq!(e.to_string(), "subnet 999 does not exist");
}

/// `set_weights` as the dynamic API encodes it for this runtime equals the
/// call laid out by hand from the metadata's pallet and call indexes: the
/// bytes the runtime accepted in the real-runtime suite.
#[test]
fn weight_calls_encode_as_the_runtime_expects() {
    let metadata = metadata();
    let pallet = metadata.pallet_by_name("SubtensorModule").unwrap();
    let index = |name: &str| pallet.call_variant_by_name(name).unwrap().index;
    let encoded = |call: &weights::Call| {
        subxt::ext::frame_decode::extrinsics::encode_call_data(
            call.pallet_name(),
            call.call_name(),
            call.call_data(),
            &metadata,
            metadata.types(),
        )
        .unwrap()
    };

    let mut expected = vec![pallet.call_index(), index("set_weights")];
    expected.extend([2, 0]); // netuid: u16
    expected.extend([8, 2, 0, 3, 0]); // dests: Vec<u16> [2, 3]
    expected.extend([8, 0xff, 0xff, 0x55, 0x55]); // weights [65535, 21845]
    expected.extend(7u64.to_le_bytes()); // version_key
    let target = weights::Target::in_runtime(&metadata, 2, 0).unwrap();
    assert!(!target.mechanism_calls, "spec 293 has no mechanisms");
    assert_eq!(encoded(&target.set_weights(&[2, 3], &[65535, 21845], 7)), expected);

    let hash = [9u8; 32];
    let mut expected = vec![pallet.call_index(), index("commit_weights"), 2, 0];
    expected.extend(hash);
    assert_eq!(encoded(&target.commit_weights(&hash)), expected);

    // The timelocked commit exists in this runtime under its spec-293 name.
    assert!(pallet.call_variant_by_name("commit_crv3_weights").is_some());
    assert!(pallet.call_variant_by_name("commit_timelocked_weights").is_none());
}

/// The hash the runtime recomputed at reveal (the real-runtime suite's
/// reveal succeeded with it), against an independent layout of the payload:
/// hotkey ‖ netuid u16 LE ‖ compact-length-prefixed u16 vectors ‖ u64 LE,
/// hashed with BLAKE2b-256 by Python's hashlib (the probe's
/// `commit_weights` step: uids [2, 3], values [65535, 12345], salt 1..=8).
#[test]
fn the_commit_hash_matches_the_python_sdk_layout() {
    let hotkey = [7u8; 32];
    let hash = weights::commit_hash(&hotkey, 2, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 8], 0);
    assert_eq!(hex::encode(hash), PYTHON_HASH);
}

// python3 -c "import hashlib; p=bytes([7]*32)+bytes([2,0])+bytes([8,2,0,3,0])+bytes([8,255,255,57,48])
//   +bytes([32])+b''.join(i.to_bytes(2,'little') for i in range(1,9))+(0).to_bytes(8,'little');
//   print(hashlib.blake2b(p,digest_size=32).hexdigest())"
const PYTHON_HASH: &str = "d6f5ed059a02cf36837a35b4060250c09884258bfaccc91c4a7fa94984edc834";
