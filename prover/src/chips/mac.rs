//! `MacChain`: multiply-accumulates against constant weights on the gate column itself, two
//! advice cells each, with the weights in one fixed column.
//!
//! halo2-base's inner product takes three cells per term: the input, the weight as a constant
//! cell and the running sum. Here `bias + Σ_i w_i · x_i` (nonzero `w_i` only) takes the
//! consecutive cells `acc_0, x_1, acc_1, x_2, acc_2, …, x_n, acc_n` of the gate column:
//! `acc_0` a constant cell holding the bias, each `x_i` a copy of the input's cell, and the
//! fixed column `w` holds `w_i` on `acc_{i-1}`'s row and zero on every other row.
//!
//! Gate: `w[r] · (a[r+2] − a[r] − w[r] · a[r+1]) = 0`.
//!
//! Where `w[r] ≠ 0` the factor is invertible, so the gate forces
//! `acc_i = acc_{i-1} + w_i · x_i`; where `w[r] = 0` (the `x` and last rows of a chain, every row
//! outside the chains, the blinding rows) it constrains nothing. Zero weights are never laid out,
//! so no term escapes the gate. The gate has degree 3, as halo2-base's, and reads rotations 0–2
//! of the gate column, which halo2-base's gate opens already: the chain costs the verifier one
//! fixed commitment and its opening.
//!
//! Only the single-column layouts use it: a chain must not be split across gate columns, and
//! the fixed cells are placed by the rows the layout gives each `acc_{i-1}`.

use std::collections::BTreeSet;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Fixed};
use halo2_base::halo2_proofs::poly::Rotation;
use halo2_base::{AssignedValue, Context, ContextCell, QuantumCell};

use crate::fixed::to_field;

/// The weight column of the chains, with its gate on the gate column.
#[derive(Clone, Copy, Debug)]
pub struct MacConfig {
    /// The weight of the term whose running sum starts on this row (zero elsewhere).
    pub weight: Column<Fixed>,
}

impl MacConfig {
    /// Adds the weight column and the chain gate on `column` (the single gate column).
    pub fn configure(meta: &mut ConstraintSystem<Fr>, column: Column<Advice>) -> Self {
        let weight = meta.fixed_column();
        meta.create_gate("multiply-accumulate chain", |m| {
            let w = m.query_fixed(weight, Rotation::cur());
            let acc = m.query_advice(column, Rotation::cur());
            let x = m.query_advice(column, Rotation::next());
            let next = m.query_advice(column, Rotation(2));
            vec![w.clone() * (next - acc - w * x)]
        });
        MacConfig { weight }
    }
}

/// The chains recorded while a model is laid out: where each term's weight goes.
#[derive(Clone, Debug, Default)]
pub struct MacChain {
    /// Per term: the cell of the running sum it extends, and its weight.
    terms: Vec<(ContextCell, Fr)>,
    /// Terms laid out (also when no cells are recorded, as in witness generation).
    count: usize,
    /// Cells checked against a narrow range table `[0, 2^width)`: `(width, cell)`.
    narrow: Vec<(u32, ContextCell)>,
    /// The widths of the narrow range tables (also in witness generation).
    widths: BTreeSet<u32>,
    /// Whether rescales continue the chains ([`crate::chips::ChainedRescaleChip`]).
    rescales: bool,
}

impl MacChain {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty recorder whose layout continues the chains with their rescales
    /// ([`crate::circuit::FusedLookup::chained_rescale`]).
    pub fn with_rescales() -> Self {
        MacChain {
            rescales: true,
            ..Self::default()
        }
    }

    /// Whether rescales continue the chains.
    pub fn rescales(&self) -> bool {
        self.rescales
    }

    /// Terms laid out so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no term was laid out.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Per term, the cell of the running sum it extends and the weight the fixed column holds
    /// on that cell's row (empty in witness generation).
    pub fn weights(&self) -> &[(ContextCell, Fr)] {
        &self.terms
    }

    /// Forgets every term and narrow check (for circuits that are never synthesized).
    pub fn clear(&mut self) {
        self.terms.clear();
        self.count = 0;
        self.narrow.clear();
        self.widths.clear();
    }

