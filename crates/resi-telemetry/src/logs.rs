//! Log lines: text for people, JSON for machines.

use std::io::IsTerminal;
use std::str::FromStr;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event; coloured only on a terminal.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's
    /// fields (`message` among them) at the top level, and `spans`, the
    /// fields of every span the event is in (outermost first).
    Json,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown log format {0:?}: use text or json")]
pub struct UnknownLogFormat(String);

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(UnknownLogFormat(s.to_owned())),
        }
    }
}

/// Whether text logs get ANSI colours: only on a terminal, and never with
/// `NO_COLOR` set (<https://no-color.org>).
pub fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the process's subscriber: `RESI_LOG` (an `EnvFilter`
/// directive such as `info,resi_validator=debug`) or `default_filter`.
/// A second call (tests) leaves the first subscriber in place.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_env("RESI_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    // The daemon's span fields also label the metrics it records
    // (`crate::metrics::DAEMON_LABELS`).
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(metrics_tracing_context::MetricsLayer::new());
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Text => registry.with(lines.with_ansi(colour_on_stderr())).try_init(),
        LogFormat::Json => registry
            .with(
                lines
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true),
            )
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_unknown_ones_are_refused() {
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!("TEXT".parse::<LogFormat>().unwrap(), LogFormat::Text);
        let err = "yaml".parse::<LogFormat>().unwrap_err().to_string();
        assert!(err.contains("yaml") && err.contains("json"), "{err}");
    }
}
