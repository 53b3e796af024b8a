//! Static HMC with a fixed path length of half a period flips the sign of a
//! Gaussian coordinate every draw; drawing the number of steps at random
//! (the default) removes that.

use rand::SeedableRng;
use rand::rngs::StdRng;
use ruxley_hmc::{Hmc, LogDensity, Metric, State};

/// The standard normal in one dimension.
struct Normal;

impl LogDensity for Normal {
    fn dim(&self) -> usize {
        1
    }
    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        grad[0] = -x[0];
        -0.5 * x[0] * x[0]
    }
}

/// Lag-1 autocorrelation and variance of `n` draws.
fn run(jitter: bool, n: usize) -> (f64, f64) {
    // 20 steps of pi/20: half a period of the unit oscillator.
    let kernel = Hmc {
        step_size: std::f64::consts::PI / 20.0,
        n_leapfrog: 20,
        jitter,
        metric: Metric::unit(1),
    };
    let mut rng = StdRng::seed_from_u64(7);
    let mut s = State::new(&Normal, vec![0.3]);
    let mut x = Vec::with_capacity(n);
    for _ in 0..n {
        s = kernel.step(&mut rng, &Normal, &s).0;
        x.push(s.x[0]);
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    let lag1 = x
        .windows(2)
        .map(|w| (w[0] - mean) * (w[1] - mean))
        .sum::<f64>()
        / ((n - 1) as f64 * var);
    (lag1, var)
}

#[test]
fn a_random_path_length_breaks_the_sign_flip_of_half_a_period() {
    let (fixed, _) = run(false, 4000);
    assert!(
        fixed < -0.9,
        "fixed path length: lag-1 autocorrelation {fixed}"
    );
    let (jittered, var) = run(true, 4000);
    assert!(
        jittered.abs() < 0.1,
        "jittered: lag-1 autocorrelation {jittered}"
    );
    assert!((var - 1.0).abs() < 0.1, "variance {var}");
}
