//! Bad input gets a clear error and a non-zero exit, never a panic.

mod support;

use support::*;

/// A scikit-learn RBF-kernel SVM (ai.onnx.ml), not supported.
fn unsupported_fixture(ext: &str) -> String {
    let p = root()
        .join("prover/tests/fixtures/ops")
        .join(format!("unsupported_svm_classifier.{ext}"));
    p.to_str().unwrap().to_string()
}

#[test]
fn missing_model_file_is_named() {
    let out = scratch("missing");
    let (code, err) = failure(&[
        "compile",
        "/nonexistent/model.onnx",
        "--calibration",
        &example("input.json"),
        "-o",
        path(&out),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent/model.onnx") && err.contains("No such file"),
        "{err}"
    );
}

/// A table of 2^0 entries has no domain (its rescale would underflow): refused by the
/// argument parser, naming the flag and the range, before any work.
#[test]
fn a_table_bits_out_of_range_is_refused() {
    for bits in ["0", "1", "25"] {
        let out = scratch("table-bits");
        let (code, err) = failure(&[
            "compile",
            &example("model.onnx"),
            "--calibration",
            &example("input.json"),
            "-o",
            path(&out),
            "--table-bits",
            bits,
        ]);
        assert_ne!(code, 0, "{err}");
        assert!(
            err.contains("--table-bits") && err.contains("2..=24"),
            "{err}"
        );
    }
}

#[test]
fn malformed_onnx_is_reported() {
    let dir = scratch("malformed");
    let bad = dir.join("bad.onnx");
    std::fs::write(&bad, b"this is not a protobuf \xff\xfe\x00\x01").unwrap();
    let (code, err) = failure(&[
        "compile",
        path(&bad),
        "--calibration",
        &example("input.json"),
        "-o",
        path(&dir.join("b")),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("malformed ONNX model") && err.contains("bad.onnx"),
        "{err}"
    );
}

#[test]
fn unsupported_op_names_op_and_node_with_exit_code_2() {
    let dir = scratch("unsupported");
    let (code, err) = failure(&[
        "compile",
        &unsupported_fixture("onnx"),
        "--calibration",
        &unsupported_fixture("calib.json"),
        "-o",
        path(&dir),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unsupported: SVMClassifier (node svm)"),
        "{err}"
    );
    // Under --json: the same exit code, and the error as JSON with its kind.
    let out = zkinfer(&[
        "--json",
        "compile",
        &unsupported_fixture("onnx"),
        "--calibration",
        &unsupported_fixture("calib.json"),
        "-o",
        path(&dir),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let printed = stdout_json(&out);
    assert_eq!(printed["kind"], "unsupported_operator", "{printed}");
    assert!(
        printed["error"]
            .as_str()
            .unwrap()
            .contains("unsupported: SVMClassifier (node svm)"),
        "{printed}"
    );
}

#[test]
fn a_circuit_above_the_memory_limit_is_refused_at_compile() {
    let dir = scratch("memory");
    let build = dir.join("build");
    let compile = |limit: &str| {
        failure(&[
            "compile",
            &example("model.onnx"),
            "--calibration",
            &example("calibration.json"),
            "-o",
            path(&build),
            "--max-memory",
            limit,
        ])
    };
    let (code, err) = compile("16MiB");
    assert_eq!(code, 1);
    assert!(
        err.contains("too large") && err.contains("rows") && err.contains("16 MiB are allowed"),
        "{err}"
    );
    assert!(!build.join("settings.json").exists(), "nothing written");
    let (_, err) = compile("lots");
    assert!(err.contains("--max-memory \"lots\" is not a size"), "{err}");
}

#[test]
fn wrong_input_length_is_reported() {
    let dir = scratch("length");
    let bad = dir.join("input.json");
    std::fs::write(&bad, r#"{"input_data": [[0.1, 0.2, 0.3]]}"#).unwrap();
    let (_, err) = failure(&[
        "compile",
        &example("model.onnx"),
        "--calibration",
        path(&bad),
        "-o",
        path(&dir.join("b")),
    ]);
    assert!(
        err.contains("input #0 has 3 values, not a multiple of the model's 6"),
        "{err}"
    );
    let malformed = dir.join("malformed.json");
    std::fs::write(&malformed, r#"{"input_data": [[0.1, "x"]]}"#).unwrap();
    let (_, err) = failure(&[
        "compile",
        &example("model.onnx"),
        "--calibration",
        path(&malformed),
        "-o",
        path(&dir.join("c")),
    ]);
    assert!(
        err.contains("malformed.json") && err.contains("invalid JSON"),
        "{err}"
    );
}

#[test]
fn prove_time_errors_are_clear() {
    let dir = scratch("prove");
    let build = dir.join("b");
    compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        &[],
    );
    // No keys yet.
    let (_, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        &example("input.json"),
        "-o",
        path(&dir.join("p.json")),
    ]);
    assert!(
        err.contains("has no keys") && err.contains("zkinfer setup"),
        "{err}"
    );
    let (_, err) = failure(&["setup", path(&build)]);
    assert!(err.contains("--dev-srs"), "{err}");
    zkinfer_json(&["setup", path(&build), "--dev-srs"]);
    let short = dir.join("short.json");
    std::fs::write(&short, r#"{"input_data": [[0.1, 0.2]]}"#).unwrap();
    let (_, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        path(&short),
        "-o",
        path(&dir.join("p.json")),
    ]);
    assert!(
        err.contains("input #0 has 2 values, the model expects 6"),
        "{err}"
    );
    let wild = dir.join("wild.json");
    std::fs::write(&wild, r#"{"input_data": [[100.0, 0, 0, 0, 0, 0]]}"#).unwrap();
    let (_, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        path(&wild),
        "-o",
        path(&dir.join("p.json")),
    ]);
    assert!(
        err.contains("out of calibrated range at node features"),
        "{err}"
    );
    assert!(
        !dir.join("p.json").exists(),
        "a failed prove wrote a proof file"
    );
}

#[test]
fn unreachable_rpc_url_is_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (_, err) = failure(&[
        "read",
        "--rpc-url",
        &url,
        "--consumer",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "--model-id",
        &format!("0x{}", "00".repeat(32)),
        "--subject",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ]);
    assert!(
        err.contains(&format!("cannot reach the RPC endpoint {url}")),
        "{err}"
    );
    let (_, err) = failure(&[
        "read",
        "--rpc-url",
        "not a url",
        "--consumer",
        "0x00",
        "--model-id",
        "0x00",
        "--subject",
        "0x00",
    ]);
    assert!(err.contains("invalid"), "{err}");
}

#[test]
fn a_reused_verifier_with_the_model_specific_kind_is_refused_up_front() {
    let (_, err) = failure(&[
        "deploy",
        "no-such-build",
        "--rpc-url",
        "http://127.0.0.1:1",
        "--private-key",
        "0x01",
        "--verifier",
        "snark-verifier",
        "--reusable-verifier",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ]);
    assert!(
        err.contains("--reusable-verifier") && err.contains("snark-verifier"),
        "{err}"
    );
}

#[test]
fn submit_without_key_or_with_bad_proof_file_is_reported() {
    let dir = scratch("submit");
    let bad = dir.join("proof.json");
    std::fs::write(&bad, r#"{"version": 99}"#).unwrap();
    let (_, err) = failure(&[
        "submit",
        path(&bad),
        "--rpc-url",
        "http://127.0.0.1:1",
        "--consumer",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ]);
    assert!(
        err.contains("artifact version 99 is not supported"),
        "{err}"
    );
}

/// The stdout of a run, parsed as JSON.
fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Deterministic junk bytes (xorshift64).
fn junk_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The example compiled into `dir/b` (with `extra` flags) and set up with the dev SRS.
fn example_with_keys(dir: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let build = dir.join("b");
    compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        extra,
    );
    zkinfer_json(&["setup", path(&build), "--dev-srs"]);
    build
}

#[test]
fn usage_errors_exit_64_and_are_json_under_json() {
    // A missing argument, an unknown subcommand, an unknown flag.
    for args in [
        &["compile"][..],
        &["frobnicate"][..],
        &["verify", "b", "p.json", "--bogus"][..],
    ] {
        let out = zkinfer(args);
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.trim().is_empty(), "{args:?}: no message on stderr");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: output on stdout without --json"
        );

        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let out = zkinfer(&with_json);
        assert_eq!(out.status.code(), Some(64), "{with_json:?}");
        let printed = stdout_json(&out);
        assert_eq!(printed["kind"], "usage", "{printed}");
        assert!(!printed["error"].as_str().unwrap().is_empty(), "{printed}");
        // The plain message stays on stderr.
        assert!(!String::from_utf8_lossy(&out.stderr).trim().is_empty());
    }
    // --json after the subcommand counts too.
    let out = zkinfer(&["compile", "--json"]);
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(stdout_json(&out)["kind"], "usage");
    // Help and version are not errors.
    for flag in ["--help", "--version"] {
        let out = zkinfer(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("zkinfer"),
            "{flag}"
        );
    }
}

#[test]
fn junk_and_truncated_srs_files_are_refused_naming_the_file() {
    let dir = scratch("junk-srs");
    let build = dir.join("b");
    compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        &[],
    );
    let setup = |file: &std::path::Path| {
        let (code, err) = failure(&["setup", path(&build), "--srs", path(file)]);
        assert_eq!(code, 1, "{err}");
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name), "{err}");
        assert!(!build.join("pk.bin").exists(), "keys written from {name}");
        err
    };
    // JSON (its first bytes read as a huge size).
    let json_file = dir.join("srs.json");
    std::fs::write(&json_file, r#"{"input_data": [[0.5]]}"#).unwrap();
    let err = setup(&json_file);
    assert!(err.contains("not a halo2 KZG params file"), "{err}");
    // Random bytes as halo2 params, and named .ptau.
    let params = dir.join("random.params");
    std::fs::write(&params, junk_bytes(4096, 1)).unwrap();
    let err = setup(&params);
    assert!(err.contains("not a halo2 KZG params file"), "{err}");
    let ptau = dir.join("random.ptau");
    std::fs::write(&ptau, junk_bytes(4096, 2)).unwrap();
    let err = setup(&ptau);
    assert!(err.contains("not a .ptau file"), "{err}");
    // A real params file (the dev SRS a setup wrote), truncated.
    let other = dir.join("other");
    compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &other,
        &[],
    );
    zkinfer_json(&["setup", path(&other), "--dev-srs"]);
    let bytes = std::fs::read(other.join("kzg.srs")).unwrap();
    let truncated = dir.join("truncated.srs");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = setup(&truncated);
    assert!(err.contains("(truncated)"), "{err}");
}

