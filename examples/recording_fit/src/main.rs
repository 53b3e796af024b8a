//! The paper's fit to a real recording: soft-DTW gradient descent from many
//! starts in two stages, against IBEA at equal compute.
//!
//! Run: `cargo run --release -p recording_fit` (48 starts) or with `--full`
//! (the paper's 1,000 starts x 50 steps).

use std::path::Path;

use recording_fit::{Config, DT, FEATURES, Fit, Outcome, PARAMS, run};
use ruxley_plot::{Figure, Series, write_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = example_flags::parse(
        std::env::args().skip(1),
        &[
            "--sweep 181..185",
            "--starts N",
            "--steps N",
            "--keep N",
            "--steps2 N",
            "--gamma X",
            "--gamma2 X",
            "--beta X",
            "--seed N",
        ],
    )?;
    let mut config = if flags.full {
        Config::full()
    } else {
        Config::default_run()
    };
    flags.set("--sweep", &mut config.sweep)?;
    flags.set("--starts", &mut config.starts)?;
    flags.set("--steps", &mut config.stage1_steps)?;
    flags.set("--keep", &mut config.keep)?;
    flags.set("--steps2", &mut config.stage2_steps)?;
    flags.set("--gamma", &mut config.gamma)?;
    flags.set("--gamma2", &mut config.gamma2)?;
    flags.set("--beta", &mut config.beta)?;
    flags.set("--seed", &mut config.seed)?;
    let outcome = run(&config)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let r = &outcome.recording;
    println!(
        "sweep {}: {:.0} ms, step {:.0}-{:.0} ms, {} trainables, {threads} threads",
        config.sweep,
        r.duration(),
        r.step.0,
        r.step.1,
        PARAMS.len()
    );
    let summary = |name: &str, losses: &[Vec<f64>]| {
        let first: Vec<f64> = losses.iter().map(|l| l[0]).collect();
        let best: Vec<f64> = losses
            .iter()
            .map(|l| l.iter().copied().fold(f64::INFINITY, f64::min))
            .collect();
        println!(
            "{name}: {} starts x {} gradients; loss median {:.3} -> {:.3}, best {:.3}",
            losses.len(),
            losses.first().map_or(0, Vec::len),
            median(&first),
            median(&best),
            best.iter().copied().fold(f64::INFINITY, f64::min)
        );
    };
    summary("stage 1 (first 200 ms)", &outcome.stage1);
    summary("stage 2 (whole sweep)", &outcome.stage2);
    for (k, l) in outcome.stage2.iter().enumerate() {
        let l: Vec<String> = l.iter().map(|x| format!("{x:.1}")).collect();
        println!("  stage 2 run {k}: loss {}", l.join(" "));
    }
    println!(
        "wall: stage 1 {:.0} s, stage 2 {:.0} s; IBEA {} simulations of the sweep in {:.0} s",
        outcome.walls[0], outcome.walls[1], outcome.ga_simulations, outcome.walls[2]
    );
    println!(
        "{:<26} {:>10} {:>10} {:>10}",
        "feature", "recording", "GD fit", "IBEA fit"
    );
    let cell = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.3}"));
    for (k, (name, _)) in FEATURES.iter().enumerate() {
        println!(
            "{name:<26} {:>10} {:>10} {:>10}",
            cell(outcome.recorded[k]),
            cell(outcome.gd.features[k]),
            cell(outcome.ga.features[k])
        );
    }
    let line = |name: &str, f: &Fit| {
        println!(
            "{name}: summed score {:.2}, soft-DTW loss over the sweep {:.3}",
            f.total_score(),
            f.loss
        );
    };
    line("GD fit  ", &outcome.gd);
    line("IBEA fit", &outcome.ga);
    println!("GD fit parameters:");
    for (p, x) in PARAMS.iter().zip(&outcome.gd.params) {
        println!("  {:>6} {:<22} {x:.6}", p.region, p.name);
    }
    plot(&outcome)?;
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The recording against both fits (the whole sweep at the recording's
/// 0.25 ms, and the first 250 ms of the step at 0.1 ms), and the loss
/// curves of stage 1.
fn plot(outcome: &Outcome) -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../out");
    std::fs::create_dir_all(&out)?;
    let r = &outcome.recording;
    // (times, values) of every `stride`-th sample in [from, to) ms.
    let cut = |v: &[f64], dt: f64, (from, to): (f64, f64), stride: usize| {
        let (a, b) = ((from / dt) as usize, ((to / dt) as usize).min(v.len()));
        let idx: Vec<usize> = (a..b).step_by(stride).collect();
        let t: Vec<f64> = idx.iter().map(|&i| i as f64 * dt).collect();
        let y: Vec<f64> = idx.iter().map(|&i| v[i]).collect();
        (t, y)
    };
    let all = (0.0, r.duration());
    let zoom = (r.step.0 - 10.0, r.step.0 + 250.0);
    let per_sample = (r.dt / DT).round() as usize;
    let rec = cut(&r.voltage, r.dt, all, 1);
    let rec_zoom = cut(&r.voltage, r.dt, zoom, 1);
    let gd = cut(&outcome.gd.voltage, DT, all, per_sample);
    let ga = cut(&outcome.ga.voltage, DT, all, per_sample);
    let gd_zoom = cut(&outcome.gd.voltage, DT, zoom, 4);
    let ga_zoom = cut(&outcome.ga.voltage, DT, zoom, 4);
    fn series<'a>(label: &'a str, (t, y): &'a (Vec<f64>, Vec<f64>)) -> Series<'a> {
        Series { label, x: t, y }
    }
    let figure = Figure {
        title: "Fit to a recording (BluePyEfe cell B6, 105 pA): somatic voltage (mV)",
        x_label: "time (ms)",
        panels: vec![
            (
                "gradient descent",
                vec![series("recording", &rec), series("GD fit", &gd)],
            ),
            (
                "IBEA",
                vec![series("recording", &rec), series("IBEA fit", &ga)],
            ),
            (
                "the step's first 250 ms",
                vec![
                    series("recording", &rec_zoom),
                    series("GD fit", &gd_zoom),
                    series("IBEA fit", &ga_zoom),
                ],
            ),
        ],
        log_y: false,
    };
    let path = out.join("recording_fit_traces.svg");
    write_svg(&path, &figure, 1000, 800)?;
    println!("wrote {}", path.display());
    let steps: Vec<f64> = (0..outcome.stage1.first().map_or(0, Vec::len))
        .map(|k| k as f64)
        .collect();
    let shown: Vec<(String, &Vec<f64>)> = outcome
        .stage1
        .iter()
        .take(16)
        .enumerate()
        .map(|(k, l)| (format!("start {k}"), l))
        .collect();
    let series = shown
        .iter()
        .map(|(label, l)| Series {
            label,
            x: &steps,
            y: l,
        })
        .collect();
    let figure = Figure {
        title: "Stage 1: soft-DTW loss of the first 16 starts",
        x_label: "gradient step",
        panels: vec![("loss", series)],
        log_y: true,
    };
    let path = out.join("recording_fit_loss.svg");
    write_svg(&path, &figure, 900, 450)?;
    println!("wrote {}", path.display());
    Ok(())
}
