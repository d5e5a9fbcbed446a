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
    /// Its children, in segment order: at least two.
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
        let mut used_segments = vec![0; n];
        let mut used_nodes = vec![0; nodes.len()];
        for (j, node) in nodes.iter().enumerate() {
            assert!(
                (2..=arity).contains(&node.children.len()),
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
        nodes
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
}
