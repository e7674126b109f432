//! On-chain weight conversion against bittensor 10.5's own outputs, and consensus grouping.

use std::path::PathBuf;

use resi_core::consensus::{evaluate, ConsensusStatus, PublishedHash};
use resi_core::results::MinerScore;
use resi_core::weights::{
    convert_weights_and_uids_for_emit, normalize_max_weight, scores_to_weights, BurnPolicy, WeightError,
};
use resi_core::{Hotkey, Neuron};
use serde_json::Value;

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/test-vectors/weights.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}
fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

#[test]
fn convert_matches_every_vector() {
    let doc = vectors();
    let cases = doc["convert_weights_and_uids_for_emit"].as_array().unwrap();
    assert!(cases.len() >= 19);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let uids = ints(&case["input_uids"]);
        let weights = nums(&case["input_weights"]);
        let expected_error = case
            .get("raises")
            .or_else(|| case.get("expected_error"))
            .filter(|v| !v.is_null());
        let valid_uids: Option<Vec<u16>> = uids.iter().map(|&u| u16::try_from(u).ok()).collect();
        let outcome = match valid_uids {
            Some(u) => convert_weights_and_uids_for_emit(&u, &weights),
            None => Err(WeightError::NegativeWeight("negative uid".into())),
        };
        match (expected_error, case.get("output_uids")) {
            (Some(_), _) | (None, None) => assert!(outcome.is_err(), "{id}: expected an error, got {outcome:?}"),
            (None, Some(out_uids)) => {
                let (u, w) = outcome.unwrap_or_else(|e| panic!("{id}: {e}"));
                let u: Vec<i64> = u.into_iter().map(i64::from).collect();
                let w: Vec<i64> = w.into_iter().map(i64::from).collect();
                assert_eq!(u, ints(out_uids), "{id} uids");
                assert_eq!(w, ints(&case["output_weights"]), "{id} weights");
            }
        }
    }
}

#[test]
fn normalize_max_weight_matches_every_vector() {
    let doc = vectors();
    for case in doc["normalize_max_weight"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap_or("?");
        let x: Vec<f32> = nums(&case["input"]).into_iter().map(|v| v as f32).collect();
        let limit = case["limit"].as_f64().unwrap();
        let got = normalize_max_weight(&x, limit);
        let want = nums(&case["output"]);
        assert_eq!(got.len(), want.len(), "{id}");
        for (g, w) in got.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{id}: {g} vs {w}");
        }
    }
}

#[test]
fn normalize_then_convert_matches_exactly() {
    let doc = vectors();
    for case in doc["normalize_then_convert"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap_or("?");
        let x: Vec<f32> = nums(&case["input_weights"]).into_iter().map(|v| v as f32).collect();
        let limit = case["limit"].as_f64().unwrap();
        let normalized = normalize_max_weight(&x, limit);
        for (g, w) in normalized.iter().zip(nums(&case["normalized"])) {
            assert!((*g as f64 - w).abs() < 1e-6, "{id}: {g} vs {w}");
        }
        let uids: Vec<u16> = ints(&case["input_uids"]).into_iter().map(|u| u as u16).collect();
        let as_f64: Vec<f64> = normalized.iter().map(|v| *v as f64).collect();
        let (u, w) = convert_weights_and_uids_for_emit(&uids, &as_f64).unwrap();
        assert_eq!(
            u.into_iter().map(i64::from).collect::<Vec<_>>(),
            ints(&case["output_uids"]),
            "{id}"
        );
        assert_eq!(
            w.into_iter().map(i64::from).collect::<Vec<_>>(),
            ints(&case["output_weights"]),
            "{id}"
        );
    }
}

fn key(i: u8) -> Hotkey {
    Hotkey::from_public_key([i; 32])
}

/// Scores by key seed.
fn scores(of: &[(u8, u64)]) -> Vec<MinerScore> {
    of.iter()
        .map(|&(i, score_ppb)| MinerScore {
            hotkey: key(i),
            score_ppb,
        })
        .collect()
}

fn neuron(uid: u16, i: u8, permit: bool) -> Neuron {
    Neuron {
        uid,
        hotkey: key(i),
        coldkey: key(200),
        stake: if permit { 1_000 } else { 0 },
        alpha_stake: 0,
        tao_stake: 0,
        validator_permit: permit,
        registered_block: 0,
    }
}

