//! The constraint polynomial as a register program: [`Instr`]uctions over the registers of
//! [`reg`] (challenges, derived values, the proof's evaluations, constants, temporaries), emitted
//! in `verify_proof`'s order — custom gates, the permutation argument, lookups — each constraint
//! folded into the accumulator with y.

use std::collections::HashMap;

use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use zkinfer_prover::halo2_base::halo2_proofs::plonk::{Any, ConstraintSystem, Expression};

use super::{op, permutation_chunk, reg, EvalRegs};
use crate::{Error, Result};

/// One program instruction over registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    /// Operation ([`op`]).
    pub op: u64,
    /// Destination register.
    pub dst: usize,
    /// First operand register.
    pub a: usize,
    /// Second operand register.
    pub b: usize,
    /// Third operand register (fused permutation operations).
    pub c: usize,
}

/// Where the evaluations of the circuit's queries live.
struct Queries {
    /// (column, rotation) of each advice query, in query order.
    advice: Vec<(usize, i32)>,
    /// (column, rotation) of each fixed query.
    fixed: Vec<(usize, i32)>,
    /// Register of the first advice evaluation.
    advice_evals: usize,
    /// Register of the first fixed evaluation.
    fixed_evals: usize,
}

impl Queries {
    /// The register holding a column's evaluation at a rotation.
    fn column(&self, kind: &Any, column: usize, rotation: i32) -> Result<usize> {
        let find = |queries: &[(usize, i32)], base: usize| {
            queries
                .iter()
                .position(|&q| q == (column, rotation))
                .map(|i| base + i)
                .ok_or_else(|| {
                    Error::Unsupported(format!(
                        "a {kind:?} column {column} at rotation {rotation} that is never queried"
                    ))
                })
        };
        match kind {
            Any::Advice(_) => find(&self.advice, self.advice_evals),
            Any::Fixed => find(&self.fixed, self.fixed_evals),
            Any::Instance if column == 0 && rotation == 0 => Ok(reg::INSTANCE),
            Any::Instance => Err(Error::Unsupported(format!(
                "instance column {column} at rotation {rotation}"
            ))),
        }
    }
}

/// Builds the register program, sharing repeated subexpressions and constants.
pub(super) struct Program {
    queries: Queries,
    instrs: Vec<Instr>,
    constants: Vec<Fr>,
    constant_regs: HashMap<[u8; 32], usize>,
    memo: HashMap<(u64, usize, usize), usize>,
    /// Registers of constants start here (right after the evaluations).
    const_base: usize,
    /// Next temporary, counted from [`TEMP_BASE`] until [`Program::finish`] renumbers them.
    next: usize,
}

/// Provisional numbering of temporaries, above any real register.
const TEMP_BASE: usize = 1 << 15;

impl Program {
    /// An empty program over the evaluation registers `regs` of `cs`'s queries.
    pub(super) fn new(cs: &ConstraintSystem<Fr>, regs: &EvalRegs) -> Self {
        let queries = Queries {
            advice: cs
                .advice_queries()
                .iter()
                .map(|(c, r)| (c.index(), r.0))
                .collect(),
            fixed: cs
                .fixed_queries()
                .iter()
                .map(|(c, r)| (c.index(), r.0))
                .collect(),
            advice_evals: regs.advice,
            fixed_evals: regs.fixed,
        };
        Self {
            queries,
            instrs: Vec::new(),
            constants: Vec::new(),
            constant_regs: HashMap::new(),
            memo: HashMap::new(),
            const_base: reg::EVALS + regs.count,
            next: TEMP_BASE,
        }
    }

    /// Places the temporaries right after the constants: (program, constants, registers used).
    pub(super) fn finish(self) -> (Vec<Instr>, Vec<Fr>, usize) {
        let temps = self.const_base + self.constants.len();
        let place = |r: usize| {
            if r >= TEMP_BASE {
                r - TEMP_BASE + temps
            } else {
                r
            }
        };
        let instrs = self
            .instrs
            .into_iter()
            .map(|i| Instr {
                op: i.op,
                dst: place(i.dst),
                a: place(i.a),
                b: place(i.b),
                c: place(i.c),
            })
            .collect();
        (instrs, self.constants, temps + self.next - TEMP_BASE)
    }

    /// The register of a constant (loaded once however often it is used).
    fn constant(&mut self, value: Fr) -> usize {
        let key = value.to_repr();
        if let Some(&r) = self.constant_regs.get(&key) {
            return r;
        }
        let r = self.const_base + self.constants.len();
        self.constants.push(value);
        self.constant_regs.insert(key, r);
        r
    }

