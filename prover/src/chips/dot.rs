//! `DotProducts`: the multiply-accumulates of dense layers in columns of their own, with the
//! weights in fixed columns.
//!
//! halo2-base's inner product takes three advice cells per multiply-accumulate (the input, the
//! weight as a constant cell, the running sum). Here a row holds one input and `width` running
//! sums, and the weights are fixed cells, so `width` multiply-accumulates take `width + 1`
//! advice cells.
//!
//! Columns: advice `x` and `acc_0 .. acc_{width-1}`, fixed `q` and `w_0 .. w_{width-1}`.
//! Gate, for every `j`: `q · (acc_j[r+1] − acc_j[r] − w_j[r] · x[r]) = 0`.
//!
//! A group of up to `width` neurons of one dense layer over the same input row
//! `x_0 .. x_{n-1}` takes `n + 1` rows from row `r`:
//! - `x[r+i] = x_i`, copied from the input's cell; `q[r+i] = 1` and `w_j[r+i]` is neuron `j`'s
//!   weight of input `i`, for `i < n`;
//! - `acc_j[r]` is copied from a constant cell holding neuron `j`'s bias, and `acc_j[r+n]` to
//!   the cell the rest of the circuit reads as the neuron's sum.
//!
//! `q` is zero on the last row of a group, so groups do not constrain each other, and on every
//! row outside the region (the blinding rows included). Accumulators a partial group does not
//! use hold zeros under zero weights. `x[r+n]` is read by no constraint; it holds zero.

use halo2_base::halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed};
use halo2_base::halo2_proofs::poly::Rotation;
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::{AssignedValue, Context};
use serde::{Deserialize, Serialize};

use crate::fixed::to_field;

/// Widest dot-product row the planner tries (accumulators per row).
pub const MAX_DOT_WIDTH: usize = 4;

/// The shape of the dot-product region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DotShape {
    /// Accumulator columns (neurons per group).
    pub width: usize,
}

/// The columns of the dot-product region.
#[derive(Clone, Debug)]
pub struct DotConfig {
    x: Column<Advice>,
    acc: Vec<Column<Advice>>,
    q: Column<Fixed>,
    w: Vec<Column<Fixed>>,
}

impl DotConfig {
    /// Adds the columns and the gate for `shape`.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, shape: DotShape) -> Self {
        let x = meta.advice_column();
        meta.enable_equality(x);
        let acc: Vec<_> = (0..shape.width)
            .map(|_| {
                let c = meta.advice_column();
                meta.enable_equality(c);
                c
            })
            .collect();
        let q = meta.fixed_column();
        let w: Vec<_> = (0..shape.width).map(|_| meta.fixed_column()).collect();
        meta.create_gate("dot-product accumulators", |m| {
            let q = m.query_fixed(q, Rotation::cur());
            let x = m.query_advice(x, Rotation::cur());
            acc.iter()
                .zip(&w)
                .map(|(a, w)| {
                    let now = m.query_advice(*a, Rotation::cur());
                    let next = m.query_advice(*a, Rotation::next());
                    let w = m.query_fixed(*w, Rotation::cur());
                    q.clone() * (next - now - w * x.clone())
                })
                .collect::<Vec<_>>()
        });
        DotConfig { x, acc, q, w }
    }
}

/// Up to `width` neurons over one input row.
#[derive(Clone, Debug)]
struct DotGroup {
    x: Vec<AssignedValue<Fr>>,
    /// Per neuron: its weights (one per input), its bias cell, its sum cell.
    neurons: Vec<(Vec<i64>, AssignedValue<Fr>, AssignedValue<Fr>)>,
}

/// The dot products recorded while a model is laid out, assigned at synthesis.
#[derive(Clone, Debug)]
pub struct DotProducts {
    shape: DotShape,
    groups: Vec<DotGroup>,
    /// A soundness-test perturbation: `(cell index, delta)` (see [`Self::constrained_cells`]).
    tamper: Option<(usize, Fr)>,
}

