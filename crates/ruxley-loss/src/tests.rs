use proptest::prelude::*;

use super::*;
use ruxley_traces::Traces;

/// A loss as a function of its first argument.
type LossFn<'a> = &'a dyn Fn(&[f64]) -> (f64, Vec<f64>);

/// Checks a gradient against central differences in random directions.
fn check(name: &str, f: LossFn, x: &[f64], tol: f64) {
    check_with_step(name, f, x, tol, 1e-3)
}

fn check_with_step(name: &str, f: LossFn, x: &[f64], tol: f64, step: f64) {
    let (_, g) = f(x);
    let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for k in 0..x.len() {
        // Richardson-extrapolated central differences.
        let h = step * x[k].abs().max(1.0);
        let d = |h: f64| {
            let mut p = x.to_vec();
            p[k] += h;
            let mut m = x.to_vec();
            m[k] -= h;
            (f(&p).0 - f(&m).0) / (2.0 * h)
        };
        let fd = (4.0 * d(h / 2.0) - d(h)) / 3.0;
        assert!(
            (fd - g[k]).abs() <= tol * (fd.abs() + 1e-3 * scale),
            "{name} component {k}: {} vs {fd}",
            g[k]
        );
    }
}

fn trace(n: usize, shift: f64, seed: u64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let t = i as f64 * 0.1 - shift;
            -65.0
                + 90.0 * (-(t - 3.0) * (t - 3.0) * 4.0).exp()
                + ((i as u64 * 2654435761 + seed) % 97) as f64 * 0.01
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn gradients_match_finite_differences(shift in 0.0f64..1.0, seed in 0u64..1000) {
        // y differs from x in every window statistic, away from the kinks of |.|.
        let x = trace(60, shift, seed);
        let y: Vec<f64> = trace(60, 0.0, seed + 7).iter().map(|v| 2.5 * v + 150.0).collect();
        check("mse", &|x| mse(x, &y), &x, 1e-6);
        // Flat windows have a standard deviation of a few tenths of a mV: small steps.
        check_with_step("window", &|x| WindowStats::equal(60, 4, 8.0, 4.0).value_and_grad(x, &y), &x, 1e-5, 1e-5);
        let sd = SoftDtw { gamma: 1.0, time_weight: 1.0 };
        // |x_i - y_j| has a kink where the traces cross; check soft-DTW on a
        // target that stays above x (the alignment weights are tested all the same).
        let above: Vec<f64> = y.iter().map(|v| v + 200.0).collect();
        check("softdtw", &|x| sd.value_and_grad(x, &above), &x, 1e-5);
        let parents: Vec<Option<usize>> = (0..x.len()).map(|b| if b == 0 { None } else { Some((b - 1) / 2) }).collect();
        check("smooth", &|g| smoothness(g, &parents, 1e-3), &x, 1e-6);
        check("ce", &|l| cross_entropy(l, 3), &x[..7].iter().map(|v| v / 30.0).collect::<Vec<_>>(), 1e-6);
        check("spikes", &|v| soft_spike_count(v, 0.0, 5.0), &x, 1e-5);
    }
}

#[test]
fn mae_gradient_is_the_sign() {
    let (v, g) = mae(&[1.0, 2.0, 3.0], &[2.0, 2.0, 1.0]);
    assert!((v - 1.0).abs() < 1e-15);
    assert_eq!(g, vec![-1.0 / 3.0, 0.0, 1.0 / 3.0]);
}

#[test]
fn soft_dtw_tends_to_dtw_as_gamma_vanishes() {
    let (x, y) = (trace(50, 0.4, 1), trace(40, 0.0, 2));
    let hard = dtw(&x, &y, 1.0);
    let mut last = f64::INFINITY;
    for gamma in [1.0, 0.1, 0.01, 0.001] {
        let soft = SoftDtw {
            gamma,
            time_weight: 1.0,
        }
        .value(&x, &y);
        // soft-min lies below min by at most gamma log 3 per step of the path.
        assert!(
            soft <= hard + 1e-9 && hard - soft <= gamma * 3f64.ln() * (x.len() + y.len()) as f64
        );
        let gap = hard - soft;
        assert!(gap <= last);
        last = gap;
    }
    assert!(last < 0.5, "{last}");
}

