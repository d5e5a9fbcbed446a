//! Broadcasting and repetition by constant shapes: Expand (numpy broadcast to a shape input) and
//! Tile (repeats per axis), both onto wiring.

use super::shape::{broadcast_shapes, check_size, ravel, unravel};
use super::{Ctx, Importer, Value};
use crate::Result;

impl Importer {
    /// `Expand(x, shape)`: `x` broadcast (numpy rules, both ways) with the constant `shape`.
    pub(super) fn expand(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.any_input(ctx, 0)?;
        let target = self.ints(ctx, 1)?;
        let target: Vec<usize> = target
            .iter()
            .map(|d| usize::try_from(*d).map_err(|_| ctx.invalid(format!("shape {target:?}"))))
            .collect::<Result<_>>()?;
        let from = self.value_shape(&x);
        let shape = broadcast_shapes(&from, &target)
            .ok_or_else(|| ctx.invalid(format!("{from:?} does not broadcast with {target:?}")))?;
        check_size(ctx, &shape)?;
        self.broadcast_to(ctx, x, &shape)
    }

    /// `Tile(x, repeats)`: each axis repeated `repeats[axis]` times (constant repeats).
    pub(super) fn tile(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.any_input(ctx, 0)?;
        let from = self.value_shape(&x);
        let repeats = self.ints(ctx, 1)?;
        if repeats.len() != from.len() || repeats.iter().any(|r| *r < 0) {
            return Err(ctx.invalid(format!(
                "repeats {repeats:?} for an input of shape {from:?}"
            )));
        }
        let shape: Vec<usize> = from
            .iter()
            .zip(&repeats)
            .map(|(d, r)| {
                usize::try_from(*r)
                    .ok()
                    .and_then(|r| d.checked_mul(r))
                    .ok_or_else(|| ctx.invalid(format!("repeats {repeats:?} overflow")))
            })
            .collect::<Result<_>>()?;
        check_size(ctx, &shape)?;
        let len: usize = shape.iter().product();
        let sources = (0..len)
            .map(|f| {
                let idx: Vec<usize> = unravel(f, &shape)
                    .iter()
                    .zip(&from)
                    .map(|(i, d)| i % d)
                    .collect();
                Some((0, ravel(&idx, &from)))
            })
            .collect();
        self.wire(ctx, &[x], shape, sources)
    }
}