impl DotProducts {
    /// An empty recorder.
    pub fn new(shape: DotShape) -> Self {
        DotProducts {
            shape,
            groups: Vec::new(),
            tamper: None,
        }
    }

    /// The region's shape.
    pub fn shape(&self) -> DotShape {
        self.shape
    }

    /// Rows of the region for `neurons` neurons of `inputs` inputs each, at `width`.
    pub fn rows_for(neurons: usize, inputs: usize, width: usize) -> usize {
        neurons.div_ceil(width.max(1)) * (inputs + 1)
    }

    /// Rows used so far.
    pub fn rows(&self) -> usize {
        self.groups.iter().map(|g| g.x.len() + 1).sum()
    }

    /// `bias_n + Σ_i x_i · w_{n,i}` for every neuron `n` of a dense layer over one input row
    /// (`weights` row-major, one row per neuron); returns the sums as cells of `ctx`.
    pub fn dense(
        &mut self,
        ctx: &mut Context<Fr>,
        x: &[AssignedValue<Fr>],
        weights: &[i64],
        bias: &[i64],
    ) -> Vec<AssignedValue<Fr>> {
        let inputs = x.len();
        let mut sums = Vec::with_capacity(bias.len());
        let neurons: Vec<_> = bias.iter().enumerate().collect();
        for chunk in neurons.chunks(self.shape.width) {
            let mut group = DotGroup {
                x: x.to_vec(),
                neurons: Vec::with_capacity(chunk.len()),
            };
            for &(n, b) in chunk {
                let w = weights[n * inputs..(n + 1) * inputs].to_vec();
                let b_cell = ctx.load_constant(to_field((*b).into()));
                let sum = x
                    .iter()
                    .zip(&w)
                    .fold(*b_cell.value(), |s, (x, w)| s + *x.value() * weight(*w));
                let sum = ctx.load_witness(sum);
                sums.push(sum);
                group.neurons.push((w, b_cell, sum));
            }
            self.groups.push(group);
        }
        sums
    }

    /// Advice cells of the region, in assignment order (per row: `x`, then each accumulator).
    pub fn num_cells(&self) -> usize {
        self.rows() * (1 + self.shape.width)
    }

    /// The cells some constraint reads: all but each group's last `x` cell.
    pub fn constrained_cells(&self) -> Vec<usize> {
        let per_row = 1 + self.shape.width;
        let mut cells = Vec::with_capacity(self.num_cells());
        let mut row = 0;
        for g in &self.groups {
            let last = row + g.x.len();
            for r in row..=last {
                // The last row's `x` (column 0) is read by no constraint.
                let first = usize::from(r == last);
                cells.extend((first..per_row).map(|c| r * per_row + c));
            }
            row = last + 1;
        }
        cells
    }

    /// Adds `delta` to cell `index` (see [`Self::num_cells`]) when the region is assigned,
    /// leaving every copy as it was: the witness of a dishonest prover, for soundness tests.
    pub fn tamper(&mut self, index: usize, delta: Fr) {
        self.tamper = Some((index, delta));
    }

    /// Forgets the recorded groups (for circuits that are never synthesized).
    pub fn clear(&mut self) {
        self.groups.clear();
    }

