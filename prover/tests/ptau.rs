//! Ceremony SRS: a snarkjs powers-of-tau file (made here with snarkjs from `.tools`, two
//! contributions) loads, passes the powers check, and keys, proves and verifies the example; a file
//! with too few powers, swapped powers, a wrong generator or no ptau magic is refused, saying why.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use zkinfer_prover::artifacts::BuildDir;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use zkinfer_prover::halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, SrsChoice};
use zkinfer_prover::quantize::QuantizationConfig;
use zkinfer_prover::srs::{dev_srs, SrsSource};
use zkinfer_prover::{ptau, Error};

/// `powersoftau new bn128 <power>` then two contributions, with snarkjs from `.tools`.
fn make_ptau(power: u32) -> PathBuf {
    let dir = temp_dir(&format!("ptau{power}"));
    let cli = repo_root().join(".tools/node_modules/snarkjs/build/cli.cjs");
    assert!(
        cli.exists(),
        "snarkjs missing: run scripts/install-tools.sh"
    );
    let step = |args: &[&str]| {
        let out = Command::new("node")
            .arg(&cli)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "snarkjs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    step(&["powersoftau", "new", "bn128", &power.to_string(), "0.ptau"]);
    step(&[
        "powersoftau",
        "contribute",
        "0.ptau",
        "1.ptau",
        "--name=first",
        "-e=zkinfer test one",
    ]);
    step(&[
        "powersoftau",
        "contribute",
        "1.ptau",
        "2.ptau",
        "--name=second",
        "-e=zkinfer test two",
    ]);
    dir.join("2.ptau")
}

/// Byte offset and size of a section of a `.ptau` file.
fn section(bytes: &[u8], id: u32) -> (usize, usize) {
    let count = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let mut at = 12;
    for _ in 0..count {
        let sid = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let size = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        if sid == id {
            return (at + 12, size);
        }
        at += 12 + size;
    }
    panic!("no section {id}");
}

fn variant(original: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(original).unwrap();
    edit(&mut bytes);
    let path = original.with_file_name(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn refused(path: &Path, k: usize, expected: &str) {
    match ptau::read_ptau(path, k) {
        Err(Error::Srs(message)) => assert!(message.contains(expected), "{message}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("{} accepted", path.display()),
    }
}

#[test]
fn ceremony_file_loads_checks_and_proves() {
    let file = make_ptau(12);
    assert!(ptau::is_ptau(&file));
    let srs = ptau::read_ptau(&file, 12).unwrap();
    assert_eq!(srs.get_g().len(), 1 << 12);
    assert_eq!(srs.get_g()[0], G1Affine::generator());
    assert_ne!(srs.s_g2(), dev_srs(12).s_g2(), "not the dev SRS");
    assert_eq!(ptau::read_ptau(&file, 8).unwrap().get_g().len(), 1 << 8);

    // The example end to end on it.
    let dir = BuildDir::new(temp_dir("ptau-build"));
    let calibration = InputData::read(&example_file("calibration.json")).unwrap();
    let settings = pipeline::compile(
        &example_file("model.onnx"),
        &calibration,
        QuantizationConfig::default(),
        &dir,
    )
    .unwrap();
    assert!(
        settings.circuit.k <= 12,
        "the example needs k = {}",
        settings.circuit.k
    );
    let info = pipeline::setup(&dir, &SrsChoice::File(file.clone())).unwrap();
    assert!(matches!(info.srs, SrsSource::PowersOfTau { .. }));
    let proof =
        pipeline::prove(&dir, &InputData::read(&example_file("input.json")).unwrap()).unwrap();
    assert!(pipeline::verify(&dir, &proof).unwrap());

    // Refusals.
    refused(
        &file,
        13,
        "holds 2^12 powers of tau; the circuit needs 2^13",
    );
    let (g1, _) = section(&std::fs::read(&file).unwrap(), 2);
    let swapped = variant(&file, "swapped.ptau", |b| {
        let (p3, p4) = (g1 + 3 * 64, g1 + 4 * 64);
        let three: Vec<u8> = b[p3..p3 + 64].to_vec();
        b.copy_within(p4..p4 + 64, p3);
        b[p4..p4 + 64].copy_from_slice(&three);
    });
    refused(&swapped, 12, "not successive powers of one tau");
    let shifted = variant(&file, "shifted.ptau", |b| {
        // τ^1·G1 where the generator should be: every point is still on the curve.
        b.copy_within(g1 + 64..g1 + 128, g1);
    });
    refused(&shifted, 12, "first tau G1 point is not the generator");
    let off_curve = variant(&file, "off-curve.ptau", |b| b[g1 + 5 * 64 + 7] ^= 1);
    refused(&off_curve, 12, "tau G1 point 5 is not on the curve");
    let truncated = variant(&file, "truncated.ptau", |b| b.truncate(g1 + 1000));
    refused(&truncated, 12, "runs past the end of the file");
    let not_ptau = variant(&file, "not.ptau", |b| b[0] = b'x');
    assert!(!ptau::is_ptau(&not_ptau));
    refused(&not_ptau, 12, "not a .ptau file");
}
