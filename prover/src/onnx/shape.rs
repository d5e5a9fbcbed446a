//! Wiring operators: every output element is one input element or zero, so they cost no
//! constraints. On constants they are folded at import.

use super::{Constant, Ctx, Importer, Value};
use crate::model::{Op, TensorId};
use crate::ops;
use crate::Result;

/// Row-major strides of `shape`.
pub(super) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The multi-index of flat position `flat` in `shape`.
pub(super) fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        idx[i] = flat % shape[i].max(1);
        flat /= shape[i].max(1);
    }
    idx
}

/// Flat position of a multi-index.
pub(super) fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

/// `shape` with `axes` reduced to 1, and per element of that shape the input elements it gathers.
pub(super) fn reduce_groups(shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let reduced: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(i, d)| if axes.contains(&i) { 1 } else { *d })
        .collect();
    let mut groups = vec![Vec::new(); reduced.iter().product()];
    for flat in 0..shape.iter().product() {
        let mut idx = unravel(flat, shape);
        for a in axes {
            idx[*a] = 0;
        }
        groups[ravel(&idx, &reduced)].push(flat);
    }
    (reduced, groups)
}

/// `shape` without `axes` (reductions with `keepdims = 0`, Squeeze).
pub(super) fn without_axes(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, d)| *d)
        .collect()
}

/// Most elements a tensor may have (2^22): each costs at least one advice cell, so a larger
/// tensor needs a circuit of more than 2^22 rows, beyond what a prover machine holds in memory.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 22;

/// The number of elements of `shape`, when it is at most [`MAX_TENSOR_ELEMENTS`].
pub(super) fn elements_within_limit(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d))
        .filter(|n| *n <= MAX_TENSOR_ELEMENTS)
}

/// Fails, naming the node, when a tensor of `shape` would exceed [`MAX_TENSOR_ELEMENTS`].
pub(super) fn check_size(ctx: &Ctx, shape: &[usize]) -> Result<()> {
    match elements_within_limit(shape) {
        Some(_) => Ok(()),
        None => Err(ctx.invalid(format!(
            "output shape {shape:?} has more than {MAX_TENSOR_ELEMENTS} elements"
        ))),
    }
}

/// Numpy broadcast of two shapes (`None` when they do not broadcast, or the result would
/// exceed [`MAX_TENSOR_ELEMENTS`]).
pub(super) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() < n {
            1
        } else {
            s[i + s.len() - n]
        }
    };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect::<Option<Vec<usize>>>()
        .filter(|s| elements_within_limit(s).is_some())
}

/// Source index in a tensor of `from` shape for every element of the broadcast `to` shape.
pub(super) fn broadcast_index(from: &[usize], to: &[usize]) -> Option<Vec<usize>> {
    if broadcast_shapes(from, to)? != to {
        return None;
    }
    let offset = to.len() - from.len();
    Some(
        (0..to.iter().product())
            .map(|flat| {
                let idx = unravel(flat, to);
                let src: Vec<usize> = (0..from.len())
                    .map(|i| if from[i] == 1 { 0 } else { idx[i + offset] })
                    .collect();
                ravel(&src, from)
            })
            .collect(),
    )
}

/// Numpy-style broadcast of a constant to `shape`, flattened row-major.
pub(crate) fn broadcast(c: &Constant, shape: &[usize]) -> Option<Vec<f64>> {
    Some(
        broadcast_index(&c.shape, shape)?
            .into_iter()
            .map(|i| c.data[i])
            .collect(),
    )
}

