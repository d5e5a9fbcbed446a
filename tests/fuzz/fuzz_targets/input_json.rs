//! Input JSON: parsing, the salt, and the fixed-point witness of the example model. Bad input
//! must come back as an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::witness;

fuzz_target!(|data: &[u8]| {
    let build = zkinfer_fuzz::example();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(input) = InputData::parse(text, Path::new("fuzz.json")) else {
        return;
    };
    let _ = input.salt();
    if let Ok(values) = witness(&build.model, &input) {
        // Every tensor of the model has a value of its declared size.
        assert_eq!(values.len(), build.model.nodes.len());
        for (node, v) in build.model.nodes.iter().zip(&values) {
            assert_eq!(
                v.len(),
                node.shape.iter().product::<usize>(),
                "{}",
                node.name
            );
        }
    }
});
