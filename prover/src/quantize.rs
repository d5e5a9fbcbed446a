//! Calibration and quantization: float model + sample inputs → integer model with
//! per-tensor bounds, and the exact integer forward pass the circuit constrains.

use serde::{Deserialize, Serialize};

use crate::fixed::{Scale, MAX_RESCALE_BITS};
use crate::model::{Model, TensorId};
use crate::ops::lookup::MIRROR_CELLS;
pub use crate::ops::{rescale, QOp};
use crate::ops::{Bound, Forwarding, Quantizing};
use crate::{Error, Result};

/// Largest bound (in bits) any tensor may have, so no intermediate value wraps in the field.
pub const MAX_VALUE_BITS: u32 = 64;

/// How fixed-point scales and range bounds are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizationConfig {
    /// Scale of activations (inputs and every intermediate tensor).
    pub scale: Scale,
    /// Scale of weights; products are rescaled by `2^weight_scale`.
    pub weight_scale: Scale,
    /// Safety margin over the calibrated maximum, in bits (each bit doubles the range).
    pub margin_bits: u32,
    /// Largest lookup table per function node, in bits (entries `<= 2^table_bits`); inputs
    /// with a wider calibrated range are rescaled to fit.
    #[serde(default = "default_table_bits")]
    pub table_bits: u32,
}

fn default_table_bits() -> u32 {
    14
}

impl Default for QuantizationConfig {
    fn default() -> Self {
        QuantizationConfig {
            scale: Scale(13),
            weight_scale: Scale(13),
            margin_bits: 1,
            table_bits: default_table_bits(),
        }
    }
}

/// A quantized node with the bound its values are checked against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QNode {
    /// ONNX node name.
    pub name: String,
    /// ONNX op type.
    pub op_type: String,
    /// The integer operation.
    pub op: QOp,
    /// Input tensors.
    pub inputs: Vec<TensorId>,
    /// Output shape.
    pub shape: Vec<usize>,
    /// Every value `v` of this tensor satisfies `-2^bits <= v < 2^bits`.
    pub bits: u32,
    /// The largest |value| seen during calibration (float).
    pub calibrated_max: f64,
}

/// The model in fixed point, ready to be laid out as a circuit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantizedModel {
    /// Nodes in topological order (node `i` produces tensor `i`).
    pub nodes: Vec<QNode>,
    /// Graph input tensors.
    pub inputs: Vec<TensorId>,
    /// Graph output tensors.
    pub outputs: Vec<TensorId>,
    /// Scales and margin used.
    pub config: QuantizationConfig,
    /// Who sees the inputs, outputs and parameters.
    #[serde(default)]
    pub privacy: crate::privacy::Privacy,
    /// The model owner's salt for hashed parameters (0x hex); secret, like the weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_salt: Option<String>,
    /// Graph inputs fixed at compile (see [`crate::model::SpecializedInput`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialized: Vec<crate::model::SpecializedInput>,
}

/// Per-tensor largest absolute value over calibration samples.
pub fn calibrate(model: &Model, samples: &[Vec<Vec<f64>>]) -> Result<Vec<f64>> {
    if samples.is_empty() {
        return Err(Error::InvalidInput(
            "calibration needs at least one sample".into(),
        ));
    }
    let mut max = vec![0.0f64; model.nodes.len()];
    for sample in samples {
        crate::input::check_input_lengths(model, sample)?;
        for ((m, values), node) in max.iter_mut().zip(model.eval_f64(sample)).zip(&model.nodes) {
            if values.iter().any(|v| !v.is_finite()) {
                return Err(Error::InvalidNode {
                    op: node.op_type.clone(),
                    node: node.name.clone(),
                    reason: "computes NaN or infinity on a calibration sample".into(),
                });
            }
            *m = values.iter().fold(*m, |m, v| m.max(v.abs()));
        }
    }
    Ok(max)
}

