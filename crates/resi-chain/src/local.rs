//! The `local` backend: a JSON file of neurons that any process may edit
//! (`resi chain register`), reloaded by readers when it changes on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use resi_core::{Hotkey, Neuron};
use serde::{Deserialize, Serialize};

use crate::Metagraph;

#[derive(Debug, thiserror::Error)]
pub enum MetagraphError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{path}: not a metagraph file: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("hotkey {0} is already registered")]
    AlreadyRegistered(Hotkey),
    #[error("uid {0} appears twice")]
    DuplicateUid(u16),
    #[error("no free uid left")]
    Full,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MetagraphFile {
    #[serde(default)]
    neurons: Vec<Neuron>,
}

/// A metagraph file, cached in memory and reloaded when its mtime or size changes.
pub struct LocalMetagraph {
    path: PathBuf,
    cached: Arc<Metagraph>,
    seen: Option<(SystemTime, u64)>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reads a metagraph file; a missing file is an empty metagraph.
pub fn read(path: &Path) -> Result<Metagraph, MetagraphError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Metagraph::default()),
        Err(source) => {
            return Err(MetagraphError::Io {
                path: path.to_owned(),
                cause: source,
            })
        }
    };
    let file: MetagraphFile = serde_json::from_slice(&bytes).map_err(|e| MetagraphError::Format {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut uids = std::collections::BTreeSet::new();
    for n in &file.neurons {
        if !uids.insert(n.uid) {
            return Err(MetagraphError::DuplicateUid(n.uid));
        }
    }
    Ok(Metagraph::new(file.neurons))
}

/// Writes a metagraph file atomically (write beside, then rename).
pub fn write(path: &Path, metagraph: &Metagraph) -> Result<(), MetagraphError> {
    let io = |source| MetagraphError::Io {
        path: path.to_owned(),
        cause: source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = MetagraphFile {
        neurons: metagraph.neurons().to_vec(),
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| MetagraphError::Format {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension("resi-tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Adds a neuron with the next free uid; returns it.
pub fn register(
    path: &Path,
    hotkey: Hotkey,
    coldkey: Hotkey,
    stake: u64,
    validator_permit: bool,
) -> Result<Neuron, MetagraphError> {
    let current = read(path)?;
    if current.by_hotkey(&hotkey).is_some() {
        return Err(MetagraphError::AlreadyRegistered(hotkey));
    }
    let uid = current.next_uid().ok_or(MetagraphError::Full)?;
    let neuron = Neuron {
        uid,
        hotkey,
        coldkey,
        stake,
        // The local chain has no root: every stake is the subnet's alpha.
        alpha_stake: stake,
        tao_stake: 0,
        validator_permit,
        registered_block: 0,
    };
    let mut neurons = current.neurons().to_vec();
    neurons.push(neuron.clone());
    write(path, &Metagraph::new(neurons))?;
    Ok(neuron)
}

impl LocalMetagraph {
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, MetagraphError> {
        let path = path.into();
        let seen = stamp(&path);
        let cached = Arc::new(read(&path)?);
        Ok(Self { path, cached, seen })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The metagraph as last read, without looking at the file.
    pub fn cached(&self) -> Arc<Metagraph> {
        Arc::clone(&self.cached)
    }

    /// The current metagraph, reloading the file if it changed. A file that
    /// became unreadable keeps the last good metagraph and reports the error.
    pub fn current(&mut self) -> Result<Arc<Metagraph>, MetagraphError> {
        let now = stamp(&self.path);
        if now != self.seen {
            let fresh = read(&self.path)?;
            self.cached = Arc::new(fresh);
            self.seen = now;
        }
        Ok(Arc::clone(&self.cached))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> Hotkey {
        Hotkey::from_public_key([i; 32])
    }

    #[test]
    fn register_assigns_uids_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metagraph.json");
        let mut live = LocalMetagraph::open(&path).unwrap();
        assert!(live.current().unwrap().neurons().is_empty());
        assert_eq!(register(&path, key(1), key(9), 0, false).unwrap().uid, 0);
        assert_eq!(register(&path, key(2), key(9), 5_000, true).unwrap().uid, 1);
        assert!(matches!(
            register(&path, key(1), key(9), 0, false),
            Err(MetagraphError::AlreadyRegistered(_))
        ));
        let m = live.current().unwrap();
        assert_eq!(m.neurons().len(), 2);
        assert!(m.by_hotkey(&key(2)).unwrap().is_validator(0));
        assert!(m.table(0).contains(&key(2).to_string()));
    }

    #[test]
    fn bad_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, "{\"neurons\": [{\"uid\": 1}]}").unwrap();
        assert!(matches!(read(&path), Err(MetagraphError::Format { .. })));
        let n = |uid| serde_json::json!({"uid": uid, "hotkey": key(1).to_string(), "coldkey": key(2).to_string(), "stake": 0, "validatorPermit": false});
        std::fs::write(&path, serde_json::json!({"neurons": [n(3), n(3)]}).to_string()).unwrap();
        assert!(matches!(read(&path), Err(MetagraphError::DuplicateUid(3))));
    }
}
