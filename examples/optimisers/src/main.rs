//! The optimisers of `ruxley-optim` on the Rosenbrock function from (-1.2, 1),
//! a fit resumed from its checkpoint, and parallel restarts on a multimodal
//! function. None of this involves the simulator: any value-and-gradient
//! function will do.
//!
//! Run: `cargo run --release -p optimisers`.

use ruxley_optim::{
    Adam, CmaesOptions, LbfgsOptions, LrSchedule, ObjectiveError, Options, PolyakGd, Progress, Sgd,
    Stop, cmaes, lbfgs, minimize, restarts, uniform_starts,
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let x0 = [-1.2, 1.0];
    let target = Some(1e-10);
    // ANCHOR: compare
    let options = Options {
        max_iters: 50_000,
        target_loss: target,
        ..Options::default()
    };
    let decaying = Options {
        schedule: LrSchedule::Exponential { decay: 0.9995 },
        ..options.clone()
    };
    let runs = [
        (
            "Adam (lr 0.02)",
            minimize(
                &mut rosenbrock,
                &x0,
                &mut Adam::new(0.02),
                &options,
                &mut [],
            )?,
        ),
        (
            "SGD + momentum",
            minimize(
                &mut rosenbrock,
                &x0,
                &mut Sgd::new(2e-4, 0.9),
                &options,
                &mut [],
            )?,
        ),
        (
            "Polyak GD (beta 1)",
            minimize(
                &mut rosenbrock,
                &x0,
                &mut PolyakGd {
                    gamma: 0.05,
                    beta: 1.0,
                    loss_scaled: false,
                },
                &decaying,
                &mut [],
            )?,
        ),
        (
            "L-BFGS",
            lbfgs(
                &mut rosenbrock,
                &x0,
                &LbfgsOptions {
                    max_iters: 1000,
                    target_loss: target,
                    ..LbfgsOptions::default()
                },
                &mut [],
            )?,
        ),
        (
            "CMA-ES (no gradient)",
            cmaes(
                &mut |x| rosenbrock(x).map(|(f, _)| f),
                &x0,
                &CmaesOptions {
                    sigma: 0.5,
                    max_evals: 50_000,
                    target_loss: target,
                    ..CmaesOptions::default()
                },
                &mut [],
            )?,
        ),
    ];
    // ANCHOR_END: compare
    for (name, r) in &runs {
        let reached = if r.stop == Stop::TargetLoss {
            "reached 1e-10"
        } else {
            "stopped at"
        };
        println!(
            "{name:>22}: {reached} loss {:.2e} after {:>6} evaluations",
            r.best_loss, r.evaluations
        );
    }

    // ANCHOR: resume
    // A fit that checkpoints every iteration: killed after 100, resumed later.
    let path = std::env::temp_dir().join("ruxley_optimisers_example.checkpoint");
    std::fs::remove_file(&path).ok();
    let options = Options {
        max_iters: 300,
        checkpoint: Some(path.clone()),
        ..Options::default()
    };
    let mut kill = |p: &Progress| p.iteration < 100;
    minimize(
        &mut rosenbrock,
        &x0,
        &mut Adam::new(0.02),
        &options,
        &mut [&mut kill],
    )?;
    let resumed = minimize(
        &mut rosenbrock,
        &x0,
        &mut Adam::new(0.02),
        &options,
        &mut [],
    )?;
    // ANCHOR_END: resume
    let whole = minimize(
        &mut rosenbrock,
        &x0,
        &mut Adam::new(0.02),
        &Options {
            checkpoint: None,
            ..options
        },
        &mut [],
    )?;
    println!(
        "resumed fit equals the uninterrupted one: {}",
        resumed.x == whole.x && resumed.history == whole.history
    );
    std::fs::remove_file(&path).ok();

    // ANCHOR: restarts
    // Rastrigin: a local minimum in every unit cell; 64 seeded starts in parallel.
    let rastrigin = |x: &[f64]| -> Result<(f64, Vec<f64>), ObjectiveError> {
        let w = 2.0 * std::f64::consts::PI;
        let f = 20.0 + x.iter().map(|x| x * x - 10.0 * (w * x).cos()).sum::<f64>();
        Ok((
            f,
            x.iter()
                .map(|x| 2.0 * x + 10.0 * w * (w * x).sin())
                .collect(),
        ))
    };
    let starts = uniform_starts(&[(-2.0, 2.0), (-2.0, 2.0)], 64, 1);
    let reports = restarts(&starts, |_, x0| {
        minimize(
            &mut rastrigin.clone(),
            x0,
            &mut Sgd::new(2e-3, 0.0),
            &Options {
                max_iters: 3000,
                ..Options::default()
            },
            &mut [],
        )
    })?;
    // ANCHOR_END: restarts
    let global = reports.iter().filter(|r| r.best_loss < 1e-8).count();
    println!(
        "restarts: best loss {:.1e} at {:?}; {global} of 64 starts reached the global minimum",
        reports[0].best_loss, reports[0].best_x
    );
    Ok(())
}
