//! Where a validator's dataset goes: a folder on this machine, or an S3
//! bucket it holds the keys to. Either way a reader never sees half a file:
//! in a folder each file is written under a hidden temporary name (readers
//! skip names starting with `.` or `_`), synced, then renamed into place; in
//! a bucket a PUT replaces an object whole.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use resi_core::EpochId;
use resi_storage::Bucket;

/// Largest dataset file read back (a zipcode's partition or history).
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Why a dataset file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {cause}")]
pub struct StoreError {
    pub place: String,
    pub cause: String,
}

/// A dataset's root.
#[derive(Clone, Debug)]
pub enum DatasetStore {
    Folder(PathBuf),
    /// Keys start at the bucket's root (`dataset/listings/…`).
    Bucket(Box<Bucket>),
}

impl DatasetStore {
    /// Where the dataset is, for people: the folder holding `dataset/`, or
    /// `s3://bucket/`.
    pub fn describe(&self) -> String {
        match self {
            Self::Folder(root) => root.join("dataset").display().to_string(),
            Self::Bucket(b) => format!("s3://{}/dataset/ (at {})", b.config().bucket, b.config().endpoint),
        }
    }

    /// Writes `bytes` at `key` whole; in a folder, a file already holding
    /// these bytes is left alone.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        match self {
            Self::Folder(root) => put_file(&root.join(key), &bytes),
            Self::Bucket(b) => b.put(key, Bytes::from(bytes)).await.map_err(|e| StoreError {
                place: format!("s3://{}/{key}", b.config().bucket),
                cause: e.to_string(),
            }),
        }
    }

    /// The bytes at `key`, or `None` when there is no such file.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self {
            Self::Folder(root) => {
                let path = root.join(key);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(StoreError {
                        place: path.display().to_string(),
                        cause: e.to_string(),
                    }),
                }
            }
            Self::Bucket(b) => b.get(key, MAX_FILE_BYTES).await.map_err(|e| StoreError {
                place: format!("s3://{}/{key}", b.config().bucket),
                cause: e.to_string(),
            }),
        }
    }

    /// The epochs with a manifest (complete), oldest first.
    pub async fn epochs(&self) -> Result<Vec<EpochId>, StoreError> {
        let mut found = match self {
            Self::Folder(root) => {
                let listings = root.join(resi_dataset::LISTINGS_PREFIX);
                let entries = match std::fs::read_dir(&listings) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => {
                        return Err(StoreError {
                            place: listings.display().to_string(),
                            cause: e.to_string(),
                        })
                    }
                };
                entries
                    .flatten()
                    .filter_map(|entry| {
                        let name = entry.file_name().into_string().ok()?;
                        let key = format!("{}{name}/_manifest.json", resi_dataset::LISTINGS_PREFIX);
                        root.join(&key).is_file().then(|| resi_dataset::manifest_epoch(&key))?
                    })
                    .collect::<Vec<_>>()
            }
            Self::Bucket(b) => b
                .list(resi_dataset::LISTINGS_PREFIX)
                .await
                .map_err(|e| StoreError {
                    place: format!("s3://{}/{}", b.config().bucket, resi_dataset::LISTINGS_PREFIX),
                    cause: e.to_string(),
                })?
                .iter()
                .filter_map(|o| resi_dataset::manifest_epoch(&o.key))
                .collect(),
        };
        found.sort();
        found.dedup();
        Ok(found)
    }
}

impl DatasetStore {
    /// The manifests of every complete epoch, oldest first.
    pub async fn manifests(&self) -> Result<Vec<resi_dataset::DatasetManifest>, StoreError> {
        let mut out = Vec::new();
        for epoch in self.epochs().await? {
            let key = resi_dataset::manifest_key(&epoch);
            let Some(bytes) = self.get(&key).await? else { continue };
            out.push(serde_json::from_slice(&bytes).map_err(|e| StoreError {
                place: key,
                cause: e.to_string(),
            })?);
        }
        Ok(out)
    }
}

fn put_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let fail = |cause: std::io::Error| StoreError {
        place: path.display().to_string(),
        cause: cause.to_string(),
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(fail)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temporary).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_appears_whole_or_not_at_all_and_is_kept_when_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = DatasetStore::Folder(dir.path().to_owned());
        let key = "dataset/listings/epoch=E/zipcode=78704/part-0.parquet";
        store.put(key, b"one".to_vec()).await.unwrap();
        let path = dir.path().join(key);
        let first = std::fs::metadata(&path).unwrap().modified().unwrap();
        store.put(key, b"one".to_vec()).await.unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            first,
            "unchanged: not rewritten"
        );
        store.put(key, b"two".to_vec()).await.unwrap();
        assert_eq!(store.get(key).await.unwrap().unwrap().as_ref(), b"two");
        assert!(store.get("dataset/none").await.unwrap().is_none());
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec!["part-0.parquet".to_owned()], "no temporary file is left");
    }
}
