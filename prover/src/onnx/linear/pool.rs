//! Pooling: AveragePool and GlobalAveragePool (onto `Linear`), GlobalMaxPool (onto
//! `MaxGroups`), and the pooling windows that MaxPool (in `elementwise`) shares.

use super::Window;
use crate::model::{Op, TensorId};
use crate::onnx::{Ctx, Importer, Value};
use crate::ops;
use crate::Result;

/// A pooling node's input, output shape, and per output element the input elements its window
/// covers (padding excluded) with the window's full size.
pub(in crate::onnx) struct Pooling {
    pub(in crate::onnx) x: TensorId,
    pub(in crate::onnx) shape: Vec<usize>,
    pub(in crate::onnx) windows: Vec<(Vec<usize>, usize)>,
}

impl Importer {
    /// The windows of a pooling node (AveragePool, MaxPool) over `[N, C, spatial...]`.
    pub(in crate::onnx) fn pooling(&self, ctx: &Ctx) -> Result<Pooling> {
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
        // The window's positions × taps are bounded by `Window::new`.
        let taps: usize = kernel.iter().product();
        let channels = xs[0].checked_mul(xs[1]);
        let entries = channels.and_then(|nc| nc.checked_mul(win.taps.len() * taps));
        crate::ops::products::check_products(entries).map_err(|why| ctx.invalid(why))?;
        let channels = xs[0] * xs[1];
        let mut windows = Vec::with_capacity(channels * win.taps.len());
        for nc in 0..channels {
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

    /// AveragePool: the mean of each window (padding counted with `count_include_pad`).
    pub(in crate::onnx) fn average_pool(&mut self, ctx: &Ctx) -> Result<Value> {
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
    pub(in crate::onnx) fn global_pool(&mut self, ctx: &Ctx, max: bool) -> Result<Value> {
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
}
