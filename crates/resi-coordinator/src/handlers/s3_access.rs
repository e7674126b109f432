//! S3 access, brokered: a miner's POST policy on its own folder for the
//! current epoch, a validator's read of every granted folder of a finished
//! epoch, a validator's POST policy for its results.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use resi_api::endpoint::Signing;
use resi_api::*;
use resi_core::{EpochId, Hotkey};
use resi_storage::layout::{miner_epoch_prefix, validator_epoch_prefix, ObjectKey};

use super::reply::ok;
use crate::auth::{SignedFields, Verified};
use crate::error::ApiError;
use crate::signed::{json_body, required_epoch, Signed, SignedRequest};
use crate::state::{unix, AppState};
use crate::store::{GRANT_DATA, GRANT_VALIDATORS};

/// `POST /get-folder-access`: the coldkey named must own the signing hotkey.
pub struct FolderAccess {
    body: FolderAccessRequest,
    coldkey: Hotkey,
}

impl SignedRequest for FolderAccess {
    const ENDPOINT: Endpoint = Endpoint::FolderAccess;

    async fn read(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let body: FolderAccessRequest = json_body(request, state).await?;
        let coldkey = body
            .coldkey
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("coldkey is required"))?;
        let coldkey = Hotkey::parse(coldkey).map_err(|e| ApiError::bad_request(format!("coldkey: {e}")))?;
        Ok(Self { body, coldkey })
    }

    fn fields(&self) -> &SignedFields {
        &self.body.signed
    }

    fn signing(&self) -> Signing<'_> {
        Signing::FolderAccess { coldkey: &self.coldkey }
    }

    fn check(&self, who: &Verified) -> Result<(), ApiError> {
        if who.neuron.coldkey != self.coldkey {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("hotkey {} is not owned by coldkey {}", who.hotkey, self.coldkey),
            ));
        }
        Ok(())
    }
}

pub(super) async fn folder_access(
    State(state): State<Arc<AppState>>,
    signed: Signed<FolderAccess>,
) -> Result<Response, ApiError> {
    let Signed { who, rate, .. } = signed;
    let now = state.now();
    let epoch = &state.epochs.current(&state.store, &state.policy, now).await?.stored;
    let prefix = miner_epoch_prefix(&who.hotkey, &epoch.epoch_id);
    // Validators list the folders of the hotkeys given access, never the bucket.
    state
        .store
        .record_grant(&epoch.epoch_id, GRANT_DATA, who.hotkey.as_str(), now)
        .await?;
    let form = state
        .presigner
        .post_policy(&prefix, state.max_upload_bytes, unix(now)?, unix(epoch.end_unix)?)?;
    // Read access to its own folder, so a restarted miner can see what it
    // uploaded without recording it (one page: a folder holds one object per
    // assigned zipcode and the manifest).
    let list_ttl = Duration::from_secs((epoch.end_unix - now).max(1) as u64);
    let list_url = state.presigner.list(&prefix, None, Some(1_000), unix(now)?, list_ttl)?;
    Ok(ok(
        UploadAccessResponse::new(epoch.epoch_id, prefix, form, Some(list_url)),
        Some(rate),
    ))
}

/// A validator's body naming an epoch: read access or a results upload.
pub struct ValidatorEpoch<B, const UPLOAD: bool> {
    body: B,
    epoch: EpochId,
}

/// The signed fields and the epoch of a validator's request body.
pub trait ValidatorBody: serde::de::DeserializeOwned + Send {
    fn signed(&self) -> &SignedFields;
    fn epoch_id(&self) -> Option<&str>;
}

impl ValidatorBody for ValidatorReadRequest {
    fn signed(&self) -> &SignedFields {
        &self.signed
    }
    fn epoch_id(&self) -> Option<&str> {
        self.epoch_id.as_deref()
    }
}

impl ValidatorBody for ValidatorUploadRequest {
    fn signed(&self) -> &SignedFields {
        &self.signed
    }
    fn epoch_id(&self) -> Option<&str> {
        self.epoch_id.as_deref()
    }
}

impl<B: ValidatorBody, const UPLOAD: bool> SignedRequest for ValidatorEpoch<B, UPLOAD> {
    const ENDPOINT: Endpoint = if UPLOAD {
        Endpoint::ValidatorUpload
    } else {
        Endpoint::ValidatorRead
    };

    async fn read(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let body: B = json_body(request, state).await?;
        let epoch = required_epoch(body.epoch_id())?;
        Ok(Self { body, epoch })
    }

    fn fields(&self) -> &SignedFields {
        self.body.signed()
    }

    fn signing(&self) -> Signing<'_> {
        if UPLOAD {
            Signing::ValidatorUpload { epoch: &self.epoch }
        } else {
            Signing::ValidatorRead { epoch: &self.epoch }
        }
    }
}

/// `POST /api/v1/s3-access/validator-read`.
pub type ValidatorRead = ValidatorEpoch<ValidatorReadRequest, false>;
/// `POST /api/v1/s3-access/validator-upload`.
pub type ValidatorUpload = ValidatorEpoch<ValidatorUploadRequest, true>;

