//! Shape and index arithmetic shared by the importers: row-major (un)raveling, numpy
//! broadcasting, axis resolution, reduction groups and the tensor size limit. No ONNX op is
//! imported here: the wiring ops are in `wiring` and `slicing`.

use super::{Constant, Ctx};
use crate::Result;

/// Row-major strides of `shape`.
pub(super) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The multi-index of flat position `flat` in `shape`.
pub(super) fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        idx[i] = flat % shape[i].max(1);
        flat /= shape[i].max(1);
    }
    idx
}

/// Flat position of a multi-index.
pub(super) fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

/// `shape` with `axes` reduced to 1, and per element of that shape the input elements it gathers.
pub(super) fn reduce_groups(shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let reduced: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(i, d)| if axes.contains(&i) { 1 } else { *d })
        .collect();
    let mut groups = vec![Vec::new(); reduced.iter().product()];
    for flat in 0..shape.iter().product() {
        let mut idx = unravel(flat, shape);
        for a in axes {
            idx[*a] = 0;
        }
        groups[ravel(&idx, &reduced)].push(flat);
    }
    (reduced, groups)
}

/// `shape` without `axes` (reductions with `keepdims = 0`, Squeeze).
pub(super) fn without_axes(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, d)| *d)
        .collect()
}

/// Most elements a tensor may have (2^22): each costs at least one advice cell, so a larger
/// tensor needs a circuit of more than 2^22 rows, beyond what a prover machine holds in memory.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 22;

/// The number of elements of `shape`, when it is at most [`MAX_TENSOR_ELEMENTS`].
pub(super) fn elements_within_limit(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d))
        .filter(|n| *n <= MAX_TENSOR_ELEMENTS)
}

/// Fails, naming the node, when a tensor of `shape` would exceed [`MAX_TENSOR_ELEMENTS`].
pub(crate) fn check_size(ctx: &Ctx, shape: &[usize]) -> Result<()> {
    match elements_within_limit(shape) {
        Some(_) => Ok(()),
        None => Err(ctx.invalid(format!(
            "output shape {shape:?} has more than {MAX_TENSOR_ELEMENTS} elements"
        ))),
    }
}

/// Numpy broadcast of two shapes (`None` when they do not broadcast, or the result would
/// exceed [`MAX_TENSOR_ELEMENTS`]).
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() < n {
            1
        } else {
            s[i + s.len() - n]
        }
    };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect::<Option<Vec<usize>>>()
        .filter(|s| elements_within_limit(s).is_some())
}

/// Source index in a tensor of `from` shape for every element of the broadcast `to` shape.
pub(super) fn broadcast_index(from: &[usize], to: &[usize]) -> Option<Vec<usize>> {
    if broadcast_shapes(from, to)? != to {
        return None;
    }
    let offset = to.len() - from.len();
    Some(
        (0..to.iter().product())
            .map(|flat| {
                let idx = unravel(flat, to);
                let src: Vec<usize> = (0..from.len())
                    .map(|i| if from[i] == 1 { 0 } else { idx[i + offset] })
                    .collect();
                ravel(&src, from)
            })
            .collect(),
    )
}

/// Numpy-style broadcast of a constant to `shape`, flattened row-major.
pub(crate) fn broadcast(c: &Constant, shape: &[usize]) -> Option<Vec<f64>> {
    Some(
        broadcast_index(&c.shape, shape)?
            .into_iter()
            .map(|i| c.data[i])
            .collect(),
    )
}

/// Resolves a possibly negative axis against a rank.
pub(super) fn axis(ctx: &Ctx, a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(ctx.invalid(format!("axis {a} out of range for rank {rank}")));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let c = Constant::float(vec![3], vec![1.0, 2.0, 3.0]);
        assert_eq!(
            broadcast(&c, &[2, 3]).unwrap(),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
        );
        let col = Constant::float(vec![2, 1], vec![1.0, 2.0]);
        assert_eq!(
            broadcast(&col, &[2, 3]).unwrap(),
            vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        );
        assert!(broadcast(&c, &[2, 2]).is_none());
        assert_eq!(broadcast_shapes(&[2, 1, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shapes(&[2], &[3]), None);
    }

    #[test]
    fn index_helpers_round_trip() {
        let shape = [2, 3, 4];
        for flat in 0..24 {
            assert_eq!(ravel(&unravel(flat, &shape), &shape), flat);
        }
        assert_eq!(strides(&shape), vec![12, 4, 1]);
    }
}
