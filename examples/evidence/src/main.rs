//! The paper's evidence integration: train the network, then print and
//! plot its accuracy and psychometric curve.
//!
//! Run: `cargo run --release -p evidence` (200 ms trials) or with `--full`
//! (the paper's 500 ms, 20,000 steps).

use evidence::{Config, Outcome, run};
use ruxley::train::TrainOptions;
use ruxley_plot::{Figure, Series, write_svg, write_traces_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = example_flags::parse(
        std::env::args().skip(1),
        &[
            "--duration MS",
            "--epochs N",
            "--train N",
            "--lr X",
            "--seed N",
        ],
    )?;
    let mut config = if flags.full {
        Config::full()
    } else {
        Config::default_run()
    };
    flags.set("--duration", &mut config.duration)?;
    flags.set("--epochs", &mut config.epochs)?;
    flags.set("--train", &mut config.n_train)?;
    flags.set("--lr", &mut config.lr)?;
    flags.set("--seed", &mut config.seed)?;
    std::fs::create_dir_all("out")?;
    let options = TrainOptions {
        metrics: Some("out/evidence_metrics.csv".into()),
        show_progress: true,
        ..TrainOptions::default()
    };
    let start = std::time::Instant::now();
    let o = run(&config, &options)?;
    print(&config, &o, start.elapsed().as_secs_f64());
    plot(&o)?;
    println!(
        "wrote out/evidence_metrics.csv, out/evidence_loss.svg, out/evidence_psychometric.svg, \
         out/evidence_trials.svg"
    );
    Ok(())
}

fn print(config: &Config, o: &Outcome, seconds: f64) {
    let e = &o.report.epochs;
    let (first, last) = (&e[0], &e[e.len() - 1]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{} ms trials ({} steps); 109 trainables; {} training and {} held-out trials; \
         {} epochs of {} Adam steps (lr {}); {seconds:.1} s on {threads} threads (training {:.1} s)",
        config.duration,
        (config.duration / evidence::DT).round(),
        config.n_train,
        config.n_test,
        config.epochs,
        config.n_train.div_ceil(config.batch_size),
        config.lr,
        last.seconds
    );
    println!(
        "held-out loss {:.4} -> {:.4}, accuracy {:.1}% -> {:.1}% (ideal observer {:.1}%)",
        first.test_loss,
        last.test_loss,
        100.0 * first.test_accuracy,
        100.0 * o.test_accuracy.0,
        100.0 * o.test_accuracy.1
    );
    println!(
        "psychometric curve ({} trials per level):",
        config.per_level
    );
    println!("{:>6} {:>10} {:>10}", "mu", "P(1)", "ideal");
    for (mu, p, ideal) in &o.psychometric {
        println!("{mu:>6.1} {p:>10.3} {ideal:>10.3}");
    }
}

fn plot(o: &Outcome) -> Result<(), Box<dyn std::error::Error>> {
    let e = &o.report.epochs;
    let epoch: Vec<f64> = e.iter().map(|r| r.epoch as f64).collect();
    let train: Vec<f64> = e.iter().map(|r| r.train_loss).collect();
    let test: Vec<f64> = e.iter().map(|r| r.test_loss).collect();
    write_svg(
        "out/evidence_loss.svg",
        &Figure {
            title: "Evidence integration: cross-entropy of the readout",
            x_label: "epoch",
            panels: vec![(
                "loss",
                vec![
                    Series {
                        label: "train",
                        x: &epoch,
                        y: &train,
                    },
                    Series {
                        label: "held out",
                        x: &epoch,
                        y: &test,
                    },
                ],
            )],
            log_y: true,
        },
        800,
        400,
    )?;
    let mu: Vec<f64> = o.psychometric.iter().map(|p| p.0).collect();
    let chose: Vec<f64> = o.psychometric.iter().map(|p| p.1).collect();
    let ideal: Vec<f64> = o.psychometric.iter().map(|p| p.2).collect();
    write_svg(
        "out/evidence_psychometric.svg",
        &Figure {
            title: "Evidence integration: psychometric curve",
            x_label: "evidence mu",
            panels: vec![(
                "P(choice 1)",
                vec![
                    Series {
                        label: "trained network",
                        x: &mu,
                        y: &chose,
                    },
                    Series {
                        label: "ideal observer",
                        x: &mu,
                        y: &ideal,
                    },
                ],
            )],
            log_y: false,
        },
        700,
        450,
    )?;
    write_traces_svg(
        "out/evidence_trials.svg",
        "Readout voltages on two held-out trials (mu = -0.2 top, +0.2 bottom)",
        &[("readout 0 (mV)", "v_r0_mV"), ("readout 1 (mV)", "v_r1_mV")],
        &[("mu = -0.2", &o.examples[0]), ("mu = +0.2", &o.examples[1])],
        900,
        500,
    )?;
    Ok(())
}
