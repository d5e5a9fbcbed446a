//! Where to cut: a given number of segments balanced by estimated cost, or as few segments as
//! keep every circuit within a size (`2^max_k` rows) and a memory limit.
//!
//! The cost of a node is estimated from its shape and parameters, without laying it out: one
//! cell per output element and per parameter, plus the multiply-accumulates of a dense layer
//! and three cells per convolution term.
//! Within limits, each candidate segment is planned by the prover's planner (a layout of that
//! segment only); a segment that does not fit is halved at its cost midpoint, so planning lays
//! out each node about `log2(segments)` times, never the whole model at once.

use serde::{Deserialize, Serialize};
use zkinfer_prover::circuit::{plan, CircuitParams};
use zkinfer_prover::quantize::{QOp, QuantizedModel};
use zkinfer_prover::resources::{MemoryLimit, ResourceEstimate};

use crate::split::{first_cut, segment, split, Segment};
use crate::{Error, Result};

/// What decides the cuts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// Exactly this many segments, balanced by estimated cost.
    Segments(usize),
    /// As few segments as keep each circuit within `2^max_k` rows and the memory limit.
    Fit {
        /// Largest circuit (log2 rows) a segment may take.
        max_k: usize,
    },
}

/// A segment and its planned circuit.
#[derive(Clone, Debug)]
pub struct PlannedSegment {
    /// The segment.
    pub segment: Segment,
    /// Its circuit's shape.
    pub circuit: CircuitParams,
    /// Its estimated setup/proving memory.
    pub resources: ResourceEstimate,
}

/// One line of a segment plan, as `compile` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// The whole model's nodes the segment computes (`[start, end)`).
    pub nodes: [usize; 2],
    /// The first and last node names.
    pub layers: [String; 2],
    /// log2 of the segment circuit's rows.
    pub k: usize,
    /// Its columns of every kind.
    pub columns: usize,
    /// Its estimated setup/proving memory, MiB.
    pub memory_mib: u64,
    /// Values crossing into it (committed on both sides).
    pub boundary_in: usize,
}

impl PlannedSegment {
    /// The plan line of this segment within `model`.
    pub fn summary(&self, model: &QuantizedModel) -> SegmentSummary {
        let r = &self.segment.nodes;
        let len = |t: &usize| model.nodes[*t].shape.iter().product::<usize>();
        SegmentSummary {
            nodes: [r.start, r.end],
            layers: [
                model.nodes[r.start].name.clone(),
                model.nodes[r.end - 1].name.clone(),
            ],
            k: self.circuit.k,
            columns: self.resources.columns,
            memory_mib: self.resources.proving_bytes >> 20,
            boundary_in: if r.start == 0 {
                0
            } else {
                self.segment.inputs.iter().map(len).sum()
            },
        }
    }
}

/// The estimated cost of each node (see the module docs).
pub fn node_costs(model: &QuantizedModel) -> Vec<u64> {
    model
        .nodes
        .iter()
        .map(|n| {
            let len = n.shape.iter().product::<usize>() as u64;
            let params: u64 =
                n.op.operator()
                    .params()
                    .iter()
                    .map(|p| p.len() as u64)
                    .sum();
            let macs = match &n.op {
                QOp::Dense(d) => {
                    let rows = len / d.out_features.max(1) as u64;
                    rows * d.weights.iter().filter(|w| **w != 0).count() as u64
                }
                // A convolution's terms are its parameters (counted once above) and take three
                // cells each.
                QOp::Linear(l) => 2 * l.terms.iter().map(|t| t.len() as u64).sum::<u64>(),
                _ => 0,
            };
            len * (1 + n.op.operator().lookups_per_element() as u64) + params + macs
        })
        .collect()
}

