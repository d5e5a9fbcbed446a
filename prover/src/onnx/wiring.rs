//! Wiring operators: every output element is one input element or zero, so they cost no
//! constraints. On constants they are folded at import.
//!
//! Imports Identity, Dropout (as Identity), Cast, Shape, Flatten, Reshape, Squeeze, Unsqueeze,
//! Transpose and Concat, and holds the wiring primitives the other importers build on
//! ([`Importer::wire`], broadcasting, materializing constants). Slice, Pad and Gather are in
//! `slicing`.

use super::shape::{axis, broadcast_index, ravel, unravel, without_axes};
use super::{Constant, Ctx, Importer, Value};
use crate::model::{Op, TensorId};
use crate::ops;
use crate::Result;

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

    /// A constant as a tensor node shaped like `c`, built next to tensor `like`; its mask
    /// entries (`-inf`) become 0 and are recorded (see `masking`).
    pub(super) fn materialize(&mut self, ctx: &Ctx, c: &Constant, like: TensorId) -> TensorId {
        let (values, mask) = super::masking::split_mask(&c.data);
        let id = self.constant_tensor(
            ctx,
            &Constant {
                data: values,
                ..c.clone()
            },
            like,
        );
        self.add_mask(id, mask);
        id
    }

    /// A constant (finite) as a tensor node shaped like `c`, built next to tensor `like`.
    pub(super) fn constant_tensor(&mut self, ctx: &Ctx, c: &Constant, like: TensorId) -> TensorId {
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
            let integer = consts.iter().all(|c| c.integer);
            return Ok(Value::Constant(Constant {
                shape,
                data,
                integer,
            }));
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
            Value::Constant(c) => Value::Constant(Constant { shape, ..c }),
            Value::Tensor(t) => {
                Value::Tensor(self.push(&ctx.name, &ctx.proto.op_type, Op::Reshape, vec![t], shape))
            }
        })
    }

    /// Broadcasts a tensor reduced along axis `a` back to `shape`.
    pub(super) fn expand_along(
        &mut self,
        ctx: &Ctx,
        t: TensorId,
        shape: &[usize],
        a: usize,
    ) -> TensorId {
        self.expand_over(ctx, t, shape, &[a])
    }

    /// Spreads `t` (of `shape` with `axes` reduced to 1) back over `shape`.
    pub(super) fn expand_over(
        &mut self,
        ctx: &Ctx,
        t: TensorId,
        shape: &[usize],
        axes: &[usize],
    ) -> TensorId {
        let mut reduced = shape.to_vec();
        for a in axes {
            reduced[*a] = 1;
        }
        let sources = (0..shape.iter().product())
            .map(|flat| {
                let mut idx = unravel(flat, shape);
                for a in axes {
                    idx[*a] = 0;
                }
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

    /// Spreads `t` (one value per group) back over `shape`: element `i` takes its group's value
    /// (`groups[g]` lists the elements of group `g`, as [`super::shape::reduce_groups`] gives).
    pub(super) fn spread_groups(
        &mut self,
        ctx: &Ctx,
        t: TensorId,
        groups: &[Vec<usize>],
        shape: &[usize],
    ) -> TensorId {
        let mut sources = vec![None; shape.iter().product()];
        for (g, members) in groups.iter().enumerate() {
            for i in members {
                sources[*i] = Some((0, g));
            }
        }
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

    /// Identity (and Dropout at inference): the input unchanged.
    pub(super) fn identity(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        self.reshaped(ctx, v, shape)
    }

    /// Cast between float types, the value unchanged; a constant to any type (to an integer
    /// type truncated, to bool 0 or 1, as ONNX does).
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
        // A constant takes the target type's values: integers truncate, booleans are 0 or 1.
        let v = match v {
            Value::Constant(mut c) => {
                c.integer = !matches!(to, 1 | 10 | 11 | 16);
                if to == 9 {
                    c.data
                        .iter_mut()
                        .for_each(|x| *x = f64::from(u8::from(*x != 0.0)));
                } else if c.integer {
                    c.data.iter_mut().for_each(|x| *x = x.trunc());
                }
                Value::Constant(c)
            }
            tensor => tensor,
        };
        self.reshaped(ctx, v, shape)
    }

    /// Shape (with `start`, `end`): the input's dimensions as a constant.
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
            integer: true,
        }))
    }

    /// Flatten to 2-D at `axis`.
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

    /// Reshape to a constant target shape (`-1` inferred, `0` copied unless `allowzero`).
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

    /// Transpose by `perm` (reversed axes by default).
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

    /// Concat along `axis`.
    pub(super) fn concat(&mut self, ctx: &Ctx) -> Result<Value> {
        let inputs: Vec<Value> = (0..ctx.proto.input.len())
            .filter(|i| ctx.has_input(*i))
            .map(|i| self.any_input(ctx, i))
            .collect::<Result<_>>()?;
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|v| self.value_shape(v)).collect();
        let Some(rank) = shapes.first().map(Vec::len) else {
            return Err(ctx.invalid("Concat of no inputs"));
        };
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
}

/// Whether `sources` maps the one input, of `len` elements, onto itself in order.
fn ids_are_identity(sources: &[Option<(usize, usize)>], inputs: usize, len: usize) -> bool {
    inputs == 1
        && sources.len() == len
        && sources.iter().enumerate().all(|(o, s)| *s == Some((0, o)))
}
