//! Lays out one quantized node on the chips. Input nodes are handled by the caller.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use super::{
    magnitude_bits, DenseChip, DotProducts, FunctionLookups, ReluChip, RescaleChip, SelectChip,
};
use crate::fixed::{from_field, to_field};
use crate::functions::table_value;
use crate::model::Comparison;
use crate::quantize::{QNode, QOp, QuantizedModel};

/// What a layout records beside the main context, for assignment at synthesis.
pub(super) struct Recorders<'a> {
    /// Function lookups.
    pub lookups: &'a mut FunctionLookups,
    /// Dense layers' dot products, when they have their own region.
    pub dot: Option<&'a mut DotProducts>,
}

/// The output cells of `node`, given the cells of every earlier tensor; `params` holds the node's
/// parameter cells (weights then biases, or added constants) when parameters are hashed.
pub(super) fn lay_out(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    recorders: &mut Recorders,
    model: &QuantizedModel,
    node: &QNode,
    cells: &[Vec<AssignedValue<Fr>>],
    params: Option<&[Vec<AssignedValue<Fr>>]>,
) -> Vec<AssignedValue<Fr>> {
    let (s, ws) = (model.config.scale.0, model.config.weight_scale.0);
    let gate = range.gate();
    let arg = |i: usize| &cells[node.inputs[i]];
    let in_bits = |i: usize| model.nodes[node.inputs[i]].bits;
    let dense = DenseChip::new(gate);
    let rescale = RescaleChip::new(range);
    let relu = ReluChip::new(range);
    let select = SelectChip::new(range);
    match &node.op {
        QOp::Input { .. } => unreachable!("inputs are laid out by synthesize"),
        QOp::Dense {
            in_features,
            out_features,
            ..
        } if params.is_some() => {
            let p = params.expect("checked");
            crate::model::dense(arg(0), *in_features, *out_features, |row, n| {
                let w = &p[0][n * in_features..(n + 1) * in_features];
                let acc = dense.accumulate_cells(
                    ctx,
                    row.iter().copied().zip(w.iter().copied()),
                    p[1][n],
                );
                rescale.rescale(ctx, acc, ws, node.bits).output
            })
        }
        QOp::Dense {
            weights,
            bias,
            in_features,
            ..
        } if recorders.dot.is_some() => {
            let dot = recorders.dot.as_mut().expect("checked");
            let sums: Vec<_> = arg(0)
                .chunks(*in_features)
                .flat_map(|row| dot.dense(ctx, row, weights, bias))
                .collect();
            sums.into_iter()
                .map(|acc| rescale.rescale(ctx, acc, ws, node.bits).output)
                .collect()
        }
        QOp::Dense {
            weights,
            bias,
            in_features,
            out_features,
        } => crate::model::dense(arg(0), *in_features, *out_features, |row, n| {
            let w = &weights[n * in_features..(n + 1) * in_features];
            let acc = dense.accumulate(ctx, row, w, bias[n]);
            rescale.rescale(ctx, acc, ws, node.bits).output
        }),
        QOp::Linear { terms, .. } if params.is_some() => {
            let p = params.expect("checked");
            let mut at = 0;
            terms
                .iter()
                .enumerate()
                .map(|(n, t)| {
                    let w = &p[0][at..at + t.len()];
                    at += t.len();
                    let xs = t.iter().map(|(i, _)| arg(0)[*i]);
                    let acc = dense.accumulate_cells(ctx, xs.zip(w.iter().copied()), p[1][n]);
                    rescale.rescale(ctx, acc, ws, node.bits).output
                })
                .collect()
        }
        QOp::AddConst { .. } if params.is_some() => arg(0)
            .iter()
            .zip(&params.expect("checked")[0])
            .map(|(x, c)| gate.add(ctx, *x, *c))
            .collect(),
        QOp::Linear { terms, bias } => terms
            .iter()
            .zip(bias)
            .map(|(t, b)| {
                let acc = dense.accumulate_terms(ctx, t.iter().map(|(i, w)| (arg(0)[*i], *w)), *b);
                rescale.rescale(ctx, acc, ws, node.bits).output
            })
            .collect(),
        QOp::AddConst { values } => arg(0)
            .iter()
            .zip(values)
            .map(|(x, c)| gate.add(ctx, *x, Constant(to_field((*c).into()))))
            .collect(),
        QOp::Add => arg(0)
            .iter()
            .zip(arg(1))
            .map(|(a, b)| gate.add(ctx, *a, *b))
            .collect(),
        QOp::Sub => arg(0)
            .iter()
            .zip(arg(1))
            .map(|(a, b)| gate.sub(ctx, *a, *b))
            .collect(),
        QOp::Mul => arg(0)
            .iter()
            .zip(arg(1))
            .map(|(a, b)| {
                let product = gate.mul(ctx, *a, *b);
                rescale.rescale(ctx, product, s, node.bits).output
            })
            .collect(),
        QOp::Relu => arg(0)
            .iter()
            .map(|x| relu.relu(ctx, *x, in_bits(0)).output)
            .collect(),
        QOp::LeakyRelu { alpha } => arg(0)
            .iter()
            .map(|x| {
                let positive = relu.relu(ctx, *x, in_bits(0)).output;
                let negative = gate.sub(ctx, *x, positive);
                let scaled = gate.mul(ctx, negative, Constant(to_field((*alpha).into())));
                let scaled = rescale.rescale(ctx, scaled, ws, node.bits).output;
                gate.add(ctx, positive, scaled)
            })
            .collect(),
        QOp::Clip { min, max } => {
            let bits = in_bits(0)
                .max(magnitude_bits(*min))
                .max(magnitude_bits(*max))
                + 1;
            arg(0)
                .iter()
                .map(|x| select.clip(ctx, *x, *min, *max, bits))
                .collect()
        }
        QOp::Abs => arg(0)
            .iter()
            .map(|x| select.abs(ctx, *x, in_bits(0)))
            .collect(),
        QOp::MaxGroups { groups } => {
            let bits = in_bits(0) + 1;
            groups
                .iter()
                .map(|g| {
                    let first = arg(0)[g[0]];
                    g[1..]
                        .iter()
                        .fold(first, |m, i| select.max(ctx, m, arg(0)[*i], bits))
                })
                .collect()
        }
        QOp::Compare { kind } => {
            let bits = in_bits(0).max(in_bits(1)) + 1;
            let one = Constant(to_field(1i128 << s));
            arg(0)
                .iter()
                .zip(arg(1))
                .map(|(a, b)| {
                    let bit = match kind {
                        Comparison::Greater => select.greater(ctx, *a, *b, bits),
                        Comparison::GreaterOrEqual => select.greater_or_equal(ctx, *a, *b, bits),
                        Comparison::Equal => select.is_equal(ctx, *a, *b),
                    };
                    gate.mul(ctx, bit, one)
                })
                .collect()
        }
        QOp::Where => {
            // The condition is a Compare output (the importer guarantees it): 0 or 2^s exactly.
            let unscale = Constant(to_field(1i128 << s).invert().expect("nonzero"));
            arg(0)
                .iter()
                .zip(arg(1))
                .zip(arg(2))
                .map(|((c, x), y)| {
                    let bit = gate.mul(ctx, *c, unscale);
                    gate.select(ctx, *x, *y, bit)
                })
                .collect()
        }
        QOp::Sign => arg(0)
            .iter()
            .map(|x| {
                let sign = select.sign(ctx, *x, in_bits(0) + 1);
                gate.mul(ctx, sign, Constant(to_field(1i128 << s)))
            })
            .collect(),
        QOp::ArgMax { groups, last } => groups
            .iter()
            .map(|g| {
                let xs: Vec<_> = g.iter().map(|i| arg(0)[*i]).collect();
                let index = select.argmax(ctx, &xs, in_bits(0), *last);
                gate.mul(ctx, index, Constant(to_field(1i128 << s)))
            })
            .collect(),
        QOp::Lookup {
            func,
            shift,
            domain_bits,
            tag,
        } => arg(0)
            .iter()
            .map(|x| {
                let x_t = if *shift == 0 {
                    *x
                } else {
                    rescale.rescale(ctx, *x, *shift, *domain_bits).output
                };
                // Off the domain (keygen placeholders, or a dishonest input) any y fails the lookup.
                let v = from_field(x_t.value()).unwrap_or(0);
                let y = table_value(*func, v, *shift, s).unwrap_or(0);
                recorders.lookups.look_up(ctx, *tag, x_t, to_field(y))
            })
            .collect(),
        QOp::Reshape => arg(0).clone(),
        QOp::Gather { sources } => {
            let zero = sources.iter().any(Option::is_none).then(|| ctx.load_zero());
            sources
                .iter()
                .map(|src| match src {
                    Some((slot, i)) => arg(*slot)[*i],
                    None => zero.expect("loaded when a source is None"),
                })
                .collect()
        }
    }
}
