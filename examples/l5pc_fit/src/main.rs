//! The paper's L5PC fit: Polyak gradient descent against IBEA.
//!
//! Run: `cargo run --release -p l5pc_fit` (4 starts, 4 GA seeds) or with
//! `--full` (the paper's 10 and 10).

use std::path::Path;

use l5pc_fit::{Config, median, run};
use ruxley_plot::{Figure, Series, write_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = example_flags::parse(
        std::env::args().skip(1),
        &[
            "--starts N",
            "--steps N",
            "--seeds N",
            "--generations N",
            "--gamma X",
            "--beta X",
            "--truth-seed N",
            "--target X",
            "--amplitude NA",
        ],
    )?;
    let mut config = if flags.full {
        Config::full()
    } else {
        Config::default_run()
    };
    flags.set("--starts", &mut config.starts)?;
    flags.set("--steps", &mut config.steps)?;
    flags.set("--seeds", &mut config.ga_seeds)?;
    flags.set("--generations", &mut config.ga_generations)?;
    flags.set("--gamma", &mut config.gamma)?;
    flags.set("--beta", &mut config.beta)?;
    flags.set("--truth-seed", &mut config.truth_seed)?;
    flags.set("--target", &mut config.target_loss)?;
    flags.set("--amplitude", &mut config.step.2)?;
    let outcome = run(&config)?;
    let target = config.target_loss;
    println!(
        "L5PC, {} trainables (held: {} {}), target loss {target}",
        outcome.labels.len(),
        l5pc_fit::HELD.0,
        l5pc_fit::HELD.1
    );
    let show = |name: &str, runs: &[l5pc_fit::Run]| {
        for (k, r) in runs.iter().enumerate() {
            let losses: Vec<String> = r.losses.iter().map(|l| format!("{l:.3}")).collect();
            let reached = r
                .sims_to(target)
                .map_or("not reached".to_string(), |n| format!("{n} sims"));
            println!("{name} {k:>2}: {reached:>12}; loss {}", losses.join(" "));
        }
    };
    show("GD start", &outcome.gd);
    show("IBEA seed", &outcome.ga);
    let sims = |runs: &[l5pc_fit::Run]| -> (Option<f64>, usize) {
        let to: Vec<_> = runs.iter().map(|r| r.sims_to(target)).collect();
        (median(&to), to.iter().flatten().count())
    };
    let ((gd_median, gd_hits), (ga_median, ga_hits)) = (sims(&outcome.gd), sims(&outcome.ga));
    let fmt = |m: Option<f64>| m.map_or("-".into(), |m| format!("{m}"));
    println!(
        "simulations to loss {target}: GD median {} ({gd_hits} of {} starts; a step is one \
         simulation and its backward pass), IBEA median {} ({ga_hits} of {} seeds)",
        fmt(gd_median),
        outcome.gd.len(),
        fmt(ga_median),
        outcome.ga.len()
    );
    let gradients = outcome.gd.iter().map(|r| r.losses.len()).sum::<usize>();
    let simulations: usize = outcome
        .ga
        .iter()
        .map(|r| r.losses.len() * r.sims_per_entry)
        .sum();
    let (per_gradient, per_simulation) = (
        outcome.gd_wall / gradients.max(1) as f64,
        outcome.ga_wall / simulations.max(1) as f64,
    );
    println!(
        "cost on {} threads: GD {gradients} gradients in {:.0} s ({per_gradient:.2} s each), \
         IBEA {simulations} simulations in {:.0} s ({per_simulation:.2} s each): a gradient \
         costs {:.1} simulations",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        outcome.gd_wall,
        outcome.ga_wall,
        per_gradient / per_simulation
    );
    let names = ["truth", "GD start", "GD fit", "IBEA fit"];
    for (name, v) in names.iter().zip(&outcome.voltages) {
        let spikes = ruxley::analysis::spike_times(v, 0.025, 0.0);
        let times: Vec<String> = spikes.iter().map(|t| format!("{t:.2}")).collect();
        let peak = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "{name:>8}: spikes at [{}] ms, peak {peak:.1} mV",
            times.join(", ")
        );
    }
    plot(&config, &outcome)?;
    Ok(())
}

/// Loss against simulations for both methods, and the somatic traces.
fn plot(config: &Config, outcome: &l5pc_fit::Outcome) -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../out");
    std::fs::create_dir_all(&out)?;
    let curve = |r: &l5pc_fit::Run| -> (Vec<f64>, Vec<f64>) {
        let x = (1..=r.losses.len())
            .map(|k| (k * r.sims_per_entry) as f64)
            .collect();
        (x, r.losses.clone())
    };
    let gd: Vec<_> = outcome.gd.iter().map(curve).collect();
    let ga: Vec<_> = outcome.ga.iter().map(curve).collect();
    let n = gd.len().max(ga.len());
    let target_line = (
        vec![
            1.0,
            (config.ga_population * (config.ga_generations + 1)) as f64,
        ],
        vec![config.target_loss; 2],
    );
    let labels: Vec<(String, String)> = (0..n)
        .map(|k| (format!("GD start {k}"), format!("IBEA seed {k}")))
        .collect();
    let mut series: Vec<Series> = gd
        .iter()
        .zip(&labels)
        .map(|((x, y), l)| Series { label: &l.0, x, y })
        .collect();
    series.extend(
        ga.iter()
            .zip(&labels)
            .map(|((x, y), l)| Series { label: &l.1, x, y }),
    );
    series.push(Series {
        label: "target",
        x: &target_line.0,
        y: &target_line.1,
    });
    let figure = Figure {
        title: "L5PC fit: loss against simulations (GD: one simulation and its backward pass per step)",
        x_label: "simulations",
        panels: vec![("window-statistics loss", series)],
        log_y: true,
    };
    let path = out.join("l5pc_fit_loss.svg");
    write_svg(&path, &figure, 900, 500)?;
    println!("wrote {}", path.display());
    let t: Vec<f64> = (0..outcome.voltages[0].len())
        .map(|i| i as f64 * 0.025)
        .collect();
    let series = |label, k: usize| Series {
        label,
        x: &t,
        y: &outcome.voltages[k],
    };
    let figure = Figure {
        title: "L5PC fit: somatic voltage",
        x_label: "time (ms)",
        panels: vec![
            (
                "before (mV)",
                vec![series("truth", 0), series("GD start", 1)],
            ),
            (
                "after (mV)",
                vec![
                    series("truth", 0),
                    series("GD fit", 2),
                    series("IBEA fit", 3),
                ],
            ),
        ],
        log_y: false,
    };
    let path = out.join("l5pc_fit_traces.svg");
    write_svg(&path, &figure, 900, 600)?;
    println!("wrote {}", path.display());
    Ok(())
}
