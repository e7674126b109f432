//! The devnet's printed output: one leaderboard per epoch.

use std::fmt::Write as _;

use resi_core::results::Status;
use resi_core::{EpochId, Hotkey, ValidationResults};
use resi_validator::EpochReport;

use crate::outcome::MinerInfo;

pub use crate::outcome::status_text;

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// Why a miner earned nothing: its first failure, or that it submitted nothing.
pub fn zero_reason(results: &ValidationResults, hotkey: &Hotkey) -> String {
    let records: Vec<_> = results
        .zipcodes
        .iter()
        .flat_map(|z| z.submissions.iter().map(move |s| (z.zipcode, s)))
        .filter(|(_, s)| &s.hotkey == hotkey)
        .collect();
    if records.is_empty() {
        return "no submission".into();
    }
    let failed = records.iter().filter(|(_, s)| s.status == Status::Failed).count();
    match records
        .iter()
        .find(|(_, s)| s.status != Status::Winner && s.status != Status::Participant)
    {
        Some((zipcode, s)) => format!("{failed}/{} failed; {zipcode}: {}", records.len(), s.reason),
        None => "passed, but nothing left to share".into(),
    }
}

/// The leaderboard, consensus and weights of one epoch.
pub fn epoch_table(
    epoch: EpochId,
    reports: &[EpochReport],
    miners: &[MinerInfo],
    validators: &[(String, u16, Hotkey)],
) -> String {
    let mut out = String::new();
    let Some(first) = reports.first() else {
        return format!("epoch {epoch}: no validator finished it\n");
    };
    let results = &first.results;
    let expected: u64 = results.zipcodes.iter().map(|z| z.expected_listings).sum();
    let _ = writeln!(
        out,
        "\n=== epoch {epoch}: {} zipcodes, {expected} expected listings, {} submissions, results version {} ===",
        results.zipcodes.len(),
        results.totals.submissions,
        results.version
    );
    let _ = writeln!(
        out,
        "{:>4}  {:<24}  {:<13}  {:>3}  {:>4}  {:>8}  reason when zero",
        "uid", "miner", "profile", "won", "part", "score"
    );
    let mut rows: Vec<(&MinerInfo, u64)> = miners
        .iter()
        .map(|m| {
            let score = results
                .miner_scores
                .iter()
                .find(|s| s.hotkey == m.hotkey)
                .map_or(0, |s| s.score_ppb);
            (m, score)
        })
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.uid.cmp(&b.0.uid)));
    for (m, score) in rows {
        let won = results
            .zipcodes
            .iter()
            .filter(|z| z.winners.contains(&m.hotkey))
            .count();
        let part = results
            .zipcodes
            .iter()
            .filter(|z| z.participants.contains(&m.hotkey))
            .count();
        let reason = if score == 0 {
            shorten(&zero_reason(results, &m.hotkey), 110)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:>4}  {:<24}  {:<13}  {:>3}  {:>4}  {:>6.2} %  {reason}",
            m.uid,
            shorten(&m.name, 24),
            m.profile.as_str(),
            won,
            part,
            score as f64 / 10_000_000.0
        );
    }
    let _ = writeln!(
        out,
        "consensus: {} (hash {}…)",
        status_text(first.consensus.status),
        &results.consensus_hash[..results.consensus_hash.len().min(16)]
    );
    for r in reports {
        let name = validators
            .iter()
            .find(|(_, _, h)| h == &r.validator)
            .map_or("?", |(n, _, _)| n.as_str());
        if r.results.consensus_hash != results.consensus_hash || r.consensus.status != first.consensus.status {
            let _ = writeln!(
                out,
                "  {name}: hash {}… consensus {} outliers {:?}",
                &r.results.consensus_hash[..r.results.consensus_hash.len().min(16)],
                status_text(r.consensus.status),
                r.consensus.outliers
            );
        }
        for (peer, why) in &r.rejected_peers {
            let _ = writeln!(out, "  {name} refused the results of {peer}: {why}");
        }
        match (&r.weights, &r.weights_skipped) {
            (Some(w), _) => {
                let list: Vec<String> = w.uids.iter().zip(&w.weights).map(|(u, x)| format!("{u}={x}")).collect();
                let _ = writeln!(
                    out,
                    "weights: {name} (uid {}) at block {}: {}",
                    w.validator_uid,
                    w.block,
                    list.join(" ")
                );
            }
            (None, Some(why)) => {
                let _ = writeln!(out, "weights: {name}: none ({why})");
            }
            (None, None) => {
                let _ = writeln!(out, "weights: {name}: none");
            }
        }
    }
    out
}
