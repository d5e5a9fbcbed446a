//! Tree ensembles (ai.onnx.ml TreeEnsembleRegressor and TreeEnsembleClassifier): every branch
//! node's comparison is made once, each leaf is reached exactly when its path's comparisons
//! all go its way, and the output sums the reached leaves' weights.
//!
//! Layout, for `N` rows, `B` branch nodes and `L` leaves over all trees:
//! 1. the compared feature of every branch, gathered (`[N, B]`), compared with its threshold
//!    (one `Compare` node per comparison kind; `x < t` is `not (x ≥ t)`, so only `≤`, `≥` and `=`
//!    are made, and the rest swap the branch's true and false children);
//! 2. per leaf, the number of its path's decisions that went its way (a `Linear` sum of the
//!    decision bits, `1 - bit` for a false edge) equals the path length (`Compare`, equality):
//!    exactly one leaf per tree is reached;
//! 3. the outputs: a `Dense` product of the reached-leaf bits with the leaf weights, plus
//!    `base_values`.
//!
//! Thresholds are fixed point like the features, so a feature within one quantization step of a
//! threshold may take the other branch than in float.

use std::collections::HashMap;

use super::classifier::{class_labels, SecondClass};
use crate::model::{Comparison, Op, TensorId};
use crate::onnx::{Constant, Ctx, Importer, Value};
use crate::ops;
use crate::Result;

/// Most nodes (branches and leaves over all trees) one ensemble may have.
const MAX_NODES: usize = 1 << 16;

/// Most outputs (targets or classes) and most path steps over all leaves.
const MAX_OUTPUTS: usize = 1 << 12;
const MAX_PATH_STEPS: usize = 1 << 22;

/// A branch comparison, with `x` the feature and `t` the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Test {
    /// `x ≤ t`.
    AtMost,
    /// `x ≥ t`.
    AtLeast,
    /// `x = t`.
    Equal,
}

/// One branch node: the feature it reads, its threshold and comparison.
struct Branch {
    feature: usize,
    threshold: f64,
    test: Test,
}

/// A leaf: its path (branch, whether the test held) and its weights `(output, weight)`.
type Leaf = (Vec<(usize, bool)>, Vec<(usize, f64)>);

/// An ensemble flattened: its branches and leaves.
struct Ensemble {
    branches: Vec<Branch>,
    leaves: Vec<Leaf>,
    trees: usize,
}

