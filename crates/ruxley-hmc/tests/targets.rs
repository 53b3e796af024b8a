//! The samplers on targets with known moments.

use ruxley_hmc::diagnostics::{ess_bulk, ess_mean, split_rhat};
use ruxley_hmc::targets::{Banana, Funnel, Gaussian};
use ruxley_hmc::{Chain, Kernel, LogDensity, Settings, Transformed, sample_chains};
use ruxley_optim::{Bijection, Transforms};

fn column(chains: &[Chain], k: usize) -> Vec<Vec<f64>> {
    chains.iter().map(|c| c.coordinate(k)).collect()
}

/// Largest |z| of the mean estimates against the truth, with Monte Carlo
/// standard errors from the effective sample size of each coordinate.
fn worst_mean_z(columns: &[Vec<Vec<f64>>], truth: &[f64], sd: &[f64]) -> f64 {
    columns
        .iter()
        .zip(truth.iter().zip(sd))
        .map(|(cols, (&mu, &s))| {
            let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
            let all: Vec<f64> = cols.iter().flatten().copied().collect();
            let mean = all.iter().sum::<f64>() / all.len() as f64;
            ((mean - mu) / (s / ess_mean(&refs).sqrt())).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn nuts_samples_a_100_dimensional_correlated_gaussian() {
    let target = Gaussian::new(100, 0.9);
    let settings = Settings {
        dense: true,
        warmup: 600,
        samples: 500,
        ..Settings::default()
    };
    let chains = sample_chains(&target, &vec![0.0; 100], 1.0, 4, &settings, 42).unwrap();
    let columns: Vec<Vec<Vec<f64>>> = (0..100).map(|k| column(&chains, k)).collect();
    let mut min_ess = f64::INFINITY;
    for (k, cols) in columns.iter().enumerate() {
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let rhat = split_rhat(&refs);
        assert!(rhat < 1.02, "coordinate {k}: R-hat {rhat}");
        min_ess = min_ess.min(ess_bulk(&refs));
        let all: Vec<f64> = cols.iter().flatten().copied().collect();
        let n = all.len() as f64;
        let m = all.iter().sum::<f64>() / n;
        let v = all.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
        let want = target.scale[k].powi(2);
        // Within 5 Monte Carlo errors of the variance (from the ESS of the squares).
        let sq: Vec<Vec<f64>> = cols
            .iter()
            .map(|c| c.iter().map(|x| (x - m).powi(2)).collect())
            .collect();
        let sq_refs: Vec<&[f64]> = sq.iter().map(|c| c.as_slice()).collect();
        let sd_sq = (sq.iter().flatten().map(|s| (s - v).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let mcse = sd_sq / ess_mean(&sq_refs).sqrt();
        assert!(
            (v - want).abs() < 5.0 * mcse,
            "coordinate {k}: variance {v} +- {mcse} vs {want}"
        );
    }
    let z = worst_mean_z(&columns, &target.mu, &target.scale);
    // 100 coordinates: |z| > 4.5 has probability below 1e-3 for an unbiased sampler.
    assert!(z < 4.5, "worst mean z-score {z}");
    assert!(min_ess > 800.0, "bulk ESS {min_ess} from 2000 draws");
    let grads: usize = chains
        .iter()
        .map(|c| c.infos.iter().map(|i| i.n_grad).sum::<usize>())
        .sum();
    println!(
        "min bulk ESS {min_ess:.0}; {:.1} gradients per effective sample",
        grads as f64 / min_ess
    );
    assert_eq!(chains.iter().map(Chain::divergences).sum::<usize>(), 0);
}

#[test]
fn the_bias_check_has_power() {
    // The same check on draws of a slightly wrong distribution fails.
    let target = Gaussian::new(20, 0.5);
    let chains = sample_chains(
        &target,
        &[0.0; 20],
        1.0,
        4,
        &Settings {
            dense: true,
            ..Settings::default()
        },
        7,
    )
    .unwrap();
    let columns: Vec<Vec<Vec<f64>>> = (0..20).map(|k| column(&chains, k)).collect();
    assert!(worst_mean_z(&columns, &target.mu, &target.scale) < 4.5);
    let shifted: Vec<f64> = target
        .mu
        .iter()
        .zip(&target.scale)
        .map(|(m, s)| m + 0.15 * s)
        .collect();
    assert!(worst_mean_z(&columns, &shifted, &target.scale) > 4.5);
}

#[test]
fn static_hmc_samples_a_gaussian_and_runs_are_reproducible() {
    let target = Gaussian::new(10, 0.5);
    let settings = Settings {
        kernel: Kernel::Hmc { n_leapfrog: 10 },
        ..Settings::default()
    };
    let a = sample_chains(&target, &[0.0; 10], 1.0, 2, &settings, 3).unwrap();
    // With a progress callback: the same draws, one tick per transition.
    let ticks = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let b =
        ruxley_hmc::sample_chains_with_progress(&target, &[0.0; 10], 1.0, 2, &settings, 3, &tick)
            .unwrap();
    assert_eq!(a, b);
    assert_eq!(ticks.into_inner(), 2 * (settings.warmup + settings.samples));
    let columns: Vec<Vec<Vec<f64>>> = (0..10).map(|k| column(&a, k)).collect();
    assert!(worst_mean_z(&columns, &target.mu, &target.scale) < 4.5);
}

#[test]
fn the_funnel_shows_divergences() {
    let chains = sample_chains(&Funnel(10), &[0.0; 10], 0.5, 4, &Settings::default(), 11).unwrap();
    let divergences: usize = chains.iter().map(Chain::divergences).sum();
    assert!(divergences > 0, "the neck of the funnel must be reported");
    println!("funnel: {divergences} divergences in 4000 draws");
}

#[test]
fn the_banana_has_the_right_moments() {
    let b = 1.0;
    let chains = sample_chains(&Banana(b), &[0.0, 0.0], 0.5, 4, &Settings::default(), 5).unwrap();
    let columns: Vec<Vec<Vec<f64>>> = (0..2).map(|k| column(&chains, k)).collect();
    let sd = [1.0, (2.0 * b * b + 0.25f64).sqrt()];
    assert!(worst_mean_z(&columns, &[0.0, 0.0], &sd) < 4.5);
    // E y^2 = Var y: y^2 has heavy tails, so compare within its own Monte Carlo error.
    let y2: Vec<Vec<f64>> = columns[1]
        .iter()
        .map(|c| c.iter().map(|v| v * v).collect())
        .collect();
    let refs: Vec<&[f64]> = y2.iter().map(|c| c.as_slice()).collect();
    let all: Vec<f64> = y2.iter().flatten().copied().collect();
    let n = all.len() as f64;
    let m = all.iter().sum::<f64>() / n;
    let sd = (all.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let mcse = sd / ess_mean(&refs).sqrt();
    let want = 2.0 * b * b + 0.25;
    assert!(
        (m - want).abs() < 4.5 * mcse,
        "Var y = {m} +- {mcse}, want {want}"
    );
}

/// Gamma(shape 3, scale 2) on (0, inf): sampled in log space through the Exp transform.
struct Gamma;

impl LogDensity for Gamma {
    fn dim(&self) -> usize {
        1
    }

    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        if x[0] <= 0.0 {
            return f64::NEG_INFINITY;
        }
        grad[0] = 2.0 / x[0] - 0.5;
        2.0 * x[0].ln() - 0.5 * x[0]
    }
}

#[test]
fn a_bounded_target_is_sampled_through_its_transform() {
    let t = Transformed {
        inner: &Gamma,
        transforms: Transforms(vec![Bijection::Exp]),
    };
    let chains = sample_chains(&t, &[1.0], 0.3, 4, &Settings::default(), 9).unwrap();
    let x: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| c.coordinate(0).iter().map(|u| u.exp()).collect())
        .collect();
    let refs: Vec<&[f64]> = x.iter().map(|c| c.as_slice()).collect();
    let all: Vec<f64> = x.iter().flatten().copied().collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let mcse = 12f64.sqrt() / ess_mean(&refs).sqrt();
    assert!((mean - 6.0).abs() < 4.5 * mcse, "mean {mean} +- {mcse}");
}

#[test]
fn a_start_that_does_not_fit_is_a_typed_error() {
    use ruxley_hmc::SampleError;
    let target = Gaussian::new(3, 0.0);
    let e = sample_chains(&target, &[0.0; 2], 0.0, 1, &Settings::default(), 1).unwrap_err();
    assert_eq!(
        e,
        SampleError::Dimension {
            start: 2,
            target: 3
        }
    );
    assert!(e.to_string().contains("2 values for a 3-dimensional"));
    let e = sample_chains(&target, &[f64::NAN; 3], 0.0, 1, &Settings::default(), 1).unwrap_err();
    assert_eq!(e, SampleError::NonFiniteStart);
}
