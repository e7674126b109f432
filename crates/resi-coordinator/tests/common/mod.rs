//! A throw-away PostgreSQL database for a test, and the API harness.

pub mod harness;

mod postgres;
#[allow(unused_imports)]
pub use postgres::with_postgres;

/// A TCP proxy on loopback in front of `upstream` that can be cut: every
/// connection through it closed and new ones refused, as when the database
/// goes down.
#[allow(dead_code)]
pub struct CuttableProxy {
    pub addr: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<bool>,
}

#[allow(dead_code)]
impl CuttableProxy {
    pub async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, watching) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut stop = watching.clone();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stop.changed() => return,
                };
                let Ok((mut client, _)) = accepted else { continue };
                let mut stop = watching.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = stop.changed() => {}
                    }
                });
            }
        });
        Self { addr, cut }
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some(&self.addr.ip().to_string())).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }

    /// Closes every connection and the listener.
    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }
}