    /// One more term on the chain ending at the last cell of `ctx`: the cells `x` and
    /// `last + w · x`, returned in that order. `w` must be nonzero (a zero weight is no gate).
    pub fn step(
        &mut self,
        ctx: &mut Context<Fr>,
        x: Fr,
        w: Fr,
    ) -> (AssignedValue<Fr>, AssignedValue<Fr>) {
        assert!(w != Fr::zero(), "a chain step needs a nonzero weight");
        let last = ctx.get(-1);
        if let Some(cell) = last.cell {
            self.terms.push((cell, w));
        }
        self.count += 1;
        let next = *last.value() + w * x;
        let x = ctx.load_witness(x);
        (x, ctx.load_witness(next))
    }

    /// Checks `cell` against the narrow range table `[0, 2^width)` (`width ≥ 1`): the cell's
    /// row takes that table's tag, so the cell must carry no other tag.
    pub fn check_narrow(&mut self, cell: &AssignedValue<Fr>, width: u32) {
        assert!(width >= 1, "a narrow range has at least one bit");
        self.widths.insert(width);
        if let Some(cell) = cell.cell {
            self.narrow.push((width, cell));
        }
    }

    /// The narrow range checks: `(width, cell)` (empty in witness generation).
    pub fn narrow_checks(&self) -> &[(u32, ContextCell)] {
        &self.narrow
    }

    /// The widths of the narrow range tables, ascending.
    pub fn narrow_widths(&self) -> impl Iterator<Item = u32> + '_ {
        self.widths.iter().copied()
    }

    /// Rows the narrow range tables take: `Σ 2^width`.
    pub fn narrow_rows(&self) -> usize {
        self.widths.iter().map(|w| 1usize << w).sum()
    }

    /// `bias + Σ w · x` over `(cell, weight)` terms, zero weights skipped: a chain of
    /// `2 · terms + 1` cells in `ctx`, returning the last (the sum).
    pub fn accumulate(
        &mut self,
        ctx: &mut Context<Fr>,
        terms: impl IntoIterator<Item = (AssignedValue<Fr>, i64)>,
        bias: i128,
    ) -> AssignedValue<Fr> {
        let terms: Vec<_> = terms.into_iter().filter(|(_, w)| *w != 0).collect();
        let mut sum = to_field(bias);
        let mut cells = Vec::with_capacity(2 * terms.len() + 1);
        cells.push(QuantumCell::Constant(sum));
        for (x, w) in &terms {
            sum += to_field((*w).into()) * x.value();
            cells.push(QuantumCell::Existing(*x));
            cells.push(QuantumCell::Witness(sum));
        }
        let start = ctx.advice.len();
        let last = ctx.assign_region_last(cells, []);
        for (i, (_, w)) in terms.iter().enumerate() {
            if let Some(cell) = ctx.get((start + 2 * i) as isize).cell {
                self.terms.push((cell, to_field((*w).into())));
            }
        }
        self.count += terms.len();
        last
    }
}

#[cfg(test)]
mod tests {
    //! The witness side; the gate is checked both ways on whole models (the circuit tests'
    //! chain sweeps), where the bias cell gets its constant tag.

    use super::*;
    use crate::fixed::from_field;

    #[test]
    fn a_chain_sums_its_nonzero_terms_in_two_cells_each() {
        let mut ctx = Context::<Fr>::new(false, 0, "chain", 0, Default::default());
        let x: Vec<_> = [3i64, -4, 5]
            .iter()
            .map(|v| ctx.load_witness(to_field((*v).into())))
            .collect();
        let mut chain = MacChain::new();
        let sum = chain.accumulate(&mut ctx, x.into_iter().zip([2, 0, -7]), 11);
        assert_eq!(from_field(sum.value()), Some(3 * 2 + 5 * -7 + 11));
        assert_eq!(ctx.advice.len(), 3 + 1 + 2 * 2);
        assert_eq!(chain.len(), 2);
        let rows: Vec<_> = chain
            .weights()
            .iter()
            .map(|(c, w)| (c.offset, *w))
            .collect();
        assert_eq!(rows, [(3, Fr::from(2)), (5, -Fr::from(7))]);
    }
}
