//! The model circuit: halo2-base's gates and range checks, plus one fixed table of
//! `(tag, x, f(x))` rows for the model's nonlinear functions. The function lookups take one of
//! two layouts ([`ModelCircuitParams::fused_lookup_bits`]):
//!
//! - **Separate** (several gate columns): halo2-base's own range lookup, and the `(tag, x, y)`
//!   triples copied into dedicated advice columns. Unused lookup rows hold `(0, 0, 0)`, which
//!   matches the table's unused (zero) rows; every real row has `tag >= 1`, and the tag cell of a
//!   lookup is a circuit constant, so a lookup with tag `t` can only match the rows of function `t`.
//! - **Fused** (one gate column): a single lookup serves range checks, constants and functions,
//!   on the gate column itself, with two fixed columns `s` (tag) and `u` (next-row flag):
//!   `(s, s·a[r], u·a[r+1]) ∈ {(T, T·X, Y)}`. Range rows of the table are `(1, v, 0)` for
//!   `v ∈ [0, 2^bits)`, function rows `(t + 1, (t + 1)·x, f(x))`, one row `(c_i, c_i·v_i, 0)`
//!   per distinct constant `v_i` (its own tag `c_i`), unused rows `(0, 0, 0)`. A range-checked
//!   cell has `s = 1, u = 0`; a constant cell `s = c_i`; a function lookup puts `x` at row `r`
//!   with `s = t + 1, u = 1` and `y` at row `r + 1`; every other row has `s = u = 0`. The tag is
//!   fixed per row and nonzero tags are invertible, so a row can only match the entries of its
//!   own tag. Constants checked this way need no fixed constants column and no copy constraint
//!   (one σ commitment fewer), functions no extra advice or σ columns or second lookup: about
//!   ten fewer commitments for the verifier than the separate layout. Without functions the
//!   lookup is `(s, s·a[r]) ∈ {(T, T·X)}`.
//!
//! A fused layout may also take multiply-accumulate chains ([`FusedLookup::mac_chain`]): sums
//! against constant weights at two cells a term on the gate column, their weights in one more
//! fixed column (see [`crate::chips::mac`]); the bias cell of a chain is a constant cell as above.
//! With [`FusedLookup::chained_rescale`] the rescales continue the chains
//! ([`crate::chips::ChainedRescaleChip`]) and the table ends with narrow range entries
//! `(n_w, n_w·v, 0)` for `v ∈ [0, 2^w)`, one tag `n_w` per width `w` used, above every
//! constant's tag; a cell checked against one has that tag and no other.

use std::sync::Arc;

use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, BaseConfig};
use halo2_base::gates::RangeChip;
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Fixed};
use halo2_base::halo2_proofs::poly::Rotation;
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::virtual_region::lookups::LookupAnyManager;
use halo2_base::virtual_region::manager::VirtualRegionManager;
use halo2_base::ContextCell;
use serde::{Deserialize, Serialize};

use crate::chips::dot::{DotConfig, DotProducts, DotShape};
use crate::chips::mac::{MacChain, MacConfig};
use crate::chips::{FunctionLookups, LOOKUP_WIDTH};

/// Phases of halo2-base's range chip (its private `MAX_PHASE`).
const PHASES: usize = 3;

/// Shape parameters of [`ModelCircuit`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModelCircuitParams {
    /// halo2-base's parameters (no lookup bits in the fused layout: the range lookup is ours).
    pub base: BaseCircuitParams,
    /// Advice column triples for function lookups (0 when the model has none, or when fused).
    pub lookup_columns: usize,
    /// `Some`: the fused layout.
    #[serde(default)]
    pub fused: Option<FusedLookup>,
    /// `Some`: dense layers' multiply-accumulates in a dot-product region (see [`super::dot`]).
    #[serde(default)]
    pub dot: Option<DotShape>,
}

/// The shape of the fused lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusedLookup {
    /// Range entries cover `[0, 2^lookup_bits)`.
    pub lookup_bits: usize,
    /// Whether the table holds function entries (and the lookup reads the next row).
    pub functions: bool,
    /// Whether multiply-accumulates against constant weights take chains on the gate column,
    /// with the weights in a fixed column (see [`crate::chips::mac`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mac_chain: bool,
    /// With chains: rescales (and a ReLU after one) continue the chain of their sum, and the
    /// table holds narrow range entries of their own tags (see
    /// [`crate::chips::ChainedRescaleChip`]). Builds from before it have chains without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chained_rescale: bool,
}