#[test]
fn verify_refuses_an_edited_output_data() {
    let (build, proof) = build_and_prove("edited-output", "13");
    assert_eq!(zkinfer_json(&["verify", &build, &proof])["valid"], true);
    let score = read_json(&proof)["output_data"][0][0].as_f64().unwrap();
    let edited = write_variant(&proof, "edited", |p| {
        p["output_data"][0][0] = serde_json::json!(score + 1.0)
    });
    let (code, err) = failure(&["verify", &build, &edited]);
    assert_eq!(code, 1);
    assert!(
        err.contains("output_data[0][0]")
            && err.contains(&(score + 1.0).to_string())
            && err.contains(&score.to_string()),
        "{err}"
    );
    assert!(!err.contains("proof valid"), "{err}");
    let out = zkinfer(&["--json", "verify", &build, &edited]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["kind"], "output_mismatch");
    // A missing output array is refused too.
    let dropped = write_variant(&proof, "dropped", |p| {
        p["output_data"] = serde_json::json!([])
    });
    let (code, err) = failure(&["verify", &build, &dropped]);
    assert_eq!(code, 1);
    assert!(err.contains("output_data[0]"), "{err}");
}

#[test]
fn recompiling_the_same_model_keeps_its_keys() {
    let dir = scratch("recompile-same");
    let build = example_with_keys(&dir, &[]);
    let pk = std::fs::read(build.join("pk.bin")).unwrap();
    let report = compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        &[],
    );
    assert!(
        std::fs::read(build.join("pk.bin")).is_ok_and(|now| now == pk),
        "pk.bin changed or removed"
    );
    for kept in ["vk.bin", "keys.json", "kzg.srs"] {
        assert!(build.join(kept).exists(), "{kept} removed");
    }
    assert_eq!(
        read_json(path(&build.join("keys.json")))["model_id"],
        report["model_id"]
    );
    // The kept keys still prove, without another setup.
    let proof = dir.join("p.json");
    zkinfer_json(&[
        "prove",
        path(&build),
        "--input",
        &example("input.json"),
        "-o",
        path(&proof),
    ]);
    assert_eq!(
        zkinfer_json(&["verify", path(&build), path(&proof)])["valid"],
        true
    );
}

