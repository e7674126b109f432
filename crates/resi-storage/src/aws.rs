//! The standard AWS settings, read the way the AWS CLI and SDKs read them,
//! so an operator's existing credentials work unchanged:
//!
//! - keys: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and
//!   `AWS_SESSION_TOKEN`), else the profile's `aws_access_key_id` /
//!   `aws_secret_access_key` / `aws_session_token` in the shared credentials
//!   file, else in the config file;
//! - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, else the profile's `region`;
//! - endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else the profile's
//!   `endpoint_url`;
//! - the profile: `AWS_PROFILE` (else `default`); the files:
//!   `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`) and
//!   `AWS_CONFIG_FILE` (else `~/.aws/config`, sections `[profile NAME]`).
//!
//! These are defaults under resi's own settings, which take precedence. The
//! INI files are parsed by `rust-ini`. Not supported: SSO, `credential_process`,
//! assumed roles and instance metadata (export the temporary keys instead).

use std::path::{Path, PathBuf};

use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum AwsSettingsError {
    #[error("reading {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{variable}={value:?} is not a URL: {reason}")]
    Endpoint {
        variable: String,
        value: String,
        reason: String,
    },
    #[error("{0} is set without its pair (set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")]
    HalfAKey(&'static str),
}

/// What the AWS environment says about S3; every part is optional.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub endpoint: Option<Url>,
    pub region: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
    /// Where the keys came from (`environment`, or a file and profile), for
    /// the coordinator's start-up line; never the keys themselves.
    pub credentials_from: Option<String>,
}

impl std::fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSettings")
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .field("credentials_from", &self.credentials_from)
            .finish()
    }
}

impl AwsSettings {
    /// From this process's environment and the files it names.
    pub fn from_process() -> Result<Self, AwsSettingsError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Self::from_env(|name| std::env::var(name).ok(), home.as_deref())
    }

    /// From the variables `env` returns and the files they (or `home`) name.
    pub fn from_env(env: impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Result<Self, AwsSettingsError> {
        let var = |name: &str| env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        let file = |variable: &str, default: &str| {
            var(variable)
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(default)))
        };
        let credentials_file = file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
        let config_file = file("AWS_CONFIG_FILE", ".aws/config");
        let credentials_section = read_section(credentials_file.as_deref(), &profile)?;
        // The config file names profiles `[profile NAME]`, except `[default]`.
        let config_section = match read_section(config_file.as_deref(), &format!("profile {profile}"))? {
            Some(section) => Some(section),
            None if profile == "default" => read_section(config_file.as_deref(), "default")?,
            None => None,
        };
        let mut settings = AwsSettings::default();
        match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(access), Some(secret)) => {
                settings.access_key = Some(access);
                settings.secret_key = Some(secret);
                settings.session_token = var("AWS_SESSION_TOKEN");
                settings.credentials_from = Some("environment".into());
            }
            (Some(_), None) => return Err(AwsSettingsError::HalfAKey("AWS_ACCESS_KEY_ID")),
            (None, Some(_)) => return Err(AwsSettingsError::HalfAKey("AWS_SECRET_ACCESS_KEY")),
            (None, None) => {
                for (section, path) in [
                    (&credentials_section, &credentials_file),
                    (&config_section, &config_file),
                ] {
                    let Some(section) = section else { continue };
                    if let (Some(access), Some(secret)) =
                        (section.get("aws_access_key_id"), section.get("aws_secret_access_key"))
                    {
                        settings.access_key = Some(access.clone());
                        settings.secret_key = Some(secret.clone());
                        settings.session_token = section.get("aws_session_token").cloned();
                        settings.credentials_from =
                            path.as_ref().map(|p| format!("{} (profile {profile})", p.display()));
                        break;
                    }
                }
            }
        }
        let from_config = |key: &str| config_section.as_ref().and_then(|s| s.get(key).cloned());
        settings.region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .or_else(|| from_config("region"));
        let endpoint = [
            ("AWS_ENDPOINT_URL_S3", var("AWS_ENDPOINT_URL_S3")),
            ("AWS_ENDPOINT_URL", var("AWS_ENDPOINT_URL")),
        ]
        .into_iter()
        .find_map(|(name, value)| value.map(|v| (name.to_owned(), v)))
        .or_else(|| from_config("endpoint_url").map(|v| (format!("endpoint_url of profile {profile}"), v)));
        if let Some((variable, value)) = endpoint {
            let url = Url::parse(&value).map_err(|e| AwsSettingsError::Endpoint {
                variable,
                value: value.clone(),
                reason: e.to_string(),
            })?;
            settings.endpoint = Some(url);
        }
        Ok(settings)
    }

    /// AWS's own endpoint for the region, when no endpoint is set.
    pub fn endpoint_or_regional(&self) -> Option<Url> {
        self.endpoint.clone().or_else(|| {
            let region = self.region.as_deref()?;
            Url::parse(&format!("https://s3.{region}.amazonaws.com")).ok()
        })
    }
}

type Section = std::collections::BTreeMap<String, String>;

