//! The paper's dendritic XOR: a soma and two dendrites (4 compartments each)
//! with Hodgkin-Huxley channels, a step current into the tip of each
//! dendrite, and 72 trainables (6 per compartment) taught by gradient descent
//! that the soma should spike only when exactly one dendrite is driven hard.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ruxley::loss::{Readout, Reduce};
use ruxley::optim::Transforms;
use ruxley::prelude::*;
use ruxley::train::{Sample, simulate};

/// Integration step (ms).
pub const DT: f64 = 0.025;
/// Simulated time (ms).
pub const T_MAX: f64 = 55.0;
/// The input steps: onset and duration (ms).
pub const STEP: (f64, f64) = (2.0, 50.0);
/// Compartments per branch.
pub const NCOMP: usize = 4;
/// The trained values of each compartment, with their bounds.
pub const PER_COMP: [(&str, f64, f64); 6] = [
    ("HH_gNa", 0.0, 0.5),
    ("HH_gK", 0.0, 0.2),
    ("HH_gLeak", 1e-5, 1e-3),
    ("radius", 0.1, 20.0),
    ("axial_resistivity", 10.0, 1000.0),
    ("capacitance", 0.5, 5.0),
];
/// The soma "spikes" when its voltage crosses this upwards (mV) ...
pub const THRESHOLD: f64 = -20.0;
/// ... at or after this time (ms): 20 ms into the input, after the onset
/// spike that every strong input starts with (steps of depolarising current
/// cannot avoid it), so the task is about sustained firing.
pub const LATE: f64 = 22.0;
/// A weak input (nA): uniform in this range.
pub const LOW: (f64, f64) = (0.0, 0.05);
/// A strong input (nA).
pub const HIGH: (f64, f64) = (0.3, 0.35);

/// The cell with its initial values: a soma (20 um long, radius 10 um) and
/// two dendrites (200 um, radius 1 um) of 4 compartments each, HH at
/// 6.3 degC everywhere; the inputs are steps (amplitude 0 here) into the
/// last compartment of each dendrite. Every compartment's six values of
/// [`PER_COMP`] are trainable.
pub fn cell() -> Result<Model, ruxley::Error> {
    let mut m = Model::from_branches(&[None, Some(0), Some(0)], &[NCOMP; 3])?;
    m.insert(Hh::new())?;
    m.set("length", 200.0)?;
    m.set("radius", 1.0)?;
    m.branch(0).set("length", 20.0)?;
    m.branch(0).set("radius", 10.0)?;
    m.set("axial_resistivity", 100.0)?;
    m.set("capacitance", 1.0)?;
    m.set("v", -65.0)?;
    for b in 1..3 {
        m.branch(b)
            .comp(NCOMP - 1)
            .stimulate(Waveform::step(STEP.0, STEP.1, 0.0))?;
    }
    m.branch(0).comp(0).record_as("v", "soma")?;
    for b in 0..3 {
        for c in 0..NCOMP {
            for (name, _, _) in PER_COMP {
                m.branch(b).comp(c).make_trainable(name, None)?;
            }
        }
    }
    Ok(m)
}

/// The transforms onto each trainable's bounds.
pub fn transforms() -> Transforms {
    let bounds: Vec<(f64, f64)> = (0..3 * NCOMP)
        .flat_map(|_| PER_COMP.iter().map(|&(_, lo, hi)| (lo, hi)))
        .collect();
    Transforms::sigmoid_boxes(&bounds).expect("the bounds are ordered")
}

/// Spike or not, in training: a smooth maximum (tau 5 mV/ms) of the somatic
/// voltage's rate of rise from [`LATE`] to the end, read against 20 mV/ms
/// in units of 10 mV/ms. A spike's upstroke reads high; a depolarised
/// plateau, which a readout of the voltage itself mistakes for firing, does
/// not.
pub fn readout() -> Readout {
    Readout {
        traces: vec!["v_soma_mV".into()],
        window: (LATE, T_MAX),
        reduce: Reduce::SoftMaxRise { tau: 5.0 },
        offset: 20.0,
        scale: 10.0,
    }
}

/// The sample of inputs (a, b) nA: label 1 (spike) where exactly one is
/// strong, judged by the midpoint of the two ranges.
pub fn sample(layout: &ruxley::Layout, a: f64, b: f64) -> Sample {
    let mid = 0.5 * (LOW.1 + HIGH.0);
    let mut stimuli = layout.stimuli().to_vec();
    for (s, amp) in stimuli.iter_mut().zip([a, b]) {
        s.current = Waveform::step(STEP.0, STEP.1, amp);
    }
    Sample {
        stimuli,
        label: usize::from((a > mid) != (b > mid)),
    }
}

