//! A throw-away PostgreSQL database for a test, and the API harness.

pub mod harness;

use std::future::Future;

use sqlx::Executor;

#[allow(dead_code)]
/// Runs `scenario` against a fresh database on the server at
/// `RESI_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
/// dropping it afterwards. Unreachable server: skipped with a message, unless
/// `RESI_REQUIRE_POSTGRES=1`.
pub async fn with_postgres<F, Fut>(tag: &str, scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let base =
        std::env::var("RESI_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let required = std::env::var("RESI_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    sqlx::any::install_default_drivers();
    let admin = match sqlx::AnyPool::connect(&base).await {
        Ok(pool) => pool,
        Err(e) if !required => {
            eprintln!("skipping the PostgreSQL half: {e}");
            return;
        }
        Err(e) => panic!("PostgreSQL required but unreachable at {base}: {e}"),
    };
    let name = format!("resi_{tag}_{}", std::process::id());
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .unwrap();
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    let slash = base.rfind('/').expect("RESI_TEST_POSTGRES_URL names a database");
    scenario(format!("{}/{name}", &base[..slash])).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

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