/// The fixed columns of the fused lookup.
#[derive(Clone, Debug)]
struct FusedConfig {
    /// The gate column the lookup reads.
    column: Column<Advice>,
    /// Per row: 0, 1 (range check), `tag + 1` (function lookup) or a constant's tag.
    tag: Column<Fixed>,
    /// Per row: 1 where the next row holds a function's output (with functions only).
    next: Option<Column<Fixed>>,
    /// The weights of multiply-accumulate chains (with chains only).
    mac: Option<MacConfig>,
}

/// What the fused layout records while a model is laid out.
struct FusedState {
    shape: FusedLookup,
    /// Range-checked cells (through halo2-base's range chip).
    range: [LookupAnyManager<Fr, 1>; PHASES],
    /// Constant cells, taken from the copy manager once the layout is done.
    constants: Vec<(Fr, ContextCell)>,
}

/// The constraint system of a model circuit.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    base: BaseConfig<Fr>,
    lookup_advice: Vec<[Column<Advice>; LOOKUP_WIDTH]>,
    table: [Column<Fixed>; LOOKUP_WIDTH],
    fused: Option<FusedConfig>,
    dot: Option<DotConfig>,
}

/// A model's circuit: the halo2-base builder plus function lookups.
pub struct ModelCircuit {
    /// Gates, constants, instances (and range checks, in the separate layout).
    pub builder: BaseCircuitBuilder<Fr>,
    /// The function lookups.
    pub lookups: FunctionLookups,
    /// The function table rows.
    pub table: Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
    /// Lookup column triples (separate layout).
    pub lookup_columns: usize,
    /// The fused layout's shape and cells.
    fused: Option<FusedState>,
    /// The builder's copy constraints (where each virtual cell landed).
    copies: SharedCopyConstraintManager<Fr>,
    /// The dense layers' dot products, when they have their own region.
    pub dot: Option<DotProducts>,
    /// Multiply-accumulate chains on the gate column (fused layouts with chains only).
    pub macs: Option<MacChain>,
}

impl ModelCircuit {
    /// Wraps a builder; the lookups share its copy-constraint manager. `fused` selects the
    /// fused layout (the builder must then have no lookup bits of its own).
    pub fn new(
        mut builder: BaseCircuitBuilder<Fr>,
        table: Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
        lookup_columns: usize,
        fused: Option<FusedLookup>,
        dot: Option<DotShape>,
    ) -> Self {
        let witness_gen_only = builder.witness_gen_only();
        let copy_manager = builder.main(0).copy_manager.clone();
        let macs = fused.filter(|f| f.mac_chain).map(|f| {
            if f.chained_rescale {
                MacChain::with_rescales()
            } else {
                MacChain::new()
            }
        });
        let (lookups, fused) = match fused {
            None => (
                FunctionLookups::Separate(LookupAnyManager::new(
                    witness_gen_only,
                    copy_manager.clone(),
                )),
                None,
            ),
            Some(shape) => (
                FunctionLookups::Fused(Vec::new()),
                Some(FusedState {
                    shape,
                    range: std::array::from_fn(|_| {
                        LookupAnyManager::new(witness_gen_only, copy_manager.clone())
                    }),
                    constants: Vec::new(),
                }),
            ),
        };
        ModelCircuit {
            builder,
            lookups,
            table,
            lookup_columns,
            fused,
            copies: copy_manager,
            dot: dot.map(DotProducts::new),
            macs,
        }
    }

    /// The range chip the layout uses: halo2-base's, or the fused lookup's.
    pub fn range_chip(&self) -> RangeChip<Fr> {
        match &self.fused {
            Some(f) => RangeChip::new(f.shape.lookup_bits, f.range.clone()),
            None => self.builder.range_chip(),
        }
    }

    /// Ends the layout: in the fused layout, the constant cells leave halo2-base's copy
    /// constraints (and its constants column) for the lookup.
    pub fn finish_layout(&mut self) {
        if let Some(f) = &mut self.fused {
            if let Ok(mut copies) = self.copies.lock() {
                f.constants = std::mem::take(&mut copies.constant_equalities);
            }
        }
    }

    /// Distinct constants of the layout, in the field's order.
    pub fn distinct_constants(&self) -> Vec<Fr> {
        match &self.fused {
            Some(f) => sorted_distinct(f.constants.iter().map(|(v, _)| *v)),
            None => match self.copies.lock() {
                Ok(copies) => sorted_distinct(copies.constant_equalities.iter().map(|(v, _)| *v)),
                Err(_) => Vec::new(),
            },
        }
    }

