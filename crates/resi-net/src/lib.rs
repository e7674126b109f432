//! Serving HTTP the way every resi server must.
//!
//! `axum::serve` never closes a connection on its own: an idle socket, a
//! client that sends its headers a byte a minute or a body that never ends
//! each hold a file descriptor forever, and a few hundred of them stop a
//! server. [`serve_connections`] (any hyper service: the embedded S3 server)
//! and [`serve`] (axum routers, feature `axum`) accept at most [`Limits::max_connections`] connections
//! at a time (the rest wait in the kernel's backlog), closes a connection
//! whose request headers do not arrive within [`Limits::header_read`] (idle
//! keep-alive connections included), answers 408 to a request (body and
//! handler) that takes longer than [`Limits::request`], and stops on the
//! shutdown future, letting open requests finish for a few seconds.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The limits of one server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time for a request's headers to arrive, and for the next request on
    /// an idle keep-alive connection.
    pub header_read: Duration,
    /// Time for a whole request: reading its body and answering it.
    pub request: Duration,
    /// How long open requests may finish after shutdown.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1_024,
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(60),
            drain: Duration::from_secs(5),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves the hyper service `service_for(peer)` makes for each connection on
/// `listener`, within `limits`, until `shutdown` completes. A request not
/// answered within [`Limits::request`] ends its connection.
pub async fn serve_connections<S, B>(
    listener: TcpListener,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    service_for: impl Fn(SocketAddr) -> S,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    // HTTP/1 only: protocol detection (`auto`) would wait for the first
    // bytes without a timeout.
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = Deadline {
            inner: service_for(peer),
            limit: limits.request,
        };
        let conn = graceful.watch(http.serve_connection(TokioIo::new(socket), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(limits.drain) => {},
    }
}

/// A service whose requests end (and end their connection) after `limit`.
struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S, R> hyper::service::Service<R> for Deadline<S>
where
    S: hyper::service::Service<R>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn call(&self, request: R) -> Self::Future {
        let (answer, limit) = (self.inner.call(request), self.limit);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(format!("request not completed within {} s", limit.as_secs()).into()),
            }
        })
    }
}

/// Serves `router` on `listener` until `shutdown` completes. Handlers see the
/// peer address as `ConnectInfo<SocketAddr>`; a request over the deadline is
/// answered 408 with resi's JSON error body.
#[cfg(feature = "axum")]
pub async fn serve(listener: TcpListener, router: axum::Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    use axum::extract::ConnectInfo;
    use hyper_util::service::TowerToHyperService;
    let router = router.layer(axum::middleware::from_fn(move |request, next| {
        request_deadline(request, next, limits.request)
    }));
    // The router answers first (408 JSON); the connection's own deadline is a backstop.
    let outer = Limits {
        request: limits.request + Duration::from_secs(5),
        ..limits
    };
    serve_connections(listener, outer, shutdown, move |peer| {
        TowerToHyperService::new(router.clone().layer(axum::Extension(ConnectInfo(peer))))
    })
    .await;
}

#[cfg(feature = "axum")]
async fn request_deadline(
    request: axum::extract::Request,
    next: axum::middleware::Next,
    limit: Duration,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            axum::http::StatusCode::REQUEST_TIMEOUT,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json_body(limit),
        )
            .into_response(),
    }
}

#[cfg(feature = "axum")]
fn json_body(limit: Duration) -> axum::body::Bytes {
    axum::body::Bytes::from(format!(
        "{{\"statusCode\":408,\"message\":[\"request not completed within {} s\"],\"error\":\"Request Timeout\"}}",
        limit.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(limits: Limits) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = |_| async { Ok::<_, std::convert::Infallible>(Response::new(String::from("ok"))) };
        tokio::spawn(serve_connections(listener, limits, std::future::pending(), move |_| {
            hyper::service::service_fn(answer)
        }));
        addr
    }

    /// Idle and slow-header connections are closed; a connection over the
    /// limit waits until one closes, then is served.
    #[tokio::test]
    async fn idle_and_slow_connections_are_closed_and_the_limit_holds() {
        let limits = Limits {
            max_connections: 2,
            header_read: Duration::from_millis(300),
            ..Limits::default()
        };
        let addr = start(limits).await;
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        // Both held connections are closed by the server (EOF), without a request.
        let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "an idle connection stayed open");
        let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut Vec::new())).await;
        assert!(closed.is_ok(), "a slow-header connection stayed open");
        // The third was served once a slot was free.
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
}
