//! Wiring operators that select or pad elements: Slice, Pad and Gather (constant indices), each
//! one index map through [`Importer::wire`]; Gather with computed indices is in `selection`.

use super::shape::{axis, check_size, ravel, unravel};
use super::{Ctx, Importer, Value};
use crate::Result;

impl Importer {
    /// Slice (`starts`, `ends`, `axes` as attributes before opset 10, then as inputs with
    /// `steps`).
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

    /// Pad with zeros (`constant`), `edge` or `reflect`; negative pads are refused.
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
        if let Value::Tensor(idx) = self.input(ctx, 1)? {
            return self.gather_computed(ctx, *idx);
        }
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

    /// Split along `axis` into the node's outputs: sizes from the `split` input (opset 13+) or
    /// attribute, else equal parts (`num_outputs` from opset 18; the last part may be smaller).
    pub(super) fn split(&mut self, ctx: &Ctx) -> Result<Vec<Value>> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let a = axis(ctx, ctx.attr_i("axis", 0), shape.len())?;
        let d = shape[a];
        let parts = ctx.proto.output.len();
        let given = if ctx.has_input(1) {
            Some(self.ints(ctx, 1)?)
        } else {
            ctx.attr_ints("split")
        };
        let sizes: Vec<usize> = if let Some(given) = given {
            given
                .iter()
                .map(|s| usize::try_from(*s).ok().filter(|s| *s <= d))
                .collect::<Option<_>>()
                .ok_or_else(|| ctx.invalid(format!("split sizes {given:?} for an axis of {d}")))?
        } else {
            // Equal parts; from opset 18 (`num_outputs`) the last may be smaller.
            let n = ctx.attr_i("num_outputs", parts as i64);
            let n = usize::try_from(n).ok().filter(|n| (1..=d).contains(n));
            let n = n.ok_or_else(|| ctx.invalid(format!("{parts} outputs for an axis of {d}")))?;
            if self.opset < 18 && !d.is_multiple_of(n) {
                return Err(ctx.invalid(format!(
                    "an axis of {d} does not split into {n} equal parts"
                )));
            }
            let each = d.div_ceil(n);
            let sizes: Vec<usize> = (0..n)
                .map(|i| each.min(d.saturating_sub(i * each)))
                .collect();
            if sizes.contains(&0) {
                return Err(ctx.invalid(format!("an axis of {d} does not split into {n} parts")));
            }
            sizes
        };
        if sizes.len() != parts || sizes.iter().sum::<usize>() != d {
            return Err(ctx.invalid(format!(
                "split sizes {sizes:?} for {parts} outputs do not cover the axis of size {d}"
            )));
        }
        let mut start = 0;
        let mut values = Vec::with_capacity(parts);
        for size in sizes {
            let mut out = shape.clone();
            out[a] = size;
            let sources = (0..out.iter().product())
                .map(|flat| {
                    let mut i = unravel(flat, &out);
                    i[a] += start;
                    Some((0, ravel(&i, &shape)))
                })
                .collect();
            values.push(self.wire(ctx, std::slice::from_ref(&v), out, sources)?);
            start += size;
        }
        Ok(values)
    }
}
