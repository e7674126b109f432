//! resi-storage: every byte of mined data moves through S3-compatible storage.
//!
//! [`layout`] builds and parses the bucket's keys (PROTOCOL.md §3); [`presign`]
//! signs GET/PUT/List URLs and browser-POST policies (AWS SigV4); [`client`]
//! talks to any S3-compatible service through those URLs, with retries;
//! [`aws`] reads the standard AWS variables and credential files; [`bucket`]
//! is a bucket this process holds the keys to (a validator's dataset).
//! (The embedded S3 server for development is `resi-s3-server`.)
//!
//! Architecture invariant: no protocol rules here (what a valid submission
//! is belongs to `resi-core`); storage moves bytes and says exactly which key
//! and which attempt failed when it cannot.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod aws;
pub mod bucket;
pub mod client;
pub mod layout;
pub mod presign;
pub mod transport;

pub use aws::AwsSettings;
pub use bucket::Bucket;
pub use client::{ObjectInfo, RetryPolicy, S3Client, StorageError};
pub use layout::ObjectKey;
pub use presign::{PostForm, Presigner, S3Config};
