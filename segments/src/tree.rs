//! The shape of an aggregation tree: which aggregation node verifies which segment proofs or
//! node proofs. A flat aggregation is the tree of one node (the root) over every segment; with
//! more segments than the arity, consecutive proofs are grouped into inner nodes level by level,
//! so that every node (the root included) verifies at most `arity` proofs and its circuit, keys
//! and on-chain verifier stay the same size whatever the number of segments.

use serde::{Deserialize, Serialize};

/// What a node verifies at one of its positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Child {
    /// The proof of segment `i`.
    Segment(usize),
    /// The proof of inner node `j` (an index into the plan).
    Node(usize),
}

/// One aggregation node: the segments `span[0]..span[1]` it covers, through its children (in
/// segment order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    /// The first segment covered and one past the last.
    pub span: [usize; 2],
    /// Its children, in segment order: at least two, or one for a wrapped segment
    /// ([`wrap_segments`]).
    pub children: Vec<Child>,
}

/// The nodes of the aggregation tree over `segments` segments with at most `arity` children per
/// node, children before parents, the root last. Each level groups consecutive proofs by
/// `arity`; a lone proof left at the end of a level moves up unchanged (no node of one child).
/// With `segments <= arity` it is one node (the flat aggregation). `None` when there is nothing
/// to aggregate (fewer than 2 segments) or `arity < 2`.
pub fn tree_plan(segments: usize, arity: usize) -> Option<Vec<NodePlan>> {
    if segments < 2 || arity < 2 {
        return None;
    }
    let mut nodes: Vec<NodePlan> = Vec::new();
    // The proofs of the current level, with the segments each covers.
    let mut level: Vec<(Child, [usize; 2])> = (0..segments)
        .map(|i| (Child::Segment(i), [i, i + 1]))
        .collect();
    loop {
        if level.len() <= arity {
            nodes.push(node_of(&level));
            return Some(nodes);
        }
        let mut up = Vec::with_capacity(level.len().div_ceil(arity));
        for group in level.chunks(arity) {
            if let [lone] = group {
                up.push(*lone);
            } else {
                let node = node_of(group);
                let span = node.span;
                nodes.push(node);
                up.push((Child::Node(nodes.len() - 1), span));
            }
        }
        level = up;
    }
}

/// The one node of a flat aggregation: the root over every segment.
pub fn flat_plan(segments: usize) -> NodePlan {
    NodePlan {
        span: [0, segments],
        children: (0..segments).map(Child::Segment).collect(),
    }
}

/// Puts each of `segments` (in increasing order, each a child of a node that also has a node
/// child) under a node of its own, inserted just before its parent, so that the parent verifies
/// that node's proof instead. A segment left over at the end of a level moves up unchanged, so a
/// parent may verify a wide segment beside nodes: the segment costs the parent's circuit more
/// than a node does, and the root's width sets the on-chain verifier's gas and size. `false`
/// (and `plan` unchanged) when `segments` is not such a list.
pub fn wrap_segments(plan: &mut Vec<NodePlan>, segments: &[usize]) -> bool {
    let increasing = segments.windows(2).all(|w| w[0] < w[1]);
    let beside_a_node = |i: usize| {
        plan.iter().any(|node| {
            node.children.contains(&Child::Segment(i))
                && node.children.iter().any(|c| matches!(c, Child::Node(_)))
        })
    };
    if !increasing || !segments.iter().all(|&i| beside_a_node(i)) {
        return false;
    }
    let mut wrapped = Vec::with_capacity(plan.len() + segments.len());
    // Where each node of `plan` lands.
    let mut moved = Vec::with_capacity(plan.len());
    for node in plan.iter() {
        let mut node = node.clone();
        for child in node.children.iter_mut() {
            match *child {
                Child::Node(m) => *child = Child::Node(moved[m]),
                Child::Segment(i) if segments.contains(&i) => {
                    wrapped.push(NodePlan {
                        span: [i, i + 1],
                        children: vec![Child::Segment(i)],
                    });
                    *child = Child::Node(wrapped.len() - 1);
                }
                Child::Segment(_) => {}
            }
        }
        wrapped.push(node);
        moved.push(wrapped.len() - 1);
    }
    *plan = wrapped;
    true
}

