//! Recurrent layers, unrolled over their fixed sequence length: LSTM and GRU (directions
//! forward, reverse and bidirectional; `layout` 0 and 1; initial states constant or computed;
//! the default activations). Each step is dense layers against the constant weights `W` and
//! `R`, sigmoid and tanh lookups, and element-wise products of the gates; the outputs `Y`, `Y_h`
//! (and LSTM's `Y_c`) are wired from the steps' states.
//!
//! Refused with the reason: peepholes, `clip`, `input_forget`, activations other than the
//! defaults, and `sequence_lens` other than the full length.

use super::shape::{ravel, unravel};
use super::{Constant, Ctx, Importer, Value};
use crate::functions::Function;
use crate::model::{Op, TensorId};
use crate::ops;
use crate::Result;

/// The cell a recurrent node runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Lstm,
    Gru { linear_before_reset: bool },
}

impl Cell {
    /// Gates per step (LSTM: i, o, f, c; GRU: z, r, h).
    fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
        }
    }

    fn default_activations(self) -> &'static [&'static str] {
        match self {
            Cell::Lstm => &["Sigmoid", "Tanh", "Tanh"],
            Cell::Gru { .. } => &["Sigmoid", "Tanh"],
        }
    }
}

/// One direction's constant weights: `w [gates·h, input]`, `r [gates·h, h]`, biases `wb`, `rb`.
struct Weights {
    w: Vec<f64>,
    r: Vec<f64>,
    wb: Vec<f64>,
    rb: Vec<f64>,
}

impl Importer {
    /// LSTM: outputs `Y`, `Y_h`, `Y_c`.
    pub(super) fn lstm(&mut self, ctx: &Ctx) -> Result<Vec<Value>> {
        self.recurrent(ctx, Cell::Lstm)
    }

    /// GRU: outputs `Y`, `Y_h`.
    pub(super) fn gru(&mut self, ctx: &Ctx) -> Result<Vec<Value>> {
        let lbr = ctx.attr_i("linear_before_reset", 0) != 0;
        self.recurrent(
            ctx,
            Cell::Gru {
                linear_before_reset: lbr,
            },
        )
    }

