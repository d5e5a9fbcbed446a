//! Piecewise-linear element-wise functions, proven exactly (no table): [`Relu`], [`LeakyRelu`],
//! [`PRelu`], [`Clip`], [`Abs`], [`Sign`].

use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, QuantumCell, QuantumCell::Constant};
use serde::{Deserialize, Serialize};

use super::{
    map1, rescale, Bound, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result,
};
use crate::chips::{magnitude_bits, ReluChip, SelectChip};
use crate::fixed::to_field;
use crate::model::Op;
use crate::onnx::{broadcast, Ctx, Importer, Value};

/// `max(x, 0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relu;

/// ONNX `Relu`.
pub(crate) fn import_relu(im: &mut Importer, ctx: &Ctx) -> Result<Value> {
    im.unary(ctx, Op::Relu)
}

impl Operator for Relu {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map1(args, |x| x.max(0.0))
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Relu
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Relu {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(map1(args, |x| x.max(0)))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        if l.fused_relu {
            // The affine map before it has laid out this ReLU (see `Layout::fused_relu`).
            return args[0].to_vec();
        }
        let (relu, bits) = (ReluChip::new(l.range), l.in_bits[0]);
        map1(args, |x| relu.relu(l.ctx, x, bits).output)
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }

    fn bound(&self) -> Bound {
        Bound::Inputs
    }
}

/// `x` if `x >= 0`, else `alpha · x`; in fixed point
/// `relu(x) + round(alpha · (x - relu(x)) / 2^weight_scale)` with `alpha` at the weight scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeakyRelu<T> {
    /// Slope for negative inputs.
    pub alpha: T,
}

/// ONNX `LeakyRelu` (attribute `alpha`, 0.01 by default).
pub(crate) fn import_leaky_relu(im: &mut Importer, ctx: &Ctx) -> Result<Value> {
    let alpha = ctx.attr_f("alpha", 0.01) as f64;
    im.unary(ctx, Op::LeakyRelu(LeakyRelu { alpha }))
}

impl Operator for LeakyRelu<f64> {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map1(args, |x| leaky(x, self.alpha))
    }

    fn quantize(&self, q: &Quantizing) -> QOp {
        QOp::LeakyRelu(LeakyRelu {
            alpha: q.weight(self.alpha),
        })
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for LeakyRelu<i64> {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        Ok(map1(args, |x| leaky_fixed(x, self.alpha, f)))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let alpha = Constant(to_field(self.alpha.into()));
        map1(args, |x| leaky_cells(l, x, alpha))
    }

    // The slope is a circuit constant even when parameters are hashed (as before PRelu).
    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// LeakyRelu with a learned slope per element (ONNX `PRelu`, its slope broadcast to the input's
/// shape): `x` if `x >= 0`, else `slope · x`. The slopes are parameters: hashed with the weights
/// when parameters are hashed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PRelu<T> {
    /// One slope per element.
    pub slopes: Vec<T>,
}

/// ONNX `PRelu(X, slope)`: the slope a constant (an initializer) that broadcasts to `X`'s
/// shape (one slope per channel is `[C, 1, 1]` for an `[N, C, H, W]` input).
pub(crate) fn import_prelu(im: &mut Importer, ctx: &Ctx) -> Result<Value> {
    // PRelu-1 and -6 broadcast the slope per channel, not numpy-style: refused, not misread.
    if im.opset < 7 {
        return Err(ctx.invalid(format!(
            "PRelu of opset {} (per-channel slope) is not supported: export with opset 7 or later",
            im.opset
        )));
    }
    let x = im.tensor(ctx, 0)?;
    let slope = im.constant(ctx, 1)?;
    let shape = im.shape(x).to_vec();
    let slopes = broadcast(&slope, &shape).ok_or_else(|| {
        ctx.invalid(format!(
            "slope of shape {:?} does not broadcast to the input's shape {shape:?}",
            slope.shape
        ))
    })?;
    im.unary(ctx, Op::PRelu(PRelu { slopes }))
}

