//! Shared state of the fuzz targets: the bundled example compiled, set up and proven once per
//! fuzzing process, so targets can check fuzzed artifacts against a real build.

use std::path::PathBuf;
use std::sync::OnceLock;

use zkinfer_codegen::plan::{VerifierPlan, Word};
use zkinfer_prover::artifacts::{BuildDir, ProofArtifact, Settings};
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, SrsChoice};
use zkinfer_prover::quantize::{QuantizationConfig, QuantizedModel};

/// The example's build: its directory, model, an honest proof and the verifier's key blob.
pub struct ExampleBuild {
    /// The build directory (settings, model, keys, SRS).
    pub dir: BuildDir,
    /// The settings written by compile.
    pub settings: Settings,
    /// The quantized model.
    pub model: QuantizedModel,
    /// The example input.
    pub input: InputData,
    /// An honest proof of the example input.
    pub proof: ProofArtifact,
    /// The reusable verifier's key blob for this build.
    pub blob: Vec<Word>,
}

/// `examples/credit_risk/<file>` in the repository.
pub fn example_file(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/credit_risk")
        .join(file)
}

/// The example build, made on first use (a second or two).
pub fn example() -> &'static ExampleBuild {
    static BUILD: OnceLock<ExampleBuild> = OnceLock::new();
    BUILD.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("zkinfer-fuzz-{}", std::process::id()));
        // Fresh: compile refuses a folder holding another build (a stale one with this pid).
        let _ = std::fs::remove_dir_all(&root);
        let dir = BuildDir::new(&root);
        let calibration = InputData::read(&example_file("calibration.json")).expect("calibration");
        let input = InputData::read(&example_file("input.json")).expect("input");
        pipeline::compile(
            &example_file("model.onnx"),
            &calibration,
            QuantizationConfig::default(),
            &dir,
        )
        .expect("compile");
        pipeline::setup(&dir, &SrsChoice::Dev).expect("setup");
        let proof = pipeline::prove(&dir, &input).expect("prove");
        let (settings, model) = pipeline::load(&dir).expect("load");
        let srs = zkinfer_prover::srs::read_srs(&dir.srs(), settings.circuit.k).expect("srs");
        let vk = zkinfer_prover::keys::read_vk(&dir.vk(), &settings.circuit).expect("vk");
        let blob = VerifierPlan::new(&srs, &vk, settings.circuit.num_instances)
            .expect("plan")
            .encode();
        ExampleBuild {
            dir,
            settings,
            model,
            input,
            proof,
            blob,
        }
    })
}

/// A scratch copy of the example build (its key and SRS files) whose settings a target may
/// overwrite.
pub fn scratch_build() -> &'static BuildDir {
    static SCRATCH: OnceLock<BuildDir> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let build = example();
        let root = build.dir.root().with_extension("scratch");
        std::fs::create_dir_all(&root).expect("scratch dir");
        let dir = BuildDir::new(root);
        for (from, to) in [
            (build.dir.settings(), dir.settings()),
            (build.dir.model(), dir.model()),
            (build.dir.keys_info(), dir.keys_info()),
            (build.dir.vk(), dir.vk()),
            (build.dir.pk(), dir.pk()),
            (build.dir.srs(), dir.srs()),
        ] {
            std::fs::copy(from, to).expect("copy build file");
        }
        dir
    })
}
