//! Configuration files and the environment layer, for every daemon.
//!
//! Each daemon's config module owns its defaults (`Default` and serde
//! defaults) and applies the layers in one order: file, then `RESI_*`
//! variables, then flags.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {cause}")]
    Parse { path: PathBuf, cause: toml::de::Error },
    #[error("{variable}={value:?}: {reason}")]
    Env {
        variable: String,
        value: String,
        reason: String,
    },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Reads a TOML configuration file; errors name the file, and the line and key where TOML can.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        cause: source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        cause: source,
    })
}

/// The environment layer: `RESI_{NAME}` parsed with `FromStr`, if set.
/// An unparsable value is an error naming the variable, never ignored.
pub fn env_var<T>(name: &str) -> Result<Option<T>, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let variable = format!("RESI_{name}");
    match std::env::var(&variable) {
        Ok(value) => value.parse().map(Some).map_err(|e: T::Err| ConfigError::Env {
            reason: e.to_string(),
            variable,
            value,
        }),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Env {
            variable,
            value: String::new(),
            reason: "not valid UTF-8".into(),
        }),
    }
}

/// Where a miner or validator serves its Prometheus metrics: a socket
/// address (loopback by default; port 0 picks one) or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum MetricsListen {
    Off,
    At(std::net::SocketAddr),
}

impl std::str::FromStr for MetricsListen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "off" | "none" | "" => Ok(MetricsListen::Off),
            addr => addr
                .parse()
                .map(MetricsListen::At)
                .map_err(|e| format!("metrics_listen {addr:?}: {e} (use HOST:PORT, e.g. 127.0.0.1:9184, or off)")),
        }
    }
}

impl TryFrom<String> for MetricsListen {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<MetricsListen> for String {
    fn from(m: MetricsListen) -> String {
        match m {
            MetricsListen::Off => "off".into(),
            MetricsListen::At(addr) => addr.to_string(),
        }
    }
}

/// Applies one layer: `value` replaces `slot` when present.
pub fn layer<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[allow(dead_code)]
        port: u16,
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let dir = std::env::temp_dir().join(format!("resi-runtime-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "port = 1\nbogus = 2\n").unwrap();
        let message = read_toml::<Sample>(&path).unwrap_err().to_string();
        assert!(message.contains("bad.toml") && message.contains("bogus"), "{message}");
        let missing = read_toml::<Sample>(&dir.join("missing.toml")).unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn metrics_listen_is_an_address_or_off() {
        assert_eq!("off".parse::<MetricsListen>().unwrap(), MetricsListen::Off);
        assert_eq!(
            "127.0.0.1:0".parse::<MetricsListen>().unwrap(),
            MetricsListen::At(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        let err = "localhost".parse::<MetricsListen>().unwrap_err();
        assert!(err.contains("HOST:PORT"), "{err}");
    }

    #[test]
    fn layers_replace_only_when_present() {
        let mut port = 1u16;
        layer(&mut port, None);
        assert_eq!(port, 1);
        layer(&mut port, Some(2));
        assert_eq!(port, 2);
        assert!(env_var::<u16>("SURELY_UNSET_FOR_THIS_TEST").unwrap().is_none());
    }
}
