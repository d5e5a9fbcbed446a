//! zkinfer's prover: ONNX import (tract-onnx), calibration and fixed-point quantization, the
//! halo2 circuit (halo2-base over halo2-axiom, KZG on BN254), keys, SRS, and SHPLONK proofs
//! with an EVM-friendly transcript.
//!
//! The user-level steps live in [`pipeline`]: [`pipeline::compile`], [`pipeline::setup`],
//! [`pipeline::prove`], [`pipeline::verify`].

pub mod artifacts;
pub mod chips;
pub mod circuit;
pub mod commitment;
pub mod encoding;
mod error;
pub mod fixed;
pub mod fold;
pub mod functions;
mod hash;
pub mod input;
pub mod keys;
pub mod model;
pub mod onnx;
pub mod ops;
pub mod pipeline;
pub mod privacy;
pub mod proving;
pub mod ptau;
pub mod quantize;
pub mod reference;
pub mod resources;
pub mod srs;
pub mod whole_file;

pub use error::{Error, Result};

/// Re-exported so downstream crates name the same halo2 types.
pub use halo2_base;
