//! Convolutions: Conv and ConvTranspose with constant weights, each onto one `Linear` node;
//! Conv with weights computed in the graph onto one `Bilinear` node (each output a sum of
//! input × weight products), its bias added after.

use super::Window;
use crate::model::Op;
use crate::onnx::shape::{ravel, unravel, MAX_TENSOR_ELEMENTS};
use crate::onnx::{Ctx, Importer, Value};
use crate::Result;

impl Importer {
    /// Conv over `[N, C, spatial...]` with constant `W [M, C/group, kernel...]` and bias.
    pub(in crate::onnx) fn conv(&mut self, ctx: &Ctx) -> Result<Value> {
        if let Value::Tensor(w) = self.input(ctx, 1)? {
            return self.conv_computed(ctx, *w);
        }
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
        if cg.checked_mul(group) != Some(c) || !m.is_multiple_of(group) {
            return Err(ctx.invalid(format!(
                "{c} channels, weights {:?}, group {group}",
                w.shape
            )));
        }
        let kernel = w.shape[2..].to_vec();
        let win = Window::new(ctx, &xs[2..], &kernel)?;
        let bias = self.optional_bias(ctx, 2, m)?;
        let mut shape = vec![n, m];
        shape.extend(&win.out);
        crate::onnx::shape::check_size(ctx, &shape)?;
        let (in_sp, out_sp, taps) = (
            xs[2..].iter().product::<usize>(),
            win.out.iter().product::<usize>(),
            kernel.iter().product::<usize>(),
        );
        crate::ops::products::check_products((n * m * out_sp).checked_mul(cg * taps))
            .map_err(|why| ctx.invalid(why))?;
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
        Ok(self.push_linear(ctx, x, terms, biases, shape))
    }