pub(super) async fn validator_read(
    State(state): State<Arc<AppState>>,
    signed: Signed<ValidatorRead>,
) -> Result<Response, ApiError> {
    let Signed { rate, request, .. } = signed;
    let (body, epoch_id) = (request.body, request.epoch);
    let epoch = &state.stored_epoch(&epoch_id).await?.stored;
    let now = state.now();
    if now < epoch.end_unix {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "epoch {epoch_id} is still open: read access starts at its deadline ({} s from now)",
                epoch.end_unix - now
            ),
        ));
    }
    let kind = match body.kind.as_deref().unwrap_or(GRANT_DATA) {
        k @ (GRANT_DATA | GRANT_VALIDATORS) => k,
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("kind {other:?} is not data or validators"),
            ))
        }
    };
    let cursor = ReadCursor::parse(body.continuation_token.as_deref())?;
    // The epoch's folders are those of the hotkeys given write access for it:
    // a listing costs one S3 call per folder with objects of this epoch, never
    // a walk over every epoch in the bucket.
    let grants = state.store.grants(&epoch_id, kind).await?;
    let start = match &cursor.hotkey {
        Some(c) => grants.partition_point(|h| h < c),
        None => 0,
    };
    let mut objects = Vec::new();
    let mut next: Option<String> = None;
    let mut s3_token = cursor.s3_token;
    for (calls, hotkey) in grants[start..].iter().enumerate() {
        if calls == READ_FOLDERS_PER_PAGE || objects.len() >= READ_OBJECTS_PER_PAGE {
            next = Some(ReadCursor::encode(hotkey, None));
            break;
        }
        let Ok(owner) = Hotkey::parse(hotkey) else {
            continue;
        };
        let prefix = if kind == GRANT_DATA {
            miner_epoch_prefix(&owner, &epoch_id)
        } else {
            validator_epoch_prefix(&owner, &epoch_id)
        };
        let list_url = state.presigner.list(
            &prefix,
            s3_token.take().as_deref(),
            Some(1_000),
            unix(now)?,
            Duration::from_secs(300),
        )?;
        let page = state
            .s3
            .list_page(&list_url, &prefix)
            .await
            .map_err(ApiError::Storage)?;
        for object in page.objects {
            // Only this epoch's keys in resi's layout; anything else is skipped.
            let Ok(key) = ObjectKey::parse(&object.key) else {
                continue;
            };
            if key.epoch() != epoch_id {
                continue;
            }
            let url = state.presigner.get(&object.key, unix(now)?, state.read_url_ttl)?;
            objects.push(ReadObject {
                key: object.key,
                url,
                size: object.size,
                etag: object.etag,
                last_modified: object.last_modified_ms,
            });
        }
        if let Some(token) = page.next_continuation_token {
            next = Some(ReadCursor::encode(hotkey, Some(&token)));
            break;
        }
    }
    Ok(ok(
        ReadPage {
            success: true,
            message: format!("{} objects", objects.len()),
            epoch_id,
            objects,
            next_continuation_token: next,
        },
        Some(rate),
    ))
}

/// Largest results file a validator may upload.
const MAX_RESULTS_BYTES: u64 = 64 * 1024 * 1024;
/// How long a validator's results upload policy lives.
const RESULTS_UPLOAD_SECS: i64 = 3_600;
/// Folders listed per validator-read call (one S3 call each).
const READ_FOLDERS_PER_PAGE: usize = 64;
/// Objects per validator-read page, about.
const READ_OBJECTS_PER_PAGE: usize = 1_000;

/// Where a validator-read listing resumes: at a hotkey's folder, and inside
/// it at an S3 continuation token. Opaque to callers: `{hotkey}` or
/// `{hotkey}/{s3Token}`.
struct ReadCursor {
    hotkey: Option<String>,
    s3_token: Option<String>,
}

impl ReadCursor {
    fn parse(token: Option<&str>) -> Result<Self, ApiError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(Self {
                hotkey: None,
                s3_token: None,
            });
        };
        let (hotkey, s3_token) = match token.split_once('/') {
            Some((h, t)) => (h, Some(t.to_owned())),
            None => (token, None),
        };
        Hotkey::parse(hotkey).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "continuationToken is not one this coordinator made",
            )
        })?;
        Ok(Self {
            hotkey: Some(hotkey.to_owned()),
            s3_token,
        })
    }

    fn encode(hotkey: &str, s3_token: Option<&str>) -> String {
        match s3_token {
            Some(t) => format!("{hotkey}/{t}"),
            None => hotkey.to_owned(),
        }
    }
}

pub(super) async fn validator_upload(
    State(state): State<Arc<AppState>>,
    signed: Signed<ValidatorUpload>,
) -> Result<Response, ApiError> {
    let Signed { who, rate, request } = signed;
    let epoch_id = request.epoch;
    if !state.store.epoch_exists(&epoch_id).await? {
        return Err(ApiError::unknown_epoch(epoch_id));
    }
    let now = state.now();
    let prefix = validator_epoch_prefix(&who.hotkey, &epoch_id);
    state
        .store
        .record_grant(&epoch_id, GRANT_VALIDATORS, who.hotkey.as_str(), now)
        .await?;
    let form = state
        .presigner
        .post_policy(&prefix, MAX_RESULTS_BYTES, unix(now)?, unix(now + RESULTS_UPLOAD_SECS)?)?;
    Ok(ok(UploadAccessResponse::new(epoch_id, prefix, form, None), Some(rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT";

    #[test]
    fn read_cursors_round_trip_and_refuse_strangers() {
        // S3 continuation tokens are opaque and may hold '/': only the first one splits.
        for s3 in [None, Some("abc"), Some("a/b+c==")] {
            let cursor = ReadCursor::parse(Some(&ReadCursor::encode(H, s3))).unwrap();
            assert_eq!(cursor.hotkey.as_deref(), Some(H));
            assert_eq!(cursor.s3_token.as_deref(), s3);
        }
        let start = ReadCursor::parse(Some("")).unwrap();
        assert!(start.hotkey.is_none() && start.s3_token.is_none());
        let refused = ReadCursor::parse(Some("data/hotkey=x/")).err().unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }
}
