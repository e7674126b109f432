//! A throw-away PostgreSQL database for a test (shared with resi-bench's
//! tests by path).

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
