//! What a whole-sweep gradient costs, split into the simulation's gradient
//! (with a mean squared error) and the soft-DTW divergence of the loss.
//!
//! Run: `cargo run --release -p recording_fit --example cost`.

use std::time::Instant;

use recording_fit::{DT, Recording, SOMA, loss, model, transforms};
use ruxley::cpu::CpuBackend;
use ruxley::grad::{simulate, value_and_grad};
use ruxley::{RunOptions, Schedule, TraceFit, TraceLoss};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let recording = Recording::load(181, (50.0, 150.0))?;
    let layout = model(&recording)?.build()?;
    let t_max = recording.duration();
    let options = RunOptions::new(DT, t_max);
    let schedule = Schedule::sqrt(options.grid()?.n_steps());
    let backend = CpuBackend::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // One member per thread, at points inside the bounds.
    let thetas: Vec<Vec<f64>> = (0..threads)
        .map(|m| {
            let u: Vec<f64> = (0..25)
                .map(|k| 0.7 * ((k + 3 * m) as f64 * 1.3).sin())
                .collect();
            transforms().forward(&u)
        })
        .collect();
    let seconds = |f: &mut dyn FnMut() -> Result<(), Box<dyn std::error::Error>>| {
        let start = Instant::now();
        f().map(|()| start.elapsed().as_secs_f64())
    };
    let mse = TraceFit::mse(vec![(SOMA.into(), recording.on_grid(t_max))]);
    let forward = seconds(&mut || {
        simulate(&backend, &layout, &thetas, &options)?;
        Ok(())
    })?;
    let gradient = seconds(&mut || {
        value_and_grad(&backend, &layout, &thetas, &options, &mse, &schedule)?;
        Ok(())
    })?;
    let with_dtw = seconds(&mut || {
        value_and_grad(
            &backend,
            &layout,
            &thetas,
            &options,
            &loss(&recording, t_max),
            &schedule,
        )?;
        Ok(())
    })?;
    let traces = simulate(&backend, &layout, &thetas[..1], &options)?;
    let dtw = seconds(&mut || {
        let mut grad = traces[0].zeros_like();
        TraceLoss::value_and_grad(&loss(&recording, t_max), 0, &traces[0], &mut grad)?;
        Ok(())
    })?;
    println!(
        "{threads} members of {t_max} ms on {threads} threads: forward {forward:.2} s, gradient \
         with MSE {gradient:.2} s, with the soft-DTW loss {with_dtw:.2} s; the soft-DTW loss \
         alone {dtw:.2} s per member on one thread"
    );
    Ok(())
}
