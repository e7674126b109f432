//! Memory bounds, measured on the real binary in a process of its own (this
//! test binary spawns nothing else, so its children's peak RSS is the
//! command's).

use std::process::Command;

/// Peak RSS of every waited-for child of this process, in MiB.
fn children_peak_rss_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a rusage into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialized by the successful call above.
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss as f64 / 1024.0
}

/// Decompression bombs (two GZIP ones of a few hundred KB, 140 MB decoded
/// each; a legacy-LZ4 and a ZSTD one of 1 GiB each) are refused by `resi listings check` (the decode validators run) without the
/// process growing anywhere near their decoded size.
#[test]
fn decompression_bombs_are_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = resi_sim::hostile::gzip_bomb(70_000, 2_000).unwrap();
    let decoded_mib = 70_000.0 * 2_000.0 / (1024.0 * 1024.0);
    // `resi listings check` on `bomb`: refused (exit 1) with `refusal` in what it says.
    let refused = |name: &str, bomb: &[u8], refusal: &str| -> String {
        let path = dir.path().join(format!("bomb-{name}.parquet"));
        std::fs::write(&path, bomb).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_resi"))
            .args(["listings", "check", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(said.contains(refusal), "{name}: {said}");
        said
    };
    for i in 0..2 {
        refused(&format!("gzip-{i}"), &bomb, "decoded bytes, over the limit");
    }
    // A legacy-LZ4 page holding an LZ4 frame (the reader's fallback inflated
    // such a page whole: 2 GB for a 9 MB file) and a ZSTD page, 1 GiB each once inflated.
    for (name, kind, refusal) in [
        ("lz4", resi_sim::hostile::Bomb::Lz4Frame, "not in Hadoop framing"),
        ("zstd", resi_sim::hostile::Bomb::Zstd, "Destination buffer is too small"),
    ] {
        let bomb = resi_sim::hostile::codec_bomb(kind, 6_000, 1 << 30).unwrap();
        let said = refused(name, &bomb, refusal);
        println!(
            "{name} bomb of {} KB (1 GiB inflated): {}",
            bomb.len() / 1024,
            said.trim()
        );
    }
    let peak = children_peak_rss_mib();
    println!("peak RSS of `resi listings check` on two {decoded_mib:.0} MB GZIP bombs and 1 GiB LZ4 and ZSTD bombs: {peak:.1} MiB");
    assert!(
        peak < 64.0,
        "peak RSS {peak:.1} MiB for a file of {} KB",
        bomb.len() / 1024
    );
}
