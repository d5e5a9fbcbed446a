//! Affine operators with constant parameters: each output element is a bias plus a weighted sum
//! of input elements (one `Dense` or sparse `Linear` node, then one rescale per element).

use super::shape::{axis, broadcast, ravel, reduce_groups, unravel, without_axes};
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
        let positions: usize = out.iter().product();
        let taps_per: usize = kernel.iter().product();
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

/// A pooling node's input, output shape, and per output element the input elements its window
/// covers (padding excluded) with the window's full size.
pub(super) struct Pooling {
    pub(super) x: TensorId,
    pub(super) shape: Vec<usize>,
    pub(super) windows: Vec<(Vec<usize>, usize)>,
}

impl Importer {
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

    /// Optional constant input `i` broadcast to `len` values (zeros when absent).
    fn optional_bias(&self, ctx: &Ctx, i: usize, len: usize) -> Result<Vec<f64>> {
        if !ctx.has_input(i) {
            return Ok(vec![0.0; len]);
        }
        let b = self.constant(ctx, i)?;
        broadcast(&b, &[len])
            .ok_or_else(|| ctx.invalid(format!("bias of shape {:?} for {len} channels", b.shape)))
    }

    /// `Y = alpha * A' * B' + beta * C` with `A` computed and `B`, `C` constant.
    pub(super) fn gemm(&mut self, ctx: &Ctx) -> Result<Value> {
        let a = self.tensor(ctx, 0)?;
        let b = self.constant(ctx, 1)?;
        let (alpha, beta) = (
            ctx.attr_f("alpha", 1.0) as f64,
            ctx.attr_f("beta", 1.0) as f64,
        );
        let (trans_a, trans_b) = (ctx.attr_i("transA", 0) != 0, ctx.attr_i("transB", 0) != 0);
        let a_shape = self.shape(a).to_vec();
        if a_shape.len() != 2 || b.shape.len() != 2 {
            return Err(ctx.invalid(format!(
                "Gemm needs 2-D operands, got {a_shape:?} and {:?}",
                b.shape
            )));
        }
        let (m, k) = if trans_a {
            (a_shape[1], a_shape[0])
        } else {
            (a_shape[0], a_shape[1])
        };
        let (kb, n) = if trans_b {
            (b.shape[1], b.shape[0])
        } else {
            (b.shape[0], b.shape[1])
        };
        if k != kb {
            return Err(ctx.invalid(format!(
                "inner dimensions differ: A {a_shape:?}, B {:?}",
                b.shape
            )));
        }
        let w = |kk: usize, j: usize| {
            alpha
                * if trans_b {
                    b.data[j * k + kk]
                } else {
                    b.data[kk * n + j]
                }
        };
        let c = if ctx.has_input(2) {
            let c = self.constant(ctx, 2)?;
            broadcast(&c, &[m, n]).ok_or_else(|| {
                ctx.invalid(format!(
                    "C of shape {:?} does not broadcast to [{m}, {n}]",
                    c.shape
                ))
            })?
        } else {
            vec![0.0; m * n]
        };
        let row_bias_uniform = (1..m).all(|r| c[r * n..(r + 1) * n] == c[..n]);
        if !trans_a && row_bias_uniform {
            let weights = (0..n)
                .flat_map(|j| (0..k).map(move |kk| (kk, j)))
                .map(|(kk, j)| w(kk, j))
                .collect();
            let bias = c[..n].iter().map(|c| beta * c).collect();
            let op = Op::Dense(ops::linear::Dense {
                weights,
                bias,
                in_features: k,
                out_features: n,
            });
            return Ok(Value::Tensor(self.push(
                &ctx.name,
                "Gemm",
                op,
                vec![a],
                vec![m, n],
            )));
        }
        // General case (transA, per-row C): explicit terms.
        let a_index = |r: usize, kk: usize| if trans_a { kk * m + r } else { r * k + kk };
        let terms = (0..m * n)
            .map(|o| {
                (0..k)
                    .map(|kk| (a_index(o / n, kk), w(kk, o % n)))
                    .collect()
            })
            .collect();
        let bias = c.iter().map(|c| beta * c).collect();
        Ok(self.push_linear(ctx, a, terms, bias, vec![m, n]))
    }

