//! An embedded S3 server (the `s3s` protocol layer over `s3s-fs` storage) for
//! development and tests: a real S3 HTTP endpoint that verifies SigV4
//! signatures, presigned URLs and POST policies, on loopback with an
//! OS-assigned port.

use std::net::SocketAddr;
use std::path::PathBuf;

use rand::distr::{Alphanumeric, SampleString};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::etag_fs::ListingEtags;
use resi_storage::S3Config;

/// How to start the embedded server.
#[derive(Clone, Debug)]
pub struct EmbeddedS3Options {
    /// Objects live under `{data_dir}/{bucket}/`.
    pub data_dir: PathBuf,
    /// `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
    pub region: String,
}

impl EmbeddedS3Options {
    /// Loopback, a free port, freshly generated credentials.
    pub fn local(data_dir: impl Into<PathBuf>, bucket: impl Into<String>) -> Self {
        let (access_key, secret_key) = generate_credentials();
        Self {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_key,
            secret_key,
            bucket: bucket.into(),
            region: "us-east-1".into(),
        }
    }
}

/// A random access key (20 characters) and secret key (40), like AWS's.
pub fn generate_credentials() -> (String, String) {
    let mut rng = rand::rng();
    (
        Alphanumeric.sample_string(&mut rng, 20).to_uppercase(),
        Alphanumeric.sample_string(&mut rng, 40),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("creating the bucket directory {path}: {cause}")]
    DataDir { path: PathBuf, cause: std::io::Error },
    #[error("invalid bucket name {0:?}: use 3-63 lowercase letters, digits, '-' or '.'")]
    BadBucket(String),
    #[error("opening the storage at {path}: {reason}")]
    Storage { path: PathBuf, reason: String },
    #[error("listening on {addr}: {cause}")]
    Listen { addr: SocketAddr, cause: std::io::Error },
}

/// A running embedded S3 server; stops when [`EmbeddedS3::shutdown`] is called or it is dropped.
pub struct EmbeddedS3 {
    addr: SocketAddr,
    options: EmbeddedS3Options,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl EmbeddedS3 {
    /// Creates the bucket directory if needed, binds, and serves in a background task.
    pub async fn start(options: EmbeddedS3Options) -> Result<Self, ServerError> {
        if !valid_bucket(&options.bucket) {
            return Err(ServerError::BadBucket(options.bucket.clone()));
        }
        let bucket_dir = options.data_dir.join(&options.bucket);
        tokio::fs::create_dir_all(&bucket_dir)
            .await
            .map_err(|source| ServerError::DataDir {
                path: bucket_dir.clone(),
                cause: source,
            })?;
        let fs = s3s_fs::FileSystem::new(&options.data_dir).map_err(|e| ServerError::Storage {
            path: options.data_dir.clone(),
            reason: format!("{e:?}"),
        })?;
        let fs = ListingEtags {
            inner: fs,
            root: options.data_dir.clone(),
        };
        let service = {
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(
                options.access_key.clone(),
                options.secret_key.clone(),
            ));
            builder.build()
        };
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServerError::Listen {
                addr: options.listen,
                cause: source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Listen {
            addr: options.listen,
            cause: source,
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        // Bodies of up to a file cap arrive slowly on real links: ten minutes
        // a request. A development server whose clients (a devnet's every
        // miner and validator) share one loopback address: no per-peer share.
        let limits = resi_net::Limits {
            request: std::time::Duration::from_secs(600),
            ..resi_net::Limits::default()
        }
        .one_address();
        let task = tokio::spawn(resi_net::serve_connections(
            listener,
            limits,
            async {
                let _ = stopped.await;
            },
            move |_| service.clone(),
        ));
        tracing::info!(%addr, bucket = %options.bucket, "embedded S3 listening");
        Ok(Self {
            addr,
            options,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}`
    pub fn endpoint(&self) -> Url {
        // An IP and a port always make a valid URL.
        Url::parse(&format!("http://{}", self.addr)).unwrap_or_else(|_| unreachable!())
    }

    /// The folder holding the bucket's objects, each a file at its key.
    pub fn bucket_dir(&self) -> PathBuf {
        self.options.data_dir.join(&self.options.bucket)
    }

    /// Path-style configuration for this server, with its credentials.
    pub fn s3_config(&self) -> S3Config {
        S3Config {
            endpoint: self.endpoint(),
            region: self.options.region.clone(),
            bucket: self.options.bucket.clone(),
            access_key: self.options.access_key.clone(),
            secret_key: self.options.secret_key.clone(),
            path_style: true,
            session_token: None,
        }
    }

    /// Stops accepting, lets open requests finish (at most 5 s), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
