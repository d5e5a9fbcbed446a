//! Operators that rearrange elements by an index map (no constraints): DepthToSpace (DCR and
//! CRD), SpaceToDepth, and Resize with `mode = nearest` (every coordinate transformation and
//! nearest mode of opset 11+, opset 10's asymmetric floor, constant scales or sizes); Resize with
//! `mode = linear` is the weighted sum of the neighbours instead (onto `Linear`).

use super::shape::{ravel, unravel};
use super::{Ctx, Importer, Value};
use crate::Result;

impl Importer {
    /// DepthToSpace (`[N, C·b², H, W]` → `[N, C, H·b, W·b]`) and SpaceToDepth (its inverse, DCR).
    pub(super) fn depth_space(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let b = usize::try_from(ctx.attr_i("blocksize", 0)).unwrap_or(0);
        if shape.len() != 4 || b == 0 {
            return Err(ctx.invalid(format!(
                "input {shape:?} with blocksize {b} (4-D, blocksize ≥ 1)"
            )));
        }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        let crd = match ctx.attr_s("mode").as_deref() {
            None | Some("DCR") => false,
            Some("CRD") => true,
            Some(other) => return Err(ctx.invalid(format!("mode {other} (DCR or CRD)"))),
        };
        let Some(bb) = b.checked_mul(b).filter(|bb| *bb <= c.max(h * w)) else {
            return Err(ctx.invalid(format!("blocksize {b} for input {shape:?}")));
        };
        let to_space = ctx.proto.op_type == "DepthToSpace";
        // (n, c, h, w) of the depth side and (n, c, y, x) of the space side, for one element.
        let (out, sources): (Vec<usize>, Vec<Option<(usize, usize)>>) = if to_space {
            if c % bb != 0 {
                return Err(ctx.invalid(format!("{c} channels do not divide by blocksize² {bb}")));
            }
            let oc = c / bb;
            let out = vec![n, oc, h * b, w * b];
            let src = (0..out.iter().product())
                .map(|f| {
                    let [bn, ch, y, x] = <[usize; 4]>::try_from(unravel(f, &out)).expect("4-D");
                    let (dy, dx) = (y % b, x % b);
                    let ic = if crd {
                        ch * b * b + dy * b + dx
                    } else {
                        (dy * b + dx) * oc + ch
                    };
                    Some((0, ravel(&[bn, ic, y / b, x / b], &shape)))
                })
                .collect();
            (out, src)
        } else {
            if h % b != 0 || w % b != 0 {
                return Err(ctx.invalid(format!("{h}×{w} does not divide by blocksize {b}")));
            }
            let out = vec![n, c * bb, h / b, w / b];
            let src = (0..out.iter().product())
                .map(|f| {
                    let [bn, oc, y, x] = <[usize; 4]>::try_from(unravel(f, &out)).expect("4-D");
                    let (block, ch) = (oc / c, oc % c);
                    let (dy, dx) = (block / b, block % b);
                    Some((0, ravel(&[bn, ch, y * b + dy, x * b + dx], &shape)))
                })
                .collect();
            (out, src)
        };
        self.wire(ctx, &[v], out, sources)
    }