    /// ConvTranspose with constant `W [C, M/group, kernel...]`.
    pub(in crate::onnx) fn conv_transpose(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let wv = self.any_input(ctx, 1)?;
        let w_shape = self.value_shape(&wv);
        let xs = self.shape(x).to_vec();
        let sp = xs.len().saturating_sub(2);
        if xs.len() < 3 || w_shape.len() != xs.len() {
            return Err(ctx.invalid(format!(
                "input {xs:?} and weights {w_shape:?} are not [N, C, spatial...]"
            )));
        }
        let group = ctx.attr_i("group", 1).max(1) as usize;
        let (n, c, mg) = (xs[0], xs[1], w_shape[1]);
        let m = mg.saturating_mul(group);
        if !c.is_multiple_of(group) || w_shape[0] != c || m > MAX_TENSOR_ELEMENTS {
            return Err(ctx.invalid(format!("{c} channels, weights {w_shape:?}, group {group}")));
        }
        let kernel = w_shape[2..].to_vec();
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
        // Bounds that keep the output-size arithmetic below overflow (as `Window::new`).
        let limit = MAX_TENSOR_ELEMENTS as i64;
        let within = |v: &[i64], lo: i64, len: usize| {
            v.len() == len && v.iter().all(|x| (lo..=limit).contains(x))
        };
        if !within(&strides, 1, sp)
            || !within(&dil, 1, sp)
            || !within(&pads, 0, 2 * sp)
            || !within(&opad, 0, sp)
            || kernel.iter().any(|k| *k == 0 || *k > MAX_TENSOR_ELEMENTS)
        {
            return Err(ctx.invalid(format!(
                "kernel {kernel:?}, strides {strides:?}, dilations {dil:?}, pads {pads:?}, \
                 output_padding {opad:?}: one value per spatial axis ({sp}; pads two), kernel \
                 sizes, strides and dilations in [1, {limit}], pads and output padding in \
                 [0, {limit}]"
            )));
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
        let mut out_shape = vec![n, m];
        out_shape.extend(&out);
        crate::onnx::shape::check_size(ctx, &out_shape)?;
        let (in_sp, out_sp, taps) = (
            xs[2..].iter().product::<usize>(),
            out.iter().product::<usize>(),
            kernel.iter().product::<usize>(),
        );
        crate::ops::products::check_products(
            (n * c * in_sp)
                .checked_mul(taps)
                .and_then(|t| t.checked_mul(mg)),
        )
        .map_err(|why| ctx.invalid(why))?;
        // Per output element: the (input element, weight element) products it sums.
        let mut pairs: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n * m * out_sp];
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
                            pairs[(b * m + oc) * out_sp + ravel(&oi, &out)]
                                .push(((b * c + ic) * in_sp + ip, (ic * mg + ocg) * taps + tap));
                        }
                    }
                }
            }
        }
        let mut shape = vec![n, m];
        shape.extend(&out);
        let w = match wv {
            Value::Constant(w) => w,
            Value::Tensor(w) => {
                // Weights computed in the graph: the products onto `Bilinear`, then the bias.
                if pairs.iter().any(Vec::is_empty) {
                    return Err(ctx.invalid("an output position that no input reaches"));
                }
                let y = self.push(
                    &ctx.name,
                    "ConvTranspose",
                    Op::Bilinear(crate::ops::products::Bilinear { pairs }),
                    vec![x, w],
                    shape,
                );
                return self.add_channel_bias(ctx, y, m, sp);
            }
        };
        if w.data.iter().any(|v| !v.is_finite()) {
            return Err(ctx.invalid("the weights hold infinity"));
        }
        let bias = self.optional_bias(ctx, 2, m)?;
        let terms = pairs
            .into_iter()
            .map(|p| p.into_iter().map(|(i, j)| (i, w.data[j])).collect())
            .collect();
        let biases = (0..n * m * out_sp)
            .map(|o| bias[(o / out_sp) % m])
            .collect();
        Ok(self.push_linear(ctx, x, terms, biases, shape))
    }

    /// `y + bias` with input #2 (constant or computed, `m` values) broadcast per channel over
    /// `spatial` trailing axes; `y` unchanged without a bias.
    fn add_channel_bias(
        &mut self,
        ctx: &Ctx,
        y: crate::model::TensorId,
        m: usize,
        spatial: usize,
    ) -> Result<Value> {
        if !ctx.has_input(2) {
            return Ok(Value::Tensor(y));
        }
        let bias = self.per_channel_input(ctx, 2, m, spatial)?;
        self.binary(ctx, "Add", Value::Tensor(y), bias)
    }

    /// Conv whose weights `W [M, C/group, kernel...]` are computed in the graph: `Bilinear` pairs
    /// (input element, weight element) per output, then the bias (constant or computed).
    fn conv_computed(&mut self, ctx: &Ctx, w: crate::model::TensorId) -> Result<Value> {
        let x = match self.any_input(ctx, 0)? {
            Value::Tensor(x) => x,
            Value::Constant(c) => self.materialize(ctx, &c, w),
        };
        let (xs, ws) = (self.shape(x).to_vec(), self.shape(w).to_vec());
        if xs.len() < 3 || ws.len() != xs.len() {
            return Err(ctx.invalid(format!(
                "input {xs:?} and weights {ws:?} are not [N, C, spatial...]"
            )));
        }
        let group = ctx.attr_i("group", 1).max(1) as usize;
        let (n, c, m, cg) = (xs[0], xs[1], ws[0], ws[1]);
        if cg.checked_mul(group) != Some(c) || !m.is_multiple_of(group) {
            return Err(ctx.invalid(format!("{c} channels, weights {ws:?}, group {group}")));
        }
        let kernel = ws[2..].to_vec();
        let win = Window::new(ctx, &xs[2..], &kernel)?;
        let (in_sp, taps) = (
            xs[2..].iter().product::<usize>(),
            kernel.iter().product::<usize>(),
        );
        let outputs = n * m * win.taps.len();
        crate::ops::products::check_products(outputs.checked_mul(cg * taps))
            .map_err(|why| ctx.invalid(why))?;
        let mut pairs = Vec::with_capacity(outputs);
        for b in 0..n {
            for oc in 0..m {
                let g = oc / (m / group);
                for pos in &win.taps {
                    let mut p = Vec::with_capacity(cg * taps);
                    for icg in 0..cg {
                        let ic = g * cg + icg;
                        for (tap, src) in pos.iter().enumerate() {
                            if let Some(src) = src {
                                p.push(((b * c + ic) * in_sp + src, (oc * cg + icg) * taps + tap));
                            }
                        }
                    }
                    if p.is_empty() {
                        return Err(ctx.invalid("a convolution window covers only padding"));
                    }
                    pairs.push(p);
                }
            }
        }
        let mut shape = vec![n, m];
        shape.extend(&win.out);
        let y = self.push(
            &ctx.name,
            "Conv",
            Op::Bilinear(crate::ops::products::Bilinear { pairs }),
            vec![x, w],
            shape,
        );
        self.add_channel_bias(ctx, y, m, win.out.len())
    }
}
