//! The paper's evidence integration: a recurrent network of 20 HH cells with
//! dendrites reads a noisy evidence signal for hundreds of milliseconds and
//! reports its sign through the voltages of two readout cells; its 109
//! synaptic conductances are trained by gradient descent through the whole
//! trial.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use ruxley::channels::Leak;
use ruxley::loss::{Readout, Reduce};
use ruxley::optim::Transforms;
use ruxley::prelude::*;
use ruxley::synapses::IonotropicSynapse;
use ruxley::train::Sample;

/// Integration step (ms).
pub const DT: f64 = 0.025;
/// Recurrent cells: the first half excitatory, the second inhibitory.
pub const N_CELLS: usize = 20;
/// Recurrent synapses (random pairs, no self-connections).
pub const N_RECURRENT: usize = 49;
/// Reversal potentials of excitatory and inhibitory synapses (mV).
pub const E_SYN: (f64, f64) = (0.0, -80.0);
/// The synapses' closing rate (1/ms): a fifth of the usual 0.025, so that
/// an open synapse closes over up to 200 ms. With the usual rate the trained
/// network behaved like an observer of the last 33-78 ms of the trial.
pub const K_MINUS: f64 = 0.005;
/// Bounds of every synaptic conductance (uS).
pub const G_BOUNDS: (f64, f64) = (1e-6, 1e-1);
/// The evidence is held for this long (ms) between redraws of its noise.
pub const BIN: f64 = 1.0;
/// The input current (nA) is BASE + GAIN x evidence.
pub const BASE: f64 = 0.025;
/// See [`BASE`].
pub const GAIN: f64 = 0.0125;

/// Global compartment indices of the network's parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    /// The soma of each recurrent cell.
    pub somas: Vec<usize>,
    /// The dendrite tip of each recurrent cell (where the input arrives).
    pub tips: Vec<usize>,
    /// The two readout cells.
    pub readouts: [usize; 2],
    /// The input compartment.
    pub input: usize,
}

/// The network: 20 ball-and-stick HH cells (a soma of 20 um x radius 10 um
/// and a dendrite of 2 compartments, 100 um x radius 1 um), two passive
/// readout compartments and a passive input compartment into which the
/// evidence is injected as current. Graded (Ionotropic) synapses: the input
/// onto every dendrite tip (20), 49 random recurrent ones soma to soma and
/// every soma onto both readouts (40); a synapse is excitatory or inhibitory
/// by its presynaptic cell, closing at [`K_MINUS`]. All 109 conductances are
/// trainable, starting at
/// 0.03 uS for the input synapses (enough to make the cells fire) and
/// 1e-3 uS for the others. The readouts are recorded as `r0` and `r1`.
pub fn network(seed: u64) -> Result<(Model, Parts), ruxley::Error> {
    let ball_and_stick = || -> Result<Model, ruxley::ModelError> {
        let mut m = Model::from_branches(&[None, Some(0)], &[1, 2])?;
        m.branch(0).set("length", 20.0)?;
        m.branch(0).set("radius", 10.0)?;
        m.branch(1).set("length", 100.0)?;
        m.branch(1).set("radius", 1.0)?;
        Ok(m)
    };
    let point = || -> Result<Model, ruxley::ModelError> {
        let mut m = Model::compartment();
        m.set("length", 20.0)?;
        m.set("radius", 10.0)?;
        Ok(m)
    };
    let mut cells = Vec::new();
    for _ in 0..N_CELLS {
        cells.push(ball_and_stick()?);
    }
    for _ in 0..3 {
        cells.push(point()?);
    }
    let mut net = Model::network(cells)?;
    net.set("axial_resistivity", 100.0)?;
    net.cell(0..N_CELLS).insert(Hh::new())?;
    net.cell(N_CELLS..N_CELLS + 3).insert(Leak::new())?;
    net.cell(N_CELLS..N_CELLS + 3).set("Leak_eLeak", -65.0)?;
    net.set("v", -65.0)?;
    let parts = Parts {
        somas: (0..N_CELLS).map(|c| net.root_comp(c)).collect(),
        tips: (0..N_CELLS).map(|c| net.root_comp(c) + 2).collect(),
        readouts: [net.root_comp(N_CELLS), net.root_comp(N_CELLS + 1)],
        input: net.root_comp(N_CELLS + 2),
    };
    let mut pairs: Vec<(usize, usize)> = parts.tips.iter().map(|&t| (parts.input, t)).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut recurrent = Vec::new();
    while recurrent.len() < N_RECURRENT {
        let (a, b) = (rng.random_range(0..N_CELLS), rng.random_range(0..N_CELLS));
        if a != b && !recurrent.contains(&(a, b)) {
            recurrent.push((a, b));
        }
    }
    pairs.extend(
        recurrent
            .iter()
            .map(|&(a, b)| (parts.somas[a], parts.somas[b])),
    );
    for &r in &parts.readouts {
        pairs.extend(parts.somas.iter().map(|&s| (s, r)));
    }
    net.connect_pairs(&pairs, IonotropicSynapse)?;
    // The presynaptic cell of each synapse after the 20 input ones.
    let pre: Vec<usize> = recurrent
        .iter()
        .map(|&(a, _)| a)
        .chain((0..2).flat_map(|_| 0..N_CELLS))
        .collect();
    let inhibitory: Vec<usize> = pre
        .iter()
        .enumerate()
        .filter(|(_, a)| **a >= N_CELLS / 2)
        .map(|(k, _)| N_CELLS + k)
        .collect();
    net.synapse_type("IonotropicSynapse")
        .edge("all")
        .set("IonotropicSynapse_gS", 1e-3)?;
    net.synapse_type("IonotropicSynapse")
        .edge(0..N_CELLS)
        .set("IonotropicSynapse_gS", 3e-2)?;
    net.synapse_type("IonotropicSynapse")
        .edge("all")
        .set("IonotropicSynapse_e_syn", E_SYN.0)?;
    net.synapse_type("IonotropicSynapse")
        .edge("all")
        .set("IonotropicSynapse_k_minus", K_MINUS)?;
    net.synapse_type("IonotropicSynapse")
        .edge(inhibitory)
        .set("IonotropicSynapse_e_syn", E_SYN.1)?;
    net.synapse_type("IonotropicSynapse")
        .edge("all")
        .make_trainable("IonotropicSynapse_gS", None)?;
    net.cell(N_CELLS + 2)
        .comp(0)
        .stimulate(Waveform::Series(Vec::new()))?;
    net.cell(N_CELLS).comp(0).record_as("v", "r0")?;
    net.cell(N_CELLS + 1).comp(0).record_as("v", "r1")?;
    Ok((net, parts))
}

