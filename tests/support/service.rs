//! Helpers for the service tests: `zkinfer serve` and `zkinfer worker` processes, a private
//! `redis-server`, and the HTTP calls a client makes. Everything listens on loopback; every
//! wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::{multipart, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{example, free_port, read_json};

/// A running `zkinfer serve`.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts `zkinfer serve --dev-srs` on a free loopback port over `data`, with `env` set.
    pub fn start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkinfer"));
        cmd.args([
            "serve",
            "--dev-srs",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .args(extra)
        .env_remove("ZKINFER_API_KEYS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("zkinfer serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Drains stderr for the server's whole life (a full pipe would block it).
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(Ok(url.trim().to_string()));
                } else if line.starts_with("error") {
                    let _ = tx.send(Err(line.clone()));
                }
                eprintln!("[serve] {line}");
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server says where it listens within 60 s")
            .expect("the server starts");
        Server { child, url }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `zkinfer serve --dev-srs ARGS`, which must exit with an error within 30 s (a server that
/// did start is killed and the test fails); its stderr.
pub fn start_fails(args: &[&str]) -> String {
    start_fails_with(args, &[])
}

/// [`start_fails`] with `env` set.
pub fn start_fails_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(["serve", "--dev-srs"])
        .args(args)
        .env_remove("ZKINFER_API_KEYS")
        .env_remove("ZKINFER_PRIVATE_KEY")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "zkinfer serve {args:?} started: {err}"
    );
    err
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Uploads the credit-risk example; returns the build id.
pub fn upload(c: &Client, url: &str, key: Option<&str>, model: &str, calibration: &str) -> Value {
    let mut req = c
        .post(format!("{url}/v1/builds"))
        .multipart(upload_form(model, calibration));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let res = req.send().unwrap();
    let status = res.status();
    let body: Value = res.json().unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

pub fn get(c: &Client, url: &str, key: Option<&str>) -> (StatusCode, Value) {
    let mut req = c.get(url);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let res = req.send().unwrap();
    (res.status(), res.json().unwrap_or(Value::Null))
}

/// Polls `url` until its status is done or failed (at most `limit`).
pub fn wait_finished(c: &Client, url: &str, key: Option<&str>, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let (code, body) = get(c, url, key);
        assert_eq!(code, StatusCode::OK, "{url}: {body}");
        if body["status"] == "done" || body["status"] == "failed" {
            return body;
        }
        assert!(
            start.elapsed() < limit,
            "{url} not finished after {limit:?}: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The server's `/metrics` text.
pub fn metrics_text(c: &Client, url: &str) -> String {
    c.get(format!("{url}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

pub fn input(subject: &str) -> Value {
    let mut v = read_json(&example("input.json"));
    v["subject"] = json!(subject);
    v
}

pub fn request_proof(c: &Client, url: &str, build: &str, body: &Value) -> (StatusCode, Value) {
    post_json(c, &format!("{url}/v1/builds/{build}/proofs"), body)
}

/// POSTs `body` to `url`; the status and the JSON answer, with `problem_json` set when it came
/// as an RFC 9457 problem document.
pub fn post_json(c: &Client, url: &str, body: &Value) -> (StatusCode, Value) {
    let res = c.post(url).json(body).send().unwrap();
    let status = res.status();
    let problem = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("application/problem+json"));
    let mut body: Value = res.json().unwrap();
    body["problem_json"] = json!(problem);
    (status, body)
}

/// A private `redis-server` on a free loopback port, storing nothing on disk; stopped on drop.
pub struct Redis {
    child: Child,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
    port: u16,
}

impl Redis {
    /// Starts one (Debian's `redis-server` must be installed: `.ci/run` installs it).
    pub fn start(dir: &Path) -> Redis {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        let redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
            port,
        };
        let start = Instant::now();
        while redis.command(&["PING"]) != "+PONG" {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "redis-server did not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }

    /// Sends one command (RESP array of bulk strings); the first line of the reply, or "" when
    /// the server does not answer.
    pub fn command(&self, args: &[&str]) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut request = format!("*{}\r\n", args.len());
        for a in args {
            request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        if std::io::Write::write_all(&mut stream, request.as_bytes()).is_err() {
            return String::new();
        }
        let mut line = String::new();
        let _ = BufReader::new(stream).read_line(&mut line);
        line.trim_end().to_string()
    }

    /// `XLEN stream`.
    pub fn xlen(&self, stream: &str) -> u64 {
        let reply = self.command(&["XLEN", stream]);
        reply
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("XLEN {stream}: {reply}"))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `zkinfer worker`, with the jobs it has started and finished (from its log).
pub struct Worker {
    child: Child,
    /// The ids of the jobs it started, in order.
    pub started: Arc<Mutex<Vec<String>>>,
    /// The ids of the jobs it finished (done, failed or queued again), in order.
    pub finished: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    /// `zkinfer worker --queue URL --store DATA --name NAME EXTRA...`.
    pub fn start(url: &str, data: &Path, name: &str, extra: &[&str]) -> Worker {
        Worker::start_with(url, data, name, extra, &[])
    }

    /// [`Worker::start`] with `env` set.
    pub fn start_with(
        url: &str,
        data: &Path,
        name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
            .args(["worker", "--queue", url, "--name", name, "--store"])
            .arg(data)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zkinfer worker starts");
        let stderr = child.stderr.take().unwrap();
        let started = Arc::new(Mutex::new(Vec::new()));
        let finished = Arc::new(Mutex::new(Vec::new()));
        let (log, ends, tag) = (started.clone(), finished.clone(), name.to_string());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                let job = line.split(" job=").nth(1).map(|j| {
                    j.chars()
                        .take_while(char::is_ascii_hexdigit)
                        .collect::<String>()
                });
                if let Some(job) = job {
                    if line.contains("job started") {
                        log.lock().unwrap().push(job);
                    } else if line.contains("job done") || line.contains("job failed") {
                        ends.lock().unwrap().push(job);
                    }
                }
                eprintln!("[{tag}] {line}");
            }
        });
        Worker {
            child,
            started,
            finished,
        }
    }

    /// The job it is running (started and not finished), if any.
    pub fn current(&self) -> Option<String> {
        let last = self.started.lock().unwrap().last().cloned()?;
        (!self.finished.lock().unwrap().contains(&last)).then_some(last)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's S3 server (`make s3-server` installs it in `.venv-s3`) on a free loopback port, with
/// one empty bucket; stopped on drop.
pub struct S3 {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl S3 {
    /// The bucket every test store lives in.
    pub const BUCKET: &'static str = "zkinfer-test";

    /// Starts one and creates [`S3::BUCKET`].
    pub fn start() -> S3 {
        let server = super::root().join(".venv-s3/bin/moto_server");
        assert!(
            server.exists(),
            "{} is missing: run `make s3-server` (moto's S3 server, from PyPI)",
            server.display()
        );
        let port = free_port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server runs");
        let s3 = S3 {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        let c = client();
        // An unsigned PUT creates the bucket (moto does not check signatures).
        while !c
            .put(format!("{}/{}", s3.endpoint, S3::BUCKET))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto_server did not answer"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s3
    }

    /// The `AWS_*` environment of a client of this server.
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ]
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The multipart form of a build upload: the ONNX file `model` and the calibration JSON file.
pub fn upload_form(model: &str, calibration: &str) -> multipart::Form {
    multipart::Form::new()
        .part(
            "model",
            multipart::Part::bytes(std::fs::read(model).unwrap()).file_name("model.onnx"),
        )
        .text("calibration", std::fs::read_to_string(calibration).unwrap())
}

/// Waits (at most 300 s) for the build `id` to be done.
pub fn build_done(c: &Client, url: &str, id: &str) {
    let done = wait_finished(
        c,
        &format!("{url}/v1/builds/{id}"),
        None,
        Duration::from_secs(300),
    );
    assert_eq!(done["status"], "done", "{done}");
}

/// Uploads the credit-risk example and waits (at most 300 s) for it to be built; its id.
pub fn built(c: &Client, url: &str) -> String {
    let build = upload(
        c,
        url,
        None,
        &example("model.onnx"),
        &example("calibration.json"),
    );
    let id = build["id"].as_str().unwrap().to_string();
    build_done(c, url, &id);
    id
}

/// Requests a proof of the credit-risk input about `subject` on `build` and waits (at most
/// 120 s) for it to be done; its id and job.
pub fn proven(c: &Client, url: &str, build: &str, subject: &str) -> (String, Value) {
    let (code, body) = request_proof(c, url, build, &input(subject));
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let done = wait_finished(
        c,
        &format!("{url}/v1/proofs/{id}"),
        None,
        Duration::from_secs(120),
    );
    assert_eq!(done["status"], "done", "{done}");
    (id, done)
}