impl Operator for PRelu<f64> {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        args[0]
            .iter()
            .zip(&self.slopes)
            .map(|(x, a)| leaky(*x, *a))
            .collect()
    }

    fn quantize(&self, q: &Quantizing) -> QOp {
        QOp::PRelu(PRelu {
            slopes: self.slopes.iter().map(|a| q.weight(*a)).collect(),
        })
    }

    fn num_params(&self) -> usize {
        self.slopes.len()
    }
}

impl QuantizedOperator for PRelu<i64> {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        Ok(args[0]
            .iter()
            .zip(&self.slopes)
            .map(|(x, a)| leaky_fixed(*x, *a, f))
            .collect())
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let slopes: Vec<QuantumCell<Fr>> = match l.params {
            Some(p) => p[0].iter().map(|c| QuantumCell::Existing(*c)).collect(),
            None => self
                .slopes
                .iter()
                .map(|a| Constant(to_field((*a).into())))
                .collect(),
        };
        args[0]
            .iter()
            .zip(slopes)
            .map(|(x, a)| leaky_cells(l, *x, a))
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![self.slopes.clone()]
    }
}

fn leaky(x: f64, alpha: f64) -> f64 {
    if x >= 0.0 {
        x
    } else {
        alpha * x
    }
}

fn leaky_fixed(x: i128, alpha: i64, f: &Forwarding) -> i128 {
    let r = x.max(0);
    r + rescale(alpha as i128 * (x - r), f.weight_scale.0)
}

/// `relu(x) + rescale(alpha · (x - relu(x)))`: the ReLU chip proves the split of `x`.
fn leaky_cells(l: &mut Layout, x: AssignedValue<Fr>, alpha: QuantumCell<Fr>) -> AssignedValue<Fr> {
    let gate = l.range.gate();
    let positive = ReluChip::new(l.range).relu(l.ctx, x, l.in_bits[0]).output;
    let negative = gate.sub(l.ctx, x, positive);
    let scaled = gate.mul(l.ctx, negative, alpha);
    let scaled = l.rescale(scaled, l.weight_scale);
    gate.add(l.ctx, positive, scaled)
}

/// `min(max(x, min), max)` at the activation scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clip<T> {
    /// Lower bound.
    pub min: T,
    /// Upper bound.
    pub max: T,
}