    fn recurrent(&mut self, ctx: &Ctx, cell: Cell) -> Result<Vec<Value>> {
        let refuse = |why: &str| Err(ctx.invalid(format!("{why}: not supported")));
        if let Some(a) = ctx.attr("activations") {
            let names: Vec<String> = a
                .strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            let defaults = cell.default_activations();
            if names.chunks(defaults.len()).any(|c| c != defaults) {
                return refuse(&format!("activations {names:?}"));
            }
        }
        if ctx.attr("clip").is_some() {
            return refuse("clip");
        }
        if ctx.attr_i("input_forget", 0) != 0 {
            return refuse("input_forget");
        }
        if cell == Cell::Lstm && ctx.has_input(7) {
            return refuse("peepholes (input P)");
        }
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        if xs.len() != 3 {
            return Err(ctx.invalid(format!("input {xs:?} is not 3-D")));
        }
        let batch_first = ctx.attr_i("layout", 0) != 0;
        let (seq, batch, input) = if batch_first {
            (xs[1], xs[0], xs[2])
        } else {
            (xs[0], xs[1], xs[2])
        };
        if ctx.has_input(4) {
            let lens = self.constant(ctx, 4)?;
            if lens.data.iter().any(|l| *l as usize != seq) {
                return refuse(&format!(
                    "sequence_lens {:?} shorter than the sequence {seq}",
                    lens.data
                ));
            }
        }
        let dirs = match ctx.attr_s("direction").as_deref() {
            None | Some("forward") => vec![false],
            Some("reverse") => vec![true],
            Some("bidirectional") => vec![false, true],
            Some(other) => {
                return Err(ctx.invalid(format!(
                    "direction {other} (forward, reverse or bidirectional)"
                )))
            }
        };
        let hidden = usize::try_from(ctx.attr_i("hidden_size", 0)).unwrap_or(0);
        let g = cell.gates();
        if seq == 0 {
            return Err(ctx.invalid("an empty sequence"));
        }
        // Activations, and the weight rows each unrolled step copies into its dense layers.
        super::shape::check_size(ctx, &[seq, 2, g, hidden, input.max(batch) + hidden])?;
        let (w, r) = (self.constant(ctx, 1)?, self.constant(ctx, 2)?);
        let nd = dirs.len();
        if hidden == 0 || w.shape != [nd, g * hidden, input] || r.shape != [nd, g * hidden, hidden]
        {
            return Err(ctx.invalid(format!(
                "W {:?} and R {:?} for {nd} direction(s), hidden_size {hidden}, input {input}",
                w.shape, r.shape
            )));
        }
        let b = if ctx.has_input(3) {
            let b = self.constant(ctx, 3)?;
            if b.data.len() != nd * 2 * g * hidden {
                return Err(ctx.invalid(format!("B has {} values", b.data.len())));
            }
            b.data
        } else {
            vec![0.0; nd * 2 * g * hidden]
        };
        let state = |s: &mut Self, i: usize| -> Result<Option<Value>> {
            if !ctx.has_input(i) {
                return Ok(None);
            }
            let v = s.any_input(ctx, i)?;
            let len: usize = s.value_shape(&v).iter().product();
            if len != nd * batch * hidden {
                return Err(ctx.invalid(format!("initial state #{i} has {len} values")));
            }
            Ok(Some(v))
        };
        let (h0, c0) = (state(self, 5)?, state(self, 6)?);
        let (gh, gi) = (g * hidden, g * hidden * input);
        let mut ys = Vec::with_capacity(nd); // per direction: the state after each step, in time order
        let mut finals = Vec::with_capacity(nd);
        for (d, reverse) in dirs.iter().enumerate() {
            let weights = Weights {
                w: w.data[d * gi..(d + 1) * gi].to_vec(),
                r: r.data[d * gh * hidden..(d + 1) * gh * hidden].to_vec(),
                wb: b[d * 2 * gh..d * 2 * gh + gh].to_vec(),
                rb: b[d * 2 * gh + gh..(d + 1) * 2 * gh].to_vec(),
            };
            let at = |bi: usize, k: usize| {
                if batch_first {
                    (bi * nd + d) * hidden + k
                } else {
                    (d * batch + bi) * hidden + k
                }
            };
            let mut h = self.initial(ctx, h0.as_ref(), &at, batch, hidden, x)?;
            let mut c = self.initial(ctx, c0.as_ref(), &at, batch, hidden, x)?;
            let mut steps = vec![None; seq];
            let order: Vec<usize> = if *reverse {
                (0..seq).rev().collect()
            } else {
                (0..seq).collect()
            };
            for t in order {
                let xt = self.step_input(ctx, x, t, seq, batch, input, batch_first);
                let (nh, nc) = self.cell_step(ctx, cell, &weights, xt, h, c, hidden);
                h = Some(nh);
                c = nc;
                steps[t] = Some(nh);
            }
            let steps: Vec<TensorId> = steps.into_iter().map(|s| s.expect("every step")).collect();
            ys.push(steps);
            finals.push((h.expect("one step at least"), c));
        }
        // Y: [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]).
        let y_shape = if batch_first {
            vec![batch, seq, nd, hidden]
        } else {
            vec![seq, nd, batch, hidden]
        };
        let parts: Vec<Value> = ys.iter().flatten().map(|t| Value::Tensor(*t)).collect();
        let y_sources = (0..y_shape.iter().product())
            .map(|f| {
                let i = unravel(f, &y_shape);
                let (t, d, bi, k) = if batch_first {
                    (i[1], i[2], i[0], i[3])
                } else {
                    (i[0], i[1], i[2], i[3])
                };
                Some((d * seq + t, bi * hidden + k))
            })
            .collect();
        let y = self.wire(ctx, &parts, y_shape, y_sources)?;
        let last_shape = if batch_first {
            vec![batch, nd, hidden]
        } else {
            vec![nd, batch, hidden]
        };
        let gather_last = |s: &mut Self, ts: Vec<TensorId>| -> Result<Value> {
            let parts: Vec<Value> = ts.into_iter().map(Value::Tensor).collect();
            let sources = (0..last_shape.iter().product())
                .map(|f| {
                    let i = unravel(f, &last_shape);
                    let (d, bi, k) = if batch_first {
                        (i[1], i[0], i[2])
                    } else {
                        (i[0], i[1], i[2])
                    };
                    Some((d, ravel(&[bi, k], &[batch, hidden])))
                })
                .collect();
            s.wire(ctx, &parts, last_shape.clone(), sources)
        };
        let y_h = gather_last(self, finals.iter().map(|(h, _)| *h).collect())?;
        let mut out = vec![y, y_h];
        if cell == Cell::Lstm {
            let cs: Option<Vec<TensorId>> = finals.iter().map(|(_, c)| *c).collect();
            let cs = cs.expect("an LSTM step always makes a cell state");
            out.push(gather_last(self, cs)?);
        }
        Ok(out)
    }