/// `count - 1` cuts in `[first_cut, nodes)` balancing the cost of `range` over `count` parts.
fn balanced_cuts(
    model: &QuantizedModel,
    costs: &[u64],
    range: std::ops::Range<usize>,
    count: usize,
) -> Result<Vec<usize>> {
    // The first segment holds the graph inputs and at least one node after them.
    let lowest = (first_cut(model) + 1).max(range.start + 1);
    let eligible = range.end.saturating_sub(lowest);
    if count == 0 || count - 1 > eligible {
        return Err(Error::Plan(format!(
            "{count} segments asked of nodes {}..{}: at most {} (a segment holds at least one \
             node, and the first holds the graph inputs and a node after them)",
            range.start,
            range.end,
            eligible + 1
        )));
    }
    let total: u64 = costs[range.clone()].iter().sum();
    let mut cuts = Vec::with_capacity(count - 1);
    let mut acc = 0u64;
    let mut c = range.start;
    for j in 1..count {
        let target = total * j as u64 / count as u64;
        // Leave room for the cuts still to come; never repeat or precede the last one.
        let lo = cuts.last().map_or(lowest, |l: &usize| l + 1);
        let hi = range.end - (count - j);
        while c < lo || (c < hi && acc + costs[c] <= target) {
            acc += costs[c];
            c += 1;
        }
        cuts.push(c.clamp(lo, hi));
    }
    Ok(cuts)
}

/// Plans the segments of `model` for `goal`: cuts, each segment's circuit (at most
/// `max_columns` advice columns) and its memory estimate, checked against `limit`.
pub fn plan_segments(
    model: &QuantizedModel,
    goal: Goal,
    max_columns: usize,
    limit: Option<&MemoryLimit>,
) -> Result<Vec<PlannedSegment>> {
    let costs = node_costs(model);
    let n = model.nodes.len();
    let planned = match goal {
        Goal::Segments(count) => {
            let cuts = balanced_cuts(model, &costs, 0..n, count)?;
            split(model, &cuts)?
                .into_iter()
                .map(|segment| {
                    let circuit = plan(&segment.model, max_columns)?;
                    Ok(PlannedSegment {
                        resources: ResourceEstimate::of(&circuit),
                        segment,
                        circuit,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        }
        // Each segment kept was planned while testing that it fits: not planned again.
        Goal::Fit { max_k } => fitting_segments(model, &costs, max_k, max_columns, limit)?,
    };
    if let Some(limit) = limit {
        for p in &planned {
            p.resources.check(limit)?;
        }
    }
    Ok(planned)
}

/// Segments that each fit `2^max_k` rows and `limit`, with their circuits: segments that do not
/// fit are halved until they do (see the module docs).
fn fitting_segments(
    model: &QuantizedModel,
    costs: &[u64],
    max_k: usize,
    max_columns: usize,
    limit: Option<&MemoryLimit>,
) -> Result<Vec<PlannedSegment>> {
    let n = model.nodes.len();
    // The range's segment planned, when it fits.
    let fitting = |r: &std::ops::Range<usize>| -> Result<Option<PlannedSegment>> {
        // Only this range's segment is built (not the whole split around it).
        let segment = segment(model, r.clone(), r.start == 0, r.end == n);
        let bound = ResourceEstimate::lower_bound(&segment.model);
        if bound.k > max_k || limit.is_some_and(|l| bound.proving_bytes > l.bytes) {
            return Ok(None);
        }
        match plan(&segment.model, max_columns) {
            Ok(circuit) => {
                let resources = ResourceEstimate::of(&circuit);
                let fits =
                    circuit.k <= max_k && limit.is_none_or(|l| resources.proving_bytes <= l.bytes);
                Ok(fits.then_some(PlannedSegment {
                    segment,
                    circuit,
                    resources,
                }))
            }
            Err(zkinfer_prover::Error::DoesNotFit { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    };
    let mut done: Vec<PlannedSegment> = Vec::new();
    let mut todo: Vec<std::ops::Range<usize>> = Vec::new();
    todo.push(0..n);
    while let Some(r) = todo.pop() {
        if let Some(planned) = fitting(&r)? {
            done.push(planned);
            continue;
        }
        let cut = balanced_cuts(model, costs, r.clone(), 2).map_err(|_| {
            let node = &model.nodes[r.start];
            Error::Plan(format!(
                "nodes {}..{} (from {} ({})) do not fit in 2^{max_k} rows{} with {max_columns} \
                 advice columns and cannot be cut further: one node is too large for a segment \
                 (raise --max-columns, or --max-k)",
                r.start,
                r.end,
                node.name,
                node.op_type,
                limit.map_or(String::new(), |l| format!(
                    " within {} MiB {}",
                    l.bytes >> 20,
                    l.source
                ))
            ))
        })?[0];
        tracing::debug!(start = r.start, cut, end = r.end, "segment halved");
        todo.push(cut..r.end);
        todo.push(r.start..cut);
    }
    done.sort_by_key(|p| p.segment.nodes.start);
    Ok(done)
}
