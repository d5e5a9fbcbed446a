//! Shared helpers for the end-to-end tests: the `zkinfer` binary, tool paths, anvil.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod faulty_rpc;
pub mod service;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A file of the bundled credit-risk example, as a string path.
pub fn example(file: &str) -> String {
    root()
        .join("examples/credit_risk")
        .join(file)
        .to_str()
        .unwrap()
        .to_string()
}

/// A tool from `.tools/bin` (installed by `scripts/install-tools.sh`, which `make test` runs).
pub fn tool(name: &str) -> PathBuf {
    let path = root().join(".tools/bin").join(name);
    assert!(
        path.exists(),
        "{} missing: run scripts/install-tools.sh (make test does)",
        path.display()
    );
    path
}

/// A loopback port nobody listens on (at the time of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh scratch directory under the target dir, removed when dropped unless the test is
/// failing (a failed test's files stay for inspection). Builds of the segmented tests take over
/// a gigabyte each, so a passing run must not leave them behind.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Keeps the directory after the guard is gone (for small files a helper hands back by path).
    pub fn keep(self) -> PathBuf {
        let dir = self.0.clone();
        std::mem::forget(self);
        dir
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh scratch directory (see [`Scratch`]).
pub fn scratch(name: &str) -> Scratch {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Runs `zkinfer` with `args`; the solc shim is passed through `ZKINFER_SOLC`.
pub fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .env("ZKINFER_SOLC", tool("solc"))
        .env_remove("ZKINFER_PRIVATE_KEY")
        .output()
        .expect("zkinfer runs")
}

/// Runs `zkinfer --json ...`, asserts success and parses stdout.
pub fn zkinfer_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json", "-q"];
    all.extend_from_slice(args);
    let out = zkinfer(&all);
    assert!(
        out.status.success(),
        "zkinfer {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of {args:?} is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The stderr of a run that must fail, with its exit code.
pub fn failure(args: &[&str]) -> (i32, String) {
    let out = zkinfer(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "zkinfer {args:?} unexpectedly succeeded"
    );
    assert!(
        !stderr.contains("panicked"),
        "zkinfer {args:?} panicked: {stderr}"
    );
    (out.status.code().unwrap_or(-1), stderr)
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Anvil's first default account key.
pub const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Anvil's second default account key.
pub const ANVIL_KEY_2: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// The address of [`ANVIL_KEY`]: the subject of the proofs these tests make.
pub const ANVIL_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Anvil's third default account key.
pub const ANVIL_KEY_3: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
/// The address of [`ANVIL_KEY_2`].
pub const ANVIL_ADDR_2: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// A local anvil node on a free port, killed on drop.
pub struct Anvil {
    child: Child,
    pub url: String,
}

impl Anvil {
    pub fn start() -> Anvil {
        Anvil::start_with(&[])
    }

    /// An anvil with extra flags (e.g. `--chain-id 5`).
    pub fn start_with(extra: &[&str]) -> Anvil {
        let port = free_port();
        let child = Command::new(tool("anvil"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "anvil did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Anvil {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// BN254 scalar field modulus.
pub const R: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

/// `zkinfer compile MODEL --calibration CALIBRATION -o OUT` with `extra` flags; its JSON report.
pub fn compile(model: &str, calibration: &str, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "compile",
        model,
        "--calibration",
        calibration,
        "-o",
        path(out),
    ];
    args.extend_from_slice(extra);
    zkinfer_json(&args)
}

/// compile (with `extra` flags) + dev setup + prove `input` (subject [`ANVIL_ADDR`]) in a
/// scratch directory `name`; returns (build dir, proof file, compile report).
pub fn build_and_prove_model(
    name: &str,
    model: &str,
    calibration: &str,
    input: &str,
    extra: &[&str],
) -> (String, String, Value) {
    let dir = scratch(name).keep();
    let build = dir.join("build");
    let proof = dir.join("proof.json");
    let report = compile(model, calibration, &build, extra);
    zkinfer_json(&["setup", path(&build), "--dev-srs"]);
    zkinfer_json(&[
        "prove",
        path(&build),
        "--input",
        input,
        "-o",
        path(&proof),
        "--subject",
        ANVIL_ADDR,
    ]);
    (path(&build).to_string(), path(&proof).to_string(), report)
}

/// [`build_and_prove_model`] for the example at input scale `scale`; returns (build dir, proof
/// file).
pub fn build_and_prove(name: &str, scale: &str) -> (String, String) {
    let (build, proof, _) = build_and_prove_model(
        name,
        &example("model.onnx"),
        &example("calibration.json"),
        &example("input.json"),
        &["--scale", scale],
    );
    (build, proof)
}

/// `../shared/bench-models/<name>.<ext>` beside the repository, as a string path.
pub fn bench_model(name: &str, ext: &str) -> String {
    let path = root()
        .join("../shared/bench-models")
        .join(format!("{name}.{ext}"));
    path.to_str().unwrap().to_string()
}

/// [`build_and_prove_model`] for a bench model with its calibration set and input.
pub fn build_and_prove_bench(name: &str) -> (String, String, Value) {
    build_and_prove_model(
        name,
        &bench_model(name, "onnx"),
        &bench_model(name, "calib.json"),
        &bench_model(name, "input.json"),
        &[],
    )
}

pub fn read_json(p: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

pub fn write_variant(original: &str, name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut v = read_json(original);
    edit(&mut v);
    let out = format!("{original}.{name}.json");
    std::fs::write(&out, serde_json::to_string(&v).unwrap()).unwrap();
    out
}

/// A proof file's model id, proof bytes and instances as the contracts take them.
pub fn proof_parts(artifact: &Value) -> (B256, Vec<u8>, Vec<U256>) {
    let model_id = artifact["model_id"].as_str().unwrap().parse().unwrap();
    let proof = hex::decode(&artifact["proof"].as_str().unwrap()[2..]).unwrap();
    let words = artifact["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| U256::from_str_radix(&w.as_str().unwrap()[2..], 16).unwrap())
        .collect();
    (model_id, proof, words)
}

pub fn add_to_word(hex_word: &str, add: &str) -> String {
    let a = U256::from_str_radix(hex_word.trim_start_matches("0x"), 16).unwrap();
    let b = U256::from_str_radix(add, 16).unwrap();
    format!("{:#066x}", a + b)
}

/// The proof file `original` with its proof bytes changed by `edit`, written beside it.
pub fn with_proof_bytes(original: &str, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    write_variant(original, name, |v| {
        let mut bytes = hex::decode(&v["proof"].as_str().unwrap()[2..]).unwrap();
        edit(&mut bytes);
        v["proof"] = Value::String(format!("0x{}", hex::encode(bytes)));
    })
}

/// `zkinfer deploy BUILD` on `url` from anvil's first account, with `extra` flags; its JSON.
pub fn deploy(build: &str, url: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "deploy",
        build,
        "--rpc-url",
        url,
        "--private-key",
        ANVIL_KEY,
    ];
    args.extend_from_slice(extra);
    zkinfer_json(&args)
}

/// The arguments of `zkinfer submit FILE` to the oracle `consumer` from `key`.
fn submit_args<'a>(file: &'a str, url: &'a str, consumer: &'a str, key: &'a str) -> [&'a str; 8] {
    [
        "submit",
        file,
        "--rpc-url",
        url,
        "--consumer",
        consumer,
        "--private-key",
        key,
    ]
}

/// `zkinfer submit FILE` to the oracle `consumer` from `key`.
pub fn submit(file: &str, url: &str, consumer: &str, key: &str) -> Output {
    zkinfer(&submit_args(file, url, consumer, key))
}

/// The arguments of `zkinfer attest BUILD --input INPUT --subject SUBJECT` to the oracle
/// `consumer` from `key` (an attester's).
pub fn attest_args<'a>(
    build: &'a str,
    input: &'a str,
    subject: &'a str,
    url: &'a str,
    consumer: &'a str,
    key: &'a str,
) -> [&'a str; 12] {
    [
        "attest",
        build,
        "--input",
        input,
        "--subject",
        subject,
        "--rpc-url",
        url,
        "--consumer",
        consumer,
        "--private-key",
        key,
    ]
}

/// The arguments of `zkinfer read` of `subject`'s output of `model_id` on the oracle `consumer`.
pub fn read_args<'a>(
    url: &'a str,
    consumer: &'a str,
    model_id: &'a str,
    subject: &'a str,
) -> [&'a str; 9] {
    [
        "read",
        "--rpc-url",
        url,
        "--consumer",
        consumer,
        "--model-id",
        model_id,
        "--subject",
        subject,
    ]
}

/// [`submit`] that must succeed; its JSON.
pub fn submit_json(file: &str, url: &str, consumer: &str, key: &str) -> Value {
    zkinfer_json(&submit_args(file, url, consumer, key))
}