    /// A binary operation (shared with an earlier identical one; ADD and MUL commute).
    fn op(&mut self, op: u64, a: usize, b: usize) -> usize {
        let (a, b) = if matches!(op, op::ADD | op::MUL) && b < a {
            (b, a)
        } else {
            (a, b)
        };
        if let Some(&r) = self.memo.get(&(op, a, b)) {
            return r;
        }
        let dst = self.next;
        self.next += 1;
        self.instrs.push(Instr {
            op,
            dst,
            a,
            b,
            c: 0,
        });
        self.memo.insert((op, a, b), dst);
        dst
    }

    /// A fused operation over three registers (never shared: its third operand accumulates).
    fn op3(&mut self, op: u64, a: usize, b: usize, c: usize) -> usize {
        let dst = self.next;
        self.next += 1;
        self.instrs.push(Instr { op, dst, a, b, c });
        dst
    }

    /// Folds the constraint `a * b` into the accumulator.
    fn emit_mul(&mut self, a: usize, b: usize) {
        self.instrs.push(Instr {
            op: op::EMIT_MUL,
            dst: 0,
            a,
            b,
            c: 0,
        });
    }

    /// Folds the constraint `a` into the accumulator.
    fn emit(&mut self, a: usize) {
        self.instrs.push(Instr {
            op: op::EMIT,
            dst: 0,
            a,
            b: 0,
            c: 0,
        });
    }

    /// The register holding the value of `expr`.
    fn expression(&mut self, expr: &Expression<Fr>) -> Result<usize> {
        Ok(match expr {
            Expression::Constant(c) => self.constant(*c),
            Expression::Selector(_) => {
                return Err(Error::Unsupported(
                    "an uncompiled selector in a gate".into(),
                ))
            }
            Expression::Fixed(q) => {
                self.queries
                    .column(&Any::Fixed, q.column_index(), q.rotation().0)?
            }
            Expression::Advice(q) => {
                self.queries
                    .column(&Any::advice(), q.column_index(), q.rotation().0)?
            }
            Expression::Instance(q) => {
                self.queries
                    .column(&Any::Instance, q.column_index(), q.rotation().0)?
            }
            Expression::Challenge(_) => {
                return Err(Error::Unsupported("gates over challenges".into()))
            }
            Expression::Negated(a) => {
                let a = self.expression(a)?;
                self.op(op::NEG, a, 0)
            }
            Expression::Sum(a, b) => {
                if let (Expression::Product(x, y), other) | (other, Expression::Product(x, y)) =
                    (a.as_ref(), b.as_ref())
                {
                    let x = self.expression(x)?;
                    let y = self.expression(y)?;
                    let other = self.expression(other)?;
                    return Ok(self.op3(op::MULADD, x, y, other));
                }
                if let Expression::Negated(b) = b.as_ref() {
                    let a = self.expression(a)?;
                    let b = self.expression(b)?;
                    return Ok(self.op(op::SUB, a, b));
                }
                let a = self.expression(a)?;
                let b = self.expression(b)?;
                self.op(op::ADD, a, b)
            }
            Expression::Product(a, b) => {
                let a = self.expression(a)?;
                let b = self.expression(b)?;
                self.op(op::MUL, a, b)
            }
            Expression::Scaled(a, c) => {
                let a = self.expression(a)?;
                let c = self.constant(*c);
                self.op(op::MUL, a, c)
            }
        })
    }
}

/// Emits every constraint of `cs` in `verify_proof`'s order: custom gates, the permutation
/// argument, lookups.
pub(super) fn constraints(
    program: &mut Program,
    cs: &ConstraintSystem<Fr>,
    regs: &EvalRegs,
) -> Result<()> {
    custom_gates(program, cs)?;
    let one = program.constant(Fr::ONE);
    let active = {
        let inactive = program.op(op::ADD, reg::LLAST, reg::LBLIND);
        program.op(op::SUB, one, inactive)
    };
    permutation_argument(program, cs, regs, one, active)?;
    lookup_arguments(program, cs, regs, one, active)
}

/// The custom gates' polynomials (a top-level product as one fused constraint).
fn custom_gates(program: &mut Program, cs: &ConstraintSystem<Fr>) -> Result<()> {
    for gate in cs.gates() {
        for poly in gate.polynomials() {
            match poly {
                Expression::Product(a, b) => {
                    let a = program.expression(a)?;
                    let b = program.expression(b)?;
                    program.emit_mul(a, b);
                }
                _ => {
                    let value = program.expression(poly)?;
                    program.emit(value);
                }
            }
        }
    }
    Ok(())
}

