//! A failed HTTP exchange in words an operator can act on.

use std::error::Error;

/// The host the request was for, what failed, and the deepest cause:
/// `127.0.0.1:8080: cannot connect: Connection refused (os error 111)`.
/// Never the URL itself: a presigned URL carries its signature, and a long
/// URL hides the cause at the end of the line.
pub fn describe(e: &reqwest::Error) -> String {
    let host = e
        .url()
        .and_then(|u| {
            let host = u.host_str()?;
            Some(match u.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| "the server".to_owned());
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_builder() {
        "the request could not be built"
    } else {
        "the request failed"
    };
    // reqwest's own text names the URL; its causes do not.
    let mut deepest = None;
    let mut source = e.source();
    while let Some(cause) = source {
        deepest = Some(cause);
        source = cause.source();
    }
    match deepest.map(ToString::to_string).filter(|c| !c.is_empty()) {
        Some(cause) if !cause.contains(what) => format!("{host}: {what}: {cause}"),
        _ => format!("{host}: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_names_the_host_and_the_cause_not_the_url() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/bucket/key?X-Amz-Signature=deadbeef");
        let err = reqwest::get(&url).await.unwrap_err();
        let text = describe(&err);
        assert!(text.starts_with(&format!("127.0.0.1:{port}: cannot connect")), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert!(!text.contains("Signature") && !text.contains("/bucket"), "{text}");
    }
}