#[test]
fn compiling_another_model_into_a_build_is_refused_unless_forced() {
    let dir = scratch("recompile-other");
    let build = dir.join("b");
    let first = compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        &["--scale", "12"],
    );
    // What setup, codegen, deploy and prove leave there (their contents do not matter here),
    // and a file of the user's.
    for file in [
        "pk.bin",
        "vk.bin",
        "keys.json",
        "kzg.srs",
        "Verifier.sol",
        "Verifier.abi.json",
        "deployment.json",
        "proof.json",
    ] {
        std::fs::write(build.join(file), "x").unwrap();
    }
    std::fs::write(build.join("notes.txt"), "mine").unwrap();
    let (model, calibration) = (example("model.onnx"), example("calibration.json"));
    let args: [&str; 8] = [
        "compile",
        &model,
        "--calibration",
        &calibration,
        "-o",
        path(&build),
        "--scale",
        "11",
    ];
    let (code, err) = failure(&args);
    assert_eq!(code, 1);
    for listed in [
        "settings.json",
        "model.json",
        "pk.bin",
        "keys.json",
        "Verifier.sol",
        "deployment.json",
        "--force",
    ] {
        assert!(err.contains(listed), "{listed} not named: {err}");
    }
    assert!(err.contains(first["model_id"].as_str().unwrap()), "{err}");
    assert!(!err.contains("notes.txt"), "{err}");
    assert!(
        build.join("pk.bin").exists(),
        "a refused compile removed files"
    );
    assert_eq!(
        read_json(path(&build.join("settings.json")))["model_id"],
        first["model_id"],
        "a refused compile wrote settings"
    );

    let mut forced = args.to_vec();
    forced.push("--force");
    let out = zkinfer(&forced);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for removed in [
        "pk.bin",
        "vk.bin",
        "keys.json",
        "kzg.srs",
        "Verifier.sol",
        "Verifier.abi.json",
        "deployment.json",
        "proof.json",
    ] {
        assert!(!build.join(removed).exists(), "{removed} kept");
        assert!(
            stderr.contains(removed),
            "removing {removed} not logged: {stderr}"
        );
    }
    assert!(build.join("notes.txt").exists(), "the user's file removed");
    assert_ne!(
        read_json(path(&build.join("settings.json")))["model_id"],
        first["model_id"]
    );
}