    /// Resize (and Upsample) with `mode = nearest`.
    pub(super) fn resize(&mut self, ctx: &Ctx) -> Result<Value> {
        let v = self.any_input(ctx, 0)?;
        let shape = self.value_shape(&v);
        let mode = ctx.attr_s("mode").unwrap_or_else(|| "nearest".into());
        let linear = match mode.as_str() {
            "nearest" => false,
            "linear" | "bilinear" => true,
            other => {
                return Err(ctx.invalid(format!("mode {other} (nearest and linear are supported)")))
            }
        };
        if let Some(policy) = ctx
            .attr_s("keep_aspect_ratio_policy")
            .filter(|p| p != "stretch")
        {
            return Err(ctx.invalid(format!("keep_aspect_ratio_policy {policy} (only stretch)")));
        }
        if ctx.attr("axes").is_some() {
            return Err(ctx.invalid("the axes attribute (give scales or sizes for every axis)"));
        }
        let rank = shape.len();
        // Scales: Upsample's input #1 / Resize-10's input #1, else Resize-11+'s #2; sizes: #3.
        let scales_at = if ctx.proto.op_type == "Upsample" || self.opset < 11 {
            1
        } else {
            2
        };
        let given = |s: &Self, i: usize| -> Result<Option<Vec<f64>>> {
            if !ctx.has_input(i) {
                return Ok(None);
            }
            let c = s.constant(ctx, i)?;
            Ok((!c.data.is_empty()).then_some(c.data))
        };
        // Upsample before opset 9 gives its scales as an attribute.
        let scales_given = match given(self, scales_at)? {
            None if !ctx.attr_floats("scales").is_empty() => Some(ctx.attr_floats("scales")),
            other => other,
        };
        let (scales, out): (Vec<f64>, Vec<usize>) = match (scales_given, given(self, 3)?) {
            (_, Some(sizes)) if scales_at == 2 => {
                let out: Vec<usize> = sizes.iter().map(|s| *s as usize).collect();
                let scales = out
                    .iter()
                    .zip(&shape)
                    .map(|(o, i)| *o as f64 / *i as f64)
                    .collect();
                (scales, out)
            }
            (Some(scales), _) => {
                let out = scales
                    .iter()
                    .zip(&shape)
                    .map(|(s, i)| (*i as f64 * s).floor() as usize)
                    .collect();
                (scales, out)
            }
            _ => return Err(ctx.invalid("neither scales nor sizes is given")),
        };
        if scales.len() != rank
            || out.len() != rank
            || out.contains(&0)
            || scales.iter().any(|s| !s.is_finite() || *s <= 0.0)
        {
            return Err(ctx.invalid(format!(
                "scales {scales:?} / sizes {out:?} for an input of rank {rank}"
            )));
        }
        super::shape::check_size(ctx, &out)?;
        let legacy = ctx.proto.op_type == "Upsample" || self.opset < 11;
        if legacy && scales.iter().any(|s| *s < 1.0) {
            // ONNX Runtime rounds these coordinates by a rule of its own when downsampling.
            return Err(ctx.invalid("downsampling before opset 11 (scales below 1)"));
        }
        let transform = if legacy {
            "asymmetric".to_string()
        } else {
            ctx.attr_s("coordinate_transformation_mode")
                .unwrap_or_else(|| "half_pixel".into())
        };
        let nearest = if legacy {
            "floor".to_string()
        } else {
            ctx.attr_s("nearest_mode")
                .unwrap_or_else(|| "round_prefer_floor".into())
        };
        // Per axis and output coordinate: the input coordinates it reads, with their weights.
        let mut maps: Vec<Vec<Vec<(usize, f64)>>> = Vec::with_capacity(rank);
        for a in 0..rank {
            let (len, o, s) = (shape[a] as f64, out[a] as f64, scales[a]);
            let mut m = Vec::with_capacity(out[a]);
            for x in 0..out[a] {
                let x = x as f64;
                let orig = match transform.as_str() {
                    "half_pixel" => (x + 0.5) / s - 0.5,
                    "pytorch_half_pixel" if o > 1.0 => (x + 0.5) / s - 0.5,
                    "pytorch_half_pixel" => 0.0,
                    "asymmetric" => x / s,
                    "tf_half_pixel_for_nn" => (x + 0.5) / s,
                    "align_corners" if o > 1.0 => x * (len - 1.0) / (o - 1.0),
                    "align_corners" => 0.0,
                    other => {
                        return Err(ctx.invalid(format!("coordinate_transformation_mode {other} (half_pixel, pytorch_half_pixel, asymmetric, tf_half_pixel_for_nn or align_corners)")))
                    }
                };
                if linear {
                    // Two neighbours, weighted by the distance (coordinates clamped to the input).
                    let at = orig.clamp(0.0, len - 1.0);
                    let (i0, w1) = (at.floor(), at - at.floor());
                    let i1 = (i0 + 1.0).min(len - 1.0);
                    let mut taps = vec![(i0 as usize, 1.0 - w1)];
                    if w1 > 0.0 && i1 != i0 {
                        taps.push((i1 as usize, w1));
                    }
                    m.push(taps);
                    continue;
                }
                let r = match nearest.as_str() {
                    "round_prefer_floor" if orig.fract() == 0.5 => orig.floor(),
                    "round_prefer_ceil" if orig.fract() == 0.5 => orig.ceil(),
                    "round_prefer_floor" | "round_prefer_ceil" => orig.round(),
                    "floor" => orig.floor(),
                    "ceil" => orig.ceil(),
                    other => return Err(ctx.invalid(format!("nearest_mode {other} (round_prefer_floor, round_prefer_ceil, floor or ceil)"))),
                };
                m.push(vec![(r.clamp(0.0, len - 1.0) as usize, 1.0)]);
            }
            maps.push(m);
        }
        // Each output: the products of its axes' taps (one copy for nearest).
        let terms: Vec<Vec<(usize, f64)>> = (0..out.iter().product())
            .map(|f| {
                let oi = unravel(f, &out);
                let mut terms = vec![(vec![], 1.0)];
                for (a, x) in oi.iter().enumerate() {
                    terms = terms
                        .into_iter()
                        .flat_map(|(idx, w): (Vec<usize>, f64)| {
                            maps[a][*x].iter().map(move |(i, t)| {
                                let mut idx = idx.clone();
                                idx.push(*i);
                                (idx, w * t)
                            })
                        })
                        .collect();
                }
                terms
                    .into_iter()
                    .map(|(idx, w)| (ravel(&idx, &shape), w))
                    .collect()
            })
            .collect();
        if !linear {
            let sources = terms.iter().map(|t| Some((0, t[0].0))).collect();
            return self.wire(ctx, &[v], out, sources);
        }
        let x = match v {
            Value::Tensor(t) => t,
            Value::Constant(_) => {
                return Err(ctx.invalid("Resize of a constant (fold it before export)"))
            }
        };
        let bias = vec![0.0; terms.len()];
        Ok(Value::Tensor(self.push(
            &ctx.name,
            &ctx.proto.op_type,
            crate::model::Op::Linear(crate::ops::linear::Linear { terms, bias }),
            vec![x],
            out,
        )))
    }
}