    /// The advice cells some constraint reads, numbered as [`Self::tamper_advice`] takes them:
    /// the main context's cells, then the dot-product region's (see
    /// [`DotProducts::constrained_cells`]).
    pub fn constrained_advice_cells(&mut self) -> Vec<usize> {
        let main = self.builder.main(0).advice.len();
        let dot = self.dot.as_ref().map(DotProducts::constrained_cells);
        (0..main)
            .chain(dot.into_iter().flatten().map(|i| main + i))
            .collect()
    }

    /// Adds `delta` to advice cell `index` after the layout (the main context's cells first,
    /// then the dot-product region's), leaving every copy, lookup and instance as it was: the
    /// witness of a dishonest prover, for soundness tests.
    pub fn tamper_advice(&mut self, index: usize, delta: Fr) {
        let main = &mut self.builder.main(0).advice;
        match index.checked_sub(main.len()) {
            None => main[index] += halo2_base::halo2_proofs::plonk::Assigned::Trivial(delta),
            Some(i) => {
                if let Some(d) = &mut self.dot {
                    d.tamper(i, delta);
                }
            }
        }
    }

    /// Forgets every recorded cell (for circuits that are never synthesized).
    pub fn clear(&mut self) {
        self.builder.clear();
        self.lookups.clear();
        if let Some(d) = &mut self.dot {
            d.clear();
        }
        if let Some(m) = &mut self.macs {
            m.clear();
        }
        if let Some(f) = &mut self.fused {
            f.range.iter_mut().for_each(LookupAnyManager::clear);
            f.constants.clear();
        }
    }

    /// Tag of the first constant entry: above the range tag (1) and every function's `t + 1`.
    fn first_constant_tag(&self) -> Fr {
        let top = self
            .table
            .iter()
            .map(|[t, _, _]| *t)
            .max()
            .unwrap_or_default();
        top + Fr::from(2)
    }

    /// The narrow range tables' widths (ascending), each with its tag: above every constant's.
    fn narrow_tags(&self, constants: usize) -> Vec<(u32, Fr)> {
        let first = self.first_constant_tag() + Fr::from(constants as u64);
        self.macs
            .iter()
            .flat_map(MacChain::narrow_widths)
            .enumerate()
            .map(|(i, w)| (w, first + Fr::from(i as u64)))
            .collect()
    }

    /// Rows of the narrow range tables.
    pub fn narrow_rows(&self) -> usize {
        self.macs.as_ref().map_or(0, MacChain::narrow_rows)
    }

    /// Rows of the fused table: the range entries, the function entries, one entry per
    /// distinct constant (tags from [`Self::first_constant_tag`]), then the narrow range
    /// tables' entries (tags from [`Self::narrow_tags`]).
    fn fused_table(&self, bits: usize, constants: &[Fr]) -> Vec<[Fr; LOOKUP_WIDTH]> {
        let range = (0..1u64 << bits).map(|v| [Fr::one(), Fr::from(v), Fr::zero()]);
        let functions = self.table.iter().map(|[t, x, y]| {
            let t = *t + Fr::one();
            [t, t * x, *y]
        });
        let first = self.first_constant_tag();
        let constants = constants.iter().enumerate().map(|(i, v)| {
            let t = first + Fr::from(i as u64);
            [t, t * v, Fr::zero()]
        });
        let narrow = self
            .narrow_tags(constants.len())
            .into_iter()
            .flat_map(|(w, t)| (0..1u64 << w).map(move |v| [t, t * Fr::from(v), Fr::zero()]));
        range
            .chain(functions)
            .chain(constants)
            .chain(narrow)
            .collect()
    }
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ModelCircuitParams;

    fn params(&self) -> Self::Params {
        ModelCircuitParams {
            base: self.builder.config_params.clone(),
            lookup_columns: self.lookup_columns,
            fused: self.fused.as_ref().map(|f| f.shape),
            dot: self.dot.as_ref().map(DotProducts::shape),
        }
    }