    /// Assigns the region; copies are constrained when the builder tracked cells (`copies`
    /// maps its cells to the circuit's). Fails when the region outgrows `usable` rows.
    pub fn assign(
        &self,
        config: &DotConfig,
        copies: &SharedCopyConstraintManager<Fr>,
        witness_gen_only: bool,
        usable: usize,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        if self.rows() > usable {
            return Err(Error::NotEnoughRowsAvailable {
                current_k: usable.next_power_of_two().ilog2(),
            });
        }
        let copies = copies.lock().map_err(|_| Error::Synthesis)?;
        let cell_of = |v: &AssignedValue<Fr>| -> Result<Option<Cell>, Error> {
            if witness_gen_only {
                return Ok(None);
            }
            let at = v.cell.as_ref().ok_or(Error::Synthesis)?;
            copies
                .assigned_advices
                .get(at)
                .copied()
                .map(Some)
                .ok_or(Error::Synthesis)
        };
        layouter.assign_region(
            || "dot products",
            |mut region| {
                let mut row = 0;
                let mut index = 0;
                let mut put = |region: &mut halo2_base::halo2_proofs::circuit::Region<Fr>,
                               column: Column<Advice>,
                               row: usize,
                               value: Fr| {
                    let value = match self.tamper {
                        Some((i, delta)) if i == index => value + delta,
                        _ => value,
                    };
                    index += 1;
                    region
                        .assign_advice(column, row, Value::known(value))
                        .cell()
                };
                for g in &self.groups {
                    let n = g.x.len();
                    let mut sums: Vec<Fr> = g.neurons.iter().map(|(_, b, _)| *b.value()).collect();
                    sums.resize(self.shape.width, Fr::zero());
                    for i in 0..=n {
                        let x = g.x.get(i).map_or(Fr::zero(), |c| *c.value());
                        let x_cell = put(&mut region, config.x, row + i, x);
                        if let Some(source) = g.x.get(i).map(cell_of).transpose()?.flatten() {
                            region.constrain_equal(x_cell, source);
                        }
                        for (j, column) in config.acc.iter().enumerate() {
                            let acc_cell = put(&mut region, *column, row + i, sums[j]);
                            if let Some((weights, bias, sum)) = g.neurons.get(j) {
                                // Both on one row for a layer without inputs.
                                let start = if i == 0 { cell_of(bias)? } else { None };
                                let end = if i == n { cell_of(sum)? } else { None };
                                for source in start.into_iter().chain(end) {
                                    region.constrain_equal(acc_cell, source);
                                }
                                if let Some(w) = weights.get(i).map(|w| weight(*w)) {
                                    sums[j] += w * x;
                                    if !witness_gen_only {
                                        region.assign_fixed(config.w[j], row + i, w);
                                    }
                                }
                            }
                        }
                        if i < n && !witness_gen_only {
                            region.assign_fixed(config.q, row + i, Fr::one());
                        }
                    }
                    row += n + 1;
                }
                Ok(())
            },
        )
    }
}

