//! Truncated backpropagation through time: a truncated gradient is the
//! gradient with the state at each segment boundary held fixed, checked
//! against finite differences of a run restarted from that state; truncation
//! at or beyond the run's end is the exact gradient; bad intervals and
//! backends without it are refused.

use ruxley::cpu::CpuBackend;
use ruxley::grad::value_and_grad;
use ruxley::loss::{LossError, TraceLoss};
use ruxley::prelude::*;
use ruxley::{Capabilities, Schedule, Traces};
use ruxley_conformance::fdcheck::worst_deviation;

/// Squared distance of the voltage from -50 mV summed over samples from
/// `from` up to `to` (exclusive, None: to the end), over 801 (the samples of
/// a 20 ms run).
struct Late {
    from: usize,
    to: Option<usize>,
}

const NORM: f64 = 801.0;

impl TraceLoss for Late {
    fn value_and_grad(&self, _: usize, t: &Traces, g: &mut Traces) -> Result<f64, LossError> {
        let v = t.trace(0);
        let mut loss = 0.0;
        for k in self.from..self.to.unwrap_or(v.len()) {
            loss += (v[k] + 50.0).powi(2) / NORM;
            g.trace_mut(0)[k] += 2.0 * (v[k] + 50.0) / NORM;
        }
        Ok(loss)
    }
}

/// An HH compartment driven from `delay` ms, starting at rest or from
/// `start` = (v, m, h, n); gNa, gK and gLeak trainable.
fn cell(delay: f64, start: Option<[f64; 4]>) -> Model {
    let mut m = Model::compartment();
    m.insert(Hh::new()).unwrap();
    m.set("length", 20.0).unwrap();
    m.set("radius", 10.0).unwrap();
    m.set("v", -65.0).unwrap();
    if let Some([v, mm, h, n]) = start {
        for (name, x) in [("v", v), ("HH_m", mm), ("HH_h", h), ("HH_n", n)] {
            m.set(name, x).unwrap();
        }
    }
    m.comp(0)
        .stimulate(Waveform::step(delay, 100.0, 0.05))
        .unwrap();
    m.comp(0).record_as("v", "soma").unwrap();
    for name in ["HH_gNa", "HH_gK", "HH_gLeak"] {
        m.make_trainable(name, None).unwrap();
    }
    m
}

/// The gradient of `loss` in the trainables of `layout` at their initial
/// values.
fn gradient(
    layout: &ruxley::Layout,
    options: &RunOptions,
    loss: &Late,
) -> Result<Vec<f64>, ruxley::Error> {
    let theta = layout.trainables().initial();
    let steps = options.grid()?.n_steps();
    Ok(value_and_grad(
        &CpuBackend::new(),
        layout,
        &[theta],
        options,
        loss,
        &Schedule::sqrt(steps),
    )?
    .remove(0)
    .grad)
}

#[test]
fn a_truncated_gradient_holds_the_state_at_each_boundary_fixed() {
    let backend = CpuBackend::new();
    let layout = cell(2.0, None).build().unwrap();
    let theta = layout.trainables().initial();
    // 20 ms cut at 10 ms; the loss reads the second segment only.
    let options = RunOptions::new(0.025, 20.0);
    let loss = Late {
        from: 401,
        to: None,
    };
    let grad = |options: &RunOptions| gradient(&layout, options, &loss).unwrap();
    let truncated = grad(&options.with_truncation(10.0));
    let exact = grad(&options);
    // The state at 10 ms, recorded by a forward run.
    let mut probe = cell(2.0, None);
    for gate in ["HH_m", "HH_h", "HH_n"] {
        probe.comp(0).record(gate).unwrap();
    }
    let run = ruxley::simulate(&probe, &options).unwrap();
    let at = |name: &str| run.get(name).unwrap()[400];
    let start = [
        at("v_soma_mV"),
        at("HH_m_b0_c0"),
        at("HH_h_b0_c0"),
        at("HH_n_b0_c0"),
    ];
    // The same second half, restarted from that state with the input 8 ms
    // under way; the parameters no longer reach the state at its start.
    let restarted = cell(-8.0, Some(start)).build().unwrap();
    let half = RunOptions::new(0.025, 10.0);
    let tail = ruxley::grad::simulate(&backend, &restarted, std::slice::from_ref(&theta), &half)
        .unwrap()
        .remove(0);
    let whole = run.get("v_soma_mV").unwrap();
    let gap = tail
        .trace(0)
        .iter()
        .zip(&whole[400..])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(gap < 1e-9, "the restart departs by {gap} mV");
    let late = Late { from: 1, to: None };
    let f = |t: &[f64]| {
        let traces = ruxley::grad::simulate(&backend, &restarted, &[t.to_vec()], &half)
            .unwrap()
            .remove(0);
        let mut g = traces.zeros_like();
        late.value_and_grad(0, &traces, &mut g).unwrap()
    };
    let worst = worst_deviation(&f, &theta, &truncated, 1e-4, 0.0);
    eprintln!("truncated {truncated:?}, exact {exact:?}, worst {worst:e}");
    // Achieved: 1.0e-9.
    assert!(worst < 1e-8, "{worst}");
    // The exact gradient also counts the first segment's steps: it differs.
    let apart = worst_deviation(&f, &theta, &exact, 1e-4, 0.0);
    assert!(apart > 1e-2, "{apart}");
}

#[test]
fn truncation_at_or_beyond_the_end_is_the_exact_gradient() {
    let layout = cell(2.0, None).build().unwrap();
    let options = RunOptions::new(0.025, 20.0);
    let grad =
        |options: &RunOptions| gradient(&layout, options, &Late { from: 0, to: None }).unwrap();
    let exact = grad(&options);
    assert_eq!(grad(&options.with_truncation(20.0)), exact);
    // A sample at a boundary belongs to the segment it ends: a loss on it
    // alone is untouched by the cut there; one on the next sample is.
    let at = |from: usize, truncate: Option<f64>| {
        let o = truncate.map_or(options, |ms| options.with_truncation(ms));
        let one = Late {
            from,
            to: Some(from + 1),
        };
        gradient(&layout, &o, &one).unwrap()
    };
    assert_eq!(at(400, Some(10.0)), at(400, None));
    assert_ne!(at(401, Some(10.0)), at(401, None));
    assert_eq!(grad(&options.with_truncation(35.0)), exact);
    assert_ne!(grad(&options.with_truncation(5.0)), exact);
}

#[test]
fn bad_intervals_and_backends_without_truncation_are_refused() {
    let backend = CpuBackend::new();
    let layout = cell(2.0, None).build().unwrap();
    for ms in [0.0, -5.0, 0.01, 1.0125, f64::NAN] {
        let options = RunOptions::new(0.025, 5.0).with_truncation(ms);
        let e = gradient(&layout, &options, &Late { from: 0, to: None })
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncation interval"), "{ms}: {e}");
    }
    let without = Capabilities {
        truncated_gradients: false,
        ..backend.capabilities()
    };
    let truncated = RunOptions::new(0.025, 5.0).with_truncation(1.0);
    let e = without
        .check(
            "gpu",
            &layout,
            &truncated,
            ruxley::backend::Request::Gradient,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncated backpropagation"), "{e}");
    // Forward runs ignore it.
    assert!(
        without
            .check(
                "gpu",
                &layout,
                &truncated,
                ruxley::backend::Request::Simulate
            )
            .is_ok()
    );
}
