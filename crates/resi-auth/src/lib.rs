//! resi-auth: who signed what.
//!
//! sr25519 signing and verification exactly as Bittensor does it (schnorrkel,
//! signing context `substrate`, no pre-hashing, `<Bytes>` wrapping accepted on
//! verify), the protocol's commitment strings (PROTOCOL.md §1), and Bittensor wallet
//! files (hotkey JSON, `*pub.txt`).
//!
//! Architecture invariant: the only I/O is reading and writing wallet files in
//! [`wallet`]; everything else is pure.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod commitment;
pub mod keypair;
pub mod manifest;
pub mod refusal;
pub mod results;
pub mod signature;
pub mod wallet;

pub use keypair::{KeyError, Keypair};
pub use signature::{verify, Signature, SignatureError, VerifyError, VerifyingKey};
