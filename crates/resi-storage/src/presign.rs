//! AWS Signature V4 presigning: GET, PUT and ListObjectsV2 URLs (through
//! `rusty-s3`, a small, well-kept signer without an SDK runtime), and browser
//! POST policies (the policy document is ours; its signature uses the SigV4
//! signing key, derived with the `hmac` and `sha2` crates).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::macros::format_description;
use time::OffsetDateTime;
use url::Url;

/// Where the bucket is and how to sign for it.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct S3Config {
    /// `https://s3.us-east-1.amazonaws.com`, `http://127.0.0.1:9000`, …
    pub endpoint: Url,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// Path-style (`endpoint/bucket/key`) instead of virtual-host-style
    /// (`bucket.endpoint/key`). MinIO, Garage and IP endpoints need it.
    #[serde(default)]
    pub path_style: bool,
    /// The session token of temporary credentials (an assumed role, SSO);
    /// signed URLs and POST policies carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint.as_str())
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresignError {
    #[error("invalid S3 endpoint or bucket: {0}")]
    Bucket(String),
    #[error("presigned URLs live between 1 s and 7 days, asked for {0} s")]
    BadExpiry(u64),
    #[error("policy expiration {0} is not after its signing time")]
    ExpiredPolicy(String),
}

/// A presigned browser-POST upload: send a `multipart/form-data` POST to
/// `url` with every field of `fields`, a `key` field under `key_prefix`, and
/// the file last as `file`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PostForm {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub url: Url,
    pub key_prefix: String,
    pub max_bytes: u64,
    /// RFC 3339 expiry of the policy.
    pub expires_at: String,
    pub fields: BTreeMap<String, String>,
}

/// Signs URLs and policies for one bucket.
#[derive(Clone, Debug)]
pub struct Presigner {
    config: S3Config,
    bucket: Bucket,
    credentials: Credentials,
}

const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

