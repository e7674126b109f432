//! `resi chain …`: the local chain backend's metagraph file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use resi_chain::local::{read, register};
use resi_core::Hotkey;

#[derive(Subcommand)]
pub enum ChainCommand {
    /// Register a neuron in a local metagraph file (next free uid); prints the uid.
    Register(RegisterArgs),
    /// Print the neurons of a local metagraph file and the weight ledger beside it.
    Show(ShowArgs),
}

#[derive(Args)]
pub struct RegisterArgs {
    /// The metagraph JSON file (created if missing).
    #[arg(long)]
    metagraph: PathBuf,
    /// The neuron's hotkey (SS58), or --wallet.
    #[arg(long, required_unless_present = "wallet")]
    hotkey: Option<String>,
    /// The owning coldkey (SS58), or --wallet.
    #[arg(long, required_unless_present = "wallet")]
    coldkey: Option<String>,
    /// Take the hotkey and coldkey from this wallet's files instead (as
    /// `resi keys new` or btcli wrote them).
    #[arg(long, conflicts_with_all = ["hotkey", "coldkey"])]
    wallet: Option<String>,
    /// Directory holding the wallets (default ~/.bittensor/wallets).
    #[arg(long, requires = "wallet")]
    wallet_path: Option<PathBuf>,
    /// The wallet's hotkey name.
    #[arg(long, default_value = "default")]
    wallet_hotkey: String,
    /// Give the neuron a validator permit.
    #[arg(long)]
    validator: bool,
    /// Stake in rao (10⁻⁹ tokens). Default: none, or with `--validator`
    /// the default `[chain] validator_min_stake` (10,000 tokens), so the
    /// validator counts as one.
    #[arg(long)]
    stake: Option<u64>,
}

#[derive(Args)]
pub struct ShowArgs {
    #[arg(long)]
    metagraph: PathBuf,
    /// Whole tokens of stake a validator needs besides its permit (as
    /// `[chain] validator_min_stake`); 0: the permit alone.
    #[arg(long, default_value_t = resi_chain::DEFAULT_VALIDATOR_MIN_STAKE)]
    validator_min_stake: u64,
}

pub fn run(cmd: ChainCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ChainCommand::Register(args) => {
            let (hotkey, coldkey) = match (&args.wallet, &args.hotkey, &args.coldkey) {
                (Some(wallet), _, _) => {
                    crate::keys::wallet_addresses(args.wallet_path.clone(), wallet, &args.wallet_hotkey)?
                }
                (None, Some(hotkey), Some(coldkey)) => (
                    Hotkey::parse(hotkey).context("--hotkey is not a valid SS58 address")?,
                    Hotkey::parse(coldkey).context("--coldkey is not a valid SS58 address")?,
                ),
                _ => anyhow::bail!("give --hotkey and --coldkey, or --wallet"),
            };
            let stake = args.stake.unwrap_or(if args.validator {
                resi_chain::tokens_to_units(resi_chain::DEFAULT_VALIDATOR_MIN_STAKE)
            } else {
                0
            });
            let neuron = register(&args.metagraph, hotkey, coldkey, stake, args.validator)?;
            println!("{}", neuron.uid);
            Ok(ExitCode::SUCCESS)
        }
        ChainCommand::Show(args) => {
            let metagraph = read(&args.metagraph)?;
            print!(
                "{}",
                metagraph.table(resi_chain::tokens_to_units(args.validator_min_stake))
            );
            let ledger_path = resi_chain::ledger::beside(&args.metagraph);
            let records = resi_chain::ledger::read(&ledger_path)?;
            println!();
            if records.is_empty() {
                println!("weights: none set yet ({})", ledger_path.display());
            } else {
                println!("weights ({} set, {}):", records.len(), ledger_path.display());
                print!("{}", resi_chain::ledger::table(&records));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
