//! Calibration and quantization: float model + sample inputs → integer model with
//! per-tensor bounds, and the exact integer forward pass the circuit constrains.

use serde::{Deserialize, Serialize};

use crate::fixed::Scale;
use crate::model::{dense, Model, Op, TensorId};
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

/// An operation on fixed-point integers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QOp {
    /// A graph input at the activation scale.
    Input {
        /// Position among the graph inputs.
        index: usize,
    },
    /// `round((x · W^T + b) / 2^weight_scale)`: weights at the weight scale, bias at both scales.
    Dense {
        /// Row-major `[out_features, in_features]`.
        weights: Vec<i64>,
        /// `[out_features]`, at scale `scale + weight_scale`.
        bias: Vec<i64>,
        /// Contracted axis size.
        in_features: usize,
        /// Produced axis size.
        out_features: usize,
    },
    /// `round((bias + Σ w · x) / 2^weight_scale)` over sparse terms.
    Linear {
        /// Per output, `(input index, weight at the weight scale)`.
        terms: Vec<Vec<(usize, i64)>>,
        /// Per output, at scale `scale + weight_scale`.
        bias: Vec<i64>,
    },
    /// Adds a constant (at the activation scale).
    AddConst {
        /// One per element.
        values: Vec<i64>,
    },
    /// Element-wise sum.
    Add,
    /// Element-wise difference.
    Sub,
    /// `round(a · b / 2^scale)` element-wise.
    Mul,
    /// `max(x, 0)`.
    Relu,
    /// `relu(x) + round(alpha · (x - relu(x)) / 2^weight_scale)`.
    LeakyRelu {
        /// Slope at the weight scale.
        alpha: i64,
    },
    /// `min(max(x, min), max)` at the activation scale.
    Clip {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// `|x|`.
    Abs,
    /// Maximum over groups of input indices.
    MaxGroups {
        /// Input indices per output.
        groups: Vec<Vec<usize>>,
    },
    /// `2^scale` where the comparison holds, else 0.
    Compare {
        /// Which comparison.
        kind: crate::model::Comparison,
    },
    /// `x` where the condition is nonzero (`2^scale`), else `y`.
    Where,
    /// `-2^scale`, `0` or `2^scale`.
    Sign,
    /// `index · 2^scale` of the first (or last) maximum per group.
    ArgMax {
        /// Input indices per output.
        groups: Vec<Vec<usize>>,
        /// Last instead of first maximum.
        last: bool,
    },
    /// `y = table(round(x / 2^shift))`: a lookup in the table of `func` tagged `tag`.
    Lookup {
        /// The function.
        func: crate::functions::Function,
        /// Input rescale before the lookup.
        shift: u32,
        /// Table inputs lie in `[-2^domain_bits, 2^domain_bits)`.
        domain_bits: u32,
        /// Table tag (1-based; shared by nodes with the same function, shift and domain).
        tag: u64,
    },
    /// Values unchanged.
    Reshape,
    /// Wiring: `(input slot, index)` per output, `None` for zero.
    Gather {
        /// Sources.
        sources: Vec<Option<(usize, usize)>>,
    },
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
    pub privacy: crate::commitment::Privacy,
    /// The model owner's salt for hashed parameters (0x hex); secret, like the weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_salt: Option<String>,
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
        for (m, values) in max.iter_mut().zip(model.eval_f64(sample)) {
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
    let q = |x: f64, s: Scale| -> i64 { s.quantize(x) as i64 };
    let mut nodes = Vec::with_capacity(model.nodes.len());
    for (node, &max) in model.nodes.iter().zip(calibrated_max) {
        let op = match &node.op {
            Op::Input { index } => QOp::Input { index: *index },
            Op::Dense {
                weights,
                bias,
                in_features,
                out_features,
            } => QOp::Dense {
                weights: weights.iter().map(|w| q(*w, config.weight_scale)).collect(),
                bias: bias
                    .iter()
                    .map(|b| q(*b, config.scale.product(config.weight_scale)))
                    .collect(),
                in_features: *in_features,
                out_features: *out_features,
            },
            Op::Linear { terms, bias } => QOp::Linear {
                terms: terms
                    .iter()
                    .map(|t| {
                        t.iter()
                            .map(|(i, w)| (*i, q(*w, config.weight_scale)))
                            .filter(|(_, w)| *w != 0)
                            .collect()
                    })
                    .collect(),
                bias: bias
                    .iter()
                    .map(|b| q(*b, config.scale.product(config.weight_scale)))
                    .collect(),
            },
            Op::AddConst { values } => QOp::AddConst {
                values: values.iter().map(|c| q(*c, config.scale)).collect(),
            },
            Op::Add => QOp::Add,
            Op::Sub => QOp::Sub,
            Op::Mul => QOp::Mul,
            Op::Relu => QOp::Relu,
            Op::LeakyRelu { alpha } => QOp::LeakyRelu {
                alpha: q(*alpha, config.weight_scale),
            },
            Op::Clip { min, max } => QOp::Clip {
                min: q(*min, config.scale),
                max: q(*max, config.scale),
            },
            Op::Abs => QOp::Abs,
            Op::MaxGroups { groups } => QOp::MaxGroups {
                groups: groups.clone(),
            },
            Op::Reshape => QOp::Reshape,
            Op::Gather { sources } => QOp::Gather {
                sources: sources.clone(),
            },
            Op::Compare { kind } => QOp::Compare { kind: *kind },
            Op::Where => QOp::Where,
            Op::Sign => QOp::Sign,
            Op::ArgMax { groups, last } => QOp::ArgMax {
                groups: groups.clone(),
                last: *last,
            },
            Op::Function { func } => {
                let in_bits: u32 = nodes.get(node.inputs[0]).map_or(1, |n: &QNode| n.bits);
                let shift = (in_bits + 2).saturating_sub(config.table_bits);
                let domain_bits = if shift == 0 {
                    in_bits
                } else {
                    in_bits - shift + 1
                };
                QOp::Lookup {
                    func: *func,
                    shift,
                    domain_bits,
                    tag: 0,
                }
            }
        };
        let passes_through = matches!(
            op,
            QOp::Reshape | QOp::Relu | QOp::Gather { .. } | QOp::MaxGroups { .. }
        );
        let bits = if passes_through {
            node.inputs
                .iter()
                .map(|t| nodes[*t].bits)
                .max()
                .unwrap_or(1)
        } else {
            bound_bits(max, config)
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
        if let QOp::Lookup {
            func,
            shift,
            domain_bits,
            tag,
        } = &mut n.op
        {
            let key = (format!("{func:?}"), *shift, *domain_bits);
            let pos = tables.iter().position(|t| *t == key).unwrap_or_else(|| {
                tables.push(key);
                tables.len() - 1
            });
            *tag = pos as u64 + 1;
        }
    }
    Ok(QuantizedModel {
        nodes,
        inputs: model.inputs.clone(),
        outputs: model.outputs.clone(),
        config,
        privacy: Default::default(),
        param_salt: None,
    })
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

/// `round(acc / 2^shift)`, ties toward +infinity: `floor((acc + 2^(shift-1)) / 2^shift)`.
pub fn rescale(acc: i128, shift: u32) -> i128 {
    if shift == 0 {
        return acc;
    }
    (acc + (1i128 << (shift - 1))).div_euclid(1i128 << shift)
}

impl QuantizedModel {
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
        let (s, ws) = (self.config.scale.0, self.config.weight_scale.0);
        let mut values: Vec<Vec<i128>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let arg = |i: usize| &values[node.inputs[i]];
            let out: Vec<i128> = match &node.op {
                QOp::Input { index } => inputs.get(*index).cloned().ok_or_else(|| {
                    Error::InvalidInput(format!("missing graph input #{index} ({})", node.name))
                })?,
                QOp::Dense {
                    weights,
                    bias,
                    in_features,
                    out_features,
                } => dense(arg(0), *in_features, *out_features, |row, n| {
                    let w = &weights[n * in_features..(n + 1) * in_features];
                    let acc: i128 = w.iter().zip(row).map(|(w, x)| *w as i128 * x).sum::<i128>()
                        + bias[n] as i128;
                    rescale(acc, ws)
                }),
                QOp::Linear { terms, bias } => terms
                    .iter()
                    .zip(bias)
                    .map(|(t, b)| {
                        let acc: i128 =
                            t.iter().map(|(i, w)| *w as i128 * arg(0)[*i]).sum::<i128>()
                                + *b as i128;
                        rescale(acc, ws)
                    })
                    .collect(),
                QOp::AddConst { values: c } => {
                    arg(0).iter().zip(c).map(|(x, c)| x + *c as i128).collect()
                }
                QOp::Add => arg(0).iter().zip(arg(1)).map(|(a, b)| a + b).collect(),
                QOp::Sub => arg(0).iter().zip(arg(1)).map(|(a, b)| a - b).collect(),
                QOp::Mul => arg(0)
                    .iter()
                    .zip(arg(1))
                    .map(|(a, b)| rescale(a * b, s))
                    .collect(),
                QOp::Relu => arg(0).iter().map(|x| (*x).max(0)).collect(),
                QOp::LeakyRelu { alpha } => arg(0)
                    .iter()
                    .map(|x| {
                        let r = (*x).max(0);
                        r + rescale(*alpha as i128 * (x - r), ws)
                    })
                    .collect(),
                QOp::Clip { min, max } => arg(0)
                    .iter()
                    .map(|x| (*x).max(*min as i128).min(*max as i128))
                    .collect(),
                QOp::Abs => arg(0).iter().map(|x| x.abs()).collect(),
                QOp::MaxGroups { groups } => groups
                    .iter()
                    .map(|g| g.iter().map(|i| arg(0)[*i]).max().unwrap_or(0))
                    .collect(),
                QOp::Compare { kind } => arg(0)
                    .iter()
                    .zip(arg(1))
                    .map(|(a, b)| if kind.holds(a, b) { 1i128 << s } else { 0 })
                    .collect(),
                QOp::Where => arg(0)
                    .iter()
                    .zip(arg(1))
                    .zip(arg(2))
                    .map(|((c, x), y)| if *c != 0 { *x } else { *y })
                    .collect(),
                QOp::Sign => arg(0).iter().map(|x| x.signum() << s).collect(),
                QOp::ArgMax { groups, last } => groups
                    .iter()
                    .map(|g| {
                        (crate::model::argmax(g.iter().map(|i| arg(0)[*i]), *last) as i128) << s
                    })
                    .collect(),
                QOp::Lookup { func, shift, .. } => arg(0)
                    .iter()
                    .map(|x| {
                        let y =
                            crate::functions::table_value(*func, rescale(*x, *shift), *shift, s);
                        // Unchecked runs (layout placeholders) take 0 off the domain.
                        y.or((!check).then_some(0))
                            .ok_or_else(|| Error::OutsideDomain {
                                node: format!("{} ({})", node.name, node.op_type),
                                func: func.name(),
                                x: self.config.scale.dequantize(*x),
                            })
                    })
                    .collect::<Result<_>>()?,
                QOp::Reshape => arg(0).clone(),
                QOp::Gather { sources } => sources
                    .iter()
                    .map(|src| src.map_or(0, |(slot, i)| values[node.inputs[slot]][i]))
                    .collect(),
            };
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
    fn rescale_rounds_half_up_for_both_signs() {
        assert_eq!(rescale(5, 2), 1); // 1.25
        assert_eq!(rescale(6, 2), 2); // 1.5
        assert_eq!(rescale(-5, 2), -1); // -1.25
        assert_eq!(rescale(-6, 2), -1); // -1.5
        assert_eq!(rescale(-7, 2), -2); // -1.75
    }

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
}