    /// One direction's initial state as a `[batch, hidden]` tensor (element `(b, k)` at `at(b,
    /// k)` of the given state, whose layout follows the node's), or `None` for zeros.
    fn initial(
        &mut self,
        ctx: &Ctx,
        v: Option<&Value>,
        at: &dyn Fn(usize, usize) -> usize,
        batch: usize,
        hidden: usize,
        like: TensorId,
    ) -> Result<Option<TensorId>> {
        let n = batch * hidden;
        let index = |i: usize| at(i / hidden, i % hidden);
        Ok(match v {
            None => None,
            Some(Value::Constant(c)) => {
                let part: Vec<f64> = (0..n).map(|i| c.data[index(i)]).collect();
                if part.iter().all(|v| *v == 0.0) {
                    None
                } else {
                    let part = Constant::float(vec![batch, hidden], part);
                    Some(self.constant_tensor(ctx, &part, like))
                }
            }
            Some(Value::Tensor(t)) => Some(self.push(
                &ctx.name,
                &ctx.proto.op_type,
                Op::Gather(ops::wiring::Gather {
                    sources: (0..n).map(|i| Some((0, index(i)))).collect(),
                }),
                vec![*t],
                vec![batch, hidden],
            )),
        })
    }

    /// `X[t]` as `[batch, input]`.
    #[allow(clippy::too_many_arguments)]
    fn step_input(
        &mut self,
        ctx: &Ctx,
        x: TensorId,
        t: usize,
        seq: usize,
        batch: usize,
        input: usize,
        batch_first: bool,
    ) -> TensorId {
        let sources = (0..batch * input)
            .map(|f| {
                let (bi, k) = (f / input, f % input);
                let at = if batch_first {
                    (bi * seq + t) * input + k
                } else {
                    (t * batch + bi) * input + k
                };
                Some((0, at))
            })
            .collect();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Gather(ops::wiring::Gather { sources }),
            vec![x],
            vec![batch, input],
        )
    }

    /// `x · m[rows]ᵀ + bias[rows]` for the gate rows `rows` of `m` (`[.., cols]` row-major).
    fn gate_dense(
        &mut self,
        ctx: &Ctx,
        x: TensorId,
        m: &[f64],
        bias: &[f64],
        rows: std::ops::Range<usize>,
        cols: usize,
    ) -> TensorId {
        let shape = vec![self.shape(x)[0], rows.len()];
        let weights = rows
            .clone()
            .flat_map(|o| m[o * cols..(o + 1) * cols].iter().copied())
            .collect();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Dense(ops::linear::Dense {
                weights,
                bias: bias[rows.clone()].to_vec(),
                in_features: cols,
                out_features: rows.len(),
            }),
            vec![x],
            shape,
        )
    }

    /// `x + bias` for `x` of shape `[rows, bias.len()]`, the bias added to every row (the
    /// recurrent bias of a step whose previous state is 0).
    fn add_to_rows(&mut self, ctx: &Ctx, x: TensorId, bias: &[f64]) -> TensorId {
        let shape = self.shape(x).to_vec();
        let values = (0..shape.iter().product())
            .map(|i| bias[i % bias.len()])
            .collect();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::AddConst(ops::arithmetic::AddConst { values }),
            vec![x],
            shape,
        )
    }

    fn binary_op(&mut self, ctx: &Ctx, op: Op, a: TensorId, b: TensorId) -> TensorId {
        let shape = self.shape(a).to_vec();
        self.push(&ctx.name, &ctx.proto.op_type, op, vec![a, b], shape)
    }

    /// One step: the new hidden state, and the new cell state (LSTM).
    #[allow(clippy::too_many_arguments)]
    fn cell_step(
        &mut self,
        ctx: &Ctx,
        cell: Cell,
        wt: &Weights,
        xt: TensorId,
        h: Option<TensorId>,
        c: Option<TensorId>,
        hidden: usize,
    ) -> (TensorId, Option<TensorId>) {
        let input = self.shape(xt)[1];
        let gate = |k: usize| k * hidden..(k + 1) * hidden;
        // x·Wᵀ + Wb + h·Rᵀ + Rb for gate k.
        let pre = |s: &mut Self, k: usize| -> TensorId {
            let xw = s.gate_dense(ctx, xt, &wt.w, &wt.wb, gate(k), input);
            match h {
                Some(h) => {
                    let hr = s.gate_dense(ctx, h, &wt.r, &wt.rb, gate(k), hidden);
                    s.binary_op(ctx, Op::Add, xw, hr)
                }
                None => s.add_to_rows(ctx, xw, &wt.rb[gate(k)]),
            }
        };
        match cell {
            Cell::Lstm => {
                let i = pre(self, 0);
                let o = pre(self, 1);
                let f = pre(self, 2);
                let g = pre(self, 3);
                let (i, o, f) = (
                    self.func_node(ctx, i, Function::Sigmoid),
                    self.func_node(ctx, o, Function::Sigmoid),
                    self.func_node(ctx, f, Function::Sigmoid),
                );
                let g = self.func_node(ctx, g, Function::Tanh);
                let ig = self.binary_op(ctx, Op::Mul, i, g);
                let c = match c {
                    Some(c) => {
                        let fc = self.binary_op(ctx, Op::Mul, f, c);
                        self.binary_op(ctx, Op::Add, fc, ig)
                    }
                    None => ig,
                };
                let tc = self.func_node(ctx, c, Function::Tanh);
                (self.binary_op(ctx, Op::Mul, o, tc), Some(c))
            }
            Cell::Gru {
                linear_before_reset,
            } => {
                let z = pre(self, 0);
                let r = pre(self, 1);
                let (z, r) = (
                    self.func_node(ctx, z, Function::Sigmoid),
                    self.func_node(ctx, r, Function::Sigmoid),
                );
                // The candidate: x·Whᵀ + Wbh + (r ⊙ (h·Rhᵀ + Rbh)) or ((r ⊙ h)·Rhᵀ + Rbh).
                let xw = self.gate_dense(ctx, xt, &wt.w, &wt.wb, gate(2), input);
                let rows = self.shape(r)[0];
                let rbh = wt.rb[gate(2)].to_vec();
                let n = match h {
                    Some(h) if linear_before_reset => {
                        let hr = self.gate_dense(ctx, h, &wt.r, &wt.rb, gate(2), hidden);
                        let rhr = self.binary_op(ctx, Op::Mul, r, hr);
                        self.binary_op(ctx, Op::Add, xw, rhr)
                    }
                    Some(h) => {
                        let rh = self.binary_op(ctx, Op::Mul, r, h);
                        let hr = self.gate_dense(ctx, rh, &wt.r, &wt.rb, gate(2), hidden);
                        self.binary_op(ctx, Op::Add, xw, hr)
                    }
                    None if linear_before_reset => {
                        // h = 0: r ⊙ Rbh, the recurrent bias scaled by the reset gate.
                        let terms = (0..rows * hidden)
                            .map(|i| vec![(i, rbh[i % hidden])])
                            .collect();
                        let rb = self.push(
                            &ctx.name,
                            &ctx.proto.op_type,
                            Op::Linear(ops::linear::Linear {
                                terms,
                                bias: vec![0.0; rows * hidden],
                            }),
                            vec![r],
                            vec![rows, hidden],
                        );
                        self.binary_op(ctx, Op::Add, xw, rb)
                    }
                    None => self.add_to_rows(ctx, xw, &rbh),
                };
                let n = self.func_node(ctx, n, Function::Tanh);
                // h' = (1 - z) ⊙ n + z ⊙ h = n + z ⊙ (h - n)
                let h_new = match h {
                    Some(h) => {
                        let diff = self.binary_op(ctx, Op::Sub, h, n);
                        let zd = self.binary_op(ctx, Op::Mul, z, diff);
                        self.binary_op(ctx, Op::Add, n, zd)
                    }
                    None => {
                        let zn = self.binary_op(ctx, Op::Mul, z, n);
                        self.binary_op(ctx, Op::Sub, n, zn)
                    }
                };
                (h_new, None)
            }
        }
    }
}