/// `n` samples, the four input classes in turn, each amplitude uniform in
/// its range.
pub fn data(layout: &ruxley::Layout, n: usize, seed: u64) -> Vec<Sample> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|k| {
            let mut draw = |strong: bool| {
                let (lo, hi) = if strong { HIGH } else { LOW };
                rng.random_range(lo..hi)
            };
            let a = draw(k % 2 == 1);
            let b = draw((k / 2) % 2 == 1);
            sample(layout, a, b)
        })
        .collect()
}

/// The number of somatic spikes at or after [`LATE`]: upward crossings of
/// [`THRESHOLD`] in the recorded somatic voltage. The cell "fires" when
/// there is one (the judgement the readout is trained to approximate; a
/// depolarised plateau reached during the onset does not count).
pub fn late_spikes(traces: &ruxley::Traces) -> usize {
    let v = traces.get("v_soma_mV").expect("the soma is recorded");
    ruxley::analysis::spike_times(v, traces.dt(), THRESHOLD)
        .iter()
        .filter(|&&t| t >= LATE)
        .count()
}

/// How a run is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Training samples.
    pub n_train: usize,
    /// Test samples (drawn independently).
    pub n_test: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per Adam step.
    pub batch_size: usize,
    /// Adam's learning rate (in the sigmoid-transformed space).
    pub lr: f64,
    /// Seeds the data and the minibatch order.
    pub seed: u64,
    /// Points per side of the decision surface.
    pub surface: usize,
}

impl Config {
    /// The default run: about a minute on two cores.
    pub fn default_run() -> Self {
        Self {
            n_train: 256,
            n_test: 256,
            epochs: 200,
            batch_size: 32,
            lr: 0.005,
            seed: 1,
            surface: 41,
        }
    }

    /// Four times the data (the same number of epochs: four times the
    /// steps) and a finer decision surface.
    pub fn full() -> Self {
        Self {
            n_train: 1024,
            n_test: 1024,
            surface: 81,
            ..Self::default_run()
        }
    }
}

/// The largest amplitude of the decision surface (nA).
pub const SURFACE_MAX: f64 = 0.6;

/// Which of the four input classes fire, as fractions of their test samples.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassRates {
    /// (weak, weak), (strong, weak), (weak, strong), (strong, strong).
    pub firing: [f64; 4],
    /// Test samples judged right by their late spikes.
    pub accuracy: f64,
}

/// The results of [`run`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The trained theta.
    pub theta: Vec<f64>,
    /// The training report (metrics per epoch).
    pub report: ruxley::train::TrainReport,
    /// Firing by class before training.
    pub before: ClassRates,
    /// Firing by class after training.
    pub after: ClassRates,
    /// Late spikes before training on a grid of `surface` x `surface`
    /// amplitudes in [0, SURFACE_MAX]^2 (row = input b, column = input a).
    pub surface_before: Vec<Vec<f64>>,
    /// The same after training.
    pub surface_after: Vec<Vec<f64>>,
    /// [`class_traces`] before training.
    pub traces_before: Vec<(String, ruxley::Traces)>,
    /// [`class_traces`] after training.
    pub traces_after: Vec<(String, ruxley::Traces)>,
}

/// Runs every sample with `theta` and counts its [`late_spikes`].
pub fn spikes(
    backend: &dyn ruxley::Backend,
    layout: &ruxley::Layout,
    theta: &[f64],
    samples: &[Sample],
) -> Result<Vec<usize>, ruxley::Error> {
    Ok(
        simulate(backend, layout, theta, samples, &RunOptions::new(DT, T_MAX))?
            .iter()
            .map(late_spikes)
            .collect(),
    )
}

fn class_rates(samples: &[Sample], spikes: &[usize]) -> ClassRates {
    let mid = 0.5 * (LOW.1 + HIGH.0);
    let mut count = [0usize; 4];
    let mut fire = [0usize; 4];
    let mut right = 0;
    for (s, &n) in samples.iter().zip(spikes) {
        let f = n > 0;
        let amp = |k: usize| match s.stimuli[k].current {
            Waveform::Step { amplitude, .. } => amplitude,
            Waveform::Series(_) => 0.0,
        };
        let class = usize::from(amp(0) > mid) + 2 * usize::from(amp(1) > mid);
        count[class] += 1;
        fire[class] += usize::from(f);
        right += usize::from(usize::from(f) == s.label);
    }
    ClassRates {
        firing: std::array::from_fn(|k| fire[k] as f64 / count[k].max(1) as f64),
        accuracy: right as f64 / samples.len() as f64,
    }
}