#[test]
fn prove_checks_its_output_path_before_proving() {
    let dir = scratch("prove-out");
    let build = example_with_keys(&dir, &[]);
    let missing = dir.join("no-such-folder").join("p.json");
    let (code, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        &example("input.json"),
        "-o",
        path(&missing),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains(path(&missing)) && err.contains("does not exist"),
        "{err}"
    );
    assert!(!err.contains("loading proving key"), "proved first: {err}");
    let (code, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        &example("input.json"),
        "-o",
        path(&dir),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains(path(&dir)) && err.contains("is a directory"),
        "{err}"
    );
    assert!(!err.contains("loading proving key"), "proved first: {err}");

    // `--outputs` (private values) never overwrites the proof or the input, nor lands in the
    // build folder; the same file by another spelling is the same file.
    let proof = dir.join("p.json");
    let input = dir.join("input.json");
    std::fs::copy(example("input.json"), &input).unwrap();
    let same = format!("{}/./p.json", path(&dir));
    let in_build = build.join("outputs.json");
    for (outputs, reason) in [
        (same.as_str(), "the proof or the input file"),
        (path(&input), "the proof or the input file"),
        (path(&in_build), "inside the build folder"),
    ] {
        let (code, err) = failure(&[
            "prove",
            path(&build),
            "--input",
            path(&input),
            "-o",
            path(&proof),
            "--outputs",
            outputs,
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(reason), "--outputs {outputs}: {err}");
        assert!(!proof.exists(), "proved first: {err}");
    }
    // Accepted elsewhere: the proven outputs, owner-only.
    let outputs = dir.join("outputs.json");
    let proved = zkinfer_json(&[
        "prove",
        path(&build),
        "--input",
        path(&input),
        "-o",
        path(&proof),
        "--outputs",
        path(&outputs),
    ]);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs).unwrap()).unwrap();
    assert_eq!(written["output_data"], proved["output_data"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&outputs).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "outputs file mode {mode:o}");
    }
}

