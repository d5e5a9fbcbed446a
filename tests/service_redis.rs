//! The service on many machines: `zkinfer serve --queue redis://…` with `zkinfer worker`
//! processes, on a private `redis-server` (loopback, a free port) and a shared data directory
//! or, without one, an object store (`file://`, through the same `object_store` code as S3).
//! A worker killed with SIGKILL mid-proof has its job finished by another once its lease runs
//! out; the server killed with SIGKILL and started again records every result, none twice; a
//! job that keeps failing, or whose workers keep dying, is dead-lettered with its error; a
//! segmented model's segments are proven by two workers at once and aggregated into one proof.
//! The proofs the service returns pass `zkinfer verify`, and the single-circuit ones the build's
//! verifier on anvil (aggregated proofs' on-chain path is `tests/e2e_segmented.rs`'s).
//! Every wait is bounded.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::service::*;
use support::*;

/// The server's lease (workers renew every third of it).
const LEASE: &str = "3";

/// A scratch folder, its data directory, a private Redis, and `zkinfer serve --queue` on it
/// with `extra` flags.
fn cluster(name: &str, extra: &[&str]) -> (Scratch, PathBuf, Redis, Server) {
    let dir = scratch(name);
    let data = dir.join("data");
    let redis = Redis::start(&dir);
    let mut args = vec!["--queue", redis.url.as_str()];
    args.extend_from_slice(extra);
    let server = Server::start(&data, &args, &[]);
    (dir, data, redis, server)
}

#[test]
fn jobs_survive_a_killed_worker_and_a_killed_server() {
    let dir = scratch("redis-cluster");
    let data = dir.join("data");
    let redis = Redis::start(&dir);
    let queue = ["--queue", redis.url.as_str(), "--lease", LEASE];
    let server = Server::start(&data, &queue, &[]);
    let c = client();
    let mut workers: Vec<Option<Worker>> = ["w1", "w2"]
        .iter()
        .map(|n| Some(Worker::start(&redis.url, &data, n, &[])))
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
    // Every run any worker finished, the victim's included.
    let mut finished: Vec<_> = workers
        .iter()
        .flatten()
        .map(|w| w.finished.clone())
        .collect();
    workers[victim].take().unwrap().kill();
    server.kill();
    workers.push(Some(Worker::start(&redis.url, &data, "w3", &[])));
    finished.extend(workers.iter().flatten().last().map(|w| w.finished.clone()));
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
    // And on chain: the build's verifier on anvil accepts every proof the service returned.
    let anvil = Anvil::start();
    let build_dir = data.join("builds").join(&id).join("build");
    deploy(path(&build_dir), &anvil.url, &["--verifier-only"]);
    let deployment = build_dir.join("deployment.json");
    for p in &proofs {
        let file = dir.join(format!("{p}.json"));
        let onchain = zkinfer_json(&[
            "verify-evm",
            path(&file),
            "--rpc-url",
            &anvil.url,
            "--deployment",
            path(&deployment),
        ]);
        assert_eq!(onchain["valid"], true, "{p}: {onchain}");
    }
    // One run finished per job (the build and six proofs): none was proven twice. The server
    // acknowledged and deleted every result.
    let mut runs: Vec<String> = finished
        .iter()
        .flat_map(|f| f.lock().unwrap().clone())
        .collect();
    assert_eq!(runs.len(), 7, "{runs:?}");
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len(), 7, "a job finished twice");
    assert_eq!(redis.xlen("zkinfer:results"), 0);
    assert_eq!(redis.xlen("zkinfer:jobs"), 0);
    assert_eq!(redis.xlen("zkinfer:dead"), 0);
    let metrics = metrics_text(&c, &url);
    assert!(
        metrics.contains("zkinfer_jobs{kind=\"proof\",state=\"done\"} 6"),
        "{metrics}"
    );
}

#[test]
fn a_job_that_keeps_failing_is_dead_lettered_with_its_error() {
    let (_dir, data, redis, server) = cluster(
        "redis-dead-letter",
        &["--lease", LEASE, "--max-attempts", "2"],
    );
    let _worker = Worker::start(&redis.url, &data, "w1", &[]);
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
fn a_job_whose_workers_keep_dying_is_dead_lettered() {
    let (_dir, data, redis, server) =
        cluster("redis-dying", &["--lease", "2", "--max-attempts", "1"]);
    let c = client();
    let first = Worker::start(&redis.url, &data, "w1", &[]);
    let id = built(&c, &server.url);
    let (code, body) = request_proof(&c, &server.url, &id, &input(ANVIL_ADDR));
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let p = body["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    while first.current().as_deref() != Some(p.as_str()) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the proof never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    first.kill();
    // The next worker takes the entry over after the lease: a second run, over the one allowed.
    let _second = Worker::start(&redis.url, &data, "w2", &[]);
    let failed = wait_finished(
        &c,
        &format!("{}/v1/proofs/{p}", server.url),
        None,
        Duration::from_secs(120),
    );
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("dead-lettered after 2 attempts")
            && error.contains("worker running it stopped"),
        "{error}"
    );
    assert_eq!(redis.xlen("zkinfer:dead"), 1);
}

/// A segmented build through the service: its segments are jobs that two workers prove at
/// once, and the proof job aggregates them once both are done.
/// The object store of a cluster without a shared directory (`file://`, through the same
/// `object_store` code as S3), for the server's `--store`.
fn object_store(dir: &std::path::Path) -> String {
    let root = dir.join("objects");
    std::fs::create_dir_all(&root).unwrap();
    format!("file://{}", root.display())
}

/// The files under `dir`, at any depth (0 when it does not exist).
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
            .sum()
    })
}

