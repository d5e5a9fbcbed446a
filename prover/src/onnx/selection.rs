//! Gather with computed indices: a constrained one-hot select.
//!
//! Each index `i` of a tensor is first brought into `[0, d)` (`i + d·[i < 0]`, a comparison and
//! a scaling), then turned into its one-hot bits over the `d` positions of the gathered axis
//! ([`ops::compare::OneHot`]: each bit 0 or 1, exactly one set, at the index): an index outside
//! `[-d, d)` or not a whole number has no witness, as ONNX refuses it. The bits pick the row by a
//! product with the data: a `Dense` layer when the data is a constant (an embedding table), a
//! `Bilinear` product when it is computed. Cost per index: one comparison, `d` bits, and `d`
//! products per gathered element.

use super::shape::{axis, ravel, unravel};
use super::{Constant, Ctx, Importer, Value};
use crate::model::{Comparison, Op, TensorId};
use crate::ops;
use crate::Result;

impl Importer {
    /// Gather(data, indices) with `indices` computed in the graph (see the module docs).
    pub(super) fn gather_computed(&mut self, ctx: &Ctx, idx: TensorId) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let a = axis(ctx, ctx.attr_i("axis", 0), shape.len())?;
        let d = shape[a];
        let ishape = self.shape(idx).to_vec();
        let n: usize = ishape.iter().product();
        let (pre, post): (usize, usize) =
            (shape[..a].iter().product(), shape[a + 1..].iter().product());
        let rest = pre * post;
        super::shape::check_size(ctx, &[n, d.max(rest)])?;
        let bits = self.one_hot(ctx, idx, n, d, true);
        // The data with the gathered axis first: [d, pre · post].
        let first = |p: usize, r: usize| (r / post) * d * post + p * post + r % post;
        let picked = match v {
            Value::Constant(c) => {
                let table = |p: usize, r: usize| c.data[first(p, r)];
                let weights = (0..rest)
                    .flat_map(|r| (0..d).map(move |p| (p, r)))
                    .map(|(p, r)| table(p, r))
                    .collect();
                self.push(
                    &ctx.name,
                    "Gather",
                    Op::Dense(ops::linear::Dense {
                        weights,
                        bias: vec![0.0; rest],
                        in_features: d,
                        out_features: rest,
                    }),
                    vec![bits],
                    vec![n, rest],
                )
            }
            Value::Tensor(t) => {
                let sources = (0..d * rest)
                    .map(|f| Some((0, first(f / rest, f % rest))))
                    .collect();
                let data = self.push(
                    &ctx.name,
                    "Gather",
                    Op::Gather(ops::wiring::Gather { sources }),
                    vec![t],
                    vec![d, rest],
                );
                let Value::Tensor(p) = ops::products::import_matmul(self, ctx, bits, data)? else {
                    unreachable!("a product of tensors is a tensor")
                };
                p
            }
        };
        // [n, pre · post] back to shape[..a] ++ indices' shape ++ shape[a + 1..].
        let mut out = shape[..a].to_vec();
        out.extend(&ishape);
        out.extend(&shape[a + 1..]);
        let sources = (0..out.iter().product())
            .map(|flat| {
                let oi = unravel(flat, &out);
                let j = ravel(&oi[a..a + ishape.len()], &ishape);
                let (b, c) = (
                    ravel(&oi[..a], &shape[..a]),
                    ravel(&oi[a + ishape.len()..], &shape[a + 1..]),
                );
                Some((0, j * rest + b * post + c))
            })
            .collect();
        self.wire(ctx, &[Value::Tensor(picked)], out, sources)
    }

    /// `[n, d]` bits: `bits[j][p] = 1` where index `j` is `p` (negative ones taken from the end
    /// when `negatives`).
    pub(super) fn one_hot(
        &mut self,
        ctx: &Ctx,
        idx: TensorId,
        n: usize,
        d: usize,
        negatives: bool,
    ) -> TensorId {
        let flat = self.push(&ctx.name, "Gather", Op::Reshape, vec![idx], vec![n]);
        if !negatives {
            return self.push(
                &ctx.name,
                "Gather",
                Op::OneHot(ops::compare::OneHot { depth: d }),
                vec![flat],
                vec![n, d],
            );
        }
        let zeros = self.constant_tensor(ctx, &Constant::float(vec![n], vec![0.0; n]), flat);
        let negative = self.compare_node(ctx, Comparison::Greater, zeros, flat, n);
        let wrap = self.push(
            &ctx.name,
            "Gather",
            Op::Linear(ops::linear::Linear {
                terms: (0..n).map(|j| vec![(j, d as f64)]).collect(),
                bias: vec![0.0; n],
            }),
            vec![negative],
            vec![n],
        );
        let wrapped = self.push(&ctx.name, "Gather", Op::Add, vec![flat, wrap], vec![n]);
        self.push(
            &ctx.name,
            "Gather",
            Op::OneHot(ops::compare::OneHot { depth: d }),
            vec![wrapped],
            vec![n, d],
        )
    }

    fn compare_node(
        &mut self,
        ctx: &Ctx,
        kind: Comparison,
        a: TensorId,
        b: TensorId,
        len: usize,
    ) -> TensorId {
        let shape = self.shape(a).to_vec();
        debug_assert_eq!(shape.iter().product::<usize>(), len);
        self.push(
            &ctx.name,
            "Gather",
            Op::Compare(ops::compare::Compare { kind }),
            vec![a, b],
            shape,
        )
    }

    /// TopK over a small `k` (at most [`MAX_TOP_K`]): `k` rounds of the group maximum and its
    /// first index (ArgMax), the chosen element then replaced, through its one-hot bits and a
    /// `Where`, by the group's minimum minus one. Values and indices come out sorted (largest
    /// first, or smallest with `largest = 0`); ties go to the lower index, as ONNX's.
    pub(super) fn top_k(&mut self, ctx: &Ctx) -> Result<Vec<Value>> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = axis(ctx, ctx.attr_i("axis", -1), shape.len())?;
        let k = if ctx.has_input(1) {
            self.ints(ctx, 1)?.first().copied().unwrap_or(-1)
        } else {
            ctx.attr_i("k", -1)
        };
        let d = shape[a];
        let k = usize::try_from(k)
            .ok()
            .filter(|k| (1..=d.min(MAX_TOP_K)).contains(k))
            .ok_or_else(|| {
                ctx.invalid(format!(
                    "k = {k} (1 to {MAX_TOP_K}, and at most the axis' {d})"
                ))
            })?;
        let largest = ctx.attr_i("largest", 1) != 0;
        let (reduced, groups) = super::shape::reduce_groups(&shape, &[a]);
        let g = groups.len();
        let minus_one = Constant::float(vec![1], vec![-1.0]);
        let negate = |s: &mut Self, t: TensorId| -> Result<TensorId> {
            match s.scale_by(ctx, Value::Tensor(t), &minus_one, false)? {
                Value::Tensor(t) => Ok(t),
                Value::Constant(_) => unreachable!("a tensor stays a tensor"),
            }
        };
        let mut cur = if largest { x } else { negate(self, x)? };
        // Where each element sits: its group and its position along the axis.
        let mut place = vec![(0, 0); shape.iter().product()];
        for (gi, members) in groups.iter().enumerate() {
            for (p, e) in members.iter().enumerate() {
                place[*e] = (gi, p);
            }
        }
        let push = |s: &mut Self, op: Op, inputs: Vec<TensorId>, shape: Vec<usize>| {
            s.push(&ctx.name, "TopK", op, inputs, shape)
        };
        // Below every element of its group: the group's minimum minus one, spread back.
        let low = if k > 1 {
            let neg = negate(self, cur)?;
            let m = push(
                self,
                Op::MaxGroups(ops::compare::MaxGroups {
                    groups: groups.clone(),
                }),
                vec![neg],
                vec![g],
            );
            let low = push(
                self,
                Op::Linear(ops::linear::Linear {
                    terms: (0..g).map(|i| vec![(i, -1.0)]).collect(),
                    bias: vec![-1.0; g],
                }),
                vec![m],
                vec![g],
            );
            Some(self.spread_groups(ctx, low, &groups, &shape))
        } else {
            None
        };
        let (mut values, mut indices) = (Vec::with_capacity(k), Vec::with_capacity(k));
        for round in 0..k {
            let v = push(
                self,
                Op::MaxGroups(ops::compare::MaxGroups {
                    groups: groups.clone(),
                }),
                vec![cur],
                vec![g],
            );
            let i = push(
                self,
                Op::ArgMax(ops::compare::ArgMax {
                    groups: groups.clone(),
                    last: false,
                }),
                vec![cur],
                vec![g],
            );
            values.push(if largest { v } else { negate(self, v)? });
            indices.push(i);
            if round + 1 < k {
                let bits = push(
                    self,
                    Op::OneHot(ops::compare::OneHot { depth: d }),
                    vec![i],
                    vec![g, d],
                );
                let at = place.iter().map(|(gi, p)| Some((0, gi * d + p))).collect();
                let chosen = push(
                    self,
                    Op::Gather(ops::wiring::Gather { sources: at }),
                    vec![bits],
                    shape.clone(),
                );
                self.booleans.insert(chosen);
                let low = low.expect("made when k > 1");
                cur = push(self, Op::Where, vec![chosen, low, cur], shape.clone());
            }
        }
        // Stack the rounds along the axis: [.., k, ..].
        let mut out = shape.clone();
        out[a] = k;
        let stack = |s: &mut Self, parts: Vec<TensorId>| -> Result<Value> {
            let sources = (0..out.iter().product())
                .map(|f| {
                    let mut idx = unravel(f, &out);
                    let round = idx[a];
                    idx[a] = 0;
                    Some((round, ravel(&idx, &reduced)))
                })
                .collect();
            let parts: Vec<Value> = parts.into_iter().map(Value::Tensor).collect();
            s.wire(ctx, &parts, out.clone(), sources)
        };
        Ok(vec![stack(self, values)?, stack(self, indices)?])
    }
}

/// The largest `k` TopK takes (each round is a maximum, an ArgMax and a one-hot select).
const MAX_TOP_K: usize = 16;