/// Quantizes `model` with bounds taken from the calibrated maxima.
pub fn quantize(
    model: &Model,
    calibrated_max: &[f64],
    config: QuantizationConfig,
) -> Result<QuantizedModel> {
    let mut nodes: Vec<QNode> = Vec::with_capacity(model.nodes.len());
    for (node, &max) in model.nodes.iter().zip(calibrated_max) {
        let input_bits: Vec<u32> = node.inputs.iter().map(|t| nodes[*t].bits).collect();
        let op = node.op.operator().quantize(&Quantizing {
            config,
            input_bits: &input_bits,
        });
        let bits = match op.operator().bound() {
            Bound::Inputs => input_bits.iter().copied().max().unwrap_or(1),
            Bound::Calibrated => bound_bits(max, config),
        };
        if bits > MAX_VALUE_BITS {
            return Err(Error::InvalidNode {
                op: node.op_type.clone(),
                node: node.name.clone(),
                reason: format!(
                    "calibrated magnitude {max:e} needs {bits} bits at scale 2^{}",
                    config.scale.0
                ),
            });
        }
        let shift = config.scale.0.max(config.weight_scale.0);
        if bits + shift > MAX_RESCALE_BITS {
            return Err(Error::InvalidNode {
                op: node.op_type.clone(),
                node: node.name.clone(),
                reason: format!(
                    "its {bits}-bit bound with scale 2^{shift} exceeds {MAX_RESCALE_BITS} bits: \
                     lower --scale or --weight-scale"
                ),
            });
        }
        nodes.push(QNode {
            name: node.name.clone(),
            op_type: node.op_type.clone(),
            op,
            inputs: node.inputs.clone(),
            shape: node.shape.clone(),
            bits,
            calibrated_max: max,
        });
    }
    // Nodes with the same function, shift and domain share one table.
    let mut tables: Vec<(String, u32, u32)> = Vec::new();
    for n in &mut nodes {
        if let QOp::Lookup(lookup) = &mut n.op {
            let key = (
                format!("{:?}", lookup.func),
                lookup.shift,
                lookup.domain_bits,
            );
            let pos = tables.iter().position(|t| *t == key).unwrap_or_else(|| {
                tables.push(key);
                tables.len() - 1
            });
            lookup.tag = pos as u64 + 1;
        }
    }
    mirror_tables(&mut nodes, config.scale.0);
    Ok(QuantizedModel {
        nodes,
        inputs: model.inputs.clone(),
        outputs: model.outputs.clone(),
        config,
        privacy: Default::default(),
        param_salt: None,
        specialized: model.specialized.clone(),
    })
}

/// Mirrors each function table that is symmetric ([`Lookup::symmetry`](crate::ops::lookup::Lookup::symmetry)) where the rows it saves
/// (half the table) outweigh the cells its elements add ([`MIRROR_CELLS`] each): a small model's
/// sigmoid or tanh table then sets a smaller domain; a large one's elements would cost more.
fn mirror_tables(nodes: &mut [QNode], scale: u32) {
    let mut elements = std::collections::BTreeMap::<u64, usize>::new();
    for n in nodes.iter() {
        if let QOp::Lookup(l) = &n.op {
            *elements.entry(l.tag).or_default() += n.shape.iter().product::<usize>();
        }
    }
    let mut chosen = std::collections::BTreeMap::new();
    for n in nodes.iter_mut() {
        if let QOp::Lookup(l) = &mut n.op {
            l.mirror = *chosen.entry(l.tag).or_insert_with(|| {
                let saved = usize::try_from(l.input_domain().1).unwrap_or(0);
                let added = elements[&l.tag].saturating_mul(MIRROR_CELLS);
                l.symmetry(scale).filter(|_| added < saved)
            });
        }
    }
}

/// Largest |fixed − float| over the graph outputs of `samples` (the quantization error).
pub fn calibration_error(
    model: &Model,
    qmodel: &QuantizedModel,
    samples: &[Vec<Vec<f64>>],
) -> Result<f64> {
    let mut worst = 0.0f64;
    for sample in samples {
        let float = model.eval_f64(sample);
        let fixed = qmodel.forward(&qmodel.quantize_inputs(sample), true)?;
        for &o in &model.outputs {
            for (f, q) in float[o].iter().zip(&fixed[o]) {
                worst = worst.max((f - qmodel.config.scale.dequantize(*q)).abs());
            }
        }
    }
    Ok(worst)
}

