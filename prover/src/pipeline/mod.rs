//! The user-level steps: compile, setup, prove, verify — each reading and writing a build directory.
//!
//! One module a step: [`compile`](compile_with) in `compile.rs`, [`setup`] in `setup.rs`,
//! [`prove`] (and statements and commitments without proving) in `prove.rs`, [`verify`] in
//! `verify.rs`; what they share (the model's id and loading a build) here.

mod compile;
mod prove;
mod setup;
mod verify;

pub use compile::*;
pub use prove::*;
pub use setup::*;
pub use verify::*;

use crate::artifacts::{Artifact, BuildDir, ModelArtifact, Settings};
use crate::circuit::CircuitParams;
use crate::encoding::ModelId;
use crate::quantize::QuantizedModel;
use crate::{Error, Result};

/// The id of a quantized model laid out as `circuit`: SHA-256 of the model and the circuit's
/// shape (halo2-base's parameters, the dot-product region's when there is one, the fused
/// lookup's when it has multiply-accumulate chains).
pub fn model_id(model: &QuantizedModel, circuit: &CircuitParams) -> ModelId {
    let mut bytes = serde_json::to_vec(model).expect("model serializes");
    bytes.extend(serde_json::to_vec(&circuit.base).expect("params serialize"));
    // Absent region: the ids of builds from before the region existed stay as they were.
    if let Some(dot) = circuit.dot {
        bytes.extend(serde_json::to_vec(&dot).expect("shape serializes"));
    }
    // Likewise for chains: a build with them has a different key from one without.
    if let Some(fused) = circuit.fused.filter(|f| f.mac_chain) {
        bytes.extend(serde_json::to_vec(&fused).expect("shape serializes"));
    }
    ModelId(crate::hash::sha256(&bytes))
}

/// Loads the settings and quantized model of a compiled build directory, and checks that they
/// belong together (the model and circuit shape hash to the settings' model id), so that an
/// edited `model.json` is refused here rather than failing in the prover.
pub fn load(dir: &BuildDir) -> Result<(Settings, QuantizedModel)> {
    dir.require_compiled()?;
    let settings = Settings::read(&dir.settings())?;
    let model = ModelArtifact::read(&dir.model())?.model;
    let found = model_id(&model, &settings.circuit);
    if found != settings.model_id {
        return Err(Error::ModelMismatch {
            path: dir.model(),
            found,
            expected: settings.model_id,
        });
    }
    Ok((settings, model))
}

/// A step of a long operation (for a progress bar): step `step` of `of`, named `name`, starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// 1-based index of the step that starts.
    pub step: usize,
    /// Number of steps.
    pub of: usize,
    /// What the step does.
    pub name: &'static str,
}

/// Receives the [`Phase`]s of [`setup_reporting`] and [`prove_reporting`].
pub type PhaseReport<'a> = &'a mut dyn FnMut(Phase);

/// A reporter for the steps in `names`: `at(name)` reports that step.
pub(super) fn phases<'a>(
    names: &'static [&'static str],
    report: PhaseReport<'a>,
) -> impl FnMut(&'static str) + 'a {
    move |name| {
        let step = names.iter().position(|n| *n == name).map_or(0, |i| i + 1);
        report(Phase {
            step,
            of: names.len(),
            name,
        });
    }
}
