//! The service on many machines: `zkinfer serve --queue redis://…` with `zkinfer worker`
//! processes, on a private `redis-server` (loopback, a free port) and a shared data directory.
//! A worker killed with SIGKILL mid-proof has its job finished by another once its lease runs
//! out; the server killed with SIGKILL and started again records every result, none twice; a
//! job that keeps failing is dead-lettered with its error. Every wait is bounded.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::service::*;
use support::*;

const LEASE: &str = "2";

/// Uploads the credit-risk example and waits for a worker to build it; its id.
fn built(c: &reqwest::blocking::Client, url: &str) -> String {
    let build = upload(
        c,
        url,
        None,
        &example("model.onnx"),
        &example("calibration.json"),
    );
    let id = build["id"].as_str().unwrap().to_string();
    let done = wait_finished(
        c,
        &format!("{url}/v1/builds/{id}"),
        None,
        Duration::from_secs(300),
    );
    assert_eq!(done["status"], "done", "{done}");
    id
}

#[test]
fn jobs_survive_a_killed_worker_and_a_killed_server() {
    let dir = scratch("redis-cluster");
    let data = dir.join("data");
    let redis = Redis::start(&dir);
    let queue = ["--queue", redis.url.as_str()];
    let server = Server::start(&data, &queue, &[]);
    let c = client();
    let mut workers: Vec<Option<Worker>> = ["w1", "w2"]
        .iter()
        .map(|n| Some(Worker::start(&redis.url, &data, n, &["--lease", LEASE])))
        .collect();
    let id = built(&c, &server.url);

    let proofs: Vec<String> = (0..6)
        .map(|_| {
            let (code, body) = request_proof(&c, &server.url, &id, &input(ANVIL_ADDR));
            assert_eq!(code, StatusCode::ACCEPTED, "{body}");
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    // Kill the first worker seen proving, then the server; start a third worker and the
    // server again.
    let start = Instant::now();
    let (victim, interrupted) = loop {
        let found = workers.iter().enumerate().find_map(|(i, w)| {
            let job = w.as_ref()?.current()?;
            proofs.contains(&job).then_some((i, job))
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no worker started a proof"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    workers[victim].take().unwrap().kill();
    server.kill();
    workers.push(Some(Worker::start(
        &redis.url,
        &data,
        "w3",
        &["--lease", LEASE],
    )));
    let server = Server::start(&data, &queue, &[]);
    let url = server.url.clone();

    for p in &proofs {
        let done = wait_finished(
            &c,
            &format!("{url}/v1/proofs/{p}"),
            None,
            Duration::from_secs(300),
        );
        assert_eq!(done["status"], "done", "{done}");
        let expected = if *p == interrupted { 2 } else { 1 };
        assert_eq!(
            done["attempts"], expected,
            "proof {p} (cut short: {interrupted}): {done}"
        );
        let file = dir.join(format!("{p}.json"));
        std::fs::write(&file, done["proof"].to_string()).unwrap();
        let build_dir = data.join("builds").join(&id).join("build");
        let verified = zkinfer_json(&["verify", path(&build_dir), path(&file)]);
        assert_eq!(verified["valid"], true, "{verified}");
    }
    // One result per job: the build and six proofs; the killed worker posted none.
    assert_eq!(redis.xlen("zkinfer:results"), 7);
    assert_eq!(redis.xlen("zkinfer:dead"), 0);
    let metrics = c
        .get(format!("{url}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("zkinfer_jobs{kind=\"proof\",state=\"done\"} 6"),
        "{metrics}"
    );
}

#[test]
fn a_job_that_keeps_failing_is_dead_lettered_with_its_error() {
    let dir = scratch("redis-dead-letter");
    let data = dir.join("data");
    let redis = Redis::start(&dir);
    let server = Server::start(&data, &["--queue", redis.url.as_str()], &[]);
    let _worker = Worker::start(
        &redis.url,
        &data,
        "w1",
        &["--lease", LEASE, "--max-attempts", "2"],
    );
    let c = client();
    let id = built(&c, &server.url);
    // The store loses the build's proving key: every run fails reading it.
    let pk = data.join("builds").join(&id).join("build").join("pk.bin");
    std::fs::remove_file(&pk).unwrap();
    let (code, body) = request_proof(&c, &server.url, &id, &input(ANVIL_ADDR));
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let p = body["id"].as_str().unwrap();
    let failed = wait_finished(
        &c,
        &format!("{}/v1/proofs/{p}", server.url),
        None,
        Duration::from_secs(120),
    );
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["attempts"], 2, "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("dead-lettered after 2 attempts") && error.contains("pk.bin"),
        "{error}"
    );
    // The store's path stays out of what clients see.
    assert!(!error.contains(path(&data)), "{error}");
    assert_eq!(redis.xlen("zkinfer:dead"), 1);
}

#[test]
fn a_worker_without_its_queue_or_store_says_why() {
    let dir = scratch("redis-refusals");
    let port = free_port();
    let out = zkinfer(&[
        "worker",
        "--dev-srs",
        "--queue",
        &format!("redis://127.0.0.1:{port}"),
        "--store",
        path(&dir),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach Redis at redis://127.0.0.1"),
        "{err}"
    );
    let out = zkinfer(&[
        "worker",
        "--dev-srs",
        "--queue",
        "redis://127.0.0.1:1",
        "--store",
        path(&dir.join("missing")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--store") && err.contains("not a directory"),
        "{err}"
    );
    let out = zkinfer(&[
        "worker",
        "--dev-srs",
        "--queue",
        "http://x:secret@127.0.0.1",
        "--store",
        path(&dir),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a Redis URL") && !err.contains("secret"),
        "{err}"
    );
}