impl Ensemble {
    /// Reads the `nodes_*` attributes and the leaf weights (`prefix`: `target` or `class`).
    fn read(ctx: &Ctx, prefix: &str, features: usize, outputs: usize) -> Result<Ensemble> {
        if let Some(a) = ctx
            .proto
            .attribute
            .iter()
            .find(|a| a.name.ends_with("_as_tensor"))
        {
            return Err(ctx.invalid(format!(
                "attribute {} (give it as a float list, as skl2onnx does)",
                a.name
            )));
        }
        if outputs == 0 || outputs > MAX_OUTPUTS {
            return Err(ctx.invalid(format!("{outputs} outputs (1 to {MAX_OUTPUTS})")));
        }
        let ints = |name: &str| ctx.attr_ints(name).unwrap_or_default();
        let (tree_ids, node_ids) = (ints("nodes_treeids"), ints("nodes_nodeids"));
        let (feature_ids, modes) = (ints("nodes_featureids"), ctx.attr_strings("nodes_modes"));
        let (true_ids, false_ids) = (ints("nodes_truenodeids"), ints("nodes_falsenodeids"));
        let values = ctx.attr_floats("nodes_values");
        let n = tree_ids.len();
        if n == 0 || n > MAX_NODES {
            return Err(ctx.invalid(format!("{n} tree nodes (1 to {MAX_NODES})")));
        }
        if [&node_ids, &feature_ids, &true_ids, &false_ids]
            .iter()
            .any(|v| v.len() != n)
            || modes.len() != n
            || values.len() != n
        {
            return Err(ctx.invalid("the nodes_* attributes differ in length"));
        }
        let at: HashMap<(i64, i64), usize> =
            (0..n).map(|i| ((tree_ids[i], node_ids[i]), i)).collect();
        if at.len() != n {
            return Err(ctx.invalid("a (tree, node) id appears twice"));
        }
        // Weights per leaf node.
        let (w_trees, w_nodes) = (
            ints(&format!("{prefix}_treeids")),
            ints(&format!("{prefix}_nodeids")),
        );
        let w_ids = ints(&format!("{prefix}_ids"));
        let weights = ctx.attr_floats(&format!("{prefix}_weights"));
        if [w_nodes.len(), w_ids.len(), weights.len()]
            .iter()
            .any(|l| *l != w_trees.len())
        {
            return Err(ctx.invalid(format!("the {prefix}_* attributes differ in length")));
        }
        let mut leaf_weights: HashMap<usize, Vec<(usize, f64)>> = HashMap::new();
        for j in 0..w_trees.len() {
            let node = at.get(&(w_trees[j], w_nodes[j])).copied();
            let output = usize::try_from(w_ids[j]).ok().filter(|o| *o < outputs);
            match (node, output) {
                (Some(node), Some(output)) => leaf_weights
                    .entry(node)
                    .or_default()
                    .push((output, weights[j])),
                _ => {
                    return Err(ctx.invalid(format!("{prefix} weight #{j} names no leaf or output")))
                }
            }
        }
        // Branch nodes, numbered in node order.
        let mut branch_of = vec![None; n];
        let mut branches = Vec::new();
        for i in 0..n {
            let (test, swap) = match modes[i].as_str() {
                "LEAF" => continue,
                "BRANCH_LEQ" => (Test::AtMost, false),
                "BRANCH_GT" => (Test::AtMost, true),
                "BRANCH_GTE" => (Test::AtLeast, false),
                "BRANCH_LT" => (Test::AtLeast, true),
                "BRANCH_EQ" => (Test::Equal, false),
                "BRANCH_NEQ" => (Test::Equal, true),
                other => return Err(ctx.invalid(format!("node mode {other} (BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT, BRANCH_EQ, BRANCH_NEQ or LEAF)"))),
            };
            let feature = usize::try_from(feature_ids[i])
                .ok()
                .filter(|f| *f < features);
            let feature = feature
                .ok_or_else(|| ctx.invalid(format!("feature {} of {features}", feature_ids[i])))?;
            branch_of[i] = Some((branches.len(), swap));
            branches.push(Branch {
                feature,
                threshold: values[i],
                test,
            });
        }
        // Each tree from its root (the node no other node points to), depth first.
        let child = |i: usize, id: i64| {
            at.get(&(tree_ids[i], id))
                .copied()
                .ok_or_else(|| ctx.invalid(format!("tree {} has no node {id}", tree_ids[i])))
        };
        let mut pointed = vec![false; n];
        for i in 0..n {
            if branch_of[i].is_some() {
                pointed[child(i, true_ids[i])?] = true;
                pointed[child(i, false_ids[i])?] = true;
            }
        }
        let roots: Vec<usize> = (0..n).filter(|i| !pointed[*i]).collect();
        let trees: std::collections::HashSet<i64> = tree_ids.iter().copied().collect();
        let rooted: std::collections::HashSet<i64> = roots.iter().map(|r| tree_ids[*r]).collect();
        if roots.len() != trees.len() || rooted.len() != trees.len() {
            return Err(ctx.invalid("each tree must have exactly one root"));
        }
        // Depth first from the roots: every node reached exactly once (no cycle, no shared node,
        // none unreachable).
        let mut leaves = Vec::new();
        let mut visited = vec![false; n];
        let mut steps = 0usize;
        let mut stack: Vec<(usize, Vec<(usize, bool)>)> =
            roots.into_iter().map(|r| (r, vec![])).collect();
        while let Some((i, path)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                return Err(ctx.invalid("the trees have a cycle or a shared node"));
            }
            steps += path.len();
            if steps > MAX_PATH_STEPS {
                return Err(ctx.invalid(format!(
                    "the leaves' paths exceed {MAX_PATH_STEPS} steps in all"
                )));
            }
            match branch_of[i] {
                None => leaves.push((path, leaf_weights.remove(&i).unwrap_or_default())),
                Some((b, swap)) => {
                    for (held, id) in [(true, true_ids[i]), (false, false_ids[i])] {
                        let mut p = path.clone();
                        p.push((b, held != swap));
                        stack.push((child(i, id)?, p));
                    }
                }
            }
        }
        if visited.contains(&false) {
            return Err(ctx.invalid("a tree node is not reachable from its tree's root"));
        }
        if !leaf_weights.is_empty() {
            return Err(ctx.invalid("a weight names a branch node"));
        }
        if branches.is_empty() {
            return Err(ctx.invalid("the ensemble has no branch node (its output is a constant)"));
        }
        Ok(Ensemble {
            branches,
            leaves,
            trees: trees.len(),
        })
    }
}