/// Resolves a possibly negative axis against a rank.
pub(super) fn axis(ctx: &Ctx, a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(ctx.invalid(format!("axis {a} out of range for rank {rank}")));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

impl Importer {
    /// The shape of a value.
    pub(super) fn value_shape(&self, v: &Value) -> Vec<usize> {
        match v {
            Value::Tensor(t) => self.shape(*t).to_vec(),
            Value::Constant(c) => c.shape.clone(),
        }
    }

    /// Input `i` as a tensor or constant.
    pub(super) fn any_input(&self, ctx: &Ctx, i: usize) -> Result<Value> {
        self.input(ctx, i).cloned()
    }

    /// Integer values of constant input `i`.
    pub(super) fn ints(&self, ctx: &Ctx, i: usize) -> Result<Vec<i64>> {
        Ok(self
            .constant(ctx, i)?
            .data
            .iter()
            .map(|v| *v as i64)
            .collect())
    }

    /// A constant as a tensor node shaped like `c`, built next to tensor `like`.
    pub(super) fn materialize(&mut self, ctx: &Ctx, c: &Constant, like: TensorId) -> TensorId {
        let n = c.data.len();
        let zeros = self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Gather(ops::wiring::Gather {
                sources: vec![None; n],
            }),
            vec![like],
            c.shape.clone(),
        );
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::AddConst(ops::arithmetic::AddConst {
                values: c.data.clone(),
            }),
            vec![zeros],
            c.shape.clone(),
        )
    }

    /// Applies an index map over `inputs`: folded when all are constants, else a Gather node
    /// (constant inputs are materialized).
    pub(super) fn wire(
        &mut self,
        ctx: &Ctx,
        inputs: &[Value],
        shape: Vec<usize>,
        sources: Vec<Option<(usize, usize)>>,
    ) -> Result<Value> {
        let consts: Option<Vec<&Constant>> = inputs
            .iter()
            .map(|v| {
                if let Value::Constant(c) = v {
                    Some(c)
                } else {
                    None
                }
            })
            .collect();
        if let Some(consts) = consts {
            let data = sources
                .iter()
                .map(|s| s.map_or(0.0, |(slot, i)| consts[slot].data[i]))
                .collect();
            return Ok(Value::Constant(Constant { shape, data }));
        }
        let like = inputs
            .iter()
            .find_map(|v| {
                if let Value::Tensor(t) = v {
                    Some(*t)
                } else {
                    None
                }
            })
            .expect("a tensor");
        let ids = inputs
            .iter()
            .map(|v| match v {
                Value::Tensor(t) => *t,
                Value::Constant(c) => self.materialize(ctx, c, like),
            })
            .collect();
        // An identity map is a plain reshape.
        if ids_are_identity(
            &sources,
            inputs.len(),
            self.value_shape(&inputs[0]).iter().product(),
        ) {
            return Ok(Value::Tensor(self.push(
                &ctx.name,
                &ctx.proto.op_type,
                Op::Reshape,
                ids,
                shape,
            )));
        }
        Ok(Value::Tensor(self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Gather(ops::wiring::Gather { sources }),
            ids,
            shape,
        )))
    }

    /// Same values with another shape (a tensor or a folded constant).
    pub(super) fn reshaped(&mut self, ctx: &Ctx, v: Value, shape: Vec<usize>) -> Result<Value> {
        Ok(match v {
            Value::Constant(c) => Value::Constant(Constant {
                shape,
                data: c.data,
            }),
            Value::Tensor(t) => {
                Value::Tensor(self.push(&ctx.name, &ctx.proto.op_type, Op::Reshape, vec![t], shape))
            }
        })
    }

    pub(super) fn identity(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        self.reshaped(ctx, v, shape)
    }

    pub(super) fn cast(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        // FLOAT, FLOAT16, DOUBLE, BFLOAT16: the fixed-point value is unchanged.
        let to = ctx.attr_i("to", 1);
        if matches!(v, Value::Tensor(_)) && ![1, 10, 11, 16].contains(&to) {
            return Err(ctx.invalid(format!(
                "cast of a computed tensor to ONNX type {to} (only float types)"
            )));
        }
        let shape = self.value_shape(&v);
        self.reshaped(ctx, v, shape)
    }

    pub(super) fn shape_of(&mut self, ctx: &Ctx) -> Result<Value> {
        let shape = self.value_shape(&self.any_input(ctx, 0)?);
        let rank = shape.len() as i64;
        let clampi = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
        let start = clampi(ctx.attr_i("start", 0));
        let end = clampi(ctx.attr_i("end", rank));
        let data: Vec<f64> = shape[start..end.max(start)]
            .iter()
            .map(|d| *d as f64)
            .collect();
        Ok(Value::Constant(Constant {
            shape: vec![data.len()],
            data,
        }))
    }

    pub(super) fn flatten(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let a = ctx.attr_i("axis", 1);
        let a = if a < 0 { a + shape.len() as i64 } else { a };
        if a < 0 || a as usize > shape.len() {
            return Err(ctx.invalid(format!("axis {a} out of range for {shape:?}")));
        }
        let (outer, inner) = shape.split_at(a as usize);
        self.reshaped(ctx, v, vec![outer.iter().product(), inner.iter().product()])
    }

    pub(super) fn reshape(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let target = self.ints(ctx, 1)?;
        let shape = self.value_shape(&v);
        let total: usize = shape.iter().product();
        let mut out = Vec::with_capacity(target.len());
        let mut infer = None;
        for (i, &d) in target.iter().enumerate() {
            match d {
                -1 if infer.is_none() => {
                    infer = Some(i);
                    out.push(1)
                }
                0 if ctx.attr_i("allowzero", 0) == 0 => out.push(
                    *shape
                        .get(i)
                        .ok_or_else(|| ctx.invalid("0 past the input rank"))?,
                ),
                d if d > 0 => out.push(d as usize),
                d => return Err(ctx.invalid(format!("invalid target dimension {d}"))),
            }
        }
        let known: usize = out.iter().product();
        if let Some(i) = infer {
            if known == 0 || !total.is_multiple_of(known) {
                return Err(ctx.invalid(format!("cannot reshape {shape:?} to {target:?}")));
            }
            out[i] = total / known;
        }
        if out.iter().product::<usize>() != total {
            return Err(ctx.invalid(format!(
                "cannot reshape {shape:?} ({total} elements) to {out:?}"
            )));
        }
        self.reshaped(ctx, v, out)
    }

    /// Squeeze and Unsqueeze (axes as attribute before opset 13, as input after).
    pub(super) fn squeeze(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let axes = match ctx.attr_ints("axes") {
            Some(a) => Some(a),
            None if ctx.has_input(1) => Some(self.ints(ctx, 1)?),
            None => None,
        };
        let out = if ctx.proto.op_type == "Squeeze" {
            let axes = match axes {
                Some(a) => a
                    .iter()
                    .map(|a| axis(ctx, *a, shape.len()))
                    .collect::<Result<Vec<_>>>()?,
                None => (0..shape.len()).filter(|i| shape[*i] == 1).collect(),
            };
            if let Some(a) = axes.iter().find(|a| shape[**a] != 1) {
                return Err(ctx.invalid(format!("cannot squeeze axis {a} of {shape:?}")));
            }
            without_axes(&shape, &axes)
        } else {
            let axes = axes.ok_or_else(|| ctx.invalid("Unsqueeze needs axes"))?;
            let rank = shape.len() + axes.len();
            let mut axes = axes
                .iter()
                .map(|a| axis(ctx, *a, rank))
                .collect::<Result<Vec<_>>>()?;
            axes.sort_unstable();
            let mut out = shape.clone();
            for a in axes {
                out.insert(a, 1);
            }
            out
        };
        self.reshaped(ctx, v, out)
    }

    pub(super) fn transpose(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let perm: Vec<usize> = match ctx.attr_ints("perm") {
            Some(p) => p
                .iter()
                .map(|a| axis(ctx, *a, shape.len()))
                .collect::<Result<_>>()?,
            None => (0..shape.len()).rev().collect(),
        };
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        if sorted != (0..shape.len()).collect::<Vec<_>>() {
            return Err(ctx.invalid(format!(
                "perm {perm:?} is not a permutation of {} axes",
                shape.len()
            )));
        }
        let out: Vec<usize> = perm.iter().map(|p| shape[*p]).collect();
        let sources = (0..out.iter().product())
            .map(|flat| {
                let oi = unravel(flat, &out);
                let mut ii = vec![0; shape.len()];
                for (o, p) in perm.iter().enumerate() {
                    ii[*p] = oi[o];
                }
                Some((0, ravel(&ii, &shape)))
            })
            .collect();
        self.wire(ctx, &[v], out, sources)
    }

    pub(super) fn concat(&mut self, ctx: &Ctx) -> Result<Value> {
        let inputs: Vec<Value> = (0..ctx.proto.input.len())
            .filter(|i| ctx.has_input(*i))
            .map(|i| self.any_input(ctx, i))
            .collect::<Result<_>>()?;
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|v| self.value_shape(v)).collect();
        let rank = shapes[0].len();
        let a = axis(ctx, ctx.attr_i("axis", 0), rank)?;
        for s in &shapes {
            if s.len() != rank || (0..rank).any(|i| i != a && s[i] != shapes[0][i]) {
                return Err(
                    ctx.invalid(format!("cannot concatenate shapes {shapes:?} on axis {a}"))
                );
            }
        }
        let mut out = shapes[0].clone();
        out[a] = shapes.iter().map(|s| s[a]).sum();
        let sources = (0..out.iter().product())
            .map(|flat| {
                let mut idx = unravel(flat, &out);
                let mut slot = 0;
                while idx[a] >= shapes[slot][a] {
                    idx[a] -= shapes[slot][a];
                    slot += 1;
                }
                Some((slot, ravel(&idx, &shapes[slot])))
            })
            .collect();
        self.wire(ctx, &inputs, out, sources)
    }

    pub(super) fn slice(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let (starts, ends, axes, steps) = if let Some(starts) = ctx.attr_ints("starts") {
            (
                starts,
                ctx.attr_ints("ends").unwrap_or_default(),
                ctx.attr_ints("axes"),
                None,
            )
        } else {
            let opt = |s: &Self, i: usize| {
                if ctx.has_input(i) {
                    s.ints(ctx, i).map(Some)
                } else {
                    Ok(None)
                }
            };
            (
                self.ints(ctx, 1)?,
                self.ints(ctx, 2)?,
                opt(self, 3)?,
                opt(self, 4)?,
            )
        };
        let axes: Vec<usize> = match axes {
            Some(a) => a
                .iter()
                .map(|a| axis(ctx, *a, shape.len()))
                .collect::<Result<_>>()?,
            // Default axes 0.. must exist too: more starts than the input's rank is refused.
            None => (0..starts.len() as i64)
                .map(|a| axis(ctx, a, shape.len()))
                .collect::<Result<_>>()?,
        };
        let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(ctx.invalid("starts, ends, axes and steps differ in length"));
        }
        // Per axis: the selected input positions.
        let mut picks: Vec<Vec<usize>> = shape.iter().map(|d| (0..*d).collect()).collect();
        for k in 0..starts.len() {
            let (d, step) = (shape[axes[k]] as i64, steps[k]);
            if step == 0 {
                return Err(ctx.invalid("slice step 0"));
            }
            let norm = |v: i64| if v < 0 { v + d } else { v };
            let (lo, hi) = if step > 0 { (0, d) } else { (-1, d - 1) };
            let (start, end) = (
                norm(starts[k]).clamp(lo, hi),
                norm(ends[k].clamp(-d - 1, d)).clamp(lo, hi),
            );
            let mut sel = Vec::new();
            let mut i = start;
            while (step > 0 && i < end) || (step < 0 && i > end) {
                sel.push(i as usize);
                i += step;
            }
            picks[axes[k]] = sel;
        }
        let out: Vec<usize> = picks.iter().map(Vec::len).collect();
        let sources = (0..out.iter().product())
            .map(|flat| {
                let oi = unravel(flat, &out);
                let ii: Vec<usize> = oi.iter().enumerate().map(|(a, i)| picks[a][*i]).collect();
                Some((0, ravel(&ii, &shape)))
            })
            .collect();
        self.wire(ctx, &[v], out, sources)
    }

    pub(super) fn pad(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let pads = match ctx.attr_ints("pads") {
            Some(p) => p,
            None => self.ints(ctx, 1)?,
        };
        let value = if ctx.has_input(2) {
            self.constant(ctx, 2)?.data.first().copied().unwrap_or(0.0)
        } else {
            ctx.attr_f("value", 0.0) as f64
        };
        let mode = ctx
            .attr("mode")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_else(|| "constant".into());
        let r = shape.len();
        let mut full = vec![0i64; 2 * r];
        if ctx.has_input(3) {
            let axes = self.ints(ctx, 3)?;
            for (k, a) in axes.iter().enumerate() {
                let a = axis(ctx, *a, r)?;
                full[a] = pads[k];
                full[a + r] = pads[k + axes.len()];
            }
        } else if pads.len() == 2 * r {
            full = pads;
        } else {
            return Err(ctx.invalid(format!("{} pads for rank {r}", pads.len())));
        }
        if full.iter().any(|p| *p < 0) {
            return Err(ctx.invalid("negative pads (cropping) are not supported"));
        }
        if mode == "constant" && value != 0.0 {
            return Err(ctx.invalid(format!(
                "constant padding with {value} (only 0 is supported)"
            )));
        }
        let out = (0..r)
            .map(|a| {
                let padded = (shape[a] as i64)
                    .checked_add(full[a])
                    .and_then(|d| d.checked_add(full[a + r]))
                    .and_then(|d| usize::try_from(d).ok());
                padded.ok_or_else(|| ctx.invalid(format!("pads {full:?} overflow")))
            })
            .collect::<Result<Vec<usize>>>()?;
        check_size(ctx, &out)?;
        let sources = (0..out.iter().product())
            .map(|flat| {
                let oi = unravel(flat, &out);
                let mut ii = Vec::with_capacity(r);
                for a in 0..r {
                    let (i, d) = (oi[a] as i64 - full[a], shape[a] as i64);
                    let mapped = match mode.as_str() {
                        _ if (0..d).contains(&i) => i,
                        "edge" => i.clamp(0, d - 1),
                        "reflect" if d > 1 => {
                            let period = 2 * (d - 1);
                            let m = i.rem_euclid(period);
                            if m < d {
                                m
                            } else {
                                period - m
                            }
                        }
                        _ => return None,
                    };
                    ii.push(mapped as usize);
                }
                Some((0, ravel(&ii, &shape)))
            })
            .collect();
        if !["constant", "edge", "reflect"].contains(&mode.as_str()) {
            return Err(ctx.invalid(format!("pad mode {mode}")));
        }
        self.wire(ctx, &[v], out, sources)
    }

    /// ONNX Gather with constant indices.
    pub(super) fn gather_op(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let indices = self.constant(ctx, 1)?;
        let a = axis(ctx, ctx.attr_i("axis", 0), shape.len())?;
        let d = shape[a] as i64;
        let idx: Vec<usize> = indices
            .data
            .iter()
            .map(|i| {
                let i = *i as i64;
                let i = if i < 0 { i + d } else { i };
                if (0..d).contains(&i) {
                    Ok(i as usize)
                } else {
                    Err(ctx.invalid(format!("index {i} out of range for axis of size {d}")))
                }
            })
            .collect::<Result<_>>()?;
        let mut out = shape[..a].to_vec();
        out.extend(&indices.shape);
        out.extend(&shape[a + 1..]);
        let k = indices.shape.len();
        let sources = (0..out.iter().product())
            .map(|flat| {
                let oi = unravel(flat, &out);
                let j = ravel(&oi[a..a + k], &indices.shape);
                let mut ii = oi[..a].to_vec();
                ii.push(idx[j]);
                ii.extend(&oi[a + k..]);
                Some((0, ravel(&ii, &shape)))
            })
            .collect();
        self.wire(ctx, &[v], out, sources)
    }

    /// Broadcasts a tensor reduced along axis `a` back to `shape`.
    pub(super) fn expand_along(
        &mut self,
        ctx: &Ctx,
        t: TensorId,
        shape: &[usize],
        a: usize,
    ) -> TensorId {
        let mut reduced = shape.to_vec();
        reduced[a] = 1;
        let sources = (0..shape.iter().product())
            .map(|flat| {
                let mut idx = unravel(flat, shape);
                idx[a] = 0;
                Some((0, ravel(&idx, &reduced)))
            })
            .collect();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Gather(ops::wiring::Gather { sources }),
            vec![t],
            shape.to_vec(),
        )
    }

    /// Brings a value to `shape` by broadcasting (a no-op when it already has it).
    pub(super) fn broadcast_to(&mut self, ctx: &Ctx, v: Value, shape: &[usize]) -> Result<Value> {
        let from = self.value_shape(&v);
        if from == shape {
            return Ok(v);
        }
        let index = broadcast_index(&from, shape)
            .ok_or_else(|| ctx.invalid(format!("{from:?} does not broadcast to {shape:?}")))?;
        let sources = index.into_iter().map(|i| Some((0, i))).collect();
        self.wire(ctx, &[v], shape.to_vec(), sources)
    }
}

fn ids_are_identity(sources: &[Option<(usize, usize)>], inputs: usize, len: usize) -> bool {
    inputs == 1
        && sources.len() == len
        && sources.iter().enumerate().all(|(o, s)| *s == Some((0, o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let c = Constant {
            shape: vec![3],
            data: vec![1.0, 2.0, 3.0],
        };
        assert_eq!(
            broadcast(&c, &[2, 3]).unwrap(),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
        );
        let col = Constant {
            shape: vec![2, 1],
            data: vec![1.0, 2.0],
        };
        assert_eq!(
            broadcast(&col, &[2, 3]).unwrap(),
            vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        );
        assert!(broadcast(&c, &[2, 2]).is_none());
        assert_eq!(broadcast_shapes(&[2, 1, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shapes(&[2], &[3]), None);
    }

    #[test]
    fn index_helpers_round_trip() {
        let shape = [2, 3, 4];
        for flat in 0..24 {
            assert_eq!(ravel(&unravel(flat, &shape), &shape), flat);
        }
        assert_eq!(strides(&shape), vec![12, 4, 1]);
    }
}