#[test]
fn an_all_zero_calibration_is_warned_about_at_compile() {
    let dir = scratch("zero-calibration");
    let zeros = dir.join("zeros.json");
    std::fs::write(
        &zeros,
        r#"{"input_data": [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]}"#,
    )
    .unwrap();
    let compile_with = |calibration: &str, out: &str| {
        let out = zkinfer(&[
            "compile",
            &example("model.onnx"),
            "--calibration",
            calibration,
            "-o",
            path(&dir.join(out)),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    let err = compile_with(path(&zeros), "zero");
    assert!(err.contains("calibration saw only zeros"), "{err}");
    assert!(
        err.contains("features"),
        "the input node is not named: {err}"
    );
    assert!(err.contains("refused at prove"), "{err}");
    assert_eq!(
        err.matches("calibration saw only zeros").count(),
        1,
        "one warning: {err}"
    );
    let err = compile_with(&example("calibration.json"), "real");
    assert!(!err.contains("only zeros"), "{err}");
}

#[test]
fn a_hashed_build_refuses_an_input_without_a_salt() {
    let dir = scratch("salt");
    let build = example_with_keys(&dir, &["--input-visibility", "hashed"]);
    let proof = dir.join("p.json");
    let (code, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        &example("input.json"),
        "-o",
        path(&proof),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no \"salt\"") && err.contains("secrets.randbits"),
        "{err}"
    );
    assert!(!proof.exists());
    let (_, err) = failure(&[
        "commitment",
        path(&build),
        "--input",
        &example("input.json"),
    ]);
    assert!(err.contains("no \"salt\""), "{err}");
    // With a salt it proves.
    // An explicit zero salt is no salt.
    let mut zero = read_json(&example("input.json"));
    zero["salt"] = serde_json::json!("0x0");
    let zero_file = dir.join("zero-salt.json");
    std::fs::write(&zero_file, zero.to_string()).unwrap();
    let (code, stderr) = failure(&[
        "prove",
        path(&build),
        "--input",
        path(&zero_file),
        "-o",
        path(&proof),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is zero"), "{stderr}");
    let mut salted = read_json(&example("input.json"));
    salted["salt"] = serde_json::json!("0x5a17");
    let salted_file = dir.join("salted.json");
    std::fs::write(&salted_file, salted.to_string()).unwrap();
    zkinfer_json(&[
        "prove",
        path(&build),
        "--input",
        path(&salted_file),
        "-o",
        path(&proof),
    ]);
}

#[test]
fn dev_srs_keys_are_marked_and_refused_on_a_real_chain_id() {
    let dir = scratch("dev-srs-deploy");
    let build = example_with_keys(&dir, &[]);
    // The dev SRS passed as a file (a copy of the build's) is recognised by its content.
    let copy = dir.join("copied.srs");
    std::fs::copy(build.join("kzg.srs"), &copy).unwrap();
    let other = dir.join("other");
    compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &other,
        &[],
    );
    zkinfer_json(&["setup", path(&other), "--srs", path(&copy)]);
    let keys = read_json(path(&other.join("keys.json")));
    assert_eq!(keys["srs"]["kind"], "dev_insecure", "{keys}");
    // Every generated contract says its keys are insecure.
    for kind in ["reusable", "snark-verifier"] {
        let sol = dir.join(format!("{kind}.sol"));
        zkinfer_json(&[
            "codegen",
            path(&build),
            "-o",
            path(&sol),
            "--verifier",
            kind,
        ]);
        let source = if kind == "reusable" {
            sol.with_extension("key.sol")
        } else {
            sol
        };
        let text = std::fs::read_to_string(&source).unwrap();
        assert!(
            text.contains("WARNING: INSECURE KEYS"),
            "{kind}: no warning"
        );
    }
    // Chain id 5 is not a local chain: refused before anything is sent, unless --allow-dev-srs.
    let anvil = Anvil::start_with(&["--chain-id", "5"]);
    let deploy_args = [
        "deploy",
        path(&build),
        "--rpc-url",
        &anvil.url,
        "--private-key",
        ANVIL_KEY,
    ];
    let (code, stderr) = failure(&deploy_args);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--dev-srs")
            && stderr.contains("chain 5")
            && stderr.contains("--allow-dev-srs"),
        "{stderr}"
    );
    assert!(
        !build.join("deployment.json").exists(),
        "something was deployed"
    );
    let mut allowed = deploy_args.to_vec();
    allowed.push("--allow-dev-srs");
    let deployed = zkinfer_json(&allowed);
    assert_eq!(deployed["chain_id"].as_u64(), Some(5));
    assert_eq!(deployed["dev_srs"].as_bool(), Some(true));
}

#[test]
fn scales_beyond_the_supported_range_are_refused_at_compile() {
    let dir = scratch("huge-scale");
    for flag in ["--scale", "--weight-scale"] {
        let (code, stderr) = failure(&[
            "compile",
            &example("model.onnx"),
            "--calibration",
            &example("calibration.json"),
            "-o",
            path(&dir.join("b")),
            flag,
            "200",
        ]);
        assert_eq!(code, 1);
        assert!(stderr.contains(&format!("{flag} 200")), "{stderr}");
    }
}

#[test]
fn a_subject_must_be_an_address_and_agree_with_the_input_file() {
    let dir = scratch("subject");
    let build = example_with_keys(&dir, &[]);
    let proof = dir.join("p.json");
    let prove = |subject: &str, input: &str| {
        failure(&[
            "prove",
            path(&build),
            "--input",
            input,
            "-o",
            path(&proof),
            "--subject",
            subject,
        ])
    };
    let (code, stderr) = prove("0x1234", &example("input.json"));
    assert_eq!(code, 1);
    assert!(stderr.contains("not an address"), "{stderr}");
    let mut input = read_json(&example("input.json"));
    input["subject"] = serde_json::json!(ANVIL_ADDR);
    let with_subject = dir.join("input.json");
    std::fs::write(&with_subject, input.to_string()).unwrap();
    let (_, stderr) = prove(ANVIL_ADDR_2, path(&with_subject));
    assert!(
        stderr.contains("differs from the input file's subject"),
        "{stderr}"
    );
    assert!(!proof.exists());
    // The file's subject is the proof's last instance.
    zkinfer_json(&[
        "prove",
        path(&build),
        "--input",
        path(&with_subject),
        "-o",
        path(&proof),
    ]);
    let last = read_json(path(&proof))["instances"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert!(last.ends_with(&ANVIL_ADDR[2..].to_lowercase()), "{last}");
}

#[test]
fn attestation_is_refused_up_front_where_it_would_vouch_for_nothing() {
    let dir = scratch("attester-refused");
    let build = example_with_keys(&dir, &["--input-visibility", "private"]);
    // Refused before connecting: nothing listens on this port.
    let deploy = |extra: &[&str]| {
        let mut args = vec![
            "deploy",
            path(&build),
            "--rpc-url",
            "http://127.0.0.1:9",
            "--private-key",
            ANVIL_KEY,
            "--attester",
            ANVIL_ADDR_2,
        ];
        args.extend_from_slice(extra);
        failure(&args)
    };
    let (code, stderr) = deploy(&[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("inputs are private"), "{stderr}");
    let (_, stderr) = deploy(&["--attestation-max-age", "0"]);
    assert!(stderr.contains("at least 1 block"), "{stderr}");
    let (_, stderr) = failure(&[
        "deploy",
        path(&build),
        "--rpc-url",
        "http://127.0.0.1:9",
        "--attester",
        "0x1234",
    ]);
    assert!(stderr.contains("attester"), "{stderr}");
    // Public inputs with hashed outputs: the outputs' salt is not fixed by the attested words.
    let hashed_out = example_with_keys(&dir.join("hashed-out"), &["--output-visibility", "hashed"]);
    let (_, stderr) = failure(&[
        "deploy",
        path(&hashed_out),
        "--rpc-url",
        "http://127.0.0.1:9",
        "--attester",
        ANVIL_ADDR_2,
    ]);
    assert!(stderr.contains("salt is not fixed"), "{stderr}");
}

/// `compile --layout` holds the planner to one family: the chosen one is reported, and a family
/// that cannot hold the model (a dot region within one column) or a layout asked of a segmented
/// build is refused naming the flag.
#[test]
fn a_layout_is_held_to_or_refused_by_name() {
    let dir = scratch("layout");
    for layout in ["plain", "chain"] {
        let settings = compile(
            &example("model.onnx"),
            &example("calibration.json"),
            &dir.join(layout),
            &["--layout", layout],
        );
        assert_eq!(settings["layout"], layout, "{settings}");
    }
    let (model, calibration, out) = (
        example("model.onnx"),
        example("calibration.json"),
        dir.join("refused"),
    );
    let base = [
        "compile",
        &model,
        "--calibration",
        &calibration,
        "-o",
        path(&out),
    ];
    let compile_with = |extra: &[&str]| failure(&[&base[..], extra].concat());
    let (code, err) = compile_with(&["--layout", "dot", "--max-columns", "1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("dot layout") && err.contains("--max-columns 2"),
        "{err}"
    );
    let (code, err) = compile_with(&["--layout", "chain", "--segments", "2"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--layout") && err.contains("segments"),
        "{err}"
    );
    // Another layout is another circuit: another model id, and a build of one layout is not
    // replaced by another without --force (its keys would not match).
    let one = dir.join("one");
    let plain = compile(&model, &calibration, &one, &["--layout", "plain"]);
    let (code, err) = failure(&[&base[..4], &["-o", path(&one), "--layout", "chain"]].concat());
    assert_eq!(code, 1);
    assert!(err.contains("--force"), "{err}");
    let chain = compile(
        &model,
        &calibration,
        &one,
        &["--layout", "chain", "--force"],
    );
    assert_ne!(plain["model_id"], chain["model_id"]);
    assert_eq!(chain["layout"], "chain", "{chain}");
    // mlp_tiny: the chains fit 2^9 rows, but below 2^10 the planner takes the plain column one
    // size up (one commitment less); --layout chain holds it to the chains.
    let tiny = |layout: &str| {
        let settings = compile(
            &bench_model("mlp_tiny", "onnx"),
            &bench_model("mlp_tiny", "calib.json"),
            &dir.join(format!("tiny-{layout}")),
            &["--layout", layout],
        );
        (settings["layout"].clone(), settings["k"].as_u64())
    };
    assert_eq!(tiny("auto"), ("plain".into(), Some(10)));
    assert_eq!(tiny("chain"), ("chain".into(), Some(9)));
}