    fn without_witnesses(&self) -> Self {
        unimplemented!("build the circuit with `keygen_circuit`")
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: Self::Params,
    ) -> Self::Config {
        let one_column = params.base.num_advice_per_phase == [1];
        let base = BaseConfig::configure(meta, params.base);
        let dot = params.dot.map(|shape| DotConfig::configure(meta, shape));
        let table = [
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
        ];
        if let Some(shape) = params.fused {
            let column = base.gate().basic_gates[0][0].value;
            let fused = FusedConfig {
                column,
                tag: meta.fixed_column(),
                next: shape.functions.then(|| meta.fixed_column()),
                // Chains live on one gate column only (a chain split across columns would
                // leave its gate reading another column's cells): anything else has no chain
                // gate, and synthesis refuses the chains.
                mac: (shape.mac_chain && one_column).then(|| MacConfig::configure(meta, column)),
            };
            meta.lookup_any("range, constant and function table", |m| {
                let s = m.query_fixed(fused.tag, Rotation::cur());
                let a = m.query_advice(column, Rotation::cur());
                let t = m.query_fixed(table[0], Rotation::cur());
                let tx = m.query_fixed(table[1], Rotation::cur());
                let mut pairs = vec![(s.clone(), t), (s * a, tx)];
                // Without functions the output column stays unqueried (no opening to pay for).
                if let Some(next) = fused.next {
                    let u = m.query_fixed(next, Rotation::cur());
                    let b = m.query_advice(column, Rotation::next());
                    let ty = m.query_fixed(table[2], Rotation::cur());
                    pairs.push((u * b, ty));
                }
                pairs
            });
            return ModelConfig {
                base,
                lookup_advice: Vec::new(),
                table,
                fused: Some(fused),
                dot,
            };
        }
        let lookup_advice = (0..params.lookup_columns)
            .map(|_| {
                let cols = [
                    meta.advice_column(),
                    meta.advice_column(),
                    meta.advice_column(),
                ];
                for c in cols {
                    meta.enable_equality(c);
                }
                meta.lookup_any("function table", |m| {
                    cols.iter()
                        .zip(table)
                        .map(|(a, t)| {
                            (
                                m.query_advice(*a, Rotation::cur()),
                                m.query_fixed(t, Rotation::cur()),
                            )
                        })
                        .collect()
                });
                cols
            })
            .collect();
        ModelConfig {
            base,
            lookup_advice,
            table,
            fused: None,
            dot,
        }
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("configured with params")
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        Circuit::synthesize(
            &self.builder,
            config.base.clone(),
            layouter.namespace(|| "model"),
        )?;
        if let (Some(dot_config), Some(dot)) = (&config.dot, &self.dot) {
            dot.assign(
                dot_config,
                &self.copies,
                self.builder.witness_gen_only(),
                config.base.gate().max_rows,
                layouter.namespace(|| "dot products"),
            )?;
        }
        if let (Some(fused), Some(state)) = (&config.fused, &self.fused) {
            return self.assign_fused(&config, fused, state, layouter);
        }
        if self.lookup_columns == 0 {
            return Ok(());
        }
        let FunctionLookups::Separate(lookups) = &self.lookups else {
            return Err(Error::Synthesis);
        };
        layouter.assign_region(
            || "function table",
            |mut region| {
                for (row, entry) in self.table.iter().enumerate() {
                    for (col, value) in config.table.iter().zip(entry) {
                        region.assign_fixed(*col, row, *value);
                    }
                }
                lookups.assign_raw(&config.lookup_advice, &mut region);
                Ok(())
            },
        )
    }
}

impl Drop for ModelCircuit {
    /// The fused range cells are read at synthesis, never "assigned" as halo2-base's lookup
    /// manager means it: forget them so that the manager does not warn when dropped.
    fn drop(&mut self) {
        if let Some(f) = &mut self.fused {
            f.range.iter_mut().for_each(LookupAnyManager::clear);
        }
    }
}

