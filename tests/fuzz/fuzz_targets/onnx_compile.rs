//! ONNX bytes through import and compile (fold, calibrate, quantize, plan). Whatever the bytes,
//! the result is a model or an error naming the problem, never a panic or a runaway allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkinfer_prover::input::InputData;
use zkinfer_prover::onnx::import_bytes;
use zkinfer_prover::pipeline::{compile_model, CircuitOptions};
use zkinfer_prover::quantize::QuantizationConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = import_bytes(data) else {
        return;
    };
    // Calibration: two samples in a fixed pattern for each graph input.
    let input_data = model
        .input_shapes()
        .iter()
        .map(|s| {
            let len: usize = s.iter().product();
            (0..2 * len).map(|i| ((i % 7) as f64 - 3.0) / 4.0).collect()
        })
        .collect();
    let calibration = InputData {
        input_data,
        salt: None,
        subject: None,
    };
    let _ = compile_model(
        model,
        "fuzz.onnx",
        &calibration,
        QuantizationConfig::default(),
        CircuitOptions::default(),
    );
});
