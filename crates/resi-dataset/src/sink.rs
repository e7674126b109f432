//! A folder the dataset is written to. Each file is written whole under a
//! hidden temporary name (readers skip names starting with `.` or `_`),
//! synced, then renamed into place, so a reader never sees half a file; the
//! manifest is written last. Publishing an epoch again writes the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {cause}")]
pub struct SinkError {
    pub path: PathBuf,
    pub cause: std::io::Error,
}

/// A dataset's root folder on this machine.
#[derive(Clone, Debug)]
pub struct FolderSink {
    root: PathBuf,
}

impl FolderSink {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `bytes` at `key` (relative to the root) atomically: an
    /// existing file with the same bytes is left alone.
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), SinkError> {
        let path = self.root.join(key);
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        let fail = |cause| SinkError {
            path: path.clone(),
            cause,
        };
        let folder = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(folder).map_err(fail)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut file = std::fs::File::create(&temporary).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&temporary, &path).map_err(fail)?;
        Ok(())
    }

    /// The bytes at `key`, if the file exists.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(key)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_whole_or_not_at_all_and_is_kept_when_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FolderSink::new(dir.path());
        sink.put("dataset/listings/epoch=E/zipcode=78704/part-0.parquet", b"one")
            .unwrap();
        let path = dir.path().join("dataset/listings/epoch=E/zipcode=78704/part-0.parquet");
        let first = std::fs::metadata(&path).unwrap().modified().unwrap();
        sink.put("dataset/listings/epoch=E/zipcode=78704/part-0.parquet", b"one")
            .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            first,
            "unchanged: not rewritten"
        );
        sink.put("dataset/listings/epoch=E/zipcode=78704/part-0.parquet", b"two")
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec!["part-0.parquet".to_owned()], "no temporary file is left");
    }
}