/// The permutation argument: the first product starts at 1, the last is 0 or 1, each set
/// continues the previous one, and each set's product rule on the active rows (`active` is
/// 1 - l_last - l_blind, `one` the constant 1's register).
fn permutation_argument(
    program: &mut Program,
    cs: &ConstraintSystem<Fr>,
    regs: &EvalRegs,
    one: usize,
    active: usize,
) -> Result<()> {
    let perm_set_regs = &regs.perm_sets;
    if let Some(&(z, _, _)) = perm_set_regs.first() {
        let t = program.op(op::SUB, one, z);
        program.emit_mul(reg::L0, t);
    }
    if let Some(&(z, _, _)) = perm_set_regs.last() {
        let sq = program.op(op::MUL, z, z);
        let t = program.op(op::SUB, sq, z);
        program.emit_mul(t, reg::LLAST);
    }
    for pair in perm_set_regs.windows(2) {
        let prev_last = pair[0]
            .2
            .expect("all but the last set have a last evaluation");
        let t = program.op(op::SUB, pair[1].0, prev_last);
        program.emit_mul(t, reg::L0);
    }
    let chunk = permutation_chunk(cs);
    let perm_columns = cs.permutation().get_columns();
    let beta_x = program.op(op::MUL, reg::BETA, reg::X);
    for (set, (columns, &(z, z_next, _))) in
        perm_columns.chunks(chunk).zip(perm_set_regs).enumerate()
    {
        let mut left = z_next;
        let mut right = z;
        for (i, column) in columns.iter().enumerate() {
            let eval = program
                .queries
                .column(column.column_type(), column.index(), 0)?;
            let sigma = regs.sigma + set * chunk + i;
            left = program.op3(op::PERM_SIGMA, eval, sigma, left);
            let delta = program.constant(Fr::DELTA.pow_vartime([(set * chunk + i) as u64]));
            let shift = program.op(op::MUL, beta_x, delta);
            right = program.op3(op::PERM_ID, eval, shift, right);
        }
        let t = program.op(op::SUB, left, right);
        program.emit_mul(t, active);
    }
    Ok(())
}

/// The lookup arguments: each product starts at 1 and ends at 0 or 1, the product rule over
/// the θ-compressed input and table, and the permuted input's rules against the table and its
/// previous row.
fn lookup_arguments(
    program: &mut Program,
    cs: &ConstraintSystem<Fr>,
    regs: &EvalRegs,
    one: usize,
    active: usize,
) -> Result<()> {
    for (argument, &[z, z_next, input, input_prev, table]) in cs.lookups().iter().zip(&regs.lookups)
    {
        let t = program.op(op::SUB, one, z);
        program.emit_mul(reg::L0, t);
        let sq = program.op(op::MUL, z, z);
        let t = program.op(op::SUB, sq, z);
        program.emit_mul(reg::LLAST, t);
        let a = program.op(op::ADD, input, reg::BETA);
        let s = program.op(op::ADD, table, reg::GAMMA);
        let left = program.op(op::MUL, z_next, a);
        let left = program.op(op::MUL, left, s);
        let inputs = compress(program, argument.input_expressions())?;
        let tables = compress(program, argument.table_expressions())?;
        let a = program.op(op::ADD, inputs, reg::BETA);
        let s = program.op(op::ADD, tables, reg::GAMMA);
        let right = program.op(op::MUL, z, a);
        let right = program.op(op::MUL, right, s);
        let t = program.op(op::SUB, left, right);
        program.emit_mul(t, active);
        let diff = program.op(op::SUB, input, table);
        program.emit_mul(reg::L0, diff);
        let t = program.op(op::SUB, input, input_prev);
        let t = program.op(op::MUL, diff, t);
        program.emit_mul(t, active);
    }
    Ok(())
}

/// Compresses lookup expressions with θ (Horner); the constant 0 for none. The zero constant is
/// registered in every case, as the key format has always done.
fn compress(program: &mut Program, exprs: &[Expression<Fr>]) -> Result<usize> {
    let mut acc = None;
    for expr in exprs {
        let value = program.expression(expr)?;
        acc = Some(match acc {
            None => value,
            Some(acc) => program.op3(op::MULADD, acc, reg::THETA, value),
        });
    }
    Ok(acc.unwrap_or(program.constant(Fr::ZERO)))
}
