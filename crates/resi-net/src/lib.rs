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
//!
//! One client must not hold every slot: a peer (an IPv4 address, or an IPv6
//! /64, which one subscriber usually has whole) may hold at most
//! [`Limits::max_connections_per_peer`] connections, a connection past that
//! is closed as soon as it is accepted, and may have at most
//! [`Limits::max_requests_per_peer`] requests in progress, a request past that
//! is answered 429 at once (JSON body, `Retry-After`) and its connection closed.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
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
    /// Connections one peer ([`PeerKey`]) may hold at once.
    pub max_connections_per_peer: usize,
    /// Requests one peer may have in progress at once.
    pub max_requests_per_peer: usize,
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
            max_connections_per_peer: 64,
            max_requests_per_peer: 32,
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(60),
            drain: Duration::from_secs(5),
        }
    }
}

impl Limits {
    /// These limits without a per-peer share: for development servers (a
    /// devnet's market and storage) whose every client is on one address.
    pub fn one_address(self) -> Self {
        Self {
            max_connections_per_peer: self.max_connections,
            max_requests_per_peer: self.max_connections,
            ..self
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who the per-peer limits count: an IPv4 address, or the /64 of an IPv6
/// address (an IPv4-mapped IPv6 address counts as its IPv4 address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerKey(IpAddr);

impl PeerKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

impl std::fmt::Display for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Connections and requests in progress per peer. An entry lives while its
/// peer has a connection open, so the table holds at most
/// [`Limits::max_connections`] entries.
#[derive(Default)]
struct PeerTable {
    peers: Mutex<HashMap<PeerKey, (usize, usize)>>,
}

impl PeerTable {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<PeerKey, (usize, usize)>) -> R) -> R {
        let mut peers = match self.peers.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut peers)
    }

    /// A connection slot (`connection`) or request slot for `peer`, or
    /// `None` when it holds `max` of them already. A request slot needs the
    /// peer's connection, so it never makes an entry.
    fn take(self: &Arc<Self>, peer: PeerKey, max: usize, connection: bool) -> Option<PeerSlot> {
        self.with(|peers| {
            let entry = if connection {
                peers.entry(peer).or_default()
            } else {
                peers.get_mut(&peer)?
            };
            let held = if connection { &mut entry.0 } else { &mut entry.1 };
            if *held >= max {
                return None;
            }
            *held += 1;
            Some(PeerSlot {
                table: Arc::clone(self),
                peer,
                connection,
            })
        })
    }

    fn release(&self, peer: PeerKey, connection: bool) {
        self.with(|peers| {
            if let Some(entry) = peers.get_mut(&peer) {
                if connection {
                    entry.0 = entry.0.saturating_sub(1);
                } else {
                    entry.1 = entry.1.saturating_sub(1);
                }
                if *entry == (0, 0) {
                    peers.remove(&peer);
                }
            }
        });
    }
}

/// A peer's connection slot (`connection`) or request slot, given back on drop.
struct PeerSlot {
    table: Arc<PeerTable>,
    peer: PeerKey,
    connection: bool,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        self.table.release(self.peer, self.connection);
    }
}