/// What [`make_nodes`] asks of whoever makes the nodes' keys.
pub trait NodeMaker {
    /// Why making a node failed.
    type Error;
    /// What verifying `child`'s proof costs its parent's circuit (a node child's keys are made).
    fn size(&self, child: &Child) -> usize;
    /// The segment children of `node` that cost it more to verify than its costliest node child;
    /// none when it has no node child.
    fn wide_segments(&self, node: &NodePlan) -> Vec<usize> {
        let widest = node
            .children
            .iter()
            .filter(|c| matches!(c, Child::Node(_)))
            .map(|c| self.size(c))
            .max();
        node.children
            .iter()
            .filter_map(|c| match *c {
                Child::Segment(i) if widest.is_some_and(|w| self.size(c) > w) => Some(i),
                _ => None,
            })
            .collect()
    }
    /// The advice columns of `node`'s circuit (its children's keys made), laid out without keys.
    fn columns(&self, node: &NodePlan) -> Result<usize, Self::Error>;
    /// Makes the keys of inner node `j` of `of`: every node before `j` is made, none after.
    fn make(&mut self, j: usize, of: usize, node: &NodePlan) -> Result<(), Self::Error>;
    /// Forgets the nodes made from `j` on (a trial that was not kept).
    fn unmake(&mut self, j: usize) -> Result<(), Self::Error>;
}

/// Makes the inner nodes of `plan` in order (children before parents), and returns the segments
/// it wrapped. Before making a node (the root included) that verifies segments costlier than its
/// node children and lays out wider than `wide_above` advice columns, it makes a node of one
/// child over each of them ([`wrap_segments`]) and lays the node out again: the wrap is kept
/// (`plan` changes) when the node gets narrower, else those nodes are unmade. The root's width
/// sets the on-chain verifier's gas and size, an inner node's what its parent pays to verify it.
pub fn make_nodes<M: NodeMaker>(
    plan: &mut Vec<NodePlan>,
    maker: &mut M,
    wide_above: usize,
) -> Result<Vec<usize>, M::Error> {
    let mut wrapped = Vec::new();
    let mut j = 0;
    while j < plan.len() {
        let wide = maker.wide_segments(&plan[j]);
        if !wide.is_empty() {
            let before = maker.columns(&plan[j])?;
            let mut trial = plan.clone();
            if before > wide_above && !wrap_segments(&mut trial, &wide) {
                // A maker's mistake (not segments beside a node): left as they are, said aloud.
                tracing::warn!(segments = ?wide, "aggregation node {j}: these segments cannot be wrapped");
            } else if before > wide_above {
                // The new nodes land at j.., node j after them.
                for w in 0..wide.len() {
                    maker.make(j + w, trial.len() - 1, &trial[j + w])?;
                }
                let after = maker.columns(&trial[j + wide.len()])?;
                tracing::info!(
                    segments = ?wide,
                    before,
                    after,
                    "aggregation node {j} over nodes and wide segments: {before} advice columns, \
                     {after} with those segments under nodes of their own ({})",
                    if after < before { "kept" } else { "not kept" }
                );
                if after < before {
                    *plan = trial;
                    wrapped.extend_from_slice(&wide);
                    j += wide.len();
                } else {
                    maker.unmake(j)?;
                }
            }
        }
        if j + 1 < plan.len() {
            maker.make(j, plan.len() - 1, &plan[j])?;
        }
        j += 1;
    }
    wrapped.sort_unstable();
    Ok(wrapped)
}