#[test]
fn a_one_ms_shifted_spike_costs_far_less_under_soft_dtw_than_under_l2() {
    // A 100 mV spike (-70 to +30 mV, 1 ms wide) sampled every 0.025 ms, and the same spike 1 ms later.
    let spike = |shift: f64| -> Vec<f64> {
        (0..800)
            .map(|i| {
                let t = i as f64 * 0.025;
                -70.0 + 100.0 * (-((t - 8.0 - shift) / 0.35).powi(2)).exp()
            })
            .collect()
    };
    let (x, y) = (spike(0.0), spike(1.0));
    let worst_pointwise = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - b) * (a - b))
        .fold(0.0, f64::max);
    assert!(
        worst_pointwise > 9.0e3,
        "the slide's ~1e4 mV^2 per sample: {worst_pointwise}"
    );
    let l2: f64 = x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
    let soft = SoftDtw {
        gamma: 1.0,
        time_weight: 1.0,
    }
    .value(&x, &y);
    assert!(soft < l2 / 10.0, "soft-DTW {soft} vs L2 {l2}");
    // And soft-DTW's gradient pulls the spike towards the target's time.
    let (_, g) = SoftDtw {
        gamma: 1.0,
        time_weight: 1.0,
    }
    .value_and_grad(&x, &y);
    let at = |t: f64| (t / 0.025) as usize;
    assert!(
        g[at(8.5)] < 0.0 && g[at(7.5)] > 0.0,
        "lower the early flank, raise the late one"
    );
}

#[test]
fn soft_spike_count_counts_sharp_crossings() {
    let v: Vec<f64> = (0..300)
        .map(|i| if (i / 50) % 2 == 1 { 20.0 } else { -70.0 })
        .collect();
    let (c, _) = soft_spike_count(&v, 0.0, 1.0);
    assert!((c - 3.0).abs() < 1e-6, "{c}");
}

#[test]
fn window_errors_average_to_the_window_loss() {
    let (x, y) = (trace(60, 0.3, 5), trace(60, 0.0, 11));
    let w = WindowStats::equal(60, 3, 8.0, 4.0);
    let errors = w.errors(&x, &y);
    assert_eq!(errors.len(), 6);
    // Each term from the statistics directly.
    let (sx, sy) = (w.stats(&x), w.stats(&y));
    for k in 0..3 {
        assert_eq!(errors[2 * k], (sx[k].0 - sy[k].0).abs() / 8.0);
        assert_eq!(errors[2 * k + 1], (sx[k].1 - sy[k].1).abs() / 4.0);
    }
    let mean = errors.iter().sum::<f64>() / 6.0;
    let (loss, _) = w.value_and_grad(&x, &y);
    assert!(mean > 0.01, "{mean}");
    assert!((loss - mean).abs() <= 1e-15 * mean, "{loss} vs {mean}");
}

/// A strictly increasing trace (consecutive samples at least 0.3 apart), so
/// no two samples sit within a finite-difference step of a kink of |x_i - x_j|.
fn increasing(n: usize, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 * i as f64 + 0.2 * (i as f64 + phase).sin())
        .collect()
}

#[test]
fn soft_dtw_divergence_gradient_matches_finite_differences() {
    let sd = SoftDtw {
        gamma: 0.3,
        time_weight: 0.05,
    };
    for phase in [0.0, 1.3, 2.9] {
        let x = increasing(25, phase);
        let above: Vec<f64> = increasing(31, phase + 0.4)
            .iter()
            .map(|v| v + 40.0)
            .collect();
        check_with_step(
            "divergence",
            &|x| sd.divergence_and_grad(x, &above),
            &x,
            1e-6,
            1e-5,
        );
    }
}