impl Importer {
    /// TreeEnsembleRegressor: `n_targets` outputs per row.
    pub(in crate::onnx) fn tree_regressor(&mut self, ctx: &Ctx) -> Result<Value> {
        let targets = usize::try_from(ctx.attr_i("n_targets", 1)).unwrap_or(0);
        let post = ctx.attr_s("post_transform").unwrap_or_default();
        if !(post.is_empty() || post == "NONE") {
            return Err(ctx.invalid(format!("post_transform {post} (a regressor takes NONE)")));
        }
        let scores = self.ensemble_scores(ctx, "target", targets)?;
        Ok(Value::Tensor(scores))
    }

    /// TreeEnsembleClassifier: the label and the class scores (the node's two outputs).
    pub(in crate::onnx) fn tree_classifier(&mut self, ctx: &Ctx) -> Result<Vec<Value>> {
        let labels = class_labels(ctx, "classlabels_int64s")?;
        let class_ids = ctx.attr_ints("class_ids").unwrap_or_default();
        // Two labels and weights for class 0 only: one score per row (ONNX Runtime's binary case).
        let binary = labels.len() == 2 && class_ids.iter().all(|c| *c == 0);
        if labels.len() == 2 && !binary {
            // ONNX Runtime decides two-class ensembles with weights for class 1 by rules of its
            // own (the sign of one score, the labels' order ignored), not by the larger score.
            return Err(ctx.invalid(
                "a two-class ensemble with weights for class 1 (the one-score form, weights for \
                 class 0 only, is supported: skl2onnx writes it)",
            ));
        }
        let columns = if binary { 1 } else { labels.len() };
        let scores = self.ensemble_scores(ctx, "class", columns)?;
        let second = if binary {
            let post = ctx.attr_s("post_transform").unwrap_or_default();
            let positive = ctx.attr_floats("class_weights").iter().all(|w| *w >= 0.0);
            match (post.as_str(), positive) {
                ("" | "NONE", true) => Some(SecondClass::Complement),
                ("" | "NONE", false) => Some(SecondClass::Negated),
                ("LOGISTIC", false) => Some(SecondClass::Negated),
                (other, true) => {
                    return Err(ctx.invalid(format!(
                        "a binary ensemble with post_transform {other} and positive weights"
                    )))
                }
                (other, false) => {
                    return Err(ctx.invalid(format!(
                        "a binary ensemble with post_transform {other} (NONE or LOGISTIC)"
                    )))
                }
            }
        } else {
            None
        };
        self.classifier_outputs(ctx, scores, &labels, second)
    }