/// The keys of `[name]` in the INI file at `path`; none when the file or
/// the section does not exist.
fn read_section(path: Option<&Path>, name: &str) -> Result<Option<Section>, AwsSettingsError> {
    let Some(path) = path else { return Ok(None) };
    if !path.exists() {
        return Ok(None);
    }
    let ini = ini::Ini::load_from_file(path).map_err(|e| AwsSettingsError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(ini.section(Some(name)).map(|s| {
        s.iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)], home: Option<&Path>) -> Result<AwsSettings, AwsSettingsError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AwsSettings::from_env(|name| vars.get(name).cloned(), home)
    }

    fn home_with(credentials: &str, config: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        std::fs::write(home.path().join(".aws/credentials"), credentials).unwrap();
        std::fs::write(home.path().join(".aws/config"), config).unwrap();
        home
    }

    const CREDENTIALS: &str = "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n\n\
        [ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret\naws_session_token = ops-token\n";
    const CONFIG: &str = "[default]\nregion = eu-west-1\n\n[profile ops]\nregion = auto\n\
        endpoint_url = https://account.r2.cloudflarestorage.com\n";

    #[test]
    fn nothing_set_is_nothing() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(settings(&[], Some(empty.path())).unwrap(), AwsSettings::default());
        assert_eq!(settings(&[], None).unwrap(), AwsSettings::default());
    }

    #[test]
    fn the_default_profile_from_the_shared_files() {
        let home = home_with(CREDENTIALS, CONFIG);
        let s = settings(&[], Some(home.path())).unwrap();
        assert_eq!(s.access_key.as_deref(), Some("AKIDDEFAULT"));
        assert_eq!(s.secret_key.as_deref(), Some("default-secret"));
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.endpoint, None);
        assert_eq!(
            s.endpoint_or_regional().unwrap().as_str(),
            "https://s3.eu-west-1.amazonaws.com/"
        );
        assert!(s.credentials_from.unwrap().contains("profile default"));
    }

    #[test]
    fn aws_profile_picks_a_named_profile_in_both_files() {
        let home = home_with(CREDENTIALS, CONFIG);
        let s = settings(&[("AWS_PROFILE", "ops")], Some(home.path())).unwrap();
        assert_eq!(s.access_key.as_deref(), Some("AKIDOPS"));
        assert_eq!(s.session_token.as_deref(), Some("ops-token"));
        assert_eq!(s.region.as_deref(), Some("auto"));
        assert_eq!(
            s.endpoint.unwrap().as_str(),
            "https://account.r2.cloudflarestorage.com/"
        );
    }

    #[test]
    fn variables_win_over_the_files() {
        let home = home_with(CREDENTIALS, CONFIG);
        let s = settings(
            &[
                ("AWS_ACCESS_KEY_ID", "AKIDENV"),
                ("AWS_SECRET_ACCESS_KEY", "env-secret"),
                ("AWS_REGION", "us-west-2"),
                ("AWS_DEFAULT_REGION", "ignored-1"),
                ("AWS_ENDPOINT_URL", "http://minio.internal:9000"),
            ],
            Some(home.path()),
        )
        .unwrap();
        assert_eq!(s.access_key.as_deref(), Some("AKIDENV"));
        assert_eq!(s.secret_key.as_deref(), Some("env-secret"));
        assert_eq!(s.session_token, None);
        assert_eq!(s.region.as_deref(), Some("us-west-2"));
        assert_eq!(s.endpoint.unwrap().as_str(), "http://minio.internal:9000/");
        assert_eq!(s.credentials_from.as_deref(), Some("environment"));
        // The S3-specific endpoint variable wins over the general one.
        let s3 = settings(
            &[
                ("AWS_ENDPOINT_URL", "http://a:1"),
                ("AWS_ENDPOINT_URL_S3", "http://b:2"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s3.endpoint.unwrap().as_str(), "http://b:2/");
    }

    #[test]
    fn other_file_locations_come_from_their_variables() {
        let dir = tempfile::tempdir().unwrap();
        let (credentials, config) = (dir.path().join("creds"), dir.path().join("conf"));
        std::fs::write(&credentials, CREDENTIALS).unwrap();
        std::fs::write(&config, CONFIG).unwrap();
        let s = settings(
            &[
                ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
                ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s.access_key.as_deref(), Some("AKIDDEFAULT"));
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn mistakes_are_named() {
        let half = settings(&[("AWS_ACCESS_KEY_ID", "AKID")], None)
            .unwrap_err()
            .to_string();
        assert!(half.contains("AWS_SECRET_ACCESS_KEY"), "{half}");
        let bad = settings(&[("AWS_ENDPOINT_URL", "not a url")], None)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("AWS_ENDPOINT_URL") && bad.contains("not a url"), "{bad}");
        let home = home_with("[default\naws_access_key_id = x\n", "");
        let broken = settings(&[], Some(home.path())).unwrap_err().to_string();
        assert!(broken.contains("credentials"), "{broken}");
        // A secret never shows in debug output.
        let s = settings(
            &[("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "hush")],
            None,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hush"));
    }
}
