//! Small dense linear algebra shared by the samplers and optimisers.
//!
//! Hand-written rather than taken from faer: the matrices are small (a dense
//! NUTS metric or a CMA-ES covariance, tens to hundreds of rows), these are
//! twenty lines, and faer would add about a minute to every cold build of
//! the crates that depend on this one (1m05s for faer alone, release, two
//! cores, `std` and `linalg` features only). faer is their test oracle.

/// The lower Cholesky factor L (row-major) of a symmetric positive definite
/// row-major n x n matrix A = L L^T.
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>, String> {
    assert_eq!(a.len(), n * n, "cholesky: not an n x n matrix");
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d.is_nan() || d <= 0.0 {
                    return Err(format!("matrix not positive definite at row {i}"));
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Ok(l)
}

/// Solves L x = b in place for lower-triangular row-major L.
pub fn solve_lower(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * b[k]).sum();
        b[i] = (b[i] - s) / l[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cholesky_and_solve_agree_with_faer(
            n in 1usize..24,
            entries in prop::collection::vec(-1.0f64..1.0, 24 * 24),
            rhs in prop::collection::vec(-10.0f64..10.0, 24),
        ) {
            // A = B B^T + n I: symmetric positive definite.
            let b = |i: usize, j: usize| entries[i * 24 + j];
            let a: Vec<f64> = (0..n * n)
                .map(|k| {
                    let (i, j) = (k / n, k % n);
                    (0..n).map(|m| b(i, m) * b(j, m)).sum::<f64>() + if i == j { n as f64 } else { 0.0 }
                })
                .collect();
            let l = cholesky(&a, n).unwrap();
            let llt = faer::Mat::from_fn(n, n, |i, j| a[i * n + j]).llt(faer::Side::Lower).unwrap();
            let want = llt.L();
            let mut worst: f64 = 0.0;
            for i in 0..n {
                for j in 0..=i {
                    let d = (l[i * n + j] - want[(i, j)]).abs();
                    worst = if d.is_nan() || worst.is_nan() { f64::NAN } else { worst.max(d) };
                }
            }
            let mut x = rhs[..n].to_vec();
            solve_lower(&l, n, &mut x);
            let mut y = faer::Mat::from_fn(n, 1, |i, _| rhs[i]);
            want.solve_lower_triangular_in_place(y.as_mut());
            for i in 0..n {
                let d = (x[i] - y[(i, 0)]).abs();
                worst = if d.is_nan() || worst.is_nan() { f64::NAN } else { worst.max(d) };
            }
            // Measured up to 1.8e-15.
            prop_assert!(worst <= 2e-14, "n = {n}: worst difference {worst}");
        }
    }

    #[test]
    fn factor_and_solve() {
        let a = [4.0, 2.0, 0.4, 2.0, 5.0, 1.0, 0.4, 1.0, 3.0];
        let l = cholesky(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((v - a[i * 3 + j]).abs() < 1e-14);
            }
        }
        let mut b = [1.0, 2.0, 3.0];
        solve_lower(&l, 3, &mut b);
        let back: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|k| l[i * 3 + k] * b[k]).sum())
            .collect();
        assert!((back[0] - 1.0).abs() < 1e-14 && (back[2] - 3.0).abs() < 1e-14);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_err());
    }
}
