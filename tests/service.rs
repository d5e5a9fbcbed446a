//! The prover service (`zkinfer serve`) as a user runs it, on loopback with a scratch data
//! directory: a model uploaded, compiled and set up in the background; proofs requested, proven
//! and returned as the CLI's proof file (which `zkinfer verify` accepts); the server killed with
//! SIGKILL while a proof runs and started again: every job finishes, the interrupted one re-run,
//! none recorded twice. Bad requests get RFC 9457 problems with the prover's message; API keys
//! scope what each key sees. Every wait is bounded.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::blocking::multipart;
use reqwest::StatusCode;
use serde_json::Value;
use support::service::*;
use support::*;

#[test]
fn serve_proves_and_no_job_is_lost_or_doubled_across_kill_9() {
    let dir = scratch("serve");
    let data = dir.join("data");
    let c = client();
    let server = Server::start(&data, &[], &[]);
    let url = server.url.clone();
    assert_eq!(get(&c, &format!("{url}/healthz"), None).1["status"], "ok");
    let openapi = get(&c, &format!("{url}/openapi.json"), None).1;
    assert!(
        openapi["paths"]["/v1/builds"]["post"].is_object(),
        "{openapi}"
    );

    let build = upload(
        &c,
        &url,
        None,
        &example("model.onnx"),
        &example("calibration.json"),
    );
    let id = build["id"].as_str().unwrap().to_string();
    // A proof before the build is done is refused (409), or the build is already done.
    let built = wait_finished(
        &c,
        &format!("{url}/v1/builds/{id}"),
        None,
        Duration::from_secs(300),
    );
    assert_eq!(built["status"], "done", "{built}");
    assert!(built["summary"]["model_id"].is_string(), "{built}");
    assert!(built["summary"]["settings"]["k"].as_u64().unwrap() >= 10);
    // The example takes one gate column with the multiply-accumulate chains.
    assert_eq!(built["summary"]["settings"]["layout"], "chain", "{built}");

    // A bad input: refused at once with the prover's message, as a problem document.
    let mut short = input(ANVIL_ADDR);
    short["input_data"][0].as_array_mut().unwrap().pop();
    let (code, problem) = request_proof(&c, &url, &id, &short);
    assert_eq!(code, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["problem_json"], true);
    assert_eq!(problem["status"], 400);
    assert!(
        problem["detail"].as_str().unwrap().contains("input"),
        "{problem}"
    );
    let (code, problem) = request_proof(&c, &url, &"0".repeat(32), &input(ANVIL_ADDR));
    assert_eq!(code, StatusCode::NOT_FOUND, "{problem}");

    // Six proofs queued; the server is killed while one runs.
    let proofs: Vec<String> = (0..6)
        .map(|_| {
            let (code, body) = request_proof(&c, &url, &id, &input(ANVIL_ADDR));
            assert_eq!(code, StatusCode::ACCEPTED, "{body}");
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    let start = Instant::now();
    let running = loop {
        let found = proofs
            .iter()
            .find(|p| get(&c, &format!("{url}/v1/proofs/{p}"), None).1["status"] == "running");
        if let Some(p) = found {
            break p.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no proof started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    server.kill();

    let server = Server::start(&data, &[], &[]);
    let url = server.url.clone();
    let mut attempts = Vec::new();
    for p in &proofs {
        let done = wait_finished(
            &c,
            &format!("{url}/v1/proofs/{p}"),
            None,
            Duration::from_secs(300),
        );
        assert_eq!(done["status"], "done", "{done}");
        attempts.push((p.clone(), done["attempts"].as_u64().unwrap()));
        // The proof file, as `zkinfer prove` writes it: `zkinfer verify` accepts it.
        let file = dir.join(format!("{p}.json"));
        let raw = c.get(format!("{url}/v1/proofs/{p}/proof")).send().unwrap();
        assert_eq!(raw.status(), StatusCode::OK);
        std::fs::write(&file, raw.bytes().unwrap()).unwrap();
        assert_eq!(done["proof"], read_json(path(&file)));
        let build_dir: PathBuf = data.join("builds").join(&id).join("build");
        let verified = zkinfer_json(&["verify", path(&build_dir), path(&file)]);
        assert_eq!(verified["valid"], true, "{verified}");
        let subject = done["proof"]["instances"]
            .as_array()
            .unwrap()
            .last()
            .unwrap();
        assert!(
            subject
                .as_str()
                .unwrap()
                .to_lowercase()
                .ends_with(&ANVIL_ADDR[2..].to_lowercase()),
            "the subject is the proof's last instance: {subject}"
        );
    }
    // The job cut short ran again (a second attempt); the others ran once. One result each.
    // The kill follows the poll that saw `running` by a few milliseconds, in which that ~0.1 s
    // proof may finish and the next one start: the job cut short is then a later one in the
    // queue, or none when the kill fell between two jobs.
    let position = |p: &String| proofs.iter().position(|q| q == p).unwrap();
    let rerun: Vec<_> = attempts.iter().filter(|(_, n)| *n != 1).collect();
    assert!(
        rerun.len() <= 1
            && rerun
                .iter()
                .all(|(p, n)| *n == 2 && position(p) >= position(&running)),
        "one job at most runs twice, the one running at the kill (seen running: {running}) or a later one: {attempts:?}"
    );
    if rerun.first().map(|(p, _)| p) != Some(&running) {
        eprintln!("the proof seen running ({running}) finished before the kill: {attempts:?}");
    }
    let metrics = metrics_text(&c, &url);
    assert!(
        metrics.contains("zkinfer_jobs{kind=\"proof\",state=\"done\"} 6"),
        "{metrics}"
    );
    assert!(metrics.contains("zkinfer_queue_depth 0"), "{metrics}");
}

#[test]
fn api_keys_scope_jobs_and_failures_carry_the_prover_message() {
    let dir = scratch("serve-keys");
    let c = client();
    // Without keys, only loopback.
    let err = start_fails(&[
        "--listen",
        "0.0.0.0:0",
        "--data-dir",
        path(&dir.join("open")),
    ]);
    assert!(err.contains("loopback only"), "{err}");

    let (alice, bob) = ("alice-key-0123456789abcdef", "bob-key-0123456789abcdef");
    let keys = format!("{alice},{bob}");
    let server = Server::start(&dir.join("data"), &[], &[("ZKINFER_API_KEYS", &keys)]);
    let url = server.url.clone();
    // No key, or an unknown one: 401 with the scheme.
    for key in [None, Some("mallory-key-0123456789abcdef")] {
        let mut req = c.get(format!("{url}/v1/builds/{}", "0".repeat(32)));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        let res = req.send().unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
    }
    // Alice's unsupported model: accepted, then failed with the op and node named.
    let ops = root().join("prover/tests/fixtures/ops");
    let build = upload(
        &c,
        &url,
        Some(alice),
        path(&ops.join("unsupported_svm_classifier.onnx")),
        path(&ops.join("unsupported_svm_classifier.calib.json")),
    );
    let id = build["id"].as_str().unwrap();
    let failed = wait_finished(
        &c,
        &format!("{url}/v1/builds/{id}"),
        Some(alice),
        Duration::from_secs(120),
    );
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 1, "a refusal is not retried: {failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("SVMClassifier (node svm)"),
        "{failed}"
    );
    // Bob does not see Alice's build.
    let (code, body) = get(&c, &format!("{url}/v1/builds/{id}"), Some(bob));
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    // A path that is not an id is not found (and never reaches the file system).
    let (code, _) = get(&c, &format!("{url}/v1/builds/..%2F..%2Fetc"), Some(alice));
    assert_eq!(code, StatusCode::NOT_FOUND);
    // A build request without its model.
    let form = multipart::Form::new().text("calibration", "{\"input_data\": [[1.0]]}");
    let res = c
        .post(format!("{url}/v1/builds"))
        .bearer_auth(alice)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: Value = res.json().unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("model"),
        "{problem}"
    );
}

#[test]
fn limits_answer_with_problems_and_one_server_holds_a_data_dir() {
    let dir = scratch("serve-limits");
    let data = dir.join("data");
    let c = client();
    let server = Server::start(
        &data,
        &["--max-body", "12KiB", "--max-queued-per-key", "1"],
        &[],
    );
    let url = server.url.clone();
    // A second server on the same data directory would re-run the first's jobs: refused.
    let err = start_fails(&["--listen", "127.0.0.1:0", "--data-dir", path(&data)]);
    assert!(err.contains("another zkinfer serve"), "{err}");
    // A web page cannot drive a server without keys: a request with an Origin is 403.
    let res = c.get(format!("{url}/healthz")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = c
        .get(format!("{url}/v1/builds/{}", "0".repeat(32)))
        .header("Origin", "http://page.example")
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // An upload over --max-body is not taken: a 413 problem, or, when the client is still
    // sending as the server stops reading at the limit, a closed connection. Nothing is queued
    // (the next upload finds room).
    let form = multipart::Form::new()
        .part("model", multipart::Part::bytes(vec![7u8; 30_000]))
        .text("calibration", "{\"input_data\": [[1.0]]}");
    match c.post(format!("{url}/v1/builds")).multipart(form).send() {
        Ok(res) => {
            assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
            let problem: Value = res.json().unwrap();
            assert_eq!(problem["status"], 413, "{problem}");
        }
        Err(e) => assert!(e.is_body() || e.is_request(), "{e}"),
    }
    // One job per key: the second, while the first is queued or running, is 429 with
    // Retry-After. The example builds in well under a second, so the pair is tried again (a few
    // times) when the first was done before the second arrived; the server answers before
    // reading an upload and may close the connection while the client still sends it (a body
    // error on the client), which also tries the pair again.
    let mut refused = None;
    for _ in 0..8 {
        let first = upload(
            &c,
            &url,
            None,
            &example("model.onnx"),
            &example("calibration.json"),
        );
        let form = upload_form(&example("model.onnx"), &example("calibration.json"));
        let second = c.post(format!("{url}/v1/builds")).multipart(form).send();
        // Once it is done, there is room again.
        build_done(&c, &url, first["id"].as_str().unwrap());
        match second {
            Ok(res) if res.status() == StatusCode::TOO_MANY_REQUESTS => {
                refused = Some(res);
                break;
            }
            Ok(res) => {
                assert_eq!(res.status(), StatusCode::ACCEPTED);
                let job: Value = res.json().unwrap();
                build_done(&c, &url, job["id"].as_str().unwrap());
            }
            Err(e) => assert!(e.is_body() || e.is_request(), "{e}"),
        }
    }
    let res = refused.expect("a second upload while the first was queued or running was refused");
    assert!(res.headers().contains_key("retry-after"));
    let problem: Value = res.json().unwrap();
    assert_eq!(problem["status"], 429, "{problem}");
    upload(
        &c,
        &url,
        None,
        &example("model.onnx"),
        &example("calibration.json"),
    );
}

/// The account the relay's proofs are about (anvil's third account; it sends nothing).
const SUBJECT: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

/// Polls the proof `id` until its submission is no longer pending (at most 120 s).
fn wait_submitted(c: &reqwest::blocking::Client, url: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (code, body) = get(c, &format!("{url}/v1/proofs/{id}"), None);
        assert_eq!(code, StatusCode::OK, "{body}");
        let status = &body["submission"]["status"];
        if status == "submitted" || status == "failed" {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "proof {id}'s submission still pending: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn requested_proofs_are_credited_on_chain_once_and_refusals_are_recorded() {
    let dir = scratch("serve-submit");
    let data = dir.join("data");
    let c = client();
    let anvil = Anvil::start();

    // The oracle's account comes from the environment or a keystore, and the chain must answer.
    let no_key = start_fails(&["--oracle", ANVIL_ADDR, "--rpc-url", &anvil.url]);
    assert!(no_key.contains("ZKINFER_PRIVATE_KEY"), "{no_key}");
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    let err = start_fails_with(
        &["--oracle", ANVIL_ADDR, "--rpc-url", &unreachable],
        &[("ZKINFER_PRIVATE_KEY", ANVIL_KEY)],
    );
    assert!(
        err.contains(&unreachable),
        "an unreachable RPC is named: {err}"
    );

    // A server without --oracle refuses to submit; with it, the build is deployed first.
    let server = Server::start(&data, &[], &[]);
    let url = server.url.clone();
    let id = built(&c, &url);
    let submit_url = format!("{url}/v1/builds/{id}/proofs?submit=true");
    let (code, problem) = post_json(&c, &submit_url, &input(ANVIL_ADDR));
    assert_eq!(code, StatusCode::BAD_REQUEST, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("--oracle"),
        "{problem}"
    );
    let build_dir = data.join("builds").join(&id).join("build");
    // Deployed twice: a plain oracle (inputs neither bound nor attested: only a subject itself
    // may submit), and one that requires attested inputs (anyone, so a relay, may submit).
    let plain = deploy(path(&build_dir), &anvil.url, &[]);
    let plain = plain["oracle"].as_str().unwrap().to_string();
    let attested = deploy(path(&build_dir), &anvil.url, &["--attester", ANVIL_ADDR_2]);
    let oracle = attested["oracle"].as_str().unwrap().to_string();
    drop(server);
    let key = [("ZKINFER_PRIVATE_KEY", ANVIL_KEY)];

    // The relay refuses, before proving, what it must not or cannot submit.
    let relay = ["--oracle", plain.as_str(), "--rpc-url", anvil.url.as_str()];
    let server = Server::start(&data, &relay, &key);
    let submit_url = format!("{}/v1/builds/{id}/proofs?submit=true", server.url);
    let (code, problem) = post_json(&c, &submit_url, &input(SUBJECT));
    assert_eq!(code, StatusCode::BAD_REQUEST, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("neither binds nor attests"), "{detail}");
    drop(server);
    let relay = ["--oracle", oracle.as_str(), "--rpc-url", anvil.url.as_str()];
    let server = Server::start(&data, &relay, &key);
    let url = server.url.clone();
    let submit_url = format!("{url}/v1/builds/{id}/proofs?submit=true");
    let (code, problem) = post_json(&c, &format!("{submit_url}&x=1"), &input(SUBJECT));
    assert_eq!(code, StatusCode::BAD_REQUEST, "{problem}");
    // The relay's own account: anyone could choose its inputs, so its output.
    let (code, problem) = post_json(&c, &submit_url, &input(ANVIL_ADDR));
    assert_eq!(code, StatusCode::BAD_REQUEST, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("relay's own account"), "{detail}");
    let mut unnamed = input(SUBJECT);
    unnamed.as_object_mut().unwrap().remove("subject");
    let (code, problem) = post_json(&c, &submit_url, &unnamed);
    assert_eq!(code, StatusCode::BAD_REQUEST, "{problem}");

    // The data provider vouches for SUBJECT's input.
    let input_file = dir.join("subject-input.json");
    std::fs::write(&input_file, input(SUBJECT).to_string()).unwrap();
    let vouched = zkinfer_json(&attest_args(
        path(&build_dir),
        path(&input_file),
        SUBJECT,
        &anvil.url,
        &oracle,
        ANVIL_KEY_2,
    ));
    assert!(vouched["attestation_id"].as_u64().is_some(), "{vouched}");
    // Proofs ahead of it keep the worker busy: the server is killed while the requested
    // submission's proof is still queued, and the restarted server sends it once it is done.
    for _ in 0..4 {
        let (code, body) = request_proof(&c, &url, &id, &input(ANVIL_ADDR_2));
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    }
    let (code, body) = post_json(&c, &submit_url, &input(SUBJECT));
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let mine = body["id"].as_str().unwrap().to_string();
    let before = get(&c, &format!("{url}/v1/proofs/{mine}"), None).1;
    assert_ne!(before["status"], "done", "{before}");
    assert_eq!(before["submission"]["status"], "pending", "{before}");
    server.kill();
    let server = Server::start(&data, &relay, &key);
    let url = server.url.clone();
    let submit_url = format!("{url}/v1/builds/{id}/proofs?submit=true");
    let done = wait_submitted(&c, &url, &mine);
    assert_eq!(done["status"], "done", "{done}");
    let submission = &done["submission"];
    assert_eq!(submission["status"], "submitted", "{done}");
    assert!(submission["tx_hash"].as_str().unwrap().starts_with("0x"));
    assert!(submission["gas_used"].as_u64().unwrap() > 21_000);
    assert_eq!(
        submission["submitter"].as_str().unwrap().to_lowercase(),
        ANVIL_ADDR.to_lowercase()
    );
    // Credited to the subject the proof names, with the proven outputs.
    let model_id = done["proof"]["model_id"].as_str().unwrap();
    let read = zkinfer_json(&read_args(&anvil.url, &oracle, model_id, SUBJECT));
    assert_eq!(
        read["outputs"][0].as_f64(),
        done["proof"]["output_data"][0][0].as_f64(),
        "{read}"
    );

    // The same statement again (same input, subject and attestation): found on chain, not
    // sent twice.
    let (_, body) = post_json(&c, &submit_url, &input(SUBJECT));
    let again = wait_submitted(&c, &url, body["id"].as_str().unwrap());
    assert_eq!(again["submission"]["status"], "submitted", "{again}");
    assert_eq!(again["submission"]["already_on_chain"], true, "{again}");
    assert!(again["submission"]["tx_hash"].is_null(), "{again}");

    // A proof about an account no attester vouched for: the oracle's decoded reason is
    // recorded; the proof itself is done and kept.
    let (_, body) = post_json(&c, &submit_url, &input(ANVIL_ADDR_2));
    let refused = wait_submitted(&c, &url, body["id"].as_str().unwrap());
    assert_eq!(refused["status"], "done", "{refused}");
    assert_eq!(refused["submission"]["status"], "failed", "{refused}");
    let error = refused["submission"]["error"].as_str().unwrap();
    assert!(error.contains("NoAttestation"), "{error}");
    // A proof that is not requested shows no submission.
    let (_, body) = request_proof(&c, &url, &id, &input(ANVIL_ADDR));
    let plain = wait_finished(
        &c,
        &format!("{url}/v1/proofs/{}", body["id"].as_str().unwrap()),
        None,
        Duration::from_secs(120),
    );
    assert!(plain.get("submission").is_none(), "{plain}");
    let metrics = metrics_text(&c, &url);
    for line in [
        "zkinfer_submissions{state=\"submitted\"} 2",
        "zkinfer_submissions{state=\"failed\"} 1",
        "zkinfer_submissions{state=\"pending\"} 0",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
}
