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
}
