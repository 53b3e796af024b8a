//! Optimisers on problems with known answers.

use ruxley_optim::{
    Adam, Bijection, LrSchedule, ObjectiveError, OptimError, Options, PolyakGd, Progress, Sgd,
    Stop, Transforms, minimize,
};

fn rosenbrock(x: &[f64]) -> Result<(f64, Vec<f64>), ObjectiveError> {
    let (a, b) = (x[0], x[1]);
    let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
    Ok((
        f,
        vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ],
    ))
}

/// f = sum_i c_i (x_i - i)^2 with condition number 1e4.
fn ill_quadratic(x: &[f64]) -> Result<(f64, Vec<f64>), ObjectiveError> {
    let c = |i: usize| 10f64.powi(i as i32);
    let f = x
        .iter()
        .enumerate()
        .map(|(i, &v)| c(i) * (v - i as f64).powi(2))
        .sum();
    let g = x
        .iter()
        .enumerate()
        .map(|(i, &v)| 2.0 * c(i) * (v - i as f64))
        .collect();
    Ok((f, g))
}

#[test]
fn adam_solves_rosenbrock() {
    let options = Options {
        max_iters: 20_000,
        target_loss: Some(1e-10),
        ..Options::default()
    };
    let r = minimize(
        &mut rosenbrock,
        &[-1.2, 1.0],
        &mut Adam::new(0.02),
        &options,
        &mut [],
    )
    .unwrap();
    assert!(
        (r.best_x[0] - 1.0).abs() < 1e-4 && (r.best_x[1] - 1.0).abs() < 1e-4,
        "{:?} after {}",
        r.best_x,
        r.history.len()
    );
}

#[test]
fn first_order_methods_solve_an_ill_scaled_quadratic() {
    let x0 = [5.0, -3.0, 8.0, 1.0, -2.0];
    let options = Options {
        max_iters: 20_000,
        target_loss: Some(1e-12),
        ..Options::default()
    };
    let r = minimize(
        &mut ill_quadratic,
        &x0,
        &mut Adam::new(0.05),
        &options,
        &mut [],
    )
    .unwrap();
    assert_eq!(r.stop, Stop::TargetLoss, "Adam: {}", r.best_loss);
    // Momentum SGD within the stability limit of the stiffest direction.
    let r = minimize(
        &mut ill_quadratic,
        &x0,
        &mut Sgd::new(4e-5, 0.99),
        &options,
        &mut [],
    )
    .unwrap();
    assert_eq!(r.stop, Stop::TargetLoss, "SGD: {}", r.best_loss);
    // Normalised (Polyak) steps with a decaying rate.
    let sched = Options {
        schedule: LrSchedule::Exponential { decay: 0.995 },
        max_iters: 4000,
        ..Options::default()
    };
    let r = minimize(
        &mut ill_quadratic,
        &x0,
        &mut PolyakGd {
            gamma: 0.5,
            beta: 1.0,
            loss_scaled: false,
        },
        &sched,
        &mut [],
    )
    .unwrap();
    assert!(
        r.best_loss < r.history[0] * 1e-4,
        "Polyak: {} from {}",
        r.best_loss,
        r.history[0]
    );
}

#[test]
fn a_bounded_optimum_near_its_bound_is_reached_through_the_sigmoid() {
    // minimise (x - 2)^2 on x in [0, 2.05]: the optimum sits 2.4 % from the bound.
    let t = Transforms::sigmoid_boxes(&[(0.0, 2.05)]).unwrap();
    let mut f = |u: &[f64]| {
        let x = t.forward(u);
        let g = t.pull_back(u, &[2.0 * (x[0] - 2.0)]);
        Ok(((x[0] - 2.0).powi(2), g))
    };
    let u0 = t.inverse(&[0.5]).unwrap();
    let options = Options {
        max_iters: 5000,
        target_loss: Some(1e-12),
        ..Options::default()
    };
    let r = minimize(&mut f, &u0, &mut Adam::new(0.1), &options, &mut []).unwrap();
    let x = t.forward(&r.best_x)[0];
    assert!((x - 2.0).abs() < 1e-6 && x < 2.05, "{x}");
}