impl ModelCircuit {
    /// Assigns the fused table and, at keygen, the per-row tags of the gate column.
    fn assign_fused(
        &self,
        config: &ModelConfig,
        fused: &FusedConfig,
        state: &FusedState,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let usable = config.base.gate().max_rows;
        let bits = state.shape.lookup_bits;
        let FunctionLookups::Fused(functions) = &self.lookups else {
            return Err(Error::Synthesis);
        };
        let constants = self.distinct_constants();
        let table = self.fused_table(bits, &constants);
        layouter.assign_region(
            || "range, constant and function table",
            |mut region| {
                for (row, entry) in table.iter().enumerate() {
                    for (col, value) in config.table.iter().zip(entry) {
                        region.assign_fixed(*col, row, *value);
                    }
                }
                // Unused rows must keep one all-zero entry for the rows without a lookup.
                if table.len() >= usable {
                    return Err(Error::NotEnoughRowsAvailable {
                        current_k: config.base.gate().max_rows.ilog2() + 1,
                    });
                }
                if self.builder.witness_gen_only() {
                    return Ok(());
                }
                let copies = self.copies.lock().map_err(|_| Error::Synthesis)?;
                let row_of = |cell: &ContextCell| -> Result<usize, Error> {
                    let raw = copies.assigned_advices.get(cell).ok_or(Error::Synthesis)?;
                    if raw.column != fused.column.into() || raw.row_offset + 1 >= usable {
                        return Err(Error::Synthesis);
                    }
                    Ok(raw.row_offset)
                };
                // Each row carries at most one tag: a conflict is a layout bug, not a proof.
                let mut tags = std::collections::BTreeMap::new();
                let cells = state.range[0]
                    .cells_to_lookup
                    .lock()
                    .map_err(|_| Error::Synthesis)?;
                for [cell] in cells.values().flatten() {
                    let row = row_of(cell.cell.as_ref().ok_or(Error::Synthesis)?)?;
                    tags.insert(row, Fr::one());
                }
                // A constant cell's tag pins its value; a range check on it then holds when
                // the constant lies in the range, and the tag replaces the range tag.
                let first = self.first_constant_tag();
                for (value, cell) in &state.constants {
                    let i = constants
                        .binary_search(value)
                        .map_err(|_| Error::Synthesis)?;
                    let row = row_of(cell)?;
                    let in_range = crate::fixed::from_field(value)
                        .is_some_and(|v| (0..1i128 << bits).contains(&v));
                    let tag = first + Fr::from(i as u64);
                    match tags.insert(row, tag) {
                        Some(t) if t == Fr::one() && !in_range => return Err(Error::Synthesis),
                        Some(t) if t != Fr::one() && t != tag => return Err(Error::Synthesis),
                        _ => {}
                    }
                }
                for (tag, cell) in functions {
                    let row = row_of(cell)?;
                    if tags.insert(row, Fr::from(*tag) + Fr::one()).is_some() {
                        return Err(Error::Synthesis);
                    }
                    let next = fused.next.ok_or(Error::Synthesis)?;
                    region.assign_fixed(next, row, Fr::one());
                }
                // Narrow range checks: fresh cells of the chained rescales, no other tag.
                let narrow: std::collections::BTreeMap<u32, Fr> =
                    self.narrow_tags(constants.len()).into_iter().collect();
                let checks = self.macs.as_ref().map_or(&[][..], MacChain::narrow_checks);
                for (width, cell) in checks {
                    let tag = narrow.get(width).ok_or(Error::Synthesis)?;
                    if tags.insert(row_of(cell)?, *tag).is_some() {
                        return Err(Error::Synthesis);
                    }
                }
                // Each chain term's weight, on the row of the running sum it extends.
                let chains = self.macs.as_ref().map_or(&[][..], MacChain::weights);
                if !chains.is_empty() {
                    let mac = fused.mac.ok_or(Error::Synthesis)?;
                    let mut rows = std::collections::BTreeSet::new();
                    for (cell, weight) in chains {
                        // The gate reads rows r..r+2: the chain's next sum must be there; one
                        // weight a row.
                        let row = row_of(cell)?;
                        if !rows.insert(row) {
                            return Err(Error::Synthesis);
                        }
                        let next = ContextCell::new(cell.type_id, cell.context_id, cell.offset + 2);
                        if row_of(&next)? != row + 2 {
                            return Err(Error::Synthesis);
                        }
                        region.assign_fixed(mac.weight, row, *weight);
                    }
                }
                for (row, tag) in tags {
                    region.assign_fixed(fused.tag, row, tag);
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
#[path = "model_circuit_tests.rs"]
mod tests;

/// `values` sorted in the field's order (`Fr::cmp`) without duplicates. Each value leaves
/// Montgomery form once, for its big-endian key; `Fr::cmp` does so twice per comparison, which
/// made sorting a large model's millions of constants most of its layout time.
pub(crate) fn sorted_distinct(values: impl Iterator<Item = Fr>) -> Vec<Fr> {
    use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
    let mut keyed: Vec<([u8; 32], Fr)> = values
        .map(|v| {
            let mut key = [0u8; 32];
            key.copy_from_slice(v.to_repr().as_ref());
            key.reverse();
            (key, v)
        })
        .collect();
    keyed.sort_unstable_by_key(|a| a.0);
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed.into_iter().map(|(_, v)| v).collect()
}