impl Operator for Clip<f64> {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map1(args, |x| x.max(self.min).min(self.max))
    }

    fn quantize(&self, q: &Quantizing) -> QOp {
        QOp::Clip(Clip {
            min: q.activation(self.min),
            max: q.activation(self.max),
        })
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Clip<i64> {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(map1(args, |x| {
            x.max(self.min as i128).min(self.max as i128)
        }))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let bits = l.in_bits[0]
            .max(magnitude_bits(self.min))
            .max(magnitude_bits(self.max))
            + 1;
        let select = SelectChip::new(l.range);
        map1(args, |x| select.clip(l.ctx, x, self.min, self.max, bits))
    }

    // The bounds are circuit constants even when parameters are hashed.
    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// `|x|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Abs;

/// ONNX `Abs`.
pub(crate) fn import_abs(im: &mut Importer, ctx: &Ctx) -> Result<Value> {
    im.unary(ctx, Op::Abs)
}

impl Operator for Abs {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map1(args, f64::abs)
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Abs
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Abs {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(map1(args, i128::abs))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let (select, bits) = (SelectChip::new(l.range), l.in_bits[0]);
        map1(args, |x| select.abs(l.ctx, x, bits))
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// `-1`, `0` or `1` (in fixed point `-2^scale`, `0`, `2^scale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sign;

/// ONNX `Sign`.
pub(crate) fn import_sign(im: &mut Importer, ctx: &Ctx) -> Result<Value> {
    im.unary(ctx, Op::Sign)
}

impl Operator for Sign {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map1(args, |x| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Sign
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Sign {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        Ok(map1(args, |x| x.signum() << f.scale.0))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let (select, gate, bits) = (SelectChip::new(l.range), l.range.gate(), l.in_bits[0] + 1);
        let one = Constant(to_field(1i128 << l.scale));
        map1(args, |x| {
            let sign = select.sign(l.ctx, x, bits);
            gate.mul(l.ctx, sign, one)
        })
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use halo2_base::halo2_proofs::dev::MockProver;
    use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

    use super::*;
    use crate::circuit::{mock_circuit_bound, plan, Bindings, TEST_SUBJECT};
    use crate::commitment::{param_commitment, param_groups};
    use crate::fixed::{field_to_hex, Scale};
    use crate::ops::wiring::Input;
    use crate::privacy::{ParamVisibility, Privacy};
    use crate::quantize::{QNode, QuantizationConfig, QuantizedModel};

    /// input[4] → PRelu with slopes 0.5, -0.25, 0, 1 (scale 2^4), hashed parameters (salt 5).
    fn prelu_model(slopes: Vec<i64>) -> QuantizedModel {
        let node = |name: &str, op, inputs: Vec<usize>| QNode {
            name: name.into(),
            op_type: name.into(),
            op,
            inputs,
            shape: vec![1, 4],
            bits: 10,
            calibrated_max: 1.0,
        };
        QuantizedModel {
            nodes: vec![
                node("input", QOp::Input(Input { index: 0 }), vec![]),
                node("prelu", QOp::PRelu(PRelu { slopes }), vec![0]),
            ],
            inputs: vec![0],
            outputs: vec![1],
            config: QuantizationConfig {
                scale: Scale(4),
                weight_scale: Scale(4),
                margin_bits: 1,
                table_bits: 12,
            },
            privacy: Privacy {
                params: ParamVisibility::Hashed,
                ..Privacy::default()
            },
            param_salt: Some(field_to_hex(&Fr::from(5))),
            specialized: Vec::new(),
        }
    }

    fn accepted(model: &QuantizedModel, values: &[Vec<i128>], instances: Vec<Fr>) -> bool {
        let params = plan(model, 4).unwrap();
        let bindings = Bindings {
            salt: Fr::zero(),
            subject: Fr::from(TEST_SUBJECT),
            ..Bindings::default()
        };
        let (circuit, _) = mock_circuit_bound(model, &params, values, bindings);
        MockProver::run(params.k as u32, &circuit, vec![instances])
            .unwrap()
            .verify()
            .is_ok()
    }

    #[test]
    fn prelu_matches_its_float_reference_and_rounds_like_leaky_relu() {
        let model = prelu_model(vec![8, -4, 0, 16]);
        let x = vec![-32i128, -32, -32, 20];
        let y = model.forward(&[x], true).unwrap()[1].clone();
        // -2 · 0.5, -2 · -0.25, -2 · 0, 1.25 (at 2^4): exact here.
        assert_eq!(y, vec![-16, 8, 0, 20]);
        let float = PRelu {
            slopes: vec![0.5, -0.25, 0.0, 1.0],
        }
        .eval(&[&[-2.0, -2.0, -2.0, 1.25]]);
        assert_eq!(float, vec![-1.0, 0.5, 0.0, 1.25]);
    }

    /// A one-node ONNX model `y = PRelu(x, slope)` with the given shapes and opset.
    fn prelu_onnx(x: &[i64], slope: &[i64], opset: i64) -> tract_onnx::pb::ModelProto {
        use tract_onnx::pb;
        let dim = |d: &i64| pb::tensor_shape_proto::Dimension {
            value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(*d)),
            ..Default::default()
        };
        let tensor_type = |dims: &[i64]| pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto {
                    dim: dims.iter().map(dim).collect(),
                }),
            })),
            ..Default::default()
        };
        let n: i64 = slope.iter().product();
        let graph = pb::GraphProto {
            node: vec![pb::NodeProto {
                name: "prelu".into(),
                op_type: "PRelu".into(),
                input: vec!["x".into(), "slope".into()],
                output: vec!["y".into()],
                ..Default::default()
            }],
            initializer: vec![pb::TensorProto {
                name: "slope".into(),
                dims: slope.to_vec(),
                data_type: 1,
                float_data: (0..n).map(|i| 0.125 * i as f32).collect(),
                ..Default::default()
            }],
            input: vec![pb::ValueInfoProto {
                name: "x".into(),
                r#type: Some(tensor_type(x)),
                ..Default::default()
            }],
            output: vec![pb::ValueInfoProto {
                name: "y".into(),
                r#type: Some(tensor_type(x)),
                ..Default::default()
            }],
            ..Default::default()
        };
        pb::ModelProto {
            graph: Some(graph),
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn prelu_slopes_broadcast_one_way_and_bad_shapes_or_old_opsets_are_refused() {
        use crate::onnx::import_proto;
        // Per channel of NCHW: [C, 1, 1] broadcasts to every pixel of its channel.
        let model = import_proto(&prelu_onnx(&[1, 2, 1, 2], &[2, 1, 1], 16)).unwrap();
        match &model.nodes[1].op {
            Op::PRelu(p) => assert_eq!(p.slopes, vec![0.0, 0.0, 0.125, 0.125]),
            other => panic!("imported as {other:?}"),
        }
        let refused = |x: &[i64], slope: &[i64], opset: i64, why: &str| match import_proto(
            &prelu_onnx(x, slope, opset),
        ) {
            Err(crate::Error::InvalidNode { op, node, reason }) => {
                assert_eq!((op.as_str(), node.as_str()), ("PRelu", "prelu"));
                assert!(reason.contains(why), "{reason}");
            }
            other => panic!("{x:?} / {slope:?} / opset {opset}: {other:?}"),
        };
        // A slope that would grow the input, or does not line up with it.
        refused(&[1, 3], &[2, 3], 16, "does not broadcast");
        refused(&[1, 2, 1, 2], &[3], 16, "does not broadcast");
        // Opset 6's per-channel semantics.
        refused(&[1, 2, 1, 2], &[2, 1, 1], 6, "opset 6");
    }

    /// The slopes are parameters: committed when hashed, witnesses bound by that commitment.
    #[test]
    fn hashed_slopes_are_committed_and_a_wrong_output_or_slope_is_rejected() {
        let model = prelu_model(vec![8, -4, 0, 16]);
        let groups = param_groups(&model);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].1, vec![8, -4, 0, 16]);
        let values = model.forward(&[vec![-32, -32, -32, 20]], true).unwrap();
        let params = plan(&model, 4).unwrap();
        let bindings = Bindings {
            salt: Fr::zero(),
            subject: Fr::from(TEST_SUBJECT),
            ..Bindings::default()
        };
        let (_, instances) = mock_circuit_bound(&model, &params, &values, bindings);
        // [packed input word | outputs (4) | parameter commitment | subject]
        assert_eq!(instances.len(), 7);
        assert_eq!(instances[5], param_commitment(&model, Fr::from(5)));
        assert!(accepted(&model, &values, instances.clone()));

        let mut wrong_output = instances.clone();
        wrong_output[2] += Fr::one();
        assert!(!accepted(&model, &values, wrong_output));

        // Another slope: the same outputs cannot be claimed under the honest commitment.
        let other = prelu_model(vec![8, -3, 0, 16]);
        assert_ne!(param_commitment(&other, Fr::from(5)), instances[5]);
        let other_values = other.forward(&[vec![-32, -32, -32, 20]], true).unwrap();
        assert!(!accepted(&other, &other_values, instances));
    }
}
