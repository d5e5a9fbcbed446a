//! Records function lookups while a model is laid out: `(tag, x, y)` rows proving `y = f_tag(x)`
//! against the model circuit's function table (see [`crate::circuit`] for the two layouts).

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::virtual_region::lookups::LookupAnyManager;
use halo2_base::{AssignedValue, Context, ContextCell};

/// Columns of one lookup: tag, input, output.
pub const LOOKUP_WIDTH: usize = 3;

/// How a model's function lookups are recorded while it is laid out.
pub enum FunctionLookups {
    /// `(tag, x, y)` cells, copied into dedicated advice columns at synthesis.
    Separate(LookupAnyManager<Fr, LOOKUP_WIDTH>),
    /// `(tag, x)`: `x` on the single gate column, its output on the next row.
    Fused(Vec<(u64, ContextCell)>),
}

impl FunctionLookups {
    /// Proves `y = f_tag(x)` for a fresh witness `y` with the given value, and returns `y`.
    pub fn look_up(
        &mut self,
        ctx: &mut Context<Fr>,
        tag: u64,
        x: AssignedValue<Fr>,
        y: Fr,
    ) -> AssignedValue<Fr> {
        match self {
            FunctionLookups::Separate(lookups) => {
                let y = ctx.load_witness(y);
                let tag = ctx.load_constant(Fr::from(tag));
                lookups.add_lookup(ctx.tag(), [tag, x, y]);
                y
            }
            FunctionLookups::Fused(rows) => {
                // A fresh copy of x, so that its row carries no other lookup; y right below it.
                let x_here = ctx.load_witness(*x.value());
                ctx.constrain_equal(&x, &x_here);
                // Cells are only tracked where the fixed columns are assigned (not when proving).
                if let Some(cell) = x_here.cell {
                    rows.push((tag, cell));
                }
                ctx.load_witness(y)
            }
        }
    }

    /// Function lookups recorded so far.
    pub fn len(&self) -> usize {
        match self {
            FunctionLookups::Separate(lookups) => lookups.total_rows(),
            FunctionLookups::Fused(rows) => rows.len(),
        }
    }

    /// Whether no function lookup was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the recorded lookups (for circuits that are never synthesized).
    pub fn clear(&mut self) {
        match self {
            FunctionLookups::Separate(lookups) => lookups.clear(),
            FunctionLookups::Fused(rows) => rows.clear(),
        }
    }
}
