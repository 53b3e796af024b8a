//! The paper's conductance profiles: 1,381 per-branch densities of the L5PC
//! recovered from the voltage at every branch.
//!
//! Run: `cargo run --release -p conductance_profile` (IBEA 50 generations)
//! or with `--full` (500, the paper's).

use std::path::Path;

use conductance_profile::{
    Config, Objective, PROFILES, Posterior, PosteriorRun, Problem, genetic_algorithm,
    gradient_descent, sample_posterior,
};
use ruxley_optim::Progress;
use ruxley_plot::{Figure, Series, write_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = example_flags::parse(std::env::args().skip(1), &[])?.full;
    let config = if full {
        Config::full()
    } else {
        Config::default_run()
    };
    let problem = Problem::new(&config)?;
    let n = problem.sites.len();
    let per: Vec<usize> = (0..PROFILES.len())
        .map(|k| problem.profile(k).len())
        .collect();
    println!(
        "{n} trainables: {} ({} apical and {} axonal branches); {} recorded traces",
        PROFILES
            .iter()
            .zip(&per)
            .map(|((r, c), m)| format!("{r} {c} x{m}"))
            .collect::<Vec<_>>()
            .join(", "),
        per[0],
        per[3],
        problem.n_traces
    );
    let truth = problem.truth(&config)?;
    let target = problem.simulate(std::slice::from_ref(&truth))?.remove(0);
    let objective = Objective::new(&problem, &target, config.lambda);
    let (data0, prior0) = objective.parts(
        &problem.released,
        &problem.simulate(std::slice::from_ref(&problem.released))?[0],
    )?;
    let (_, prior_truth) = objective.parts(&truth, &target)?;
    println!(
        "start (released, flat): data {data0:.4e} mV^2, prior {prior0:.2e}; truth: prior {prior_truth:.3e}"
    );

    let bar = ruxley::progress::bar(config.iterations + 1, "GD", true);
    let mut every = |p: &Progress| {
        bar.set_message(format!("loss {:.3e}", p.loss));
        bar.inc(1);
        true
    };
    let gd = gradient_descent(&objective, &config, &mut every)?;
    println!(
        "GD: best loss {:.4e} after {} gradients in {:.1} s",
        gd.best_loss,
        gd.losses.len(),
        gd.seconds
    );
    bar.finish();
    let bar = ruxley::progress::bar(config.ga_generations + 1, "IBEA", true);
    let mut every = |p: &Progress| {
        bar.set_message(format!("best loss {:.3e}", 2.0 * p.loss));
        bar.inc(1);
        true
    };
    let ga = genetic_algorithm(&objective, &config, &mut every)?;
    bar.finish();
    let every_tenth = |losses: &[f64]| -> String {
        losses
            .iter()
            .step_by(10)
            .map(|l| format!("{l:.2e}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("GD loss every 10 gradients: {}", every_tenth(&gd.losses));
    println!(
        "IBEA best loss every 10 generations: {}",
        every_tenth(&ga.losses)
    );
    println!(
        "IBEA: best loss {:.4e} after {} simulations in {:.1} s",
        ga.best_loss,
        ga.losses.len() * ga.sims_per_entry,
        ga.seconds
    );
    println!(
        "IBEA's best / GD's best: {:.1}x",
        ga.best_loss / gd.best_loss
    );
    // Recovery: per profile, the rms error of the fitted u against the truth.
    let fitted = &gd.best;
    for (k, (region, name)) in PROFILES.iter().enumerate() {
        let idx = problem.profile(k);
        let err: f64 = (idx
            .iter()
            .map(|&i| (fitted[i] - truth[i]).powi(2))
            .sum::<f64>()
            / idx.len() as f64)
            .sqrt();
        let start: f64 = (idx
            .iter()
            .map(|&i| (problem.released[i] - truth[i]).powi(2))
            .sum::<f64>()
            / idx.len() as f64)
            .sqrt();
        println!(
            "{region:>6} {name:<14} rms error in the sigmoid space: start {start:.3}, GD {err:.3}"
        );
    }
    // The posterior around GD's fit.
    let posterior = Posterior::new(&objective, config.sigma);
    let bar = ruxley::progress::bar(config.chains * (config.warmup + config.draws), "HMC", true);
    let run = sample_posterior(&posterior, &gd.best, &config, &|| bar.inc(1))?;
    bar.finish();
    let median = |mut x: Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let ess_median = median(run.ess.clone());
    println!(
        "HMC (5 leapfrog steps, noise {} mV): {} chains x ({} warm-up + {} kept), {} gradients \
         in {:.0} s; R-hat max {:.2}, median {:.2}; bulk ESS min {:.1}, median {:.1}; {:.0} \
         gradients per effective sample (median ESS)",
        config.sigma,
        config.chains,
        config.warmup,
        config.draws,
        run.gradients,
        run.seconds,
        run.r_hat.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        median(run.r_hat.clone()),
        run.ess.iter().copied().fold(f64::INFINITY, f64::min),
        ess_median,
        run.gradients as f64 / ess_median
    );
    let worst = run.r_hat.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if worst.is_nan() || worst > 1.01 {
        println!(
            "NOT CONVERGED (R-hat up to {worst:.2} > 1.01): the intervals below describe the \
             chains, not the posterior; run longer (--full) or on a GPU"
        );
    }
    for (k, (region, name)) in PROFILES.iter().enumerate() {
        let idx = problem.profile(k);
        let widths: Vec<f64> = idx
            .iter()
            .map(|&i| run.quantile(i, 0.95) - run.quantile(i, 0.05))
            .collect();
        let covered = idx
            .iter()
            .filter(|&&i| (run.quantile(i, 0.05)..=run.quantile(i, 0.95)).contains(&truth[i]))
            .count();
        println!(
            "{region:>6} {name:<14} 90% interval width (sigmoid space): median {:.3}; truth \
             inside for {covered} of {} branches; R-hat median {:.2}",
            median(widths),
            idx.len(),
            median(idx.iter().map(|&i| run.r_hat[i]).collect())
        );
    }
    plot(&problem, &truth, &gd, &ga, &run)?;
    Ok(())
}

fn plot(
    problem: &Problem,
    truth: &[f64],
    gd: &conductance_profile::Fit,
    ga: &conductance_profile::Fit,
    run: &PosteriorRun,
) -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../out");
    std::fs::create_dir_all(&out)?;
    let x = |f: &conductance_profile::Fit| -> Vec<f64> {
        (1..=f.losses.len())
            .map(|k| (k * f.sims_per_entry) as f64)
            .collect()
    };
    let (xg, xa) = (x(gd), x(ga));
    let figure = Figure {
        title: "Conductance profiles: loss against simulations",
        x_label: "simulations (GD: one simulation and its backward pass per step)",
        panels: vec![(
            "MSE + smoothness prior",
            vec![
                Series {
                    label: "GD (Adam)",
                    x: &xg,
                    y: &gd.losses,
                },
                Series {
                    label: "IBEA",
                    x: &xa,
                    y: &ga.losses,
                },
            ],
        )],
        log_y: true,
    };
    write_svg(out.join("conductance_profile_loss.svg"), &figure, 900, 450)?;
    // Profiles along the path distance: a tight and a loose one, with the
    // posterior's 5 % and 95 % quantiles.
    let mut panels_data = Vec::new();
    for k in [6usize, 0] {
        let mut idx = problem.profile(k);
        idx.sort_by(|&a, &b| problem.distance[a].total_cmp(&problem.distance[b]));
        let d: Vec<f64> = idx.iter().map(|&i| problem.distance[i]).collect();
        let phys = |u: &[f64]| -> Vec<f64> {
            let x = problem.transforms.forward(u);
            idx.iter().map(|&i| x[i]).collect()
        };
        let quantile = |q: f64| -> Vec<f64> {
            let mut u = truth.to_vec();
            for &i in &idx {
                u[i] = run.quantile(i, q);
            }
            phys(&u)
        };
        panels_data.push((
            k,
            d,
            phys(truth),
            phys(&gd.best),
            quantile(0.05),
            quantile(0.95),
        ));
    }
    let titles: Vec<String> = panels_data
        .iter()
        .map(|(k, ..)| format!("{} {} (S/cm2)", PROFILES[*k].0, PROFILES[*k].1))
        .collect();
    let panels = panels_data
        .iter()
        .zip(&titles)
        .map(|((_, d, t, g, lo, hi), title)| {
            (
                title.as_str(),
                vec![
                    Series {
                        label: "truth",
                        x: d,
                        y: t,
                    },
                    Series {
                        label: "GD",
                        x: d,
                        y: g,
                    },
                    Series {
                        label: "posterior 5 %",
                        x: d,
                        y: lo,
                    },
                    Series {
                        label: "posterior 95 %",
                        x: d,
                        y: hi,
                    },
                ],
            )
        })
        .collect();
    let figure = Figure {
        title: "Conductance profiles along the path distance, with 90 % posterior intervals",
        x_label: "path distance from the soma (um)",
        panels,
        log_y: false,
    };
    write_svg(out.join("conductance_profile.svg"), &figure, 900, 700)?;
    println!("wrote out/conductance_profile_loss.svg and out/conductance_profile.svg");
    Ok(())
}
