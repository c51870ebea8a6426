//! Several replicas of one PostgreSQL database (issue 17): one key pair for all, told apart when
//! a replica is given another; readiness false during the shutdown drain, before the listeners
//! close. The multi-process test behind nginx is `e2e/test_replicas.py`.

mod common;

use std::time::{Duration, Instant};

use common::{KeyFiles, binary, borrowed, cli};
use ferrometa_testkit::TestServer;
use reqwest::StatusCode;

const CONFLICT: &str = "does not match the one other replicas signed with under kid";

#[tokio::test]
async fn a_replica_with_another_key_pair_says_so_in_check_config_and_at_start_up() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else { return };
    let (shared, other) = (KeyFiles::generate(), KeyFiles::generate());
    let env = shared.replica_env(&url, &[("JWT_KEY_ID", "prod-2026")]);
    let first = TestServer::start(&borrowed(&env)).await;

    let (ok, out, err) = cli(&["check-config"], &borrowed(&env));
    assert!(ok, "the shared pair passes check-config: {out}{err}");
    assert!(out.contains("ok    signing key prod-2026") && out.contains("agrees with the other replicas"), "{out}");

    let wrong = other.replica_env(&url, &[("JWT_KEY_ID", "prod-2026")]);
    let (ok, out, _) = cli(&["check-config"], &borrowed(&wrong));
    assert!(!ok, "another pair under the same kid fails check-config: {out}");
    assert!(out.contains("FAIL") && out.contains(CONFLICT), "{out}");

    // At start-up: the replica refuses to serve tokens nobody else can verify, saying why.
    let data = tempfile::tempdir().unwrap();
    let vars: std::collections::BTreeMap<String, String> = ferrometa_testkit::base_env(data.path()).into_iter().chain(wrong.iter().cloned()).collect();
    let config = ferrometa_config::load(None, &|k| vars.get(k).cloned()).unwrap().config;
    let refused = ferrometa_server::start(config).await.err().expect("a replica with another key pair must not start");
    assert!(refused.to_string().contains(CONFLICT), "{refused}");

    // Another kid: a rotation or a mistake; the replica starts and warns, check-config warns.
    let rotated = other.replica_env(&url, &[("JWT_KEY_ID", "prod-2027")]);
    let (ok, out, _) = cli(&["check-config"], &borrowed(&rotated));
    assert!(ok && out.contains("WARN  other replicas sign with kid prod-2026, this one with kid prod-2027"), "{out}");
    first.stop().await;
}

#[tokio::test]
async fn readiness_turns_false_at_sigterm_while_the_api_still_answers_then_the_listeners_close() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(binary(), data.path(), &[("FERROMETA_SHUTDOWN_DRAIN_SECONDS", "5")]).await;
    let (client, api, admin) = (server.client.clone(), server.url("/api/v1/system/version"), server.admin_base.clone());
    let status = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.map(|r| r.status()) }
    };
    assert_eq!(status(format!("{admin}/readiness")).await.unwrap(), StatusCode::OK);
    let stopping = tokio::spawn(server.stop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while status(format!("{admin}/readiness")).await.unwrap() != StatusCode::SERVICE_UNAVAILABLE {
        assert!(Instant::now() < deadline, "readiness still true 5 s after SIGTERM");
    }
    // Draining: not ready, still alive, and the API still serves whoever was routed here.
    assert_eq!(status(format!("{admin}/healthcheck")).await.unwrap(), StatusCode::OK);
    assert_eq!(status(api.clone()).await.unwrap(), StatusCode::OK, "the API serves during the drain");
    let exit = stopping.await.unwrap().expect("a process");
    assert!(exit.success(), "exit 0 after the drain: {exit:?}");
    assert!(status(api).await.is_err(), "the listener is closed once stopped");
}
