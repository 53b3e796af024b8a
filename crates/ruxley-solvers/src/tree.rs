//! The O(N) solve of a symmetric tree-structured linear system (Hines).
//!
//! The matrix has diagonal `d` and, for every node i with a parent p(i),
//! the off-diagonal entries A[i][p] = A[p][i] = -g[i]. Nodes are numbered so
//! that p(i) < i. Elimination runs from the leaves to the roots, then
//! back-substitution from the roots to the leaves; no fill-in occurs.

use ruxley_cell::NONE;

/// Solves A x = b in place (`b` becomes x; `d` is overwritten by the
/// reciprocals of the eliminated diagonal, as [`factor_tree`] leaves it).
///
/// `parent[i]` is the parent of node i ([`NONE`] for a root) and must be
/// smaller than i; `g[i]` is the coupling of node i to its parent.
pub fn solve_tree(parent: &[u32], g: &[f64], d: &mut [f64], b: &mut [f64]) {
    let n = parent.len();
    assert!(g.len() == n && d.len() == n && b.len() == n);
    for i in (0..n).rev() {
        let inv = 1.0 / d[i];
        d[i] = inv;
        let p = parent[i];
        if p != NONE {
            let p = p as usize;
            debug_assert!(p < i);
            let f = g[i] * inv;
            d[p] -= f * g[i];
            b[p] += f * b[i];
        }
    }
    back_substitute(parent, g, d, b);
}

/// Eliminates the matrix alone: `d` becomes the reciprocals of the
/// eliminated diagonal, ready for [`substitute_tree`] with any right-hand side.
pub fn factor_tree(parent: &[u32], g: &[f64], d: &mut [f64]) {
    let n = parent.len();
    assert!(g.len() == n && d.len() == n);
    for i in (0..n).rev() {
        let inv = 1.0 / d[i];
        d[i] = inv;
        let p = parent[i];
        if p != NONE {
            // The same operations, in the same order, as in solve_tree, so
            // that factor + substitute reproduce its result bit for bit.
            let f = g[i] * inv;
            d[p as usize] -= f * g[i];
        }
    }
}

/// Solves A x = b in place given the factorisation `inv_d` of [`factor_tree`].
pub fn substitute_tree(parent: &[u32], g: &[f64], inv_d: &[f64], b: &mut [f64]) {
    let n = parent.len();
    assert!(g.len() == n && inv_d.len() == n && b.len() == n);
    for i in (0..n).rev() {
        let p = parent[i];
        if p != NONE {
            b[p as usize] += g[i] * inv_d[i] * b[i];
        }
    }
    back_substitute(parent, g, inv_d, b);
}

#[inline]
fn back_substitute(parent: &[u32], g: &[f64], inv_d: &[f64], b: &mut [f64]) {
    for i in 0..parent.len() {
        let p = parent[i];
        let coupled = if p == NONE { 0.0 } else { g[i] * b[p as usize] };
        b[i] = (b[i] + coupled) * inv_d[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Dense Gaussian elimination with partial pivoting, as an oracle.
    fn dense_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for k in 0..n {
            let piv = (k..n)
                .max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))
                .unwrap();
            a.swap(k, piv);
            b.swap(k, piv);
            for i in k + 1..n {
                let f = a[i][k] / a[k][k];
                for j in k..n {
                    a[i][j] -= f * a[k][j];
                }
                b[i] -= f * b[k];
            }
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|j| a[i][j] * x[j]).sum();
            x[i] = (b[i] - s) / a[i][i];
        }
        x
    }

    proptest! {
        #[test]
        fn tree_solve_equals_dense_solve(
            seeds in prop::collection::vec((0.0f64..1.0, 0.01f64..10.0, 0.0f64..5.0, -50.0f64..50.0), 1..60),
            roots in prop::collection::vec(0.0f64..1.0, 1..3),
        ) {
            let n = seeds.len();
            // Random forest: node i's parent is a random earlier node, except a few roots.
            let parent: Vec<u32> = seeds.iter().enumerate().map(|(i, s)| {
                if i == 0 || roots.iter().any(|r| (r * n as f64) as usize == i) { NONE }
                else { (s.0 * i as f64) as u32 }
            }).collect();
            let g: Vec<f64> = seeds.iter().map(|s| s.1).collect();
            // Diagonally dominant: the sum of couplings plus a membrane term.
            let mut d: Vec<f64> = seeds.iter().map(|s| s.2).collect();
            for i in 0..n {
                if parent[i] != NONE {
                    d[i] += g[i];
                    d[parent[i] as usize] += g[i];
                }
            }
            for x in d.iter_mut() { *x += 1e-3; }
            let b: Vec<f64> = seeds.iter().map(|s| s.3).collect();
            let mut a = vec![vec![0.0; n]; n];
            for i in 0..n {
                a[i][i] = d[i];
                if parent[i] != NONE {
                    let p = parent[i] as usize;
                    a[i][p] = -g[i];
                    a[p][i] = -g[i];
                }
            }
            let want = dense_solve(a, b.clone());
            let (mut dd, mut x) = (d.clone(), b.clone());
            solve_tree(&parent, &g, &mut dd, &mut x);
            let (mut inv, mut y) = (d.clone(), b.clone());
            factor_tree(&parent, &g, &mut inv);
            substitute_tree(&parent, &g, &inv, &mut y);
            for i in 0..n {
                prop_assert!((x[i] - want[i]).abs() <= 1e-9 * (1.0 + want[i].abs()), "node {i}: {} vs {}", x[i], want[i]);
                prop_assert!((y[i] - x[i]).abs() <= 1e-12 * (1.0 + x[i].abs()));
            }
        }
    }
}
