//! The float reference: runs the ONNX model with tract.

use std::path::Path;

use tract_onnx::prelude::*;

use crate::{Error, Result};

/// Runs `path` on `inputs` (one flat array per graph input, shapes from `shapes`) in f32 with
/// tract and returns one flat array per graph output.
pub fn run_tract(path: &Path, shapes: &[Vec<usize>], inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let err = |e: TractError| Error::Reference(format!("{e:#}"));
    let mut model = tract_onnx::onnx().model_for_path(path).map_err(err)?;
    for (i, shape) in shapes.iter().enumerate() {
        model = model
            .with_input_fact(i, f32::fact(shape).into())
            .map_err(err)?;
    }
    let plan = model
        .into_optimized()
        .map_err(err)?
        .into_runnable()
        .map_err(err)?;
    let tensors = shapes
        .iter()
        .zip(inputs)
        .map(|(shape, data)| {
            let data: Vec<f32> = data.iter().map(|v| *v as f32).collect();
            Tensor::from_shape(shape, &data).map(TValue::from)
        })
        .collect::<TractResult<TVec<_>>>()
        .map_err(err)?;
    let outputs = plan.run(tensors).map_err(err)?;
    outputs
        .iter()
        .map(|t| {
            Ok(t.cast_to::<f64>()
                .map_err(err)?
                .to_plain_array_view::<f64>()
                .map_err(err)?
                .iter()
                .copied()
                .collect())
        })
        .collect()
}
