//! Why the fit trains 19 of BluePyOpt's 20 free parameters: each one is
//! moved from its lower to its upper bound (the others at their released
//! values) and the change of the four window statistics measured; the one
//! that changes them least is held.
//!
//! Run: `cargo run --release -p l5pc_fit --example sensitivity`.

use l5pc_fit::{Config, SOMA, window_stats};
use ruxley::RunOptions;
use ruxley::cpu::CpuBackend;
use ruxley::grad::simulate;
use ruxley::l5pc::FREE_PARAMETERS;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::full();
    let mut cell = l5pc_fit::cell(&config)?;
    for p in &FREE_PARAMETERS {
        cell.group(p.region).make_trainable(p.name, None)?;
    }
    let layout = cell.build()?;
    let released: Vec<f64> = FREE_PARAMETERS.iter().map(|p| p.value).collect();
    let mut thetas = Vec::new();
    for (i, p) in FREE_PARAMETERS.iter().enumerate() {
        for end in [p.bounds.0, p.bounds.1] {
            let mut theta = released.clone();
            theta[i] = end;
            thetas.push(theta);
        }
    }
    let options = RunOptions::new(0.025, config.t_max);
    let traces = simulate(&CpuBackend::new(), &layout, &thetas, &options)?;
    let stats = window_stats(&config, options.dt);
    let mut rows: Vec<(f64, String)> = FREE_PARAMETERS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let lo = traces[2 * i].get(SOMA).expect("recorded");
            let hi = traces[2 * i + 1].get(SOMA).expect("recorded");
            let change = stats.errors(hi, lo);
            let mean = change.iter().sum::<f64>() / change.len() as f64;
            (mean, format!("{} {}", p.region, p.name))
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("change of the window-statistics loss from lower to upper bound:");
    for (change, name) in &rows {
        println!("{name:<28} {change:.2e}");
    }
    Ok(())
}
