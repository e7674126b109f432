//! `resi keys …`: Bittensor-compatible wallet files and sr25519 signatures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use resi_auth::wallet::{read_keypair, read_public, write_keypair, write_public, WalletPaths};
use resi_auth::{verify, Keypair, Signature};
use resi_core::Hotkey;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a hotkey (and, if the wallet has none, a coldkey public file); prints the hotkey's SS58 address.
    New(NewArgs),
    /// Print a wallet's hotkey and coldkey addresses.
    Show(WalletArgs),
    /// Sign a message with a hotkey; prints the signature as 0x-prefixed hex.
    Sign(SignArgs),
    /// Verify a signature; exit 0 if valid, 1 if not, with a one-line reason.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct WalletArgs {
    /// Directory holding wallets (Bittensor's default is ~/.bittensor/wallets).
    #[arg(long, env = "RESI_WALLET_PATH")]
    wallet_path: Option<PathBuf>,
    /// Wallet (coldkey) name.
    #[arg(long, env = "RESI_WALLET", default_value = "default")]
    wallet: String,
    /// Hotkey name.
    #[arg(long, env = "RESI_HOTKEY", default_value = "default")]
    hotkey: String,
}

impl WalletArgs {
    fn paths(&self) -> anyhow::Result<WalletPaths> {
        let root = match &self.wallet_path {
            Some(p) => p.clone(),
            None => {
                let home = std::env::var_os("HOME").context("--wallet-path not given and HOME is not set")?;
                PathBuf::from(home).join(".bittensor").join("wallets")
            }
        };
        Ok(WalletPaths::new(root, &self.wallet, &self.hotkey)?)
    }
}

#[derive(Args)]
pub struct NewArgs {
    #[command(flatten)]
    wallet: WalletArgs,
    /// Use this existing coldkey address for coldkeypub.txt instead of generating a coldkey.
    #[arg(long)]
    coldkey: Option<String>,
    /// Replace an existing hotkey file.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(flatten)]
    message: MessageArgs,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct MessageArgs {
    /// The message, signed as its UTF-8 bytes.
    #[arg(long)]
    message: Option<String>,
    /// The message as hex bytes (with or without 0x).
    #[arg(long)]
    message_hex: Option<String>,
}

impl MessageArgs {
    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match (&self.message, &self.message_hex) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(h)) => hex::decode(h.strip_prefix("0x").unwrap_or(h)).context("--message-hex is not hex"),
            (None, None) => anyhow::bail!("give --message or --message-hex"),
        }
    }
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The signer's SS58 address.
    #[arg(long)]
    ss58: String,
    #[command(flatten)]
    message: MessageArgs,
    /// The signature: 64 bytes as hex, with or without 0x.
    #[arg(long)]
    signature: String,
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::New(args) => new(args),
        KeysCommand::Show(args) => show(args),
        KeysCommand::Sign(args) => sign(args),
        KeysCommand::Verify(args) => Ok(verify_cmd(args)),
    }
}

fn new(args: NewArgs) -> anyhow::Result<ExitCode> {
    let paths = args.wallet.paths()?;
    let coldkey = args
        .coldkey
        .as_deref()
        .map(Hotkey::parse)
        .transpose()
        .context("--coldkey is not a valid SS58 address")?;
    let key = Keypair::generate()?;
    write_keypair(&paths.hotkey_file(), &key, args.overwrite)?;
    write_public(&paths.hotkeypub_file(), &key.hotkey(), true)?;
    let coldkeypub = paths.coldkeypub_file();
    match coldkey {
        Some(cold) => write_public(&coldkeypub, &cold, true)?,
        None if !coldkeypub.exists() => {
            let cold = Keypair::generate()?;
            write_public(&coldkeypub, &cold.hotkey(), false)?;
            eprintln!(
                "created coldkey {} (only its public part is stored). Write down its mnemonic now; it is shown once:\n  {}",
                cold.hotkey(),
                cold.mnemonic().unwrap_or("")
            );
        }
        None => {}
    }
    eprintln!("wrote {}", paths.hotkey_file().display());
    println!("{}", key.hotkey());
    Ok(ExitCode::SUCCESS)
}

/// A wallet's hotkey and coldkey addresses, from its files.
pub(crate) fn wallet_addresses(
    wallet_path: Option<PathBuf>,
    wallet: &str,
    hotkey: &str,
) -> anyhow::Result<(Hotkey, Hotkey)> {
    let paths = WalletArgs {
        wallet_path,
        wallet: wallet.to_owned(),
        hotkey: hotkey.to_owned(),
    }
    .paths()?;
    let hot = read_public(&paths.hotkey_file())
        .or_else(|_| read_public(&paths.hotkeypub_file()))
        .with_context(|| format!("reading the hotkey of wallet {wallet}"))?;
    let cold = read_public(&paths.coldkeypub_file()).with_context(|| {
        format!(
            "reading the coldkey of wallet {wallet} ({})",
            paths.coldkeypub_file().display()
        )
    })?;
    Ok((hot, cold))
}

fn show(args: WalletArgs) -> anyhow::Result<ExitCode> {
    let paths = args.paths()?;
    let hotkey = read_public(&paths.hotkey_file()).or_else(|_| read_public(&paths.hotkeypub_file()))?;
    println!("hotkey  {}  0x{}", hotkey, hex::encode(hotkey.public_key()));
    match read_public(&paths.coldkeypub_file()) {
        Ok(cold) => println!("coldkey {}  0x{}", cold, hex::encode(cold.public_key())),
        Err(e) => println!("coldkey unknown ({e})"),
    }
    Ok(ExitCode::SUCCESS)
}

fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let paths = args.wallet.paths()?;
    let key = read_keypair(&paths.hotkey_file())?;
    let message = args.message.bytes()?;
    println!("{}", key.sign(&message).to_hex());
    Ok(ExitCode::SUCCESS)
}

fn verify_cmd(args: VerifyArgs) -> ExitCode {
    let outcome = (|| -> Result<(), String> {
        let signer = Hotkey::parse(&args.ss58).map_err(|e| format!("invalid SS58 address: {e}"))?;
        let message = args.message.bytes().map_err(|e| format!("{e:#}"))?;
        let signature = Signature::parse_hex(&args.signature).map_err(|e| e.to_string())?;
        verify(&signer, &message, &signature).map_err(|e| e.to_string())
    })();
    match outcome {
        Ok(()) => {
            println!("valid");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            println!("invalid: {reason}");
            ExitCode::from(1)
        }
    }
}