fn node_of(group: &[(Child, [usize; 2])]) -> NodePlan {
    NodePlan {
        span: [group[0].1[0], group[group.len() - 1].1[1]],
        children: group.iter().map(|(c, _)| *c).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks what every plan must be: contiguous spans covering the children's, at least two
    /// children and at most `arity`, children before parents, each proof used exactly once, the
    /// root last over every segment.
    fn check(n: usize, arity: usize) -> Vec<NodePlan> {
        let nodes = tree_plan(n, arity).unwrap();
        check_plan(&nodes, n, arity, false);
        nodes
    }

    fn check_plan(nodes: &[NodePlan], n: usize, arity: usize, wrapped: bool) {
        let mut used_segments = vec![0; n];
        let mut used_nodes = vec![0; nodes.len()];
        for (j, node) in nodes.iter().enumerate() {
            let least = if wrapped { 1 } else { 2 };
            assert!(
                (least..=arity).contains(&node.children.len()),
                "{n}/{arity}: {node:?}"
            );
            let mut at = node.span[0];
            for child in &node.children {
                let span = match *child {
                    Child::Segment(i) => {
                        used_segments[i] += 1;
                        [i, i + 1]
                    }
                    Child::Node(m) => {
                        assert!(m < j, "node {m} is used before it is made");
                        used_nodes[m] += 1;
                        nodes[m].span
                    }
                };
                assert_eq!(span[0], at, "{n}/{arity}: node {j} is not contiguous");
                at = span[1];
            }
            assert_eq!(at, node.span[1]);
        }
        assert_eq!(nodes.last().unwrap().span, [0, n]);
        assert!(used_segments.iter().all(|&u| u == 1));
        let (root, inner) = used_nodes.split_last().unwrap();
        assert_eq!(*root, 0);
        assert!(inner.iter().all(|&u| u == 1));
    }

    #[test]
    fn plans_cover_every_segment_once_in_order() {
        for arity in 2..=5 {
            for n in 2..=40 {
                let nodes = check(n, arity);
                // The depth is the fewest levels of `arity` children that reach n leaves.
                let depth = |j: usize| -> usize {
                    fn go(nodes: &[NodePlan], j: usize) -> usize {
                        1 + nodes[j]
                            .children
                            .iter()
                            .map(|c| match *c {
                                Child::Node(m) => go(nodes, m),
                                Child::Segment(_) => 0,
                            })
                            .max()
                            .unwrap_or(0)
                    }
                    go(&nodes, j)
                };
                let mut levels = 1;
                while arity.pow(levels) < n {
                    levels += 1;
                }
                assert_eq!(depth(nodes.len() - 1), levels as usize, "{n}/{arity}");
            }
        }
    }

    #[test]
    fn small_counts_stay_flat_and_five_pairs_up() {
        assert_eq!(tree_plan(1, 2), None);
        assert_eq!(tree_plan(4, 1), None);
        let flat = tree_plan(3, 4).unwrap();
        assert_eq!(flat.len(), 1);
        assert_eq!(
            flat[0].children,
            vec![Child::Segment(0), Child::Segment(1), Child::Segment(2)]
        );
        use Child::{Node as N, Segment as S};
        let five = tree_plan(5, 2).unwrap();
        let children: Vec<_> = five.iter().map(|n| n.children.clone()).collect();
        assert_eq!(
            children,
            vec![
                vec![S(0), S(1)],
                vec![S(2), S(3)],
                vec![N(0), N(1)],
                vec![N(2), S(4)],
            ]
        );
        assert_eq!(tree_plan(3, 2).unwrap().len(), 2);
    }

    /// The segments beside a node in `plan` (what setup may wrap).
    fn beside_nodes(plan: &[NodePlan]) -> Vec<usize> {
        let mut lone: Vec<usize> = plan
            .iter()
            .filter(|n| n.children.iter().any(|c| matches!(c, Child::Node(_))))
            .flat_map(|n| n.children.iter())
            .filter_map(|c| match *c {
                Child::Segment(i) => Some(i),
                Child::Node(_) => None,
            })
            .collect();
        lone.sort();
        lone
    }

    #[test]
    fn wrapping_puts_segments_beside_nodes_under_nodes_of_their_own() {
        use Child::{Node as N, Segment as S};
        let mut five = tree_plan(5, 2).unwrap();
        // Segment 2 is not beside a node, a flat plan's segments never are, duplicates and
        // disorder are refused: nothing changed.
        for bad in [&[2][..], &[4, 4], &[7]] {
            assert!(!wrap_segments(&mut five, bad), "{bad:?}");
        }
        assert_eq!(five, tree_plan(5, 2).unwrap());
        let mut flat = tree_plan(3, 4).unwrap();
        assert!(!wrap_segments(&mut flat, &[2]));
        assert!(wrap_segments(&mut five, &[4]));
        check_plan(&five, 5, 2, true);
        let children: Vec<_> = five.iter().map(|n| n.children.clone()).collect();
        assert_eq!(
            children,
            vec![
                vec![S(0), S(1)],
                vec![S(2), S(3)],
                vec![N(0), N(1)],
                vec![S(4)],
                vec![N(2), N(3)],
            ]
        );
        assert_eq!(five[3].span, [4, 5]);
        // Seven at arity 2: segment 6 sits beside a node below the root, and is wrapped there.
        let mut seven = tree_plan(7, 2).unwrap();
        assert_eq!(beside_nodes(&seven), vec![6]);
        assert!(wrap_segments(&mut seven, &[6]));
        check_plan(&seven, 7, 2, true);
        assert!(beside_nodes(&seven).is_empty());
        for arity in 2..=5 {
            for n in 2..=40 {
                let plan = tree_plan(n, arity).unwrap();
                let lone = beside_nodes(&plan);
                // All at once, or one at a time (as setup decides, bottom-up): the same plan.
                let mut all = plan.clone();
                assert!(wrap_segments(&mut all, &lone), "{n}/{arity}");
                check_plan(&all, n, arity, true);
                assert_eq!(all.len(), plan.len() + lone.len());
                let mut one_by_one = plan.clone();
                for i in &lone {
                    assert!(wrap_segments(&mut one_by_one, &[*i]));
                }
                assert_eq!(one_by_one, all, "{n}/{arity}");
                // A node of one child is a wrapped segment, nothing else.
                assert!(all.iter().all(|node| node.children.len() > 1
                    || matches!(node.children[..], [S(i)] if lone.contains(&i))));
            }
        }
    }

    /// A fake maker: a segment's width is given, a node's is the sum of its children's widths
    /// (a one-child node's is 1), and a node's "keys" are its plan, so that the made list can be
    /// compared with the final plan.
    struct Fake {
        segments: Vec<usize>,
        made: Vec<(NodePlan, usize)>,
        unmade: usize,
    }

    impl NodeMaker for Fake {
        type Error = String;
        fn size(&self, child: &Child) -> usize {
            match *child {
                Child::Segment(i) => self.segments[i],
                Child::Node(m) => self.made[m].1,
            }
        }
        fn columns(&self, node: &NodePlan) -> Result<usize, String> {
            Ok(node.children.iter().map(|c| self.size(c)).sum())
        }
        fn make(&mut self, j: usize, of: usize, node: &NodePlan) -> Result<(), String> {
            assert_eq!(j, self.made.len(), "nodes are made in order");
            assert!(j < of);
            let width = if node.children.len() == 1 {
                1
            } else {
                self.columns(node)?.min(5)
            };
            self.made.push((node.clone(), width));
            Ok(())
        }
        fn unmake(&mut self, j: usize) -> Result<(), String> {
            self.made.truncate(j);
            self.unmade += 1;
            Ok(())
        }
    }

    fn made(n: usize, widths: &[usize], arity: usize) -> (Vec<NodePlan>, Vec<usize>, Fake) {
        let mut plan = tree_plan(n, arity).unwrap();
        let mut fake = Fake {
            segments: widths.to_vec(),
            made: Vec::new(),
            unmade: 0,
        };
        let wrapped = make_nodes(&mut plan, &mut fake, 4).unwrap();
        // Every inner node of the final plan was made, in its place, and nothing else.
        let (_, inner) = plan.split_last().unwrap();
        let made: Vec<_> = fake.made.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(made, inner.to_vec(), "{n} segments {widths:?}");
        check_plan(&plan, n, arity, !wrapped.is_empty());
        (plan, wrapped, fake)
    }

    #[test]
    fn make_nodes_wraps_a_wide_segment_beside_nodes_when_its_parent_is_wide() {
        use Child::{Node as N, Segment as S};
        // Five wide segments: the root (node of 5, segment of 9) wraps segment 4 (1 + 5 < 14).
        let (plan, wrapped, fake) = made(5, &[9; 5], 2);
        assert_eq!(wrapped, vec![4]);
        assert_eq!(plan.last().unwrap().children, vec![N(2), N(3)]);
        assert_eq!(plan[3].children, vec![S(4)]);
        assert_eq!(fake.unmade, 0);
        // Narrow segments: nothing is wider than a node, nothing is tried.
        let (plan, wrapped, fake) = made(5, &[1; 5], 2);
        assert!(wrapped.is_empty());
        assert_eq!(plan, tree_plan(5, 2).unwrap());
        assert_eq!(fake.unmade, 0);
        // A segment wider than the node beside it, but a root still narrow (1 + 3 <= 4): not
        // tried either.
        let (_, wrapped, fake) = made(3, &[1, 0, 3], 2);
        assert!(wrapped.is_empty() && fake.unmade == 0);
        // Seven: segment 6 sits beside node 2 below the root, and is wrapped there.
        let (plan, wrapped, _) = made(7, &[9; 7], 2);
        assert_eq!(wrapped, vec![6]);
        assert!(beside_nodes(&plan).is_empty());
        assert_eq!(plan.len(), tree_plan(7, 2).unwrap().len() + 1);
    }

    #[test]
    fn make_nodes_unmakes_a_wrap_that_does_not_help() {
        /// Like [`Fake`], but a one-child node is as wide as its segment: no wrap helps.
        struct NoGain(Fake);
        impl NodeMaker for NoGain {
            type Error = String;
            fn size(&self, child: &Child) -> usize {
                self.0.size(child)
            }
            fn columns(&self, node: &NodePlan) -> Result<usize, String> {
                self.0.columns(node)
            }
            fn make(&mut self, j: usize, of: usize, node: &NodePlan) -> Result<(), String> {
                self.0.make(j, of, node)?;
                if node.children.len() == 1 {
                    self.0.made[j].1 = 9;
                }
                Ok(())
            }
            fn unmake(&mut self, j: usize) -> Result<(), String> {
                self.0.unmake(j)
            }
        }
        // At the root (5 segments), and below it (7: node 4 over node 2 and segment 6, which
        // must then be made in its own place, after the trial node is gone).
        for n in [5, 7] {
            let mut plan = tree_plan(n, 2).unwrap();
            let mut maker = NoGain(Fake {
                segments: vec![9; n],
                made: Vec::new(),
                unmade: 0,
            });
            let wrapped = make_nodes(&mut plan, &mut maker, 4).unwrap();
            assert!(wrapped.is_empty());
            assert_eq!(plan, tree_plan(n, 2).unwrap(), "the plan is unchanged");
            assert_eq!(maker.0.unmade, 1);
            let made: Vec<_> = maker.0.made.iter().map(|(p, _)| p.clone()).collect();
            assert_eq!(
                made,
                plan[..plan.len() - 1].to_vec(),
                "the trial node is gone"
            );
        }
    }
}