fn weight(w: i64) -> Fr {
    to_field(w.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::{ModelCircuit, BLINDING_ROWS};
    use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage};
    use halo2_base::halo2_proofs::dev::MockProver;
    use std::sync::Arc;

    const K: usize = 8;
    const X: [i64; 4] = [3, -4, 5, 7];
    /// Three neurons over four inputs (row-major), zeros included.
    const W: [i64; 12] = [2, 0, -7, 1, 0, 0, 0, 0, -3, 9, 4, -1];
    const B: [i64; 3] = [11, -5, 0];

    /// Lays out the dense layer at `width`, exposes its sums as instances, lets `tamper` change
    /// the circuit and the instances, and reports whether MockProver accepts.
    fn run(
        width: usize,
        tamper: impl FnOnce(&mut ModelCircuit, &[AssignedValue<Fr>], &mut Vec<Fr>),
    ) -> bool {
        run_layer(&X, &W, &B, width, tamper)
    }

    /// [`run`] for any layer: inputs `x`, row-major weights `w`, biases `b`.
    fn run_layer(
        x: &[i64],
        w: &[i64],
        b: &[i64],
        width: usize,
        tamper: impl FnOnce(&mut ModelCircuit, &[AssignedValue<Fr>], &mut Vec<Fr>),
    ) -> bool {
        let builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
            .use_k(K)
            .use_lookup_bits(K - 1)
            .use_instance_columns(1);
        let shape = Some(DotShape { width });
        let mut circuit = ModelCircuit::new(builder, Arc::new(Vec::new()), 0, None, shape);
        let ctx = circuit.builder.main(0);
        let x: Vec<_> = x.iter().map(|v| ctx.load_witness(weight(*v))).collect();
        let dot = circuit.dot.as_mut().expect("configured");
        let sums = dot.dense(ctx, &x, w, b);
        let mut instances: Vec<Fr> = sums.iter().map(|s| *s.value()).collect();
        circuit.builder.assigned_instances = vec![sums.clone()];
        circuit.builder.calculate_params(Some(BLINDING_ROWS));
        tamper(&mut circuit, &sums, &mut instances);
        MockProver::run(K as u32, &circuit, vec![instances])
            .expect("mock synthesis")
            .verify()
            .is_ok()
    }

    /// The index of neuron `n`'s final running sum in the region (groups of `width`).
    fn sum_cell(width: usize, n: usize) -> usize {
        let end_row = (n / width) * (X.len() + 1) + X.len();
        end_row * (1 + width) + 1 + n % width
    }

    #[test]
    fn honest_sums_are_accepted_at_every_width() {
        for width in 1..=MAX_DOT_WIDTH {
            assert!(run(width, |c, sums, _| {
                for (n, s) in sums.iter().enumerate() {
                    let expected: i64 =
                        B[n] + (0..X.len()).map(|i| W[n * X.len() + i] * X[i]).sum::<i64>();
                    assert_eq!(*s.value(), weight(expected), "neuron {n}");
                }
                let rows = c.dot.as_ref().map_or(0, DotProducts::rows);
                assert_eq!(rows, DotProducts::rows_for(B.len(), X.len(), width));
            }));
        }
    }

    /// Every advice cell a constraint reads, in the main context (inputs, biases, sums) and in
    /// the region (inputs, running sums, unused accumulators of a partial group), changed alone.
    #[test]
    fn every_read_cell_changed_alone_is_rejected() {
        for width in 1..=MAX_DOT_WIDTH {
            let mut cells = Vec::new();
            run(width, |c, _, _| cells = c.constrained_advice_cells());
            for cell in cells {
                let accepted = run(width, |c, _, _| c.tamper_advice(cell, Fr::one()));
                assert!(!accepted, "width {width}: cell {cell} changed and accepted");
            }
        }
    }

    /// A wrong sum carried consistently into the main context and the instances breaks the gate.
    #[test]
    fn a_consistently_wrong_sum_is_rejected() {
        for width in 1..=MAX_DOT_WIDTH {
            for n in 0..B.len() {
                let accepted = run(width, |c, sums, instances| {
                    let main = c.builder.main(0).advice.len();
                    let offset = sums[n].cell.expect("mock cells").offset;
                    c.tamper_advice(offset, Fr::one());
                    c.tamper_advice(main + sum_cell(width, n), Fr::one());
                    instances[n] += Fr::one();
                });
                assert!(!accepted, "width {width}: neuron {n}");
            }
        }
    }

    /// A layer without inputs: each sum is its bias, and the one row of a group carries both
    /// copies (bias in, sum out), so a changed sum is still rejected.
    #[test]
    fn a_layer_without_inputs_still_binds_its_sums() {
        let bias = [5, -3, 8];
        for width in 1..=MAX_DOT_WIDTH {
            assert!(run_layer(&[], &[], &bias, width, |_, sums, _| {
                let values: Vec<Fr> = sums.iter().map(|s| *s.value()).collect();
                assert_eq!(values, bias.map(weight).to_vec());
            }));
            for n in 0..bias.len() {
                let accepted = run_layer(&[], &[], &bias, width, |c, sums, instances| {
                    let offset = sums[n].cell.expect("mock cells").offset;
                    c.tamper_advice(offset, Fr::one());
                    instances[n] += Fr::one();
                });
                assert!(!accepted, "width {width}: neuron {n}");
            }
        }
    }

    /// The cells left out of the sweep are the ones no constraint reads.
    #[test]
    fn only_unread_cells_are_left_out_of_the_sweep() {
        let width = 2;
        let mut read = Vec::new();
        let mut main = 0;
        run(width, |c, _, _| {
            read = c.constrained_advice_cells();
            main = c.builder.main(0).advice.len();
        });
        let all = main + DotProducts::rows_for(B.len(), X.len(), width) * (1 + width);
        let unread: Vec<_> = (0..all).filter(|i| !read.contains(i)).collect();
        assert_eq!(unread.len(), B.len().div_ceil(width));
        for cell in unread {
            assert!(run(width, |c, _, _| c.tamper_advice(cell, Fr::one())));
        }
    }
}