/// A trial of `duration` ms: evidence mu + sigma xi held for [`BIN`] ms per
/// draw of xi ~ N(0, 1) (sigma 1), as the input current of [`BASE`] +
/// [`GAIN`] x evidence; label 1 where mu > 0.
pub fn trial(layout: &ruxley::Layout, mu: f64, duration: f64, rng: &mut StdRng) -> Sample {
    let steps = (duration / DT).round() as usize;
    let per_bin = (BIN / DT).round() as usize;
    let mut current = Vec::with_capacity(steps);
    while current.len() < steps {
        let xi: f64 = StandardNormal.sample(rng);
        let i = BASE + GAIN * (mu + xi);
        current.extend(std::iter::repeat_n(i, per_bin.min(steps - current.len())));
    }
    let mut stimuli = layout.stimuli().to_vec();
    stimuli[0].current = Waveform::Series(current);
    Sample {
        stimuli,
        label: usize::from(mu > 0.0),
    }
}

/// The evidence strengths trained on: |mu| drawn from these, the sign at random.
pub const STRENGTHS: [f64; 4] = [0.1, 0.2, 0.4, 0.8];

/// `n` trials of `duration` ms, strengths from [`STRENGTHS`] in turn, signs
/// at random.
pub fn trials(layout: &ruxley::Layout, n: usize, duration: f64, seed: u64) -> Vec<Sample> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|k| {
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            trial(
                layout,
                sign * STRENGTHS[k % STRENGTHS.len()],
                duration,
                &mut rng,
            )
        })
        .collect()
}

/// The choice: the mean voltage of each readout over the last fifth of the
/// trial, in units of 2 mV, the larger wins.
pub fn readout(duration: f64) -> Readout {
    Readout {
        traces: vec!["v_r0_mV".into(), "v_r1_mV".into()],
        window: (0.8 * duration, duration + DT),
        reduce: Reduce::Mean,
        offset: -65.0,
        scale: 2.0,
    }
}

/// The sigmoid transforms onto [`G_BOUNDS`] for the 109 conductances.
pub fn transforms(n: usize) -> Transforms {
    Transforms::sigmoid_boxes(&vec![G_BOUNDS; n]).expect("ordered bounds")
}

/// How often the ideal observer, who takes the sign of the mean of the
/// duration / BIN noisy draws, chooses 1 on trials of strength `mu`:
/// Phi(mu sqrt(duration / BIN)).
pub fn ideal_choice(mu: f64, duration: f64) -> f64 {
    let z = mu * (duration / BIN).sqrt();
    0.5 * (1.0 + statrs::function::erf::erf(z / std::f64::consts::SQRT_2))
}

/// The ideal observer's accuracy on trials of strength `mu`.
pub fn ideal_accuracy(mu: f64, duration: f64) -> f64 {
    ideal_choice(mu.abs(), duration)
}

