//! What the binary's integration tests share: starting daemons as a user
//! would, reading what they print, plain HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon the test started: killed when dropped, so a failing test
/// leaves no process behind (one would keep the test runner's output open).
pub struct Running(pub Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `resi ARGS` with logs quiet and stdout piped.
pub fn spawn(args: &[&str]) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_resi"))
            .args(args)
            .env("RESI_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start resi"),
    )
}

/// Reads `child`'s stdout up to and including the first line `last` accepts,
/// then keeps draining it in the background (a closed pipe would fail the
/// daemon's next print).
pub fn lines_until(child: &mut Child, last: impl Fn(&str) -> bool) -> Vec<String> {
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8 stdout");
        let done = last(&line);
        seen.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    seen
}

/// `resi devnet --keep-running` for one 12 s epoch with `miners` (and
/// `extra` flags) on `data`; returns it and its stdout lines up to
/// "running until Ctrl-C" (the verdict, the dataset, the addresses).
pub fn keep_running_devnet(data: &Path, miners: &str, extra: &[&str]) -> (Running, Vec<String>) {
    let mut args = vec![
        "devnet",
        "--keep-running",
        "--epochs",
        "1",
        "--epoch-seconds",
        "12",
        "--miners",
        miners,
        "--target-listings",
        "1500",
        "--data-dir",
        data.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let mut devnet = spawn(&args);
    let lines = lines_until(&mut devnet, |l| l.starts_with("running until Ctrl-C"));
    (devnet, lines)
}

/// Starts `resi coordinator --dev` on `dir`; returns the child and its stdout
/// lines up to the metagraph line.
pub fn start_dev_coordinator(dir: &Path) -> (Running, Vec<String>) {
    let mut child = spawn(&[
        "coordinator",
        "--dev",
        "--data-dir",
        dir.to_str().expect("utf-8 path"),
        "--listen",
        "127.0.0.1:0",
    ]);
    let seen = lines_until(&mut child, |l| l.starts_with("chain:"));
    (child, seen)
}

/// SIGTERM, then the exit code (within 30 s: a devnet stops every daemon).
pub fn terminate(child: &mut Child) -> Option<i32> {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        assert!(Instant::now() < until, "still running 30 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET path` on `addr` (HOST:PORT) over plain HTTP/1.1: (status line and headers, body).
pub fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_owned(), body.to_owned())
}

/// A new wallet's hotkey under `wallets/NAME/hotkeys/default`; returns its address.
pub fn new_wallet(wallets: &Path, name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .args(["keys", "new", "--wallet-path", wallets.to_str().expect("utf-8 path")])
        .args(["--wallet", name, "--hotkey", "default"])
        .env("RESI_LOG", "error")
        .output()
        .expect("resi keys new");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
