//! Two coordinators on one PostgreSQL behave as one: a caller's rate limit
//! and a signed request's single use hold across both.

mod common;

use common::harness::{self, wall, Harness};
use resi_auth::commitment::current_assignment;

const CURRENT: &str = "/api/v1/zipcode-assignments/current";

async fn get_at(h: &Harness, base: &str, query: &[(&'static str, String)]) -> (u16, Option<String>) {
    let r = h
        .http
        .get(format!("{base}{CURRENT}"))
        .query(query)
        .send()
        .await
        .unwrap();
    let remaining = r
        .headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (r.status().as_u16(), remaining)
}

#[tokio::test]
async fn two_coordinators_on_one_postgres_limit_a_hotkey_as_one() {
    common::with_postgres("replicas", |url| async move {
        let h = harness::start(&url).await;
        let (a, b) = (h.base.clone(), h.replica().await);
        // Ten requests a minute per hotkey: keep the twelve in one window.
        if wall() % 60 > 45 {
            harness::sleep_until(wall() - wall() % 60 + 60).await;
        }
        let mut answers = Vec::new();
        for i in 0..12 {
            let ts = wall();
            let query = h.signed(&h.miner, &current_assignment(ts), ts);
            let base = if i % 2 == 0 { &a } else { &b };
            answers.push(get_at(&h, base, &query).await);
        }
        let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses[..10], [200; 10], "{answers:?}");
        assert_eq!(
            statuses[10..],
            [429, 429],
            "the limit holds across both replicas: {answers:?}"
        );
        // Each replica's remaining count includes the other's requests.
        let remaining: Vec<&str> = answers[..10].iter().map(|(_, r)| r.as_deref().unwrap()).collect();
        assert_eq!(remaining, ["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]);

        // Another hotkey is not limited by the first one's requests.
        let ts = wall();
        let other = h.signed(&h.validator, &current_assignment(ts), ts);
        assert_eq!(get_at(&h, &b, &other).await.0, 200);

        // A signed request used on one replica is refused on the other.
        let ts = wall();
        let once = h.signed(&h.validator, &current_assignment(ts), ts);
        assert_eq!(get_at(&h, &a, &once).await.0, 200);
        assert_eq!(get_at(&h, &b, &once).await.0, 401, "a replay through the other replica");
    })
    .await;
}
