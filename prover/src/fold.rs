//! Folds affine chains at import: a constant addition or a per-element scaling (BatchNormalization,
//! Mul/Div by a constant) that follows a Gemm/MatMul/Conv becomes part of its weights and bias,
//! saving a rescale per element and a rounding step.

use crate::model::{Model, Op};
use crate::ops;

/// Folds in place; a folded node becomes a `Reshape` of its producer. Returns how many folded.
pub fn fold_affine(model: &mut Model) -> usize {
    let mut uses = vec![0usize; model.nodes.len()];
    for node in &model.nodes {
        for i in &node.inputs {
            uses[*i] += 1;
        }
    }
    for o in &model.outputs {
        uses[*o] += 1;
    }
    let mut folded = 0;
    for c in 0..model.nodes.len() {
        let Some(&first) = model.nodes[c].inputs.first() else {
            continue;
        };
        // Look through producers already folded into their own producers.
        let mut p = first;
        while matches!(model.nodes[p].op, Op::Reshape)
            && uses[p] == 1
            && model.nodes[model.nodes[p].inputs[0]].shape == model.nodes[p].shape
        {
            p = model.nodes[p].inputs[0];
        }
        if model.nodes[c].inputs.len() != 1
            || uses[p] != 1
            || uses[first] != 1
            || model.nodes[p].shape != model.nodes[c].shape
        {
            continue;
        }
        let consumer = model.nodes[c].op.clone();
        let producer = &mut model.nodes[p].op;
        if fold_pair(producer, &consumer) {
            model.nodes[c].op = Op::Reshape;
            folded += 1;
        }
    }
    folded
}

/// Tries to absorb `consumer` into `producer`.
fn fold_pair(producer: &mut Op, consumer: &Op) -> bool {
    match (producer, consumer) {
        (
            Op::Linear(ops::linear::Linear { bias, .. }),
            Op::AddConst(ops::arithmetic::AddConst { values }),
        ) => {
            bias.iter_mut().zip(values).for_each(|(b, v)| *b += v);
            true
        }
        (
            Op::Dense(ops::linear::Dense {
                bias, out_features, ..
            }),
            Op::AddConst(ops::arithmetic::AddConst { values }),
        ) => {
            let n = *out_features;
            if values.chunks(n).any(|row| row != &values[..n]) {
                return false;
            }
            bias.iter_mut().zip(values).for_each(|(b, v)| *b += v);
            true
        }
        (
            Op::Linear(ops::linear::Linear { terms, bias }),
            Op::Linear(ops::linear::Linear {
                terms: scale,
                bias: offset,
            }),
        ) => {
            let Some(diag) = single_terms(scale) else {
                return false;
            };
            let new_terms = diag
                .iter()
                .map(|(i, w)| terms[*i].iter().map(|(j, v)| (*j, v * w)).collect())
                .collect();
            let new_bias = diag
                .iter()
                .zip(offset)
                .map(|((i, w), b)| bias[*i] * w + b)
                .collect();
            *terms = new_terms;
            *bias = new_bias;
            true
        }
        (
            Op::Dense(ops::linear::Dense {
                weights,
                bias,
                in_features,
                out_features,
            }),
            Op::Linear(ops::linear::Linear {
                terms: scale,
                bias: offset,
            }),
        ) => {
            let Some(diag) = single_terms(scale) else {
                return false;
            };
            let n = *out_features;
            // Element o must scale itself, with the same factor and offset in every row.
            let same = diag
                .iter()
                .enumerate()
                .all(|(o, (i, w))| *i == o && *w == diag[o % n].1 && offset[o] == offset[o % n]);
            if !same {
                return false;
            }
            for f in 0..n {
                let w = diag[f].1;
                weights[f * *in_features..(f + 1) * *in_features]
                    .iter_mut()
                    .for_each(|x| *x *= w);
                bias[f] = bias[f] * w + offset[f];
            }
            true
        }
        _ => false,
    }
}

/// `(input, weight)` per output when every output has exactly one term.
fn single_terms(terms: &[Vec<(usize, f64)>]) -> Option<Vec<(usize, f64)>> {
    terms.iter().map(|t| (t.len() == 1).then(|| t[0])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Node;

    fn node(op: Op, inputs: Vec<usize>, shape: Vec<usize>) -> Node {
        Node {
            name: "n".into(),
            op_type: "t".into(),
            op,
            inputs,
            shape,
        }
    }

    #[test]
    fn scaling_and_offsets_fold_into_a_dense_layer_without_changing_results() {
        let mut model = Model {
            nodes: vec![
                node(
                    Op::Input(ops::wiring::Input { index: 0 }),
                    vec![],
                    vec![1, 2],
                ),
                node(
                    Op::Dense(ops::linear::Dense {
                        weights: vec![1.0, 2.0, -1.0, 0.5],
                        bias: vec![0.1, 0.2],
                        in_features: 2,
                        out_features: 2,
                    }),
                    vec![0],
                    vec![1, 2],
                ),
                node(
                    Op::Linear(ops::linear::Linear {
                        terms: vec![vec![(0, 3.0)], vec![(1, -2.0)]],
                        bias: vec![1.0, -1.0],
                    }),
                    vec![1],
                    vec![1, 2],
                ),
                node(
                    Op::AddConst(ops::arithmetic::AddConst {
                        values: vec![0.5, 0.25],
                    }),
                    vec![2],
                    vec![1, 2],
                ),
            ],
            inputs: vec![0],
            outputs: vec![3],
            specialized: Vec::new(),
        };
        let before = model.eval_f64(&[vec![0.7, -0.3]])[3].clone();
        assert_eq!(fold_affine(&mut model), 2);
        assert!(
            matches!(model.nodes[2].op, Op::Reshape) && matches!(model.nodes[3].op, Op::Reshape)
        );
        let after = model.eval_f64(&[vec![0.7, -0.3]])[3].clone();
        for (a, b) in before.iter().zip(&after) {
            assert!((a - b).abs() < 1e-12, "{before:?} vs {after:?}");
        }
    }

    #[test]
    fn a_shared_producer_is_not_folded() {
        let mut model = Model {
            nodes: vec![
                node(Op::Input(ops::wiring::Input { index: 0 }), vec![], vec![2]),
                node(
                    Op::Linear(ops::linear::Linear {
                        terms: vec![vec![(0, 1.0)], vec![(1, 1.0)]],
                        bias: vec![0.0, 0.0],
                    }),
                    vec![0],
                    vec![2],
                ),
                node(
                    Op::AddConst(ops::arithmetic::AddConst {
                        values: vec![1.0, 1.0],
                    }),
                    vec![1],
                    vec![2],
                ),
            ],
            inputs: vec![0],
            outputs: vec![2, 1],
            specialized: Vec::new(),
        };
        assert_eq!(fold_affine(&mut model), 0);
    }
}