#[test]
fn scores_map_to_uids_excluding_validators_and_self() {
    let neurons = vec![
        neuron(0, 1, false),
        neuron(1, 2, false),
        neuron(2, 3, true),
        neuron(3, 4, false),
    ];
    // 3 is a validator and 4 is this validator (both zero); 9 is not on the metagraph.
    let scores = scores(&[
        (1, 600_000_000),
        (2, 300_000_000),
        (3, 50_000_000),
        (4, 40_000_000),
        (9, 10_000_000),
    ]);
    let w = scores_to_weights(&scores, &neurons, &key(4), 0, BurnPolicy::default()).unwrap();
    assert_eq!(w.uids, vec![0, 1]);
    assert_eq!(w.weights, vec![65535, 32768]);
    assert_eq!(w.unmapped, vec![key(9)]);
}

/// A subnet with fewer neurons than permits: every neuron holds a permit,
/// miners included. A validator is a permit **and** the minimum stake, so
/// the miners are paid; with the permit alone (minimum 0) nothing would be.
#[test]
fn miners_holding_permits_are_paid() {
    let token = 1_000_000_000u64;
    let mut neurons = vec![neuron(0, 1, true), neuron(1, 2, true), neuron(2, 3, true)];
    neurons[2].stake = 1_000 * token; // the validator
    neurons[0].stake = 3 * token; // a miner's emissions
    let scores = scores(&[(1, 600_000_000), (2, 400_000_000)]);
    let min = 100 * token;
    assert!(neurons.iter().all(|n| n.validator_permit));
    assert!(!neurons[0].is_validator(min) && !neurons[1].is_validator(min));
    assert!(neurons[2].is_validator(min));
    let w = scores_to_weights(&scores, &neurons, &key(3), min, BurnPolicy::default()).unwrap();
    assert_eq!(w.uids, vec![0, 1]);
    assert_eq!(w.weights, vec![65535, 43690]);
    // Permit alone: every miner counts as a validator and nobody is paid.
    let none = scores_to_weights(&scores, &neurons, &key(3), 0, BurnPolicy::default()).unwrap();
    assert!(none.uids.is_empty(), "{none:?}");
    // Stake without a permit is no validator either (the chain ignores its weights).
    let mut unpermitted = neurons[2].clone();
    unpermitted.validator_permit = false;
    assert!(!unpermitted.is_validator(min));
}

#[test]
fn burn_sends_its_share_to_the_owner() {
    let neurons = vec![neuron(0, 1, false), neuron(1, 2, false), neuron(5, 7, false)];
    let scores = vec![MinerScore {
        hotkey: key(1),
        score_ppb: 1_000_000_000,
    }];
    let burn = BurnPolicy {
        burn_bps: 5_000,
        owner_uid: Some(5),
    };
    let w = scores_to_weights(&scores, &neurons, &key(99), 0, burn).unwrap();
    assert_eq!((w.uids, w.weights), (vec![0, 5], vec![65535, 65535]));
    // Nothing scored: everything burns.
    let w = scores_to_weights(&[], &neurons, &key(99), 0, burn).unwrap();
    assert_eq!((w.uids, w.weights), (vec![5], vec![65535]));
    // Nothing scored and no burn: no weights at all.
    let w = scores_to_weights(&[], &neurons, &key(99), 0, BurnPolicy::default()).unwrap();
    assert!(w.uids.is_empty());
    assert!(scores_to_weights(
        &[],
        &neurons,
        &key(99),
        0,
        BurnPolicy {
            burn_bps: 10_001,
            owner_uid: Some(5)
        }
    )
    .is_err());
}

fn published(i: u8, stake: u64, hash: &str) -> PublishedHash {
    PublishedHash {
        validator: key(i),
        stake,
        consensus_hash: hash.into(),
    }
}

#[test]
fn consensus_statuses() {
    let r = evaluate(&[published(1, 10, "a"), published(2, 20, "a")]);
    assert_eq!(r.status, ConsensusStatus::PerfectConsensus);
    assert!(r.outliers.is_empty());
    let r = evaluate(&[published(1, 90, "a"), published(2, 10, "b")]);
    assert_eq!(r.status, ConsensusStatus::MajorityConsensus);
    assert_eq!(r.outliers, vec![key(2)]);
    assert_eq!(r.majority_hash.as_deref(), Some("a"));
    let r = evaluate(&[published(1, 89, "a"), published(2, 11, "b")]);
    assert_eq!(r.status, ConsensusStatus::ConsensusFailed);
    // Zero stake everywhere: one validator, one vote.
    let r = evaluate(&[published(1, 0, "a"), published(2, 0, "b")]);
    assert_eq!(r.status, ConsensusStatus::ConsensusFailed);
    assert_eq!(evaluate(&[]).status, ConsensusStatus::ConsensusFailed);
    assert_eq!(ConsensusStatus::PerfectConsensus.to_string(), "PERFECT_CONSENSUS");
}