/// `zkinfer worker` on the object store `store`, with its own cache in `dir`.
fn store_worker(redis: &Redis, store: &str, dir: &std::path::Path, name: &str) -> Worker {
    let cache = dir.join(format!("cache-{name}"));
    Worker::start(
        &redis.url,
        std::path::Path::new(store),
        name,
        &["--cache", path(&cache)],
    )
}

#[test]
fn without_a_shared_directory_files_go_through_the_object_store_and_keys_are_cached() {
    let dir = scratch("redis-objects");
    let store = object_store(&dir);
    let data = dir.join("data");
    let redis = Redis::start(&dir);
    let server = Server::start(&data, &["--queue", &redis.url, "--store", &store], &[]);
    let url = server.url.clone();
    let worker = store_worker(&redis, &store, &dir, "w1");
    let c = client();
    let id = built(&c, &url);
    // The server keeps the build but its proving key (it proves nothing); the worker has it.
    let server_build = data.join("builds").join(&id).join("build");
    assert!(server_build.join("settings.json").exists());
    assert!(server_build.join("vk.bin").exists());
    assert!(!server_build.join("pk.bin").exists());
    let cached_pk = dir.join("cache-w1/builds").join(&id).join("build/pk.bin");
    let mut pk_written = None;
    for _ in 0..3 {
        let (p, done) = proven(&c, &url, &id, ANVIL_ADDR);
        let file = dir.join(format!("{p}.json"));
        std::fs::write(&file, done["proof"].to_string()).unwrap();
        let verified = zkinfer_json(&["verify", path(&server_build), path(&file)]);
        assert_eq!(verified["valid"], true, "{verified}");
        // The worker keeps the build (its cache) and drops each proof's files.
        assert!(!dir.join("cache-w1/proofs").join(&p).exists());
        let written = std::fs::metadata(&cached_pk).unwrap().modified().unwrap();
        assert_eq!(
            *pk_written.get_or_insert(written),
            written,
            "the proving key fetched again"
        );
    }
    assert_eq!(
        worker.finished.lock().unwrap().len(),
        4,
        "one build, three proofs"
    );
    assert_eq!(redis.xlen("zkinfer:dead"), 0);
}

