//! `s3s-fs` with two gaps filled.
//!
//! - Keys are checked before they reach the file system: `s3s-fs` maps a key
//!   to a path, so `a/../../b` would escape the folder a POST policy's
//!   `starts-with` condition granted (the policy compares the raw key). Keys
//!   with an empty, `.` or `..` segment (percent-encoded too: `%2e%2e`), a
//!   leading `/`, a backslash, a NUL or an encoded `/`, backslash or NUL are
//!   refused with `InvalidArgument` (400), for every operation that names a key;
//!   what remains is its own normal form, so the policy's prefix check holds.
//! - A browser-form POST answers 204 without the ETag header AWS sends, so
//!   uploaders could not record what they stored; it is added.
//! - A key naming a folder of its storage (a prefix of other keys) fails
//!   with 500 where S3 answers 404; it answers 404.
//! - Its ListObjectsV2 leaves out ETags, which validators need, so listings are
//!   completed from the ETag `s3s-fs` stores beside every object it writes.

use std::path::PathBuf;

use base64::Engine as _;
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput, CompleteMultipartUploadOutput,
    CopyObjectInput, CopyObjectOutput, CreateBucketInput, CreateBucketOutput, CreateMultipartUploadInput,
    CreateMultipartUploadOutput, DeleteBucketInput, DeleteBucketOutput, DeleteObjectInput, DeleteObjectOutput,
    DeleteObjectsInput, DeleteObjectsOutput, ETag, GetBucketLocationInput, GetBucketLocationOutput, GetObjectInput,
    GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListBucketsInput,
    ListBucketsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output, ListPartsInput,
    ListPartsOutput, PostObjectInput, PostObjectOutput, PutObjectInput, PutObjectOutput, UploadPartCopyInput,
    UploadPartCopyOutput, UploadPartInput, UploadPartOutput,
};
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;

pub(crate) struct ListingEtags {
    pub(crate) inner: FileSystem,
    pub(crate) root: PathBuf,
}

impl ListingEtags {
    /// The ETag `s3s-fs` saved for `key` in its internal metadata file.
    async fn stored_etag(&self, bucket: &str, key: &str) -> Option<String> {
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let path = self.root.join(format!(
            ".bucket-{}.object-{}.internal.json",
            encode(bucket),
            encode(key)
        ));
        let bytes = tokio::fs::read(path).await.ok()?;
        let info: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        info.get("e_tag")?.as_str().map(str::to_owned)
    }
}

impl ListingEtags {
    /// A key naming a folder of `s3s-fs`'s storage (a prefix of other keys,
    /// `dataset/listings`) is no object: 404 `NoSuchKey`, as S3 answers,
    /// where `s3s-fs` fails with 500 reading a folder as a file. Readers
    /// such as pyarrow ask for a prefix that way before listing it.
    fn no_folder(&self, bucket: &str, key: &str) -> S3Result<()> {
        if self.root.join(bucket).join(key).is_dir() {
            return Err(s3_error!(NoSuchKey));
        }
        Ok(())
    }
}

/// Why `key` may not be stored, if it may not.
pub fn unsafe_key_reason(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        return Some("the key is empty");
    }
    if key.starts_with('/') {
        return Some("the key starts with '/'");
    }
    if key.contains('\\') || key.contains('\0') {
        return Some("the key contains a backslash or NUL");
    }
    if key
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Some("the key has an empty, '.' or '..' segment");
    }
    if key.split('/').any(is_encoded_dot_segment) {
        return Some("the key has a percent-encoded '.' or '..' segment");
    }
    let lower = key.to_ascii_lowercase();
    if ["%2f", "%5c", "%00"].iter().any(|escape| lower.contains(escape)) {
        return Some("the key contains a percent-encoded '/', backslash or NUL");
    }
    None
}

/// A segment that is `.` or `..` once its `%2e` escapes are decoded, however
/// often they were encoded (`%2e%2e`, `.%2E`, `%252e%252e`): stored as it
/// is, it would become a traversal for any reader that decodes keys.
fn is_encoded_dot_segment(segment: &str) -> bool {
    let mut decoded = segment.to_ascii_lowercase();
    // Each round undoes one layer of encoding; a real key has no such layers.
    for _ in 0..4 {
        let next = decoded.replace("%25", "%").replace("%2e", ".");
        if next == decoded {
            break;
        }
        decoded = next;
    }
    decoded != segment && (decoded == "." || decoded == "..")
}

fn check_key(key: &str) -> S3Result<()> {
    match unsafe_key_reason(key) {
        None => Ok(()),
        Some(reason) => {
            let shown: String = key.chars().take(200).collect();
            tracing::warn!(key = %shown, "refused an object key: {reason}");
            Err(s3_error!(InvalidArgument, "object key {shown:?} refused: {reason}"))
        }
    }
}

#[async_trait::async_trait]
impl S3 for ListingEtags {
    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        let mut response = self.inner.list_objects_v2(req).await?;
        for object in response.output.contents.iter_mut().flatten() {
            if object.e_tag.is_none() {
                if let Some(key) = object.key.as_deref() {
                    object.e_tag = self.stored_etag(&bucket, key).await.map(ETag::Strong);
                }
            }
        }
        Ok(response)
    }

    async fn post_object(&self, req: S3Request<PostObjectInput>) -> S3Result<S3Response<PostObjectOutput>> {
        check_key(&req.input.key)?;
        let mut response = self.inner.post_object(req).await?;
        if let Some(etag) = &response.output.e_tag {
            if let Ok(value) = format!("\"{}\"", etag.value()).parse() {
                response.headers.insert(hyper::header::ETAG, value);
            }
        }
        Ok(response)
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        check_key(&req.input.key)?;
        if let s3s::dto::CopySource::Bucket { key, .. } = &req.input.copy_source {
            check_key(key)?;
        }
        self.inner.copy_object(req).await
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.inner.delete_bucket(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        check_key(&req.input.key)?;
        self.inner.delete_object(req).await
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        for object in &req.input.delete.objects {
            check_key(&object.key)?;
        }
        self.inner.delete_objects(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.inner.get_bucket_location(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        check_key(&req.input.key)?;
        self.no_folder(&req.input.bucket, &req.input.key)?;
        self.inner.get_object(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        check_key(&req.input.key)?;
        self.no_folder(&req.input.bucket, &req.input.key)?;
        self.inner.head_object(req).await
    }

    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        self.inner.list_buckets(req).await
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        self.inner.list_objects(req).await
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        check_key(&req.input.key)?;
        self.inner.put_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        check_key(&req.input.key)?;
        self.inner.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        check_key(&req.input.key)?;
        self.inner.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        check_key(&req.input.key)?;
        self.inner.upload_part_copy(req).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        check_key(&req.input.key)?;
        self.inner.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        check_key(&req.input.key)?;
        self.inner.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        check_key(&req.input.key)?;
        self.inner.abort_multipart_upload(req).await
    }
}
