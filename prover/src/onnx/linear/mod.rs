//! Affine operators with constant parameters: each output element is a bias plus a weighted sum
//! of input elements (one `Dense` or sparse `Linear` node, then one rescale per element).
//!
//! By concept: [`matmul`] (Gemm, MatMul, Einsum), [`conv`] (Conv, ConvTranspose), [`pool`]
//! (AveragePool, GlobalAveragePool, GlobalMaxPool, and the windows MaxPool shares), [`reduce`]
//! (ReduceSum, ReduceMean, BatchNormalization). This file holds what they share: the convolution/pooling [`Window`] and the
//! builders of `Linear` nodes (also used for Mul/Div by a constant and by the nonlinear
//! importers).

mod conv;
mod matmul;
mod pool;
mod reduce;

use super::shape::{broadcast, elements_within_limit, ravel, unravel, MAX_TENSOR_ELEMENTS};
use super::{Constant, Ctx, Importer, Value};
use crate::model::{Op, TensorId};
use crate::ops;
use crate::Result;

/// Spatial geometry of a convolution or pooling window.
pub(super) struct Window {
    /// Output spatial dims.
    pub(super) out: Vec<usize>,
    /// For each output position (row-major), each kernel offset (row-major): the input
    /// position, or `None` where the window covers padding.
    pub(super) taps: Vec<Vec<Option<usize>>>,
}

impl Window {
    /// Reads `strides`, `pads`, `dilations`, `auto_pad`, `ceil_mode` for `kernel` over `input`.
    pub(super) fn new(ctx: &Ctx, input: &[usize], kernel: &[usize]) -> Result<Window> {
        let n = input.len();
        let get = |name: &str, default: i64| -> Vec<i64> {
            ctx.attr_ints(name).unwrap_or_else(|| vec![default; n])
        };
        let (strides, dil) = (get("strides", 1), get("dilations", 1));
        let mut pads = ctx.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
        if strides.len() != n
            || dil.len() != n
            || pads.len() != 2 * n
            || strides.iter().chain(&dil).any(|v| *v < 1)
        {
            return Err(ctx.invalid("strides, dilations or pads do not match the spatial rank"));
        }
        // Bounds that keep every window computation below overflow; any tensor they allow is
        // refused by size further on.
        let limit = MAX_TENSOR_ELEMENTS as i64;
        if pads.iter().any(|p| !(0..=limit).contains(p))
            || strides.iter().chain(&dil).any(|v| *v > limit)
            || kernel.iter().any(|k| *k == 0 || *k > MAX_TENSOR_ELEMENTS)
        {
            return Err(ctx.invalid(format!(
                "kernel {kernel:?}, pads {pads:?}, strides {strides:?}, dilations {dil:?}: pads \
                 must be in [0, {limit}], kernel sizes, strides and dilations in [1, {limit}]"
            )));
        }
        let auto = ctx
            .attr("auto_pad")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_default();
        let ceil = ctx.attr_i("ceil_mode", 0) != 0;
        let span = |i: usize| (kernel[i] as i64 - 1) * dil[i] + 1;
        match auto.as_str() {
            "" | "NOTSET" => {}
            "VALID" => pads = vec![0; 2 * n],
            "SAME_UPPER" | "SAME_LOWER" => {
                for i in 0..n {
                    let out = (input[i] as i64 + strides[i] - 1) / strides[i];
                    let total = ((out - 1) * strides[i] + span(i) - input[i] as i64).max(0);
                    let (small, big) = (total / 2, total - total / 2);
                    (pads[i], pads[i + n]) = if auto == "SAME_UPPER" {
                        (small, big)
                    } else {
                        (big, small)
                    };
                }
            }
            other => return Err(ctx.invalid(format!("auto_pad {other}"))),
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let room = input[i] as i64 + pads[i] + pads[i + n] - span(i);
            if room < 0 {
                return Err(ctx.invalid(format!("kernel larger than the padded input {input:?}")));
            }
            let mut o = if ceil {
                (room + strides[i] - 1) / strides[i] + 1
            } else {
                room / strides[i] + 1
            };
            // As onnxruntime and PyTorch: with ceil_mode, a window may not start in the end padding.
            if ceil && (o - 1) * strides[i] >= input[i] as i64 + pads[i] {
                o -= 1;
            }
            out.push(o as usize);
        }
        let positions = elements_within_limit(&out);
        let taps_per = elements_within_limit(kernel);
        let (Some(positions), Some(taps_per)) = (positions, taps_per) else {
            return Err(ctx.invalid(format!(
                "output {out:?} or kernel {kernel:?} has more than {MAX_TENSOR_ELEMENTS} elements"
            )));
        };
        if positions.saturating_mul(taps_per) > MAX_TENSOR_ELEMENTS {
            return Err(ctx.invalid(format!(
                "{positions} output positions × {taps_per} kernel taps exceed \
                 {MAX_TENSOR_ELEMENTS} window entries"
            )));
        }
        let taps = (0..positions)
            .map(|p| {
                let op = unravel(p, &out);
                (0..taps_per)
                    .map(|t| {
                        let kt = unravel(t, kernel);
                        let mut ip = Vec::with_capacity(n);
                        for i in 0..n {
                            let x = op[i] as i64 * strides[i] - pads[i] + kt[i] as i64 * dil[i];
                            if x < 0 || x >= input[i] as i64 {
                                return None;
                            }
                            ip.push(x as usize);
                        }
                        Some(ravel(&ip, input))
                    })
                    .collect()
            })
            .collect();
        Ok(Window { out, taps })
    }
}