#[test]
fn soft_dtw_divergence_vanishes_on_equal_traces_only() {
    let sd = SoftDtw {
        gamma: 0.1,
        time_weight: 0.01,
    };
    let x = trace(40, 0.0, 3);
    let (d, g) = sd.divergence_and_grad(&x, &x);
    let own = sd.value(&x, &x);
    assert!(d.abs() < 1e-12 && own.abs() > 1e-3, "{d} {own}");
    assert!(g.iter().all(|v| v.abs() < 1e-12), "{g:?}");
    let shifted = trace(40, 0.4, 3);
    let (d, _) = sd.divergence_and_grad(&shifted, &x);
    assert!(d > 1.0, "{d}");
}

#[test]
fn max_pool_picks_each_windows_largest_sample() {
    let x = trace(100, 0.3, 5);
    let idx = max_pool(&x, 7, 4);
    assert_eq!(idx.len(), (100 - 7) / 4 + 1);
    for (k, &i) in idx.iter().enumerate() {
        let w = &x[4 * k..4 * k + 7];
        assert!((4 * k..4 * k + 7).contains(&i));
        assert!(w.iter().all(|&v| v <= x[i]), "window {k}");
    }
    assert!(max_pool(&x[..6], 7, 4).is_empty());
}

#[test]
fn shape_dtw_gradient_matches_finite_differences_through_the_pooling() {
    // Strictly increasing traces: each window's maximum is its last sample,
    // away from ties, and no two pooled samples are within a step of a kink.
    let shape = ShapeDtw {
        window: 5,
        stride: 3,
        gamma: 0.1,
    };
    let x = increasing(60, 0.7);
    let y: Vec<f64> = increasing(60, 2.0).iter().map(|v| 0.6 * v + 45.0).collect();
    check_with_step("shape", &|x| shape.value_and_grad(x, &y), &x, 1e-6, 1e-6);
    // Only pooled samples carry gradient.
    let (_, g) = shape.value_and_grad(&x, &y);
    let pooled = max_pool(&x, 5, 3);
    for (i, gi) in g.iter().enumerate() {
        assert_eq!(*gi != 0.0, pooled.contains(&i), "sample {i}");
    }
    // Zero at the target itself, positive for a shifted spike.
    let spike = trace(90, 0.0, 1);
    assert_eq!(shape.value_and_grad(&spike, &spike).0, 0.0);
    assert!(shape.value_and_grad(&trace(90, 0.5, 1), &spike).0 > 0.1);
    // A flat target and a short trace give finite values.
    let (v, g) = shape.value_and_grad(&spike, &[-65.0; 90]);
    assert!(
        v.is_finite() && v > 0.0 && g.iter().all(|x| x.is_finite()),
        "{v}"
    );
    assert_eq!(shape.value_and_grad(&spike[..4], &spike[..4]).0, 0.0);
}

/// Two voltage traces of `n` samples at dt 0.1 from one flat vector.
fn two_traces(x: &[f64]) -> Traces {
    let n = x.len() / 2;
    let mut t = Traces::zeros(vec!["a".into(), "b".into()], 0.1, n);
    t.trace_mut(0).copy_from_slice(&x[..n]);
    t.trace_mut(1).copy_from_slice(&x[n..]);
    t
}

fn readout(traces: &[&str], reduce: Reduce) -> Readout {
    Readout {
        traces: traces.iter().map(|s| s.to_string()).collect(),
        window: (1.0, 4.5),
        reduce,
        offset: -40.0,
        scale: 10.0,
    }
}

