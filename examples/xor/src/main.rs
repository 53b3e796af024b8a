//! The paper's dendritic XOR: train the cell, then print and plot what it
//! does.
//!
//! Run: `cargo run --release -p xor` (256 samples, 200 epochs) or with
//! `--full` (1,024 samples).

use ruxley::train::TrainOptions;
use ruxley_plot::{Figure, Heatmap, Series, write_heatmaps_svg, write_svg, write_traces_svg};
use xor::{Config, Outcome, SURFACE_MAX, run};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = example_flags::parse(
        std::env::args().skip(1),
        &["--epochs N", "--train N", "--batch N", "--lr X", "--seed N"],
    )?;
    let mut config = if flags.full {
        Config::full()
    } else {
        Config::default_run()
    };
    flags.set("--epochs", &mut config.epochs)?;
    flags.set("--train", &mut config.n_train)?;
    flags.set("--batch", &mut config.batch_size)?;
    flags.set("--lr", &mut config.lr)?;
    flags.set("--seed", &mut config.seed)?;
    std::fs::create_dir_all("out")?;
    let options = TrainOptions {
        metrics: Some("out/xor_metrics.csv".into()),
        show_progress: true,
        ..TrainOptions::default()
    };
    let start = std::time::Instant::now();
    let o = run(&config, &options)?;
    print(&config, &o, start.elapsed().as_secs_f64());
    plot(&o)?;
    println!(
        "wrote out/xor_metrics.csv, out/xor_loss.svg, out/xor_accuracy.svg, out/xor_surface.svg, \
         out/xor_traces.svg, out/xor_traces_trained.svg"
    );
    Ok(())
}

fn print(config: &Config, o: &Outcome, seconds: f64) {
    let e = &o.report.epochs;
    let (first, last) = (&e[0], &e[e.len() - 1]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{} trainables; {} training and {} test samples; {} epochs of {} Adam steps (lr {}); \
         {seconds:.1} s on {threads} threads (training {:.1} s)",
        o.theta.len(),
        config.n_train,
        config.n_test,
        config.epochs,
        config.n_train.div_ceil(config.batch_size),
        config.lr,
        last.seconds
    );
    println!(
        "readout: test loss {:.4} -> {:.4}, accuracy {:.1}% -> {:.1}%",
        first.test_loss,
        last.test_loss,
        100.0 * first.test_accuracy,
        100.0 * last.test_accuracy
    );
    println!("test samples that spike after {} ms, by class:", xor::LATE);
    println!(
        "{:<8} {:>11} {:>11} {:>11} {:>13} {:>9}",
        "", "weak,weak", "strong,weak", "weak,strong", "strong,strong", "accuracy"
    );
    for (name, r) in [("before", &o.before), ("after", &o.after)] {
        println!(
            "{name:<8} {:>11.3} {:>11.3} {:>11.3} {:>13.3} {:>8.1}%",
            r.firing[0],
            r.firing[1],
            r.firing[2],
            r.firing[3],
            100.0 * r.accuracy
        );
    }
    println!("somatic spike times (ms) at the middle of each class's ranges:");
    for (when, runs) in [("before", &o.traces_before), ("after", &o.traces_after)] {
        for (class, t) in runs {
            let v = t.get("v_soma_mV").expect("the soma is recorded");
            let times: Vec<String> = ruxley::analysis::spike_times(v, t.dt(), xor::THRESHOLD)
                .iter()
                .map(|s| format!("{s:.1}"))
                .collect();
            println!("  {when:<7} {class:<14} {}", times.join(" "));
        }
    }
    for (name, s) in [("before", &o.surface_before), ("after", &o.surface_after)] {
        println!(
            "late spikes {name} training (a: columns, b: rows, 0 to {SURFACE_MAX} nA; . = none):"
        );
        let step = (s.len() / 20).max(1);
        for row in s.iter().step_by(step).rev() {
            let line: String = row
                .iter()
                .step_by(step)
                .map(|&c| match c as usize {
                    0 => '.',
                    n => char::from_digit(n.min(9) as u32, 10).unwrap_or('9'),
                })
                .collect();
            println!("  {line}");
        }
    }
}

fn plot(o: &Outcome) -> Result<(), Box<dyn std::error::Error>> {
    let e = &o.report.epochs;
    let epoch: Vec<f64> = e.iter().map(|r| r.epoch as f64).collect();
    let column = |f: fn(&ruxley::train::EpochMetrics) -> f64| e.iter().map(f).collect::<Vec<_>>();
    let (train, test) = (column(|r| r.train_loss), column(|r| r.test_loss));
    let (train_acc, test_acc) = (column(|r| r.train_accuracy), column(|r| r.test_accuracy));
    write_svg(
        "out/xor_loss.svg",
        &Figure {
            title: "XOR: cross-entropy of the readout",
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
                        label: "test",
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
    write_svg(
        "out/xor_accuracy.svg",
        &Figure {
            title: "XOR: accuracy of the readout",
            x_label: "epoch",
            panels: vec![(
                "accuracy",
                vec![
                    Series {
                        label: "train",
                        x: &epoch,
                        y: &train_acc,
                    },
                    Series {
                        label: "test",
                        x: &epoch,
                        y: &test_acc,
                    },
                ],
            )],
            log_y: false,
        },
        800,
        300,
    )?;
    let range = (0.0, SURFACE_MAX);
    write_heatmaps_svg(
        "out/xor_surface.svg",
        "somatic spikes after 22 ms",
        ("input a (nA)", "input b (nA)"),
        &[
            Heatmap {
                title: "before training",
                x_range: range,
                y_range: range,
                values: &o.surface_before,
            },
            Heatmap {
                title: "after training",
                x_range: range,
                y_range: range,
                values: &o.surface_after,
            },
        ],
        1000,
        520,
    )?;
    for (runs, when, file) in [
        (&o.traces_before, "before", "out/xor_traces.svg"),
        (&o.traces_after, "after", "out/xor_traces_trained.svg"),
    ] {
        let runs: Vec<(&str, &ruxley::Traces)> =
            runs.iter().map(|(n, t)| (n.as_str(), t)).collect();
        write_traces_svg(
            file,
            &format!("XOR: somatic voltage for each input class, {when} training"),
            &[("soma (mV)", "v_soma_mV")],
            &runs,
            900,
            350,
        )?;
    }
    Ok(())
}