    /// `Y = X · W` with `W` a constant `[K, N]` matrix (X batched over leading axes).
    pub(super) fn matmul(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let x_shape = self.shape(x).to_vec();
        if w.shape.len() != 2 || x_shape.last() != Some(&w.shape[0]) {
            return Err(ctx.invalid(format!(
                "cannot multiply {x_shape:?} by a constant {:?}",
                w.shape
            )));
        }
        let (k, n) = (w.shape[0], w.shape[1]);
        let weights = (0..n)
            .flat_map(|j| (0..k).map(move |i| (i, j)))
            .map(|(i, j)| w.data[i * n + j])
            .collect();
        let mut shape = x_shape;
        *shape.last_mut().expect("non-empty") = n;
        let op = Op::Dense(ops::linear::Dense {
            weights,
            bias: vec![0.0; n],
            in_features: k,
            out_features: n,
        });
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "MatMul",
            op,
            vec![x],
            shape,
        )))
    }

    /// Conv over `[N, C, spatial...]` with constant `W [M, C/group, kernel...]` and bias.
    pub(super) fn conv(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let xs = self.shape(x).to_vec();
        if xs.len() < 3 || w.shape.len() != xs.len() {
            return Err(ctx.invalid(format!(
                "input {xs:?} and weights {:?} are not [N, C, spatial...]",
                w.shape
            )));
        }
        let group = ctx.attr_i("group", 1).max(1) as usize;
        let (n, c, m, cg) = (xs[0], xs[1], w.shape[0], w.shape[1]);
        if c != cg * group || !m.is_multiple_of(group) {
            return Err(ctx.invalid(format!(
                "{c} channels, weights {:?}, group {group}",
                w.shape
            )));
        }
        let kernel = w.shape[2..].to_vec();
        let win = Window::new(ctx, &xs[2..], &kernel)?;
        let bias = self.optional_bias(ctx, 2, m)?;
        let (in_sp, out_sp, taps) = (
            xs[2..].iter().product::<usize>(),
            win.out.iter().product::<usize>(),
            kernel.iter().product::<usize>(),
        );
        let mut terms = Vec::with_capacity(n * m * out_sp);
        let mut biases = Vec::with_capacity(n * m * out_sp);
        for b in 0..n {
            for (oc, oc_bias) in bias.iter().enumerate() {
                let g = oc / (m / group);
                for pos in &win.taps {
                    let mut t = Vec::with_capacity(cg * taps);
                    for icg in 0..cg {
                        let ic = g * cg + icg;
                        for (tap, src) in pos.iter().enumerate() {
                            if let Some(src) = src {
                                let weight = w.data[(oc * cg + icg) * taps + tap];
                                t.push(((b * c + ic) * in_sp + src, weight));
                            }
                        }
                    }
                    terms.push(t);
                    biases.push(*oc_bias);
                }
            }
        }
        let mut shape = vec![n, m];
        shape.extend(&win.out);
        Ok(self.push_linear(ctx, x, terms, biases, shape))
    }

    /// ConvTranspose with constant `W [C, M/group, kernel...]`.
    pub(super) fn conv_transpose(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let xs = self.shape(x).to_vec();
        let sp = xs.len().saturating_sub(2);
        if xs.len() < 3 || w.shape.len() != xs.len() {
            return Err(ctx.invalid(format!(
                "input {xs:?} and weights {:?} are not [N, C, spatial...]",
                w.shape
            )));
        }
        let group = ctx.attr_i("group", 1).max(1) as usize;
        let (n, c, mg) = (xs[0], xs[1], w.shape[1]);
        let m = mg * group;
        if !c.is_multiple_of(group) || w.shape[0] != c {
            return Err(ctx.invalid(format!(
                "{c} channels, weights {:?}, group {group}",
                w.shape
            )));
        }
        let kernel = w.shape[2..].to_vec();
        let get = |name: &str, default: i64, len: usize| {
            ctx.attr_ints(name).unwrap_or_else(|| vec![default; len])
        };
        let (strides, dil, pads, opad) = (
            get("strides", 1, sp),
            get("dilations", 1, sp),
            get("pads", 0, 2 * sp),
            get("output_padding", 0, sp),
        );
        if ctx.attr("output_shape").is_some()
            || ctx
                .attr("auto_pad")
                .is_some_and(|a| !a.s.is_empty() && a.s != b"NOTSET")
        {
            return Err(ctx.invalid("output_shape / auto_pad are not supported; give pads"));
        }
        let out: Vec<usize> = (0..sp)
            .map(|i| {
                let o = (xs[2 + i] as i64 - 1) * strides[i] - pads[i] - pads[i + sp]
                    + (kernel[i] as i64 - 1) * dil[i]
                    + opad[i]
                    + 1;
                o.max(0) as usize
            })
            .collect();
        let (in_sp, out_sp, taps) = (
            xs[2..].iter().product::<usize>(),
            out.iter().product::<usize>(),
            kernel.iter().product::<usize>(),
        );
        let bias = self.optional_bias(ctx, 2, m)?;
        let mut terms: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n * m * out_sp];
        for b in 0..n {
            for ic in 0..c {
                let g = ic / (c / group);
                for ip in 0..in_sp {
                    let ii = unravel(ip, &xs[2..]);
                    for tap in 0..taps {
                        let kt = unravel(tap, &kernel);
                        let oi: Option<Vec<usize>> = (0..sp)
                            .map(|d| {
                                let o = ii[d] as i64 * strides[d] - pads[d] + kt[d] as i64 * dil[d];
                                (0..out[d] as i64).contains(&o).then_some(o as usize)
                            })
                            .collect();
                        let Some(oi) = oi else { continue };
                        for ocg in 0..mg {
                            let oc = g * mg + ocg;
                            let weight = w.data[(ic * mg + ocg) * taps + tap];
                            terms[(b * m + oc) * out_sp + ravel(&oi, &out)]
                                .push(((b * c + ic) * in_sp + ip, weight));
                        }
                    }
                }
            }
        }
        let biases = (0..n * m * out_sp)
            .map(|o| bias[(o / out_sp) % m])
            .collect();
        let mut shape = vec![n, m];
        shape.extend(&out);
        Ok(self.push_linear(ctx, x, terms, biases, shape))
    }

    /// The windows of a pooling node (AveragePool, MaxPool) over `[N, C, spatial...]`.
    pub(super) fn pooling(&self, ctx: &Ctx) -> Result<Pooling> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        let kernel: Vec<usize> = ctx
            .attr_ints("kernel_shape")
            .ok_or_else(|| ctx.invalid("no kernel_shape"))?
            .iter()
            .map(|k| *k as usize)
            .collect();
        if xs.len() != kernel.len() + 2 {
            return Err(ctx.invalid(format!("kernel {kernel:?} for input {xs:?}")));
        }
        let win = Window::new(ctx, &xs[2..], &kernel)?;
        let in_sp: usize = xs[2..].iter().product();
        let mut windows = Vec::with_capacity(xs[0] * xs[1] * win.taps.len());
        for nc in 0..xs[0] * xs[1] {
            for pos in &win.taps {
                windows.push((
                    pos.iter().flatten().map(|i| nc * in_sp + i).collect(),
                    pos.len(),
                ));
            }
        }
        let mut shape = xs[..2].to_vec();
        shape.extend(&win.out);
        Ok(Pooling { x, shape, windows })
    }

    pub(super) fn average_pool(&mut self, ctx: &Ctx) -> Result<Value> {
        let pool = self.pooling(ctx)?;
        let include_pad = ctx.attr_i("count_include_pad", 0) != 0;
        let terms: Vec<Vec<(usize, f64)>> = pool
            .windows
            .iter()
            .map(|(valid, full)| {
                let count = if include_pad { *full } else { valid.len() }.max(1);
                valid.iter().map(|i| (*i, 1.0 / count as f64)).collect()
            })
            .collect();
        let bias = vec![0.0; terms.len()];
        Ok(self.push_linear(ctx, pool.x, terms, bias, pool.shape))
    }

    /// GlobalAveragePool (`max = false`) or GlobalMaxPool over all spatial positions.
    pub(super) fn global_pool(&mut self, ctx: &Ctx, max: bool) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        if xs.len() < 3 {
            return Err(ctx.invalid(format!("input {xs:?} is not [N, C, spatial...]")));
        }
        let in_sp: usize = xs[2..].iter().product();
        let groups: Vec<Vec<usize>> = (0..xs[0] * xs[1])
            .map(|nc| (nc * in_sp..(nc + 1) * in_sp).collect())
            .collect();
        let mut shape = xs[..2].to_vec();
        shape.extend(std::iter::repeat_n(1, xs.len() - 2));
        if max {
            return Ok(Value::Tensor(self.push(
                &ctx.name,
                &ctx.proto.op_type,
                Op::MaxGroups(ops::compare::MaxGroups { groups }),
                vec![x],
                shape,
            )));
        }
        let terms = groups
            .iter()
            .map(|g| g.iter().map(|i| (*i, 1.0 / in_sp as f64)).collect())
            .collect();
        let bias = vec![0.0; xs[0] * xs[1]];
        Ok(self.push_linear(ctx, x, terms, bias, shape))
    }

    /// BatchNormalization (inference): per channel `scale · (x - mean) / sqrt(var + eps) + B`.
    pub(super) fn batch_norm(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        if xs.len() < 2 {
            return Err(ctx.invalid(format!("input {xs:?} has no channel axis")));
        }
        let c = xs[1];
        let param = |s: &Self, i: usize| -> Result<Vec<f64>> {
            let p = s.constant(ctx, i)?;
            broadcast(&p, &[c]).ok_or_else(|| {
                ctx.invalid(format!(
                    "parameter #{i} of shape {:?} for {c} channels",
                    p.shape
                ))
            })
        };
        let (scale, b, mean, var) = (
            param(self, 1)?,
            param(self, 2)?,
            param(self, 3)?,
            param(self, 4)?,
        );
        let eps = ctx.attr_f("epsilon", 1e-5) as f64;
        let inner: usize = xs[2..].iter().product();
        let total: usize = xs.iter().product();
        let mul: Vec<f64> = (0..c)
            .map(|ch| scale[ch] / (var[ch] + eps).sqrt())
            .collect();
        let terms = (0..total)
            .map(|i| vec![(i, mul[(i / inner) % c])])
            .collect();
        let bias = (0..total).map(|i| {
            let ch = (i / inner) % c;
            b[ch] - mean[ch] * mul[ch]
        });
        Ok(self.push_linear(ctx, x, terms, bias.collect(), xs))
    }

    /// For reduced axes (attribute, or input #1 from opset 13/18): the output shape and, per
    /// output element, the input elements it reduces.
    pub(super) fn reduction(
        &self,
        ctx: &Ctx,
        shape: &[usize],
    ) -> Result<(Vec<usize>, Vec<Vec<usize>>)> {
        let axes = match ctx.attr_ints("axes") {
            Some(a) => a,
            None if ctx.has_input(1) => self.ints(ctx, 1)?,
            None => vec![],
        };
        let mut axes: Vec<usize> = axes
            .iter()
            .map(|a| axis(ctx, *a, shape.len()))
            .collect::<Result<_>>()?;
        if axes.is_empty() && ctx.attr_i("noop_with_empty_axes", 0) == 0 {
            axes = (0..shape.len()).collect();
        }
        let (reduced, groups) = reduce_groups(shape, &axes);
        let out = if ctx.attr_i("keepdims", 1) != 0 {
            reduced
        } else {
            without_axes(shape, &axes)
        };
        Ok((out, groups))
    }

    /// ReduceSum (`mean = false`) or ReduceMean.
    pub(super) fn reduce_linear(&mut self, ctx: &Ctx, mean: bool) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let (out, groups) = self.reduction(ctx, &shape)?;
        Ok(Value::Tensor(self.sum_groups(ctx, x, &groups, out, mean)))
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
        let terms = factors
            .iter()
            .enumerate()
            .map(|(i, f)| vec![(i, if invert { 1.0 / f } else { *f })])
            .collect();
        let bias = vec![0.0; factors.len()];
        Ok(self.push_linear(ctx, x, terms, bias, shape))
    }
}

