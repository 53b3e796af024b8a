//! Write your own channel: a slow potassium current, added to an HH
//! compartment, checked against finite differences, simulated, and fitted.
//!
//! The channel is written once, generically over the number type `R`; the
//! simulator evaluates it on plain numbers (and SIMD lanes) to simulate, and
//! on dual numbers for the exact derivatives that gradients need.
//!
//! Run with `cargo run --release -p own_channel`.

use ruxley::analysis::spike_times;
use ruxley::channels::gradcheck::{Point, check_channel};
use ruxley::channels::{Gate, GateKinetics, ParamSpec, Real, StateSpec};
use ruxley::grad::value_and_grad;
use ruxley::prelude::*;
use ruxley::{DefaultBackend, Schedule, TraceFit};

// ANCHOR: kinetics
/// An illustrative slow, non-inactivating potassium current:
/// m_inf = 1 / (1 + e^(-(v + 35)/10)), tau_m = 20 + 180 e^(-((v + 45)/25)^2)
/// ms, current gKs m (v - ek).
#[derive(Debug, Clone)]
struct SlowK;

impl GateKinetics for SlowK {
    fn name(&self) -> &str {
        "SlowK"
    }

    fn params(&self) -> &[ParamSpec] {
        const P: [ParamSpec; 2] = [
            // Prefixed with the channel name: SlowK_gKs.
            ParamSpec::new("gKs", "S/cm2", 1e-3, (0.0, 0.02)),
            // Shared by name with every channel that reads ek.
            ParamSpec::shared("ek", "mV", -77.0, (-100.0, -50.0)),
        ];
        &P
    }

    fn gates(&self) -> &[StateSpec] {
        const G: [StateSpec; 1] = [StateSpec::gate("m")];
        &G
    }

    /// The rates read no parameter: derivatives skip them.
    fn kinetics_read_params(&self) -> bool {
        false
    }

    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, gates: &mut [Gate<R>]) {
        let w = (v + 45.0) / 25.0;
        gates[0] = Gate {
            inf: (R::cst(1.0) + (-(v + 35.0) / 10.0).exp()).recip(),
            tau: (-(w * w)).exp() * 180.0 + 20.0,
        };
    }

    #[inline(always)]
    fn current<R: Real>(&self, v: R, m: &[R], _: &[R], p: &[R]) -> R {
        p[0] * m[0] * (v - p[1])
    }
}
// ANCHOR_END: kinetics

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ANCHOR: check
    // Every derivative against central finite differences, at a few
    // voltages and parameter values.
    let points: Vec<Point> = [-80.0, -50.0, -30.0, 0.0]
        .iter()
        .enumerate()
        .map(|(k, &v)| Point {
            v,
            params: vec![2e-3 * (1.0 + k as f64), -77.0],
            states: vec![0.1 + 0.2 * k as f64],
            inputs: vec![],
        })
        .collect();
    check_channel(&SlowK, &points, 0.025, 6.3, 1e-6)?;
    println!("SlowK: every derivative agrees with finite differences");
    // ANCHOR_END: check

    // ANCHOR: use
    // An HH compartment with the new current: spike-frequency adaptation.
    let cell = soma_with_slow_k(0.2)?;
    let options = RunOptions::new(0.025, 200.0);
    let traces = ruxley::simulate(&cell, &options)?;
    let spikes = spike_times(traces.get("v_soma_mV").expect("recorded"), options.dt, 0.0);
    let isi: Vec<f64> = spikes.windows(2).map(|w| w[1] - w[0]).collect();
    println!(
        "{} spikes; first interval {:.1} ms, last {:.1} ms",
        spikes.len(),
        isi.first().copied().unwrap_or(f64::NAN),
        isi.last().copied().unwrap_or(f64::NAN)
    );
    // ANCHOR_END: use

    // ANCHOR: fit
    // Recover gKs from a subthreshold trace made with 1.2e-3 S/cm2 by
    // Newton steps on the mean squared error (the curvature from two
    // gradients). Spiking traces make this loss rugged in gKs: a spike
    // that moves is a large error, so fit below threshold first.
    let mut cell = soma_with_slow_k(0.03)?;
    let options = RunOptions::new(0.025, 100.0);
    let mut truth = cell.clone();
    truth.set("SlowK_gKs", 1.2e-3)?;
    let target = ruxley::simulate(&truth, &options)?;
    let loss = TraceFit::mse(vec![(
        "v_soma_mV".into(),
        target.get("v_soma_mV").expect("recorded").to_vec(),
    )]);
    cell.make_trainable("SlowK_gKs", Some(1e-3))?;
    let layout = cell.build()?;
    let backend = DefaultBackend::new();
    let mut g = 1e-3;
    let h = 1e-6;
    let schedule = Schedule::sqrt(options.grid()?.n_steps());
    for step in 0..8 {
        let at = |x: f64| {
            value_and_grad(&backend, &layout, &[vec![x]], &options, &loss, &schedule)
                .map(|r| r[0].grad[0])
        };
        // The gradient, and its slope from two gradients.
        let (d, d2) = (at(g)?, at(g + h)?);
        let next = g - d / ((d2 - d) / h);
        println!("step {step}: gKs = {g:.6e}, dL/dgKs = {d:.3e}");
        if (next - g).abs() < 1e-10 {
            break;
        }
        g = next.clamp(1e-4, 1e-2);
    }
    println!("recovered gKs = {g:.6e} S/cm2 (truth 1.2e-3)");
    // ANCHOR_END: fit
    Ok(())
}

/// An HH soma (a cylinder 20 um long, radius 10 um) with SlowK, a step
/// current of `amp` nA from 5 to 195 ms, and its voltage and SlowK gate
/// recorded.
fn soma_with_slow_k(amp: f64) -> Result<Model, ruxley::ModelError> {
    let mut cell = Model::compartment();
    cell.set("length", 20.0)?;
    cell.set("radius", 10.0)?;
    cell.insert(Hh::new())?;
    cell.insert(SlowK)?;
    cell.set("v", -65.0)?;
    cell.comp(0).stimulate(Waveform::step(5.0, 190.0, amp))?;
    cell.comp(0).record_as("v", "soma")?;
    cell.comp(0).record_as("SlowK_m", "soma")?;
    Ok(cell)
}