    /// The ensemble's summed leaf weights plus `base_values`: `[rows, outputs]`.
    fn ensemble_scores(&mut self, ctx: &Ctx, prefix: &str, outputs: usize) -> Result<TensorId> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        let features = *xs.last().unwrap_or(&0);
        let rows: usize = xs.iter().product::<usize>() / features.max(1);
        let ens = Ensemble::read(ctx, prefix, features, outputs)?;
        let (b, l) = (ens.branches.len(), ens.leaves.len());
        crate::onnx::shape::check_size(ctx, &[rows, b.max(l).max(outputs)])?;
        crate::onnx::shape::check_size(ctx, &[outputs, l])?;
        let average = match ctx.attr_s("aggregate_function").as_deref() {
            None | Some("SUM") => false,
            Some("AVERAGE") => true,
            Some(other) => {
                return Err(ctx.invalid(format!("aggregate_function {other} (SUM or AVERAGE)")))
            }
        };
        let base = ctx.attr_floats("base_values");
        let base = match base.len() {
            0 => vec![0.0; outputs],
            l if l == outputs => base,
            l => return Err(ctx.invalid(format!("{l} base_values for {outputs} outputs"))),
        };
        let decisions = self.branch_decisions(ctx, x, rows, features, &ens.branches)?;
        let reached = self.reached_leaves(ctx, decisions, rows, &ens);
        let scale = if average { 1.0 / ens.trees as f64 } else { 1.0 };
        let mut weights = vec![0.0; outputs * l];
        for (leaf, (_, ws)) in ens.leaves.iter().enumerate() {
            for (o, w) in ws {
                weights[o * l + leaf] += w * scale;
            }
        }
        Ok(self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Dense(ops::linear::Dense {
                weights,
                bias: base,
                in_features: l,
                out_features: outputs,
            }),
            vec![reached],
            vec![rows, outputs],
        ))
    }

    /// `[rows, B]` bits: 1 where branch `b`'s test holds for the row.
    fn branch_decisions(
        &mut self,
        ctx: &Ctx,
        x: TensorId,
        rows: usize,
        features: usize,
        branches: &[Branch],
    ) -> Result<TensorId> {
        let b = branches.len();
        let mut parts: Vec<Value> = Vec::new();
        let mut at = vec![(0, 0); b]; // (part, column in it) of each branch
        for test in [Test::AtMost, Test::AtLeast, Test::Equal] {
            let of: Vec<usize> = (0..b).filter(|i| branches[*i].test == test).collect();
            if of.is_empty() {
                continue;
            }
            let k = of.len();
            let picked = self.push(
                &ctx.name,
                &ctx.proto.op_type,
                Op::Gather(ops::wiring::Gather {
                    sources: (0..rows * k)
                        .map(|f| Some((0, (f / k) * features + branches[of[f % k]].feature)))
                        .collect(),
                }),
                vec![x],
                vec![rows, k],
            );
            let thresholds = (0..rows * k)
                .map(|f| branches[of[f % k]].threshold)
                .collect();
            let t = self.constant_tensor(ctx, &Constant::float(vec![rows, k], thresholds), picked);
            let (kind, inputs) = match test {
                Test::AtMost => (Comparison::GreaterOrEqual, vec![t, picked]),
                Test::AtLeast => (Comparison::GreaterOrEqual, vec![picked, t]),
                Test::Equal => (Comparison::Equal, vec![picked, t]),
            };
            let bits = self.push(
                &ctx.name,
                &ctx.proto.op_type,
                Op::Compare(ops::compare::Compare { kind }),
                inputs,
                vec![rows, k],
            );
            for (col, i) in of.iter().enumerate() {
                at[*i] = (parts.len(), col);
            }
            parts.push(Value::Tensor(bits));
        }
        let widths: Vec<usize> = (0..parts.len())
            .map(|p| at.iter().filter(|(q, _)| *q == p).count())
            .collect();
        let sources = (0..rows * b)
            .map(|f| {
                let (p, col) = at[f % b];
                Some((p, (f / b) * widths[p] + col))
            })
            .collect();
        match self.wire(ctx, &parts, vec![rows, b], sources)? {
            Value::Tensor(t) => Ok(t),
            Value::Constant(_) => unreachable!("decisions are computed"),
        }
    }

    /// `[rows, L]` bits: 1 where the row reaches leaf `l` (every decision on its path went its
    /// way).
    fn reached_leaves(
        &mut self,
        ctx: &Ctx,
        decisions: TensorId,
        rows: usize,
        ens: &Ensemble,
    ) -> TensorId {
        let (b, l) = (ens.branches.len(), ens.leaves.len());
        let mut terms = Vec::with_capacity(rows * l);
        let mut bias = Vec::with_capacity(rows * l);
        let mut depth = Vec::with_capacity(rows * l);
        for r in 0..rows {
            for (path, _) in &ens.leaves {
                terms.push(
                    path.iter()
                        .map(|(br, held)| (r * b + br, if *held { 1.0 } else { -1.0 }))
                        .collect(),
                );
                bias.push(path.iter().filter(|(_, held)| !held).count() as f64);
                depth.push(path.len() as f64);
            }
        }
        let agreed = self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Linear(ops::linear::Linear { terms, bias }),
            vec![decisions],
            vec![rows, l],
        );
        let depth = self.constant_tensor(ctx, &Constant::float(vec![rows, l], depth), agreed);
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Compare(ops::compare::Compare {
                kind: Comparison::Equal,
            }),
            vec![agreed, depth],
            vec![rows, l],
        )
    }
}
