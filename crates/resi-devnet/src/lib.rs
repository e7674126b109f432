//! resi-devnet: the whole network on one machine, in one process.
//!
//! Creates keys for a subnet owner, miners and validators, a local metagraph,
//! an embedded S3 server, the simulated market and the coordinator; runs the
//! miners (each with a behaviour profile) and the validators as tasks for a
//! number of epochs; prints a leaderboard, the consensus and the weights set
//! per epoch; and ends with a verdict on the incentive: every honest miner
//! paid, every cheater at zero, validators in agreement.
//!
//! Every part is the real one (HTTP, SigV4, SQLite, Parquet, the validation
//! engine); only the chain is the local file-backed backend.

pub mod network;
pub mod report;

pub use network::{run, Devnet, DevnetError, DevnetOptions, DevnetOutcome};
