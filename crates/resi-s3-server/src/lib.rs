//! resi-s3-server: a real S3 endpoint in-process, for development and
//! tests: the `s3s` protocol layer (SigV4 signatures, presigned URLs, POST
//! policies) over `s3s-fs` storage, on loopback with an OS-assigned port.
//! `resi s3 serve`, `resi coordinator --dev`, the devnet and the tests use
//! it; production points at AWS S3, MinIO, R2 or Garage instead.
//!
//! The wrapper around `s3s-fs` (`etag_fs`) refuses keys with empty, `.` or
//! `..` segments for every operation, so POST policies cannot be escaped,
//! and gives POST uploads an MD5 ETag as S3 does.
//!
//! Architecture invariant: only development paths depend on this crate;
//! miners, validators and the coordinator library never do.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod etag_fs;
pub mod server;

pub use server::{generate_credentials, EmbeddedS3, EmbeddedS3Options};
