//! The recording fit: the data as loaded, exact gradients in all 25
//! trainables (the six added ones among them), and a quick run of both
//! methods.

use recording_fit::{
    Config, DT, FEATURES, MAX_SCORE, PARAMS, Recording, SOMA, features, model, run, scores,
    transforms,
};
use ruxley::cpu::CpuBackend;
use ruxley::grad::{simulate, value_and_grad};
use ruxley::{RunOptions, Schedule, TraceFit};

#[test]
fn the_sweep_is_cut_around_its_step() {
    let r = Recording::load(181, (50.0, 150.0)).unwrap();
    // The SOURCE.md of the data: on from 700.25 ms to 2700 ms (the first
    // sample back at the holding current is 2700.25 ms).
    assert_eq!(r.step, (50.0, 2050.0));
    assert_eq!(r.dt, 0.25);
    assert_eq!(r.duration(), 2200.0);
    assert_eq!(r.current.len() as f64 * DT, r.duration());
    // About -69.2 mV before the junction correction (checked by hand).
    assert!((r.resting() + 83.2).abs() < 0.3, "{}", r.resting());
    // 105 pA on top of a -12.5 pA holding current.
    let on = r.current[(1000.0 / DT) as usize];
    assert!((on - 0.105).abs() < 0.002, "{on}");
    // The recording's features: 26 spikes in the step.
    let f = features(&r.voltage, r.dt, r.step);
    assert_eq!(f[0], Some(26.0));
    assert!(f.iter().all(Option::is_some), "{f:?}");
    let s = scores(&f, &f);
    assert!(s.iter().all(|&x| x == 0.0));
    // A trace without spikes scores the cap on every spike feature.
    let flat = vec![-80.0; r.voltage.len()];
    let s = scores(&features(&flat, r.dt, r.step), &f);
    assert_eq!(s[1..5], [MAX_SCORE; 4]);
    assert_eq!(s.len(), FEATURES.len());
    let err = Recording::load(180, (50.0, 150.0)).unwrap_err().to_string();
    assert!(err.contains("I_180_pA"), "{err}");
}

/// Every trainable's gradient, on the mean squared error of the first 60 ms
/// of the step response, equals central differences (the loss pieces are
/// checked on their own in ruxley-loss).
#[test]
fn gradients_in_all_25_trainables_match_finite_differences() {
    let r = Recording::load(183, (10.0, 150.0)).unwrap();
    let layout = model(&r).unwrap().build().unwrap();
    let labels = layout.trainables().labels();
    assert_eq!(labels.len(), 25, "{labels:?}");
    let options = RunOptions::new(DT, 60.0);
    let loss = TraceFit::mse(vec![(SOMA.into(), r.on_grid(60.0))]);
    let backend = CpuBackend::new();
    // A point inside the bounds that fires in 60 ms.
    let u: Vec<f64> = (0..25).map(|k| 0.8 * ((k as f64) * 1.7).sin()).collect();
    let theta = transforms().forward(&u);
    let g = value_and_grad(
        &backend,
        &layout,
        std::slice::from_ref(&theta),
        &options,
        &loss,
        &Schedule::sqrt(2400),
    )
    .unwrap()
    .remove(0);
    let v = simulate(&backend, &layout, std::slice::from_ref(&theta), &options).unwrap();
    let peak = v[0]
        .get(SOMA)
        .unwrap()
        .iter()
        .copied()
        .fold(f64::MIN, f64::max);
    assert!(peak > 0.0, "no spike: {peak}");
    let value = |x: &[f64]| {
        use ruxley::TraceLoss;
        let t = simulate(&backend, &layout, &[x.to_vec()], &options)
            .unwrap()
            .remove(0);
        let mut grad = t.zeros_like();
        TraceLoss::value_and_grad(&loss, 0, &t, &mut grad).unwrap()
    };
    let mut worst: f64 = 0.0;
    for k in 0..25 {
        // Richardson-extrapolated central differences (error fourth order in h).
        let central = |h: f64| {
            let (mut p, mut m) = (theta.clone(), theta.clone());
            p[k] += h;
            m[k] -= h;
            (value(&p) - value(&m)) / (2.0 * h)
        };
        let h = 1e-4 * theta[k].abs().max(1e-3);
        let fd = (4.0 * central(h / 2.0) - central(h)) / 3.0;
        let err = (fd - g.grad[k]).abs() / fd.abs().max(1e-8 * g.loss / theta[k].abs().max(1e-3));
        worst = worst.max(err);
        // Achieved: 7e-6 at worst (apical SKv3_1_gbar), the differences' own error.
        assert!(
            err < 1e-4,
            "{}: gradient {} vs differences {fd}",
            labels[k],
            g.grad[k]
        );
    }
    eprintln!("worst relative error {worst:.1e}");
}

#[test]
fn a_quick_fit_descends_and_both_methods_get_scored() {
    let config = Config {
        starts: 4,
        stage1_steps: 3,
        keep: 1,
        stage2_steps: 1,
        progress: false,
        ..Config::full()
    };
    let outcome = run(&config).unwrap();
    assert_eq!(outcome.stage1.len(), 4);
    assert_eq!(outcome.stage2.len(), 1);
    assert!(outcome.stage1.iter().all(|l| l.len() == 4));
    // Some start descends in three steps.
    assert!(
        outcome.stage1.iter().any(|l| l[3] < l[0]),
        "{:?}",
        outcome.stage1
    );
    for fit in [&outcome.gd, &outcome.ga] {
        assert_eq!(fit.params.len(), PARAMS.len());
        assert!(fit.loss.is_finite() && fit.total_score().is_finite());
        for (x, p) in fit.params.iter().zip(&PARAMS) {
            assert!(p.lo <= *x && *x <= p.hi, "{} {x}", p.name);
        }
    }
    assert!(outcome.ga_simulations >= config.ga_population);
}