#[test]
fn a_killed_fit_resumes_exactly_from_its_checkpoint() {
    let path = std::env::temp_dir().join(format!("ruxley_optim_resume_{}.txt", std::process::id()));
    std::fs::remove_file(&path).ok();
    let options = Options {
        max_iters: 40,
        checkpoint: Some(path.clone()),
        ..Options::default()
    };
    // The reference: one uninterrupted run (without a checkpoint).
    let full = minimize(
        &mut rosenbrock,
        &[-1.2, 1.0],
        &mut Adam::new(0.02),
        &Options {
            checkpoint: None,
            ..options.clone()
        },
        &mut [],
    )
    .unwrap();
    // A run killed after iteration 17, then a fresh process resuming.
    let mut kill = |p: &Progress| p.iteration < 17;
    let first = minimize(
        &mut rosenbrock,
        &[-1.2, 1.0],
        &mut Adam::new(0.02),
        &options,
        &mut [&mut kill],
    )
    .unwrap();
    assert_eq!(first.stop, Stop::Observer);
    let resumed = minimize(
        &mut rosenbrock,
        &[-1.2, 1.0],
        &mut Adam::new(0.02),
        &options,
        &mut [],
    )
    .unwrap();
    assert_eq!(resumed.x, full.x);
    assert_eq!(resumed.history, full.history);
    assert_eq!(resumed.best_x, full.best_x);
    // A checkpoint of another optimiser is refused.
    let err = minimize(
        &mut rosenbrock,
        &[-1.2, 1.0],
        &mut Sgd::new(0.1, 0.0),
        &options,
        &mut [],
    )
    .unwrap_err();
    assert!(
        matches!(&err, OptimError::Checkpoint { path: p, .. } if *p == path),
        "{err}"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn failures_name_the_iteration() {
    let mut bad = |x: &[f64]| {
        if x[0] > 1.0 {
            Err("diverged".into())
        } else {
            Ok((x[0], vec![-1.0]))
        }
    };
    let err = minimize(
        &mut bad,
        &[0.0],
        &mut Sgd::new(0.4, 0.0),
        &Options::default(),
        &mut [],
    )
    .unwrap_err();
    assert!(
        matches!(&err, OptimError::Objective { iteration: 3, error } if error.to_string() == "diverged"),
        "{err}"
    );
    let mut nan = |_: &[f64]| Ok((f64::NAN, vec![0.0]));
    assert!(matches!(
        minimize(
            &mut nan,
            &[0.0],
            &mut Sgd::new(0.1, 0.0),
            &Options::default(),
            &mut []
        ),
        Err(OptimError::NonFinite { iteration: 0 })
    ));
    assert!(Bijection::Softplus { lo: f64::NAN }.validate().is_err());
}

#[test]
fn lbfgs_solves_rosenbrock_and_the_ill_scaled_quadratic_quickly() {
    use ruxley_optim::{LbfgsOptions, lbfgs};
    let o = LbfgsOptions {
        max_iters: 200,
        target_loss: Some(1e-14),
        ..LbfgsOptions::default()
    };
    let r = lbfgs(&mut rosenbrock, &[-1.2, 1.0], &o, &mut []).unwrap();
    assert_eq!(r.stop, Stop::TargetLoss, "{:?} {}", r.best_x, r.best_loss);
    assert!(r.evaluations < 200, "{} evaluations", r.evaluations);
    let r = lbfgs(
        &mut ill_quadratic,
        &[5.0, -3.0, 8.0, 1.0, -2.0],
        &o,
        &mut [],
    )
    .unwrap();
    assert_eq!(r.stop, Stop::TargetLoss, "{}", r.best_loss);
    assert!(r.evaluations < 100, "{} evaluations", r.evaluations);
}

#[test]
fn cmaes_solves_rosenbrock_without_gradients() {
    use ruxley_optim::{CmaesOptions, cmaes};
    let mut f = |x: &[f64]| rosenbrock(x).map(|(v, _)| v);
    let o = CmaesOptions {
        sigma: 0.5,
        max_evals: 20_000,
        target_loss: Some(1e-12),
        ..CmaesOptions::default()
    };
    let r = cmaes(&mut f, &[-1.2, 1.0], &o, &mut []).unwrap();
    assert_eq!(r.stop, Stop::TargetLoss, "{:?}", r.best_x);
    let mut q = |x: &[f64]| ill_quadratic(x).map(|(v, _)| v);
    let r = cmaes(
        &mut q,
        &[5.0, -3.0, 8.0, 1.0, -2.0],
        &CmaesOptions { sigma: 2.0, ..o },
        &mut [],
    )
    .unwrap();
    assert_eq!(r.stop, Stop::TargetLoss, "{}", r.best_loss);
    // Same seed, same run.
    let again = cmaes(
        &mut q,
        &[5.0, -3.0, 8.0, 1.0, -2.0],
        &CmaesOptions { sigma: 2.0, ..o },
        &mut [],
    )
    .unwrap();
    assert_eq!(again.best_x, r.best_x);
}

#[test]
fn restarts_find_the_global_minimum_of_a_multimodal_function() {
    use ruxley_optim::{restarts, uniform_starts};
    // Rastrigin in 2-d: many local minima, the global one at 0.
    let f = |x: &[f64]| -> Result<(f64, Vec<f64>), ObjectiveError> {
        let a = 10.0;
        let v = 2.0 * a
            + x.iter()
                .map(|x| x * x - a * (2.0 * std::f64::consts::PI * x).cos())
                .sum::<f64>();
        let g = x
            .iter()
            .map(|x| {
                2.0 * x + 2.0 * std::f64::consts::PI * a * (2.0 * std::f64::consts::PI * x).sin()
            })
            .collect();
        Ok((v, g))
    };
    // About 1 start in 16 lands in the global basin (|x_i| < 1/2).
    let starts = uniform_starts(&[(-2.0, 2.0), (-2.0, 2.0)], 64, 1);
    assert_eq!(starts, uniform_starts(&[(-2.0, 2.0), (-2.0, 2.0)], 64, 1));
    let reports = restarts(&starts, |_, x0| {
        // Plain gradient descent stays in the basin it starts in.
        minimize(
            &mut f.clone(),
            x0,
            &mut Sgd::new(2e-3, 0.0),
            &Options {
                max_iters: 3000,
                ..Options::default()
            },
            &mut [],
        )
    })
    .unwrap();
    assert!(reports[0].best_loss < 1e-8, "best {}", reports[0].best_loss);
    assert!(
        reports[63].best_loss > 0.5,
        "some restarts end in local minima"
    );
}

#[test]
fn transforms_from_ranges_map_onto_them_and_leave_the_rest() {
    use ruxley_optim::{Bijection, Transforms};
    let t = Transforms::from_bounds(&[Some((0.0, 0.5)), None]).unwrap();
    assert_eq!(t.0[1], Bijection::Identity);
    let x = [0.12, -65.0];
    let u = t.inverse(&x).unwrap();
    let back = t.forward(&u);
    assert!(
        (back[0] - 0.12).abs() < 1e-15 && back[1] == -65.0,
        "{back:?}"
    );
    assert!(t.forward(&[40.0, 0.0])[0] <= 0.5);
    assert!(Transforms::from_bounds(&[Some((1.0, 0.5))]).is_err());
}

/// Squared distances of each member to 0.3 and to 0.7 in every gene: two
/// objectives whose Pareto set is the segment from (0.3, ..) to (0.7, ..).
fn two_targets(members: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, ObjectiveError> {
    Ok(members
        .iter()
        .map(|x| {
            let d = |c: f64| x.iter().map(|v| (v - c) * (v - c)).sum::<f64>();
            vec![d(0.3), d(0.7)]
        })
        .collect())
}

#[test]
fn ibea_approaches_the_pareto_set_and_is_reproducible() {
    use ruxley_optim::{IbeaOptions, ibea};
    let bounds = vec![(-2.0, 3.0); 4];
    // One mutated gene per child on average (BluePyOpt's default mutates
    // half of them, which converges more slowly on this smooth problem).
    let options = IbeaOptions {
        population: 20,
        generations: 60,
        mutation_probability: 0.25,
        seed: 7,
        ..IbeaOptions::default()
    };
    let r = ibea(&mut two_targets, &bounds, &options, &mut []).unwrap();
    // The mean of the objectives is least (0.04 per gene) at 0.5 in every
    // gene; IBEA ends 1.2e-3 above it.
    let least = 4.0 * 0.04;
    eprintln!("IBEA best mean loss {} (least {least})", r.best_loss);
    assert!(r.best_loss - least < 1.2e-2, "{}", r.best_loss);
    assert_eq!(r.history.len(), 61);
    assert_eq!(r.evaluations, 20 * 61);
    for (x, (lo, hi)) in r.best_x.iter().zip(&bounds) {
        assert!(lo <= x && x <= hi);
    }
    // Start far worse: the initial population is nowhere near it.
    assert!(r.history[0] > least + 0.3, "{}", r.history[0]);
    let again = ibea(&mut two_targets, &bounds, &options, &mut []).unwrap();
    assert_eq!(again, r);
    let other = IbeaOptions { seed: 8, ..options };
    assert_ne!(ibea(&mut two_targets, &bounds, &other, &mut []).unwrap(), r);
}

#[test]
fn ibea_survives_nan_members_and_reports_failures() {
    use ruxley_optim::{IbeaOptions, OptimError, ibea};
    let bounds = vec![(-1.0, 1.0); 3];
    // NaN on half the box: the GA still finds the finite optimum near 0.3.
    let mut half_nan = |m: &[Vec<f64>]| {
        let mut s = two_targets(m)?;
        for (x, s) in m.iter().zip(&mut s) {
            if x[0] < 0.0 {
                s[0] = f64::NAN;
            }
        }
        Ok(s)
    };
    let options = IbeaOptions {
        population: 12,
        generations: 30,
        target_loss: Some(0.2),
        ..IbeaOptions::default()
    };
    let r = ibea(&mut half_nan, &bounds, &options, &mut []).unwrap();
    assert!(
        r.best_loss.is_finite() && r.best_loss <= 0.2,
        "{}",
        r.best_loss
    );
    assert_eq!(r.stop, ruxley_optim::Stop::TargetLoss);
    // An evaluation error is passed on with its generation.
    let mut calls = 0;
    let mut failing = |m: &[Vec<f64>]| {
        calls += 1;
        if calls == 3 {
            Err("simulation diverged".into())
        } else {
            two_targets(m)
        }
    };
    match ibea(&mut failing, &bounds, &options, &mut []) {
        Err(OptimError::Objective { iteration, error }) => {
            assert_eq!(iteration, 2);
            assert_eq!(error.to_string(), "simulation diverged");
        }
        other => panic!("expected an objective error, got {other:?}"),
    }
    // Wrong shapes and bad boxes are errors, not panics.
    let mut short = |m: &[Vec<f64>]| Ok(vec![vec![0.0]; m.len() - 1]);
    assert!(ibea(&mut short, &bounds, &options, &mut []).is_err());
    let bad = vec![(1.0, 1.0)];
    assert!(ibea(&mut two_targets, &bad, &options, &mut []).is_err());
}
