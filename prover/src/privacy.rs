//! Who sees what: the visibility of a model's inputs, outputs and parameters (a leaf module
//! shared by quantization, commitments and the circuit).

use serde::{Deserialize, Serialize};

/// Who sees a group of values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Public instances (inputs packed several per word, outputs one per word).
    #[default]
    Public,
    /// Witness only: nothing about the values is public.
    Private,
    /// One public instance: the salted Poseidon commitment of the values.
    Hashed,
    /// A segment boundary (set by segmentation, never chosen by a user): one public instance,
    /// a Poseidon commitment (halo2-base's sponge), under the proof's chain salt, of the values
    /// range-checked and packed as hashed inputs are. The same tensor gives the same words whether it is one
    /// segment's output or the next segment's input, so the two commitments are equal exactly
    /// when the values are.
    Chained,
}

/// Who sees the model's parameters (weights, biases, added constants).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamVisibility {
    /// Circuit constants: the verifying key commits to them (a verifier can check a claimed
    /// parameter set by recomputing the key).
    #[default]
    Fixed,
    /// Private witnesses; the last public instance is their salted Poseidon commitment, which a
    /// consumer pins to the committed model it trusts. The verifying key no longer binds them.
    Hashed,
}

/// The visibility of a model's inputs, outputs and parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privacy {
    /// The graph inputs.
    #[serde(default)]
    pub inputs: Visibility,
    /// The graph outputs.
    #[serde(default)]
    pub outputs: Visibility,
    /// The parameters.
    #[serde(default)]
    pub params: ParamVisibility,
}