impl Importer {
    /// One `Linear` node over `x`: per output element its `(input index, weight)` terms and bias.
    fn push_linear(
        &mut self,
        ctx: &Ctx,
        x: TensorId,
        terms: Vec<Vec<(usize, f64)>>,
        bias: Vec<f64>,
        shape: Vec<usize>,
    ) -> Value {
        Value::Tensor(self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Linear(ops::linear::Linear { terms, bias }),
            vec![x],
            shape,
        ))
    }

    /// Input `i` (constant or computed, `channels` values) as `[channels, 1, ...]` with `spatial`
    /// trailing axes of 1: per channel, broadcasting over the spatial axes.
    fn per_channel_input(
        &mut self,
        ctx: &Ctx,
        i: usize,
        channels: usize,
        spatial: usize,
    ) -> Result<Value> {
        let v = self.any_input(ctx, i)?;
        let len: usize = self.value_shape(&v).iter().product();
        if len != channels {
            return Err(ctx.invalid(format!(
                "input #{i} has {len} values for {channels} channels"
            )));
        }
        let mut shape = vec![channels];
        shape.extend(std::iter::repeat_n(1, spatial));
        self.reshaped(ctx, v, shape)
    }

    /// Optional constant input `i` broadcast to `len` values (zeros when absent).
    fn optional_bias(&self, ctx: &Ctx, i: usize, len: usize) -> Result<Vec<f64>> {
        if !ctx.has_input(i) {
            return Ok(vec![0.0; len]);
        }
        let b = self.constant(ctx, i)?;
        broadcast(&b, &[len])
            .ok_or_else(|| ctx.invalid(format!("bias of shape {:?} for {len} channels", b.shape)))
    }

    /// A Linear node summing (or, with `mean`, averaging) each group of `t`'s elements.
    pub(super) fn sum_groups(
        &mut self,
        ctx: &Ctx,
        t: TensorId,
        groups: &[Vec<usize>],
        shape: Vec<usize>,
        mean: bool,
    ) -> TensorId {
        let terms = groups
            .iter()
            .map(|g| {
                let w = if mean { 1.0 / g.len() as f64 } else { 1.0 };
                g.iter().map(|i| (*i, w)).collect()
            })
            .collect();
        let bias = vec![0.0; groups.len()];
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Linear(ops::linear::Linear { terms, bias }),
            vec![t],
            shape,
        )
    }

    /// A tensor times a constant, element-wise after broadcasting (Mul, Div by a constant).
    pub(super) fn scale_by(
        &mut self,
        ctx: &Ctx,
        x: Value,
        c: &Constant,
        invert: bool,
    ) -> Result<Value> {
        let shape =
            super::shape::broadcast_shapes(&self.value_shape(&x), &c.shape).ok_or_else(|| {
                ctx.invalid(format!(
                    "{:?} and {:?} do not broadcast",
                    self.value_shape(&x),
                    c.shape
                ))
            })?;
        let Value::Tensor(x) = self.broadcast_to(ctx, x, &shape)? else {
            unreachable!("a tensor stays a tensor")
        };
        let factors = broadcast(c, &shape).expect("broadcast checked");
        if invert && factors.contains(&0.0) {
            return Err(ctx.invalid("division by zero"));
        }
        if factors.iter().any(|f| !f.is_finite()) {
            return Err(ctx.invalid("a factor is infinite"));
        }
        let terms = factors
            .iter()
            .enumerate()
            .map(|(i, f)| vec![(i, if invert { 1.0 / f } else { *f })])
            .collect();
        let bias = vec![0.0; factors.len()];
        Ok(self.push_linear(ctx, x, terms, bias, shape))
    }
}