/// The decision surface of theta: late spikes on an n x n grid of
/// amplitudes in [0, SURFACE_MAX]^2 (row = input b, column = input a).
pub fn surface(
    backend: &dyn ruxley::Backend,
    layout: &ruxley::Layout,
    theta: &[f64],
    n: usize,
) -> Result<Vec<Vec<f64>>, ruxley::Error> {
    if n < 2 {
        return Err(ruxley::ModelError::Invalid(format!(
            "a decision surface needs at least 2 points per side, not {n}"
        ))
        .into());
    }
    let amp = |k: usize| SURFACE_MAX * k as f64 / (n - 1) as f64;
    let points: Vec<Sample> = (0..n * n)
        .map(|k| sample(layout, amp(k % n), amp(k / n)))
        .collect();
    let counts = spikes(backend, layout, theta, &points)?;
    Ok(counts
        .chunks(n)
        .map(|row| row.iter().map(|&c| c as f64).collect())
        .collect())
}

/// Trains the cell from its initial values with Adam on the cross-entropy
/// of the readout, then judges the test set and the decision surface by
/// spikes.
pub fn run(
    config: &Config,
    options: &ruxley::train::TrainOptions,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    // ANCHOR: train
    let layout = cell()?.build()?;
    let backend = ruxley::default_backend()?;
    let train_set = data(&layout, config.n_train, config.seed);
    let test_set = data(&layout, config.n_test, config.seed + 1_000_003);
    let task = ruxley::train::Task {
        layout: &layout,
        run: RunOptions::new(DT, T_MAX),
        readout: readout(),
        transforms: transforms(),
        train: &train_set,
        test: &test_set,
    };
    let theta0 = layout.trainables().initial();
    let u0 = task.transforms.inverse(&theta0)?;
    let options = ruxley::train::TrainOptions {
        epochs: config.epochs,
        batch_size: config.batch_size,
        seed: config.seed,
        ..options.clone()
    };
    let report = ruxley::train::train(
        backend.as_ref(),
        &task,
        &u0,
        &mut ruxley::optim::Adam::new(config.lr),
        &options,
    )?;
    // ANCHOR_END: train
    let theta = report.theta.clone();
    let judge = |theta: &[f64]| -> Result<ClassRates, ruxley::Error> {
        Ok(class_rates(
            &test_set,
            &spikes(backend.as_ref(), &layout, theta, &test_set)?,
        ))
    };
    Ok(Outcome {
        before: judge(&theta0)?,
        after: judge(&theta)?,
        surface_before: surface(backend.as_ref(), &layout, &theta0, config.surface)?,
        surface_after: surface(backend.as_ref(), &layout, &theta, config.surface)?,
        traces_before: class_traces(backend.as_ref(), &layout, &theta0)?,
        traces_after: class_traces(backend.as_ref(), &layout, &theta)?,
        theta,
        report,
    })
}

/// The somatic traces of the four input classes at the middle of their
/// ranges, labelled "weak,weak" ... "strong,strong".
pub fn class_traces(
    backend: &dyn ruxley::Backend,
    layout: &ruxley::Layout,
    theta: &[f64],
) -> Result<Vec<(String, ruxley::Traces)>, ruxley::Error> {
    let mid = |(lo, hi): (f64, f64)| 0.5 * (lo + hi);
    let classes = [(false, false), (true, false), (false, true), (true, true)];
    let name = |s: bool| if s { "strong" } else { "weak" };
    let level = |s: bool| if s { mid(HIGH) } else { mid(LOW) };
    let samples: Vec<Sample> = classes
        .iter()
        .map(|&(a, b)| sample(layout, level(a), level(b)))
        .collect();
    let runs = simulate(
        backend,
        layout,
        theta,
        &samples,
        &RunOptions::new(DT, T_MAX),
    )?;
    Ok(classes
        .iter()
        .zip(runs)
        .map(|(&(a, b), t)| (format!("{},{}", name(a), name(b)), t))
        .collect())
}