#[test]
fn an_s3_compatible_store_carries_builds_and_proofs() {
    let dir = scratch("redis-s3");
    let data = dir.join("data");
    let redis = Redis::start(&dir);
    let s3 = S3::start();
    let env = s3.env();
    let store = format!("s3://{}/zkinfer", S3::BUCKET);
    let server = Server::start(&data, &["--queue", &redis.url, "--store", &store], &env);
    let url = server.url.clone();
    let cache = dir.join("cache");
    let _worker = Worker::start_with(
        &redis.url,
        std::path::Path::new(&store),
        "w1",
        &["--cache", path(&cache)],
        &env,
    );
    let c = client();
    let id = built(&c, &url);
    assert!(!data.join("builds").join(&id).join("build/pk.bin").exists());
    assert!(cache.join("builds").join(&id).join("build/pk.bin").exists());
    let (p, done) = proven(&c, &url, &id, ANVIL_ADDR);
    let p = p.as_str();
    let file = dir.join("proof.json");
    std::fs::write(&file, done["proof"].to_string()).unwrap();
    let build_dir = data.join("builds").join(&id).join("build");
    let verified = zkinfer_json(&["verify", path(&build_dir), path(&file)]);
    assert_eq!(verified["valid"], true, "{verified}");
    // The proof file is in the bucket, under the store's prefix.
    let listed = c
        .get(format!(
            "{}/{}?list-type=2&prefix=zkinfer/proofs/{p}/",
            s3.endpoint,
            S3::BUCKET
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        listed.contains(&format!("zkinfer/proofs/{p}/proof.json")),
        "{listed}"
    );
    // A server whose store does not answer says so at start.
    let nowhere = [
        ("AWS_ENDPOINT", "http://127.0.0.1:9"),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    let err = start_fails_with(
        &[
            "--queue",
            &redis.url,
            "--store",
            &store,
            "--data-dir",
            path(&dir.join("d2")),
        ],
        &[nowhere.as_slice(), &env[2..]].concat(),
    );
    assert!(err.contains("--store"), "{err}");
}

#[test]
fn a_segmented_model_is_proven_by_two_workers_and_aggregated() {
    // No shared directory: the workers meet the server's files in the object store.
    let dir = scratch("redis-segmented");
    let data = dir.join("data");
    let redis = Redis::start(&dir);
    let store = object_store(&dir);
    let server = Server::start(
        &data,
        &["--queue", &redis.url, "--lease", LEASE, "--store", &store],
        &[],
    );
    let url = server.url.clone();
    let workers = [
        store_worker(&redis, &store, &dir, "w1"),
        store_worker(&redis, &store, &dir, "w2"),
    ];
    let c = client();
    let form = upload_form(&example("model.onnx"), &example("calibration.json"))
        .text("segments", "2")
        // The flat aggregation at k 20 however wide (6 advice columns): no 2^21 SRS, a faster
        // aggregation proof, a costlier verifier.
        .text("aggregation_k", "20")
        .text("aggregation_root_k", "20");
    let res = c
        .post(format!("{url}/v1/builds"))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let build: serde_json::Value = res.json().unwrap();
    let id = build["id"].as_str().unwrap();
    let built = wait_finished(
        &c,
        &format!("{url}/v1/builds/{id}"),
        None,
        Duration::from_secs(900),
    );
    assert_eq!(built["status"], "done", "{built}");
    assert_eq!(built["summary"]["segments"].as_array().unwrap().len(), 2);
    assert_eq!(built["summary"]["aggregation"]["k"], 20);

    let (code, body) = request_proof(&c, &url, id, &input(ANVIL_ADDR));
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "waiting", "{body}");
    let p = body["id"].as_str().unwrap();
    let done = wait_finished(
        &c,
        &format!("{url}/v1/proofs/{p}"),
        None,
        Duration::from_secs(900),
    );
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        done["segments"],
        serde_json::json!({ "done": 2, "total": 2 })
    );
    // The chain seed (it would reveal activations) and the segment proofs are gone, from the
    // server's copy, the store and the workers' caches.
    let stored = dir.join("objects");
    for root in [&data, &stored, &dir.join("cache-w1"), &dir.join("cache-w2")] {
        let proof_dir = root.join("proofs").join(p);
        assert!(!proof_dir.join("chain_seed").exists(), "{}", root.display());
        // (A `file://` store may keep the emptied folder; S3 has no folders.)
        assert_eq!(
            files_under(&proof_dir.join("segments")),
            0,
            "{}",
            root.display()
        );
    }
    assert!(data.join("proofs").join(p).join("proof.json").exists());
    // Both workers proved a segment (a job that is neither the build nor the proof's
    // aggregation): the segments ran in parallel.
    for w in &workers {
        let started = w.started.lock().unwrap().clone();
        assert!(
            started.iter().any(|j| j != id && j != p),
            "a worker proved no segment: {started:?}"
        );
    }
    let file = dir.join("proof.json");
    std::fs::write(&file, done["proof"].to_string()).unwrap();
    let build_dir = data.join("builds").join(id).join("build");
    let verified = zkinfer_json(&["verify", path(&build_dir), path(&file)]);
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(redis.xlen("zkinfer:dead"), 0);
}

#[test]
fn a_worker_without_its_queue_server_or_store_says_why() {
    let dir = scratch("redis-refusals");
    let refused = |args: &[&str]| {
        let mut all = vec!["worker"];
        all.extend_from_slice(args);
        let out = zkinfer(&all);
        assert!(!out.status.success(), "zkinfer {all:?} ran");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let port = free_port().to_string();
    let nobody = format!("redis://127.0.0.1:{port}");
    let err = refused(&["--queue", &nobody, "--store", path(&dir)]);
    assert!(
        err.contains("cannot reach Redis at redis://127.0.0.1"),
        "{err}"
    );
    let missing = dir.join("missing");
    let err = refused(&["--queue", &nobody, "--store", path(&missing)]);
    assert!(
        err.contains("--store") && err.contains("not a directory"),
        "{err}"
    );
    let err = refused(&[
        "--queue",
        "http://x:secret@127.0.0.1",
        "--store",
        path(&dir),
    ]);
    assert!(
        err.contains("not a Redis URL") && !err.contains("secret"),
        "{err}"
    );
    // A Redis no server has configured: the worker does not guess the policy.
    let redis = Redis::start(&dir);
    let err = refused(&["--queue", &redis.url, "--store", path(&dir)]);
    assert!(err.contains("start `zkinfer serve --queue`"), "{err}");
}