/// The answer to a request over its peer's in-flight limit.
fn too_many_requests<B: From<bytes::Bytes>>(max: usize) -> Response<B> {
    let body = format!(
        "{{\"statusCode\":429,\"message\":[\"more than {max} requests in progress from this address\"],\"error\":\"Too Many Requests\"}}"
    );
    let mut response = Response::new(B::from(bytes::Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
    headers.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

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
    B: hyper::body::Body + From<bytes::Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    // HTTP/1 only: protocol detection (`auto`) would wait for the first
    // bytes without a timeout.
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let peers = Arc::new(PeerTable::default());
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
        let key = PeerKey::of(peer.ip());
        let Some(slot) = peers.take(key, limits.max_connections_per_peer.max(1), true) else {
            tracing::debug!(peer = %key, max = limits.max_connections_per_peer, "connection over the peer's limit closed");
            drop(socket);
            continue;
        };
        let service = Deadline {
            inner: service_for(peer),
            limit: limits.request,
            peers: Arc::clone(&peers),
            peer: key,
            max_requests: limits.max_requests_per_peer.max(1),
        };
        let conn = graceful.watch(http.serve_connection(TokioIo::new(socket), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(limits.drain) => {},
    }
}

/// A service whose requests end (and end their connection) after `limit`,
/// and whose peer may have at most `max_requests` in progress.
struct Deadline<S> {
    inner: S,
    limit: Duration,
    peers: Arc<PeerTable>,
    peer: PeerKey,
    max_requests: usize,
}

impl<S, R, B> hyper::service::Service<R> for Deadline<S>
where
    S: hyper::service::Service<R, Response = Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: From<bytes::Bytes> + Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn call(&self, request: R) -> Self::Future {
        let Some(slot) = self.peers.take(self.peer, self.max_requests, false) else {
            let max = self.max_requests;
            return Box::pin(async move { Ok(too_many_requests(max)) });
        };
        let (answer, limit) = (self.inner.call(request), self.limit);
        Box::pin(async move {
            let _slot = slot;
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

    use http_body_util::{BodyExt, Full};

    /// A server that reads each request's whole body before answering "ok".
    async fn start(limits: Limits) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = |request: Request<Incoming>| async move {
            let _ = request.into_body().collect().await;
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(bytes::Bytes::from_static(b"ok"))))
        };
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

    /// A connection from `source` (any address of 127.0.0.0/8) to `addr`.
    async fn connect_from(source: [u8; 4], addr: std::net::SocketAddr) -> tokio::net::TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((std::net::Ipv4Addr::from(source), 0).into()).unwrap();
        socket.connect(addr).await.unwrap()
    }

    /// The answer on `stream` to one request with `Connection: close`.
    async fn answer(stream: &mut tokio::net::TcpStream) -> String {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("answered within 5 s")
            .unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Opens `n` connections from `source`, each sending `bytes`, and sorts
    /// them by what the server did within `wait` each: (still open, closed
    /// unanswered, answered 429).
    async fn flood(addr: std::net::SocketAddr, source: [u8; 4], n: usize, bytes: &[u8]) -> (usize, usize, usize) {
        let mut streams = Vec::new();
        for _ in 0..n {
            let mut stream = connect_from(source, addr).await;
            let _ = stream.write_all(bytes).await;
            streams.push(stream);
        }
        let (mut open, mut closed, mut too_many) = (0, 0, 0);
        for stream in &mut streams {
            let mut buf = Vec::new();
            match tokio::time::timeout(Duration::from_millis(500), stream.read_to_end(&mut buf)).await {
                Ok(_) if buf.is_empty() => closed += 1,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    assert!(text.starts_with("HTTP/1.1 429"), "{text}");
                    assert!(text.contains("\"statusCode\":429"), "{text}");
                    too_many += 1;
                }
                Err(_) => open += 1,
            }
        }
        // Held until here, so the server saw them all at once.
        drop(streams);
        (open, closed, too_many)
    }

    /// One address opening more connections than the whole server has
    /// slots keeps its share only, the rest closed at once, and another
    /// address is still answered.
    #[tokio::test]
    async fn one_peer_cannot_hold_every_connection() {
        let limits = Limits {
            max_connections: 8,
            max_connections_per_peer: 4,
            header_read: Duration::from_secs(20),
            ..Limits::default()
        };
        let addr = start(limits).await;
        let other = tokio::spawn(async move {
            // Once the flood is in: a connection from another address is served.
            tokio::time::sleep(Duration::from_millis(300)).await;
            answer(&mut connect_from([127, 0, 0, 2], addr).await).await
        });
        // Headers that never end: each a connection held for 20 s.
        let (open, closed, too_many) = flood(addr, [127, 0, 0, 1], 12, b"GET / HTTP/1.1\r\nHost: x\r\n").await;
        assert_eq!(
            (open, closed, too_many),
            (4, 8, 0),
            "(held, closed, 429) of one address"
        );
        let text = other.await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    }

    /// One address sending more slow requests than its in-flight share gets
    /// 429 for the rest, and another address is still answered.
    #[tokio::test]
    async fn one_peer_cannot_hold_every_request() {
        let limits = Limits {
            max_connections: 8,
            max_connections_per_peer: 8,
            max_requests_per_peer: 2,
            ..Limits::default()
        };
        let addr = start(limits).await;
        let other = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            answer(&mut connect_from([127, 0, 0, 2], addr).await).await
        });
        // Headers whole, body never finished: requests in progress for 60 s.
        let slow_body = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc";
        let (open, closed, too_many) = flood(addr, [127, 0, 0, 1], 6, slow_body).await;
        assert_eq!(
            (open, closed, too_many),
            (2, 0, 4),
            "(in progress, closed, 429) of one address"
        );
        let text = other.await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    }

    #[test]
    fn ipv6_peers_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(PeerKey::of(a), PeerKey::of(b));
        assert_ne!(PeerKey::of(a), PeerKey::of(c));
        assert_eq!(PeerKey::of(a).to_string(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(PeerKey::of(mapped).to_string(), "10.1.2.3");
    }
}