/// Smallest `bits` with `|v| · 2^scale · 2^margin < 2^bits`.
fn bound_bits(max: f64, config: QuantizationConfig) -> u32 {
    let scaled = (max * config.scale.multiplier()).max(1.0) * (config.margin_bits as f64).exp2();
    scaled.log2().floor() as u32 + 1
}

impl QuantizedModel {
    /// The function lookups of the model, one per lookup node, to change in place.
    pub fn lookups_mut(&mut self) -> impl Iterator<Item = &mut crate::ops::lookup::Lookup> {
        self.nodes.iter_mut().filter_map(|n| match &mut n.op {
            QOp::Lookup(l) => Some(l),
            _ => None,
        })
    }

    /// Quantizes float inputs at the activation scale.
    pub fn quantize_inputs(&self, inputs: &[Vec<f64>]) -> Vec<Vec<i128>> {
        inputs
            .iter()
            .map(|v| v.iter().map(|x| self.config.scale.quantize(*x)).collect())
            .collect()
    }

    /// The exact integer value of every tensor. With `check`, a value outside its node's
    /// bound is an [`Error::OutOfRange`] naming the node.
    pub fn forward(&self, inputs: &[Vec<i128>], check: bool) -> Result<Vec<Vec<i128>>> {
        let mut values: Vec<Vec<i128>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let args: Vec<&[i128]> = node.inputs.iter().map(|t| &values[*t][..]).collect();
            let out = node.op.operator().forward(
                &args,
                &Forwarding {
                    scale: self.config.scale,
                    weight_scale: self.config.weight_scale,
                    graph_inputs: inputs,
                    check,
                    name: &node.name,
                    op_type: &node.op_type,
                },
            )?;
            if check {
                let bound = 1i128 << node.bits;
                if let Some(v) = out.iter().find(|v| **v < -bound || **v >= bound) {
                    return Err(Error::OutOfRange {
                        node: format!("{} ({})", node.name, node.op_type),
                        value: *v,
                        scale: self.config.scale.0,
                        bits: node.bits,
                    });
                }
            }
            values.push(out);
        }
        Ok(values)
    }

    /// Input lengths (elements per graph input).
    pub fn input_lens(&self) -> Vec<usize> {
        self.inputs
            .iter()
            .map(|&t| self.nodes[t].shape.iter().product())
            .collect()
    }

    /// Output shapes.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.outputs
            .iter()
            .map(|&t| self.nodes[t].shape.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_has_margin_over_the_calibrated_maximum() {
        let cfg = QuantizationConfig {
            scale: Scale(8),
            weight_scale: Scale(8),
            margin_bits: 1,
            table_bits: 12,
        };
        let bits = bound_bits(3.0, cfg);
        assert!((1i128 << bits) >= 2 * 3 * 256, "{bits}");
        assert!((1i128 << bits) <= 8 * 3 * 256, "{bits}");
    }

    #[test]
    fn a_bound_too_wide_for_its_rescale_is_refused_naming_the_node() {
        use crate::model::{Model, Node};
        use crate::ops::{wiring::Input, Op};
        let model = Model {
            nodes: vec![Node {
                name: "x".into(),
                op_type: "Input".into(),
                op: Op::Input(Input { index: 0 }),
                inputs: vec![],
                shape: vec![1],
            }],
            inputs: vec![0],
            outputs: vec![0],
            specialized: vec![],
        };
        let cfg = |scale| QuantizationConfig {
            scale: Scale(scale),
            weight_scale: Scale(scale),
            margin_bits: 1,
            table_bits: 12,
        };
        // 1/16 at scale 2^64: a bound of about 61 bits, fine alone, not with a rescale by 2^64.
        let max = [2f64.powi(-4)];
        let err = quantize(&model, &max, cfg(64)).unwrap_err().to_string();
        assert!(
            err.contains("x") && err.contains("exceeds 120 bits"),
            "{err}"
        );
        assert!(quantize(&model, &max, cfg(16)).is_ok());
    }
}