impl Importer {
    /// Einsum of one computed tensor and one constant, without ellipsis.
    pub(super) fn einsum(&mut self, ctx: &Ctx) -> Result<Value> {
        let eq = ctx
            .attr("equation")
            .map(|a| String::from_utf8_lossy(&a.s).replace(' ', ""))
            .unwrap_or_default();
        let (lhs, rhs) = eq
            .split_once("->")
            .ok_or_else(|| ctx.invalid(format!("equation {eq:?} has no explicit output")))?;
        let operands: Vec<&str> = lhs.split(',').collect();
        if operands.len() != 2 || eq.contains('.') {
            return Err(ctx.invalid(format!("equation {eq:?}: only two operands, no ellipsis")));
        }
        let (a, b) = (self.any_input(ctx, 0)?, self.any_input(ctx, 1)?);
        let (x, w, xs, ws) = match (a, b) {
            (Value::Tensor(x), Value::Constant(w)) => (x, w, operands[0], operands[1]),
            (Value::Constant(w), Value::Tensor(x)) => (x, w, operands[1], operands[0]),
            _ => return Err(ctx.invalid("exactly one operand must be a constant")),
        };
        let x_shape = self.shape(x).to_vec();
        let mut letters: Vec<char> = Vec::new();
        let mut dims: Vec<usize> = Vec::new();
        for (spec, shape) in [(xs, &x_shape), (ws, &w.shape)] {
            if spec.chars().count() != shape.len() {
                return Err(ctx.invalid(format!("{spec:?} does not match shape {shape:?}")));
            }
            for (c, d) in spec.chars().zip(shape.iter()) {
                match letters.iter().position(|l| *l == c) {
                    Some(p) if dims[p] != *d => {
                        return Err(ctx.invalid(format!("index {c} has sizes {} and {d}", dims[p])))
                    }
                    Some(_) => {}
                    None => {
                        letters.push(c);
                        dims.push(*d);
                    }
                }
            }
        }
        let pos = |spec: &str| -> Result<Vec<usize>> {
            spec.chars()
                .map(|c| {
                    letters
                        .iter()
                        .position(|l| *l == c)
                        .ok_or_else(|| ctx.invalid(format!("index {c} unknown")))
                })
                .collect()
        };
        let (px, pw, po) = (pos(xs)?, pos(ws)?, pos(rhs)?);
        let out: Vec<usize> = po.iter().map(|p| dims[*p]).collect();
        let mut terms: Vec<Vec<(usize, f64)>> = vec![Vec::new(); out.iter().product()];
        for flat in 0..dims.iter().product() {
            let idx = unravel(flat, &dims);
            let pick = |ps: &[usize]| ps.iter().map(|p| idx[*p]).collect::<Vec<_>>();
            let weight = w.data[ravel(&pick(&pw), &w.shape)];
            if weight != 0.0 {
                terms[ravel(&pick(&po), &out)].push((ravel(&pick(&px), &x_shape), weight));
            }
        }
        let bias = vec![0.0; terms.len()];
        Ok(self.push_linear(ctx, x, terms, bias, out))
    }