fn jiff_time(at: OffsetDateTime) -> jiff::Timestamp {
    jiff::Timestamp::from_second(at.unix_timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl Presigner {
    pub fn new(config: S3Config) -> Result<Self, PresignError> {
        let style = if config.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            config.endpoint.clone(),
            style,
            config.bucket.clone(),
            config.region.clone(),
        )
        .map_err(|e| PresignError::Bucket(e.to_string()))?;
        let credentials = match &config.session_token {
            Some(token) => {
                Credentials::new_with_token(config.access_key.clone(), config.secret_key.clone(), token.clone())
            }
            None => Credentials::new(config.access_key.clone(), config.secret_key.clone()),
        };
        Ok(Self {
            config,
            bucket,
            credentials,
        })
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// The bucket's base URL (where POST forms go).
    pub fn bucket_url(&self) -> &Url {
        self.bucket.base_url()
    }

    fn check(expires_in: Duration) -> Result<(), PresignError> {
        if expires_in < Duration::from_secs(1) || expires_in > MAX_EXPIRY {
            return Err(PresignError::BadExpiry(expires_in.as_secs()));
        }
        Ok(())
    }

    /// A GET URL for `key`, valid for `expires_in` from `now`.
    pub fn get(&self, key: &str, now: OffsetDateTime, expires_in: Duration) -> Result<Url, PresignError> {
        Self::check(expires_in)?;
        Ok(self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign_with_time(expires_in, &jiff_time(now)))
    }

    /// A PUT URL for `key`.
    pub fn put(&self, key: &str, now: OffsetDateTime, expires_in: Duration) -> Result<Url, PresignError> {
        Self::check(expires_in)?;
        Ok(self
            .bucket
            .put_object(Some(&self.credentials), key)
            .sign_with_time(expires_in, &jiff_time(now)))
    }

    /// A ListObjectsV2 URL for one page under `prefix`.
    pub fn list(
        &self,
        prefix: &str,
        continuation_token: Option<&str>,
        max_keys: Option<usize>,
        now: OffsetDateTime,
        expires_in: Duration,
    ) -> Result<Url, PresignError> {
        Self::check(expires_in)?;
        let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
        action.with_prefix(prefix);
        if let Some(token) = continuation_token {
            action.with_continuation_token(token);
        }
        if let Some(max) = max_keys {
            action.with_max_keys(max);
        }
        Ok(action.sign_with_time(expires_in, &jiff_time(now)))
    }

    /// A browser-POST policy: keys must start with `key_prefix`, bodies are
    /// at most `max_bytes`, and the policy expires at `expires_at`.
    pub fn post_policy(
        &self,
        key_prefix: &str,
        max_bytes: u64,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<PostForm, PresignError> {
        let rfc3339 = |t: OffsetDateTime| {
            t.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
            ))
            .unwrap_or_default()
        };
        if expires_at <= now {
            return Err(PresignError::ExpiredPolicy(rfc3339(expires_at)));
        }
        let now = now.to_offset(time::UtcOffset::UTC);
        let amz_date = now
            .format(format_description!("[year][month][day]T[hour][minute][second]Z"))
            .unwrap_or_default();
        let date = &amz_date[..8];
        let credential = format!(
            "{}/{date}/{}/s3/aws4_request",
            self.config.access_key, self.config.region
        );
        let mut conditions = vec![
            serde_json::json!({"bucket": self.config.bucket}),
            serde_json::json!(["starts-with", "$key", key_prefix]),
            serde_json::json!(["content-length-range", 0, max_bytes]),
            serde_json::json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
            serde_json::json!({"x-amz-credential": credential}),
            serde_json::json!({"x-amz-date": amz_date}),
        ];
        if let Some(token) = &self.config.session_token {
            conditions.push(serde_json::json!({"x-amz-security-token": token}));
        }
        let policy = serde_json::json!({
            "expiration": rfc3339(expires_at.to_offset(time::UtcOffset::UTC)),
            "conditions": conditions,
        });
        let encoded = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signature = hex::encode(hmac(&self.signing_key(date), encoded.as_bytes()));
        let mut fields = BTreeMap::from([
            ("policy".to_owned(), encoded),
            ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential".to_owned(), credential),
            ("x-amz-date".to_owned(), amz_date.clone()),
            ("x-amz-signature".to_owned(), signature),
        ]);
        if let Some(token) = &self.config.session_token {
            fields.insert("x-amz-security-token".to_owned(), token.clone());
        }
        Ok(PostForm {
            url: self.bucket.base_url().clone(),
            key_prefix: key_prefix.to_owned(),
            max_bytes,
            expires_at: rfc3339(expires_at.to_offset(time::UtcOffset::UTC)),
            fields,
        })
    }

    /// SigV4 signing key: HMAC chain over date, region, service, terminator.
    fn signing_key(&self, date: &str) -> Vec<u8> {
        let k_date = hmac(format!("AWS4{}", self.config.secret_key).as_bytes(), date.as_bytes());
        let k_region = hmac(&k_date, self.config.region.as_bytes());
        let k_service = hmac(&k_region, b"s3");
        hmac(&k_service, b"aws4_request")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC-SHA256 takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path_style: bool) -> S3Config {
        S3Config {
            endpoint: "https://s3.eu-west-1.amazonaws.com".parse().unwrap(),
            region: "eu-west-1".into(),
            bucket: "resi-data".into(),
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            path_style,
            session_token: None,
        }
    }

    #[test]
    fn urls_in_both_styles() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let ttl = Duration::from_secs(600);
        let virt = Presigner::new(config(false)).unwrap();
        let url = virt.get("data/x.parquet", now, ttl).unwrap();
        assert!(
            url.as_str()
                .starts_with("https://resi-data.s3.eu-west-1.amazonaws.com/data/x.parquet?"),
            "{url}"
        );
        assert!(url.as_str().contains("X-Amz-Expires=600"));
        assert!(url
            .as_str()
            .contains("X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Feu-west-1%2Fs3%2Faws4_request"));
        let path = Presigner::new(config(true)).unwrap();
        let url = path.put("data/x.parquet", now, ttl).unwrap();
        assert!(
            url.as_str()
                .starts_with("https://s3.eu-west-1.amazonaws.com/resi-data/data/x.parquet?"),
            "{url}"
        );
        let list = path.list("data/", Some("tok"), Some(10), now, ttl).unwrap();
        assert!(
            list.as_str().contains("list-type=2") && list.as_str().contains("continuation-token=tok"),
            "{list}"
        );
        assert!(path.get("k", now, Duration::from_secs(8 * 24 * 3600)).is_err());
        assert!(!format!("{:?}", config(true)).contains("wJalr"));
    }

    #[test]
    fn signing_key_matches_the_aws_documentation_example() {
        // AWS SigV4 documentation: secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
        // 20120215, us-east-1, iam.
        let k_date = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215");
        let k_region = hmac(&k_date, b"us-east-1");
        let k_service = hmac(&k_region, b"iam");
        let key = hmac(&k_service, b"aws4_request");
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn post_policy_fields() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let p = Presigner::new(config(true)).unwrap();
        let form = p
            .post_policy("data/hotkey=x/epoch=y/", 1024, now, now + Duration::from_secs(3600))
            .unwrap();
        let policy = base64::engine::general_purpose::STANDARD
            .decode(&form.fields["policy"])
            .unwrap();
        let policy: serde_json::Value = serde_json::from_slice(&policy).unwrap();
        assert_eq!(policy["expiration"], "2023-11-14T23:13:20.000Z");
        assert_eq!(
            policy["conditions"][1],
            serde_json::json!(["starts-with", "$key", "data/hotkey=x/epoch=y/"])
        );
        assert_eq!(
            policy["conditions"][2],
            serde_json::json!(["content-length-range", 0, 1024])
        );
        assert_eq!(form.fields["x-amz-date"], "20231114T221320Z");
        assert_eq!(form.fields["x-amz-signature"].len(), 64);
        assert!(p.post_policy("p/", 1, now, now).is_err());
    }
}