#[test]
fn readout_cross_entropy_matches_finite_differences_in_every_sample() {
    let mut x = trace(60, 0.3, 5);
    x.extend(trace(60, 1.2, 9));
    for reduce in [
        Reduce::Mean,
        Reduce::SoftMax { tau: 2.0 },
        Reduce::SoftMaxRise { tau: 20.0 },
    ] {
        for (names, label) in [(vec!["a", "b"], 1), (vec!["b"], 0), (vec!["a"], 1)] {
            let mut r = readout(&names, reduce);
            if let Reduce::SoftMaxRise { .. } = reduce {
                // Rates of rise reach 200 mV/ms: logits away from saturation.
                (r.offset, r.scale) = (100.0, 50.0);
            }
            let f = |x: &[f64]| {
                let t = two_traces(x);
                let mut g = t.zeros_like();
                let loss = r.cross_entropy(&t, label, &mut g).unwrap().0;
                (loss, g.data().to_vec())
            };
            // Achieved: 2e-6 (FD rounding on samples far below the peak).
            check(&format!("{reduce:?} {names:?}"), &f, &x, 2e-5);
            // Only the window's samples (t in [1, 4.5): samples 10..45) of
            // the read traces carry gradient.
            let g = f(&x).1;
            for (i, gi) in g.iter().enumerate() {
                let row = if i < 60 { "a" } else { "b" };
                let inside = (10..45).contains(&(i % 60)) && names.contains(&row);
                assert_eq!(*gi != 0.0, inside, "{reduce:?} {names:?} sample {i}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn soft_max_lies_between_the_mean_and_the_max(
        x in prop::collection::vec(-80.0f64..40.0, 1..50),
        tau in 0.1f64..20.0,
    ) {
        let mut t = Traces::zeros(vec!["a".into()], 1.0, x.len());
        t.trace_mut(0).copy_from_slice(&x);
        let r = |reduce| Readout { traces: vec!["a".into()], window: (0.0, 1e9), reduce, offset: 0.0, scale: 1.0 };
        let soft = r(Reduce::SoftMax { tau }).logits(&t).unwrap()[0];
        let mean = r(Reduce::Mean).logits(&t).unwrap()[0];
        let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let slack = 1e-9 * max.abs().max(1.0);
        prop_assert!(soft >= mean - slack && soft <= max + slack, "{mean} {soft} {max}");
        prop_assert!(soft >= max - tau * (x.len() as f64).ln() - slack, "{soft} {max}");
    }
}

#[test]
fn readout_predicts_the_largest_logit_or_the_sign_of_one() {
    let r2 = readout(&["a", "b"], Reduce::Mean);
    assert_eq!(r2.classes(), 2);
    assert_eq!(r2.predict(&[0.3, -1.0]), 0);
    assert_eq!(r2.predict(&[-0.3, 1.0]), 1);
    let r1 = readout(&["a"], Reduce::Mean);
    assert_eq!(r1.classes(), 2);
    assert_eq!(r1.predict(&[0.2]), 1);
    assert_eq!(r1.predict(&[-0.2]), 0);
    // A spike in the window: the soft max reads it, the mean barely does.
    let mut x = vec![-65.0; 60];
    x[20] = 30.0;
    x.extend(vec![-65.0; 60]);
    let t = two_traces(&x);
    let soft = readout(&["a"], Reduce::SoftMax { tau: 1.0 });
    assert_eq!(soft.predict(&soft.logits(&t).unwrap()), 1);
    assert_eq!(r1.predict(&r1.logits(&t).unwrap()), 0);
    // A plateau reads as high as a spike on the level, not on the rise.
    let rise = Readout {
        offset: 100.0,
        scale: 50.0,
        ..readout(&["a"], Reduce::SoftMaxRise { tau: 5.0 })
    };
    assert_eq!(rise.predict(&rise.logits(&t).unwrap()), 1);
    let mut plateau = vec![-65.0; 60];
    plateau[5..].iter_mut().for_each(|v| *v = 30.0);
    plateau.extend(vec![-65.0; 60]);
    let p = two_traces(&plateau);
    assert_eq!(soft.predict(&soft.logits(&p).unwrap()), 1);
    assert_eq!(rise.predict(&rise.logits(&p).unwrap()), 0);
    // The same spike outside the window is not read.
    x.swap(20, 50);
    let t = two_traces(&x);
    assert_eq!(soft.predict(&soft.logits(&t).unwrap()), 0);
    assert_eq!(rise.predict(&rise.logits(&t).unwrap()), 0);
}

#[test]
fn class_loss_takes_each_members_label_and_refuses_bad_input() {
    let x: Vec<f64> = trace(60, 0.3, 5)
        .into_iter()
        .chain(trace(60, 1.2, 9))
        .collect();
    let t = two_traces(&x);
    let loss = ClassLoss {
        readout: readout(&["a", "b"], Reduce::Mean),
        labels: vec![0, 1],
    };
    let mut g = t.zeros_like();
    let l0 = loss.value_and_grad(0, &t, &mut g).unwrap();
    let l1 = loss.value_and_grad(1, &t, &mut t.zeros_like()).unwrap();
    let logits = loss.readout.logits(&t).unwrap();
    assert_eq!(
        (l0, l1),
        (cross_entropy(&logits, 0).0, cross_entropy(&logits, 1).0)
    );
    // Without the gradient: the same loss and logits.
    assert_eq!(loss.readout.loss(&t, 1).unwrap(), (l1, logits.clone()));
    assert!(
        loss.readout
            .loss(&t, 2)
            .unwrap_err()
            .to_string()
            .contains("label 2")
    );
    let err = |r: Result<f64, LossError>| r.unwrap_err().to_string();
    assert!(err(loss.value_and_grad(2, &t, &mut g)).contains("no label for batch member 2"));
    let bad_label = ClassLoss {
        labels: vec![2],
        ..loss.clone()
    };
    assert!(err(bad_label.value_and_grad(0, &t, &mut g)).contains("label 2"));
    let missing = ClassLoss {
        readout: readout(&["a", "soma"], Reduce::Mean),
        ..loss.clone()
    };
    assert!(err(missing.value_and_grad(0, &t, &mut g)).contains("trace soma"));
    let mut late = loss.clone();
    late.readout.window = (7.0, 9.0);
    assert!(err(late.value_and_grad(0, &t, &mut g)).contains("holds too few samples"));
    late.readout.window = (f64::NAN, 4.0);
    assert!(err(late.value_and_grad(0, &t, &mut g)).contains("finite start"));
    // An infinite end reads to the last sample.
    late.readout.window = (1.0, f64::INFINITY);
    let to_end = late.value_and_grad(0, &t, &mut g).unwrap();
    late.readout.window = (1.0, 6.0);
    assert_eq!(late.value_and_grad(0, &t, &mut g).unwrap(), to_end);
    for tau in [0.0, -1.0, f64::NAN] {
        let mut blunt = loss.clone();
        blunt.readout.reduce = Reduce::SoftMax { tau };
        assert!(
            err(blunt.value_and_grad(0, &t, &mut g)).contains("tau"),
            "{tau}"
        );
    }
    let mut flat = loss.clone();
    flat.readout.scale = 0.0;
    assert!(err(flat.value_and_grad(0, &t, &mut g)).contains("positive scale"));
    let mut nan = x.clone();
    nan[30] = f64::NAN;
    let e = err(loss.value_and_grad(0, &two_traces(&nan), &mut g));
    assert!(e.contains("trace a") && e.contains("non-finite"), "{e}");
}

#[test]
#[should_panic(expected = "component")]
fn the_gradient_checker_rejects_a_gradient_off_by_a_tenth_of_a_percent() {
    let wrong = |x: &[f64]| {
        let (v, g) = mse(x, &[1.0, 2.0, 3.0]);
        (v, g.iter().map(|g| g * 1.001).collect())
    };
    check("wrong", &wrong, &[0.5, -1.0, 7.0], 2e-5);
}