    /// scikit-learn's LinearRegressor (ai.onnx.ml): `Y = X · coefficientsᵀ + intercepts`.
    pub(super) fn linear_regressor(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        let post = ctx
            .attr("post_transform")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_default();
        if !(post.is_empty() || post == "NONE") {
            return Err(ctx.invalid(format!("post_transform {post}")));
        }
        let targets = ctx.attr_i("targets", 1).max(1) as usize;
        let coef: Vec<f64> = ctx
            .attr("coefficients")
            .map(|a| a.floats.iter().map(|v| *v as f64).collect())
            .unwrap_or_default();
        let features = *xs.last().unwrap_or(&0);
        if coef.len() != targets * features {
            return Err(ctx.invalid(format!(
                "{} coefficients for {targets} targets × {features} features",
                coef.len()
            )));
        }
        let intercepts: Vec<f64> = ctx
            .attr("intercepts")
            .map(|a| a.floats.iter().map(|v| *v as f64).collect())
            .unwrap_or_default();
        let bias = if intercepts.is_empty() {
            vec![0.0; targets]
        } else {
            intercepts
        };
        if bias.len() != targets {
            return Err(ctx.invalid(format!("{} intercepts for {targets} targets", bias.len())));
        }
        let mut shape = xs;
        *shape.last_mut().expect("non-empty") = targets;
        let op = Op::Dense(ops::linear::Dense {
            weights: coef,
            bias,
            in_features: features,
            out_features: targets,
        });
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "LinearRegressor",
            op,
            vec![x],
            shape,
        )))
    }

    /// scikit-learn's Normalizer (ai.onnx.ml) over the last axis: MAX, L1 or L2.
    pub(super) fn normalizer(&mut self, ctx: &Ctx) -> Result<Value> {
        use crate::functions::Function;
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = shape.len() - 1;
        let norm = ctx
            .attr("norm")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_else(|| "MAX".into());
        let (reduced, groups) = reduce_groups(&shape, &[a]);
        let name = ctx.name.clone();
        let denominator = match norm.as_str() {
            "MAX" => self.push(
                &name,
                "Normalizer",
                Op::MaxGroups(ops::compare::MaxGroups { groups }),
                vec![x],
                reduced,
            ),
            "L1" | "L2" => {
                let magnitude = if norm == "L1" {
                    self.push(&name, "Normalizer", Op::Abs, vec![x], shape.clone())
                } else {
                    self.push(&name, "Normalizer", Op::Mul, vec![x, x], shape.clone())
                };
                self.sum_groups(ctx, magnitude, &groups, reduced, false)
            }
            other => return Err(ctx.invalid(format!("norm {other}"))),
        };
        let func = if norm == "L2" {
            Function::Rsqrt
        } else {
            Function::Reciprocal
        };
        let dshape = self.shape(denominator).to_vec();
        let inv = self.push(
            &name,
            "Normalizer",
            Op::Function(ops::lookup::FunctionOp { func }),
            vec![denominator],
            dshape,
        );
        let inv = self.expand_along(ctx, inv, &shape, a);
        Ok(Value::Tensor(self.push(
            &name,
            "Normalizer",
            Op::Mul,
            vec![x, inv],
            shape,
        )))
    }
}