/// How a run is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Trial length (ms).
    pub duration: f64,
    /// Training trials.
    pub n_train: usize,
    /// Held-out trials.
    pub n_test: usize,
    /// Passes over the training trials.
    pub epochs: usize,
    /// Trials per Adam step.
    pub batch_size: usize,
    /// Adam's learning rate (transformed space).
    pub lr: f64,
    /// Seeds the network's wiring, the trials and the minibatch order.
    pub seed: u64,
    /// Trials per evidence strength of the psychometric curve.
    pub per_level: usize,
}

impl Config {
    /// The default run: 200 ms trials, about 4 minutes on two cores.
    pub fn default_run() -> Self {
        Self {
            duration: 200.0,
            n_train: 256,
            n_test: 256,
            epochs: 20,
            batch_size: 32,
            lr: 0.05,
            seed: 7,
            per_level: 32,
        }
    }

    /// The paper's 500 ms of evidence (20,000 steps).
    pub fn full() -> Self {
        Self {
            duration: 500.0,
            n_train: 512,
            n_test: 512,
            per_level: 64,
            ..Self::default_run()
        }
    }
}

/// The evidence levels of the psychometric curve.
pub fn levels() -> Vec<f64> {
    (-8..=8).map(|k| 0.1 * k as f64).collect()
}

/// The results of [`run`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The training report.
    pub report: ruxley::train::TrainReport,
    /// Held-out accuracy, and the ideal observer's on the same strengths.
    pub test_accuracy: (f64, f64),
    /// Per level of [`levels`]: (mu, fraction choosing 1, ideal observer's).
    pub psychometric: Vec<(f64, f64, f64)>,
    /// The readouts' traces of one held-out trial of each sign (mu = -0.2,
    /// then +0.2), after training.
    pub examples: Vec<ruxley::Traces>,
}

/// The fraction of trials of strength `mu` that the trained network reads
/// as 1.
fn choices(
    backend: &dyn ruxley::Backend,
    layout: &ruxley::Layout,
    theta: &[f64],
    samples: &[Sample],
    readout: &Readout,
    options: &RunOptions,
) -> Result<f64, ruxley::Error> {
    let s = ruxley::train::evaluate(backend, layout, theta, samples, options, readout)?;
    Ok(s.logits.iter().filter(|l| readout.predict(l) == 1).count() as f64 / samples.len() as f64)
}

/// Builds the network, trains its 109 conductances with Adam on the
/// cross-entropy of the readout, and measures the held-out accuracy and
/// the psychometric curve.
pub fn run(
    config: &Config,
    options: &ruxley::train::TrainOptions,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    // ANCHOR: train
    let (net, _) = network(config.seed)?;
    let layout = net.build()?;
    let backend = ruxley::default_backend()?;
    let train_set = trials(&layout, config.n_train, config.duration, config.seed + 1);
    let test_set = trials(&layout, config.n_test, config.duration, config.seed + 2);
    let run_options = RunOptions::new(DT, config.duration);
    let task = ruxley::train::Task {
        layout: &layout,
        run: run_options,
        readout: readout(config.duration),
        transforms: transforms(layout.trainables().len()),
        train: &train_set,
        test: &test_set,
    };
    let u0 = task.transforms.inverse(&layout.trainables().initial())?;
    let steps = run_options.grid()?.n_steps();
    let options = ruxley::train::TrainOptions {
        epochs: config.epochs,
        batch_size: config.batch_size,
        seed: config.seed,
        schedule: ruxley::Schedule::sqrt(steps),
        // The rate decays to 0 over the run (a cosine).
        lr_schedule: ruxley::optim::LrSchedule::Cosine {
            total: config.epochs * config.n_train.div_ceil(config.batch_size),
        },
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
    let theta = &report.theta;
    let last = report.epochs.last().expect("epoch 0 at least");
    let ideal = STRENGTHS
        .iter()
        .map(|&m| ideal_accuracy(m, config.duration))
        .sum::<f64>()
        / STRENGTHS.len() as f64;
    let mut rng = StdRng::seed_from_u64(config.seed + 3);
    let mut psychometric = Vec::new();
    for mu in levels() {
        let samples: Vec<Sample> = (0..config.per_level)
            .map(|_| trial(&layout, mu, config.duration, &mut rng))
            .collect();
        let p = choices(
            backend.as_ref(),
            &layout,
            theta,
            &samples,
            &task.readout,
            &run_options,
        )?;
        psychometric.push((mu, p, ideal_choice(mu, config.duration)));
    }
    let shown: Vec<Sample> = [-0.2, 0.2]
        .iter()
        .map(|&mu| trial(&layout, mu, config.duration, &mut rng))
        .collect();
    let examples = ruxley::train::simulate(backend.as_ref(), &layout, theta, &shown, &run_options)?;
    Ok(Outcome {
        test_accuracy: (last.test_accuracy, ideal),
        psychometric,
        examples,
        report,
    })
}
