//! Convergence diagnostics of Vehtari, Gelman, Simpson, Carpenter and Buerkner
//! (2021): rank-normalised split R-hat and bulk effective sample size.

/// The inverse of the standard normal CDF (statrs).
pub fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    assert!(p > 0.0 && p < 1.0, "normal_quantile needs 0 < p < 1");
    Normal::standard().inverse_cdf(p)
}

/// Splits each chain in halves (dropping a middle draw of an odd chain).
fn split(chains: &[&[f64]]) -> Vec<Vec<f64>> {
    let n = chains.iter().map(|c| c.len()).min().unwrap_or(0) / 2;
    chains
        .iter()
        .flat_map(|c| [c[..n].to_vec(), c[c.len() - n..].to_vec()])
        .collect()
}

/// Replaces values by the normal quantiles of their pooled ranks.
fn rank_normalise(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut all: Vec<(f64, usize, usize)> = Vec::new();
    for (c, chain) in chains.iter().enumerate() {
        for (i, &v) in chain.iter().enumerate() {
            all.push((v, c, i));
        }
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let s = all.len() as f64;
    let mut out: Vec<Vec<f64>> = chains.iter().map(|c| vec![0.0; c.len()]).collect();
    let mut k = 0;
    while k < all.len() {
        // Average ranks over ties.
        let mut e = k;
        while e + 1 < all.len() && all[e + 1].0 == all[k].0 {
            e += 1;
        }
        let rank = (k + e) as f64 / 2.0 + 1.0;
        let z = normal_quantile((rank - 0.375) / (s + 0.25));
        for &(_, c, i) in &all[k..=e] {
            out[c][i] = z;
        }
        k = e + 1;
    }
    out
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn var(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// (W, var+) of split chains.
fn variances(chains: &[Vec<f64>]) -> (f64, f64) {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let w = chains.iter().map(|c| var(c)).sum::<f64>() / chains.len() as f64;
    let b_over_n = var(&means);
    (w, (n - 1.0) / n * w + b_over_n)
}

fn rhat_of(chains: &[Vec<f64>]) -> f64 {
    let (w, var_plus) = variances(chains);
    (var_plus / w).sqrt()
}

/// Rank-normalised split R-hat: the larger of the bulk value and the value
/// of the folded draws |x - median| (sensitive to the tails). Near 1 when the
/// chains agree; above 1.01 they have not mixed.
pub fn split_rhat(chains: &[&[f64]]) -> f64 {
    let s = split(chains);
    if s.is_empty() || s[0].len() < 2 {
        return f64::NAN;
    }
    let bulk = rhat_of(&rank_normalise(&s));
    let mut pooled: Vec<f64> = s.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let median = pooled[pooled.len() / 2];
    let folded: Vec<Vec<f64>> = s
        .iter()
        .map(|c| c.iter().map(|v| (v - median).abs()).collect())
        .collect();
    bulk.max(rhat_of(&rank_normalise(&folded)))
}

/// Bulk effective sample size: the ESS of the rank-normalised split chains,
/// with Geyer's initial positive monotone sequence truncation.
pub fn ess_bulk(chains: &[&[f64]]) -> f64 {
    let s = rank_normalise(&split(chains));
    ess_of(&s)
}

/// Effective sample size of the raw draws (for the mean's Monte Carlo error).
pub fn ess_mean(chains: &[&[f64]]) -> f64 {
    ess_of(&split(chains))
}

fn ess_of(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    if m == 0 || chains[0].len() < 4 {
        return f64::NAN;
    }
    let n = chains[0].len();
    let (w, var_plus) = variances(chains);
    let centred: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let mu = mean(c);
            c.iter().map(|v| v - mu).collect()
        })
        .collect();
    let acov = |t: usize| -> f64 {
        centred
            .iter()
            .map(|c| (0..n - t).map(|i| c[i] * c[i + t]).sum::<f64>() / n as f64)
            .sum::<f64>()
            / m as f64
    };
    let rho = |t: usize| 1.0 - (w * (n as f64 - 1.0) / n as f64 - acov(t)) / var_plus;
    let mut tau = -1.0;
    let mut prev_pair = f64::INFINITY;
    let mut t = 0;
    while t + 1 < n {
        let pair = if t == 0 {
            1.0 + rho(1)
        } else {
            rho(t) + rho(t + 1)
        };
        if pair <= 0.0 {
            break;
        }
        let pair = pair.min(prev_pair);
        tau += 2.0 * pair;
        prev_pair = pair;
        t += 2;
    }
    (m * n) as f64 / tau.max(1.0 / (m * n) as f64).max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959963984540054),
            (0.001, -3.090232306167814),
            (1e-10, -6.361340902404056),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 3e-15 * z.abs().max(1.0),
                "{p}"
            );
        }
    }

    /// An AR(1) chain x_t = a x_{t-1} + sqrt(1 - a^2) e_t has ESS n (1 - a)/(1 + a).
    fn ar1(n: usize, a: f64, seed: u64) -> Vec<f64> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut next = || rng.sample::<f64, _>(rand_distr::StandardNormal);
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                x = a * x + (1.0 - a * a).sqrt() * next();
                x
            })
            .collect()
    }

    #[test]
    fn ess_of_ar1_chains_matches_theory() {
        let chains: Vec<Vec<f64>> = (0..4).map(|k| ar1(20_000, 0.8, k)).collect();
        let refs: Vec<&[f64]> = chains.iter().map(|c| c.as_slice()).collect();
        let theory = 80_000.0 * 0.2 / 1.8;
        let ess = ess_bulk(&refs);
        assert!((ess / theory - 1.0).abs() < 0.15, "{ess} vs {theory}");
        assert!(split_rhat(&refs) < 1.01);
        // Chains stuck in different places have a large R-hat.
        let shifted: Vec<Vec<f64>> = chains
            .iter()
            .enumerate()
            .map(|(k, c)| c.iter().map(|v| v + k as f64).collect())
            .collect();
        let refs: Vec<&[f64]> = shifted.iter().map(|c| c.as_slice()).collect();
        assert!(split_rhat(&refs) > 1.3);
    }
}
