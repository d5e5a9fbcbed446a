//! Convolutions with constant weights: Conv and ConvTranspose, each onto one `Linear` node.

use super::Window;
use crate::onnx::shape::{ravel, unravel};
use crate::onnx::{Ctx, Importer, Value};
use crate::Result;

impl Importer {
    /// Conv over `[N, C, spatial...]` with constant `W [M, C/group, kernel...]` and bias.
    pub(in crate::onnx) fn conv(&mut self, ctx: &Ctx) -> Result<Value> {
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
    pub(in crate::onnx) fn conv_transpose(&mut self, ctx: &Ctx) -> Result<Value> {
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
}
