//! The paper's L5PC fit (Deistler et al. 2025, Fig. 3a-d): the Hay et al.
//! (2011) channels on a reconstructed layer-5 pyramidal cell, 19 of
//! BluePyOpt's 20 free parameters drawn at random inside their bounds as
//! the ground truth (the first draw that fires), and the mean and s.d. of the somatic voltage in two
//! windows of a step response as data. Polyak gradient descent from random
//! starts and BluePyOpt's genetic algorithm (IBEA) both fit it; the
//! example counts the simulations each needs to reach the target loss.

use std::time::Instant;

use ruxley::analysis::spike_times;
use ruxley::cpu::CpuBackend;
use ruxley::grad::{simulate, value_and_grad};
use ruxley::l5pc::{FREE_PARAMETERS, FreeParameter, insert_bluepyopt_l5pc};
use ruxley::loss::WindowStats;
use ruxley::{Compare, Layout, Model, RunOptions, Schedule, SwcImport, TraceFit, Waveform};
use ruxley_optim::{IbeaOptions, Optimizer, PolyakGd, Transforms, ibea, uniform_starts};

/// The free parameter held at its released value: the axonal K_Tst
/// density, the one that moves the window statistics least between its
/// bounds (the `sensitivity` example).
pub const HELD: (&str, &str) = ("axon", "K_Tst_gbar");

/// The bundled morphology (BBP cell C060114A7 as converted by Jaxley's tests).
pub const MORPHOLOGY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/morphologies/jaxley/tests_swc_files/morph_l5pc_with_axon.swc"
);

/// How many draws the ground truth may take to find one that fires.
const TRUTH_DRAWS: usize = 100;

/// The recorded trace the loss compares.
pub const SOMA: &str = "v_soma_mV";

/// How the experiment runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Simulated time (ms) at dt = 0.025 ms.
    pub t_max: f64,
    /// The somatic step: start (ms), duration (ms), amplitude (nA).
    pub step: (f64, f64, f64),
    /// The statistics windows (ms).
    pub windows: Vec<(f64, f64)>,
    /// Seed of the ground truth.
    pub truth_seed: u64,
    /// Gradient descent: random starts, steps each, step size and exponent.
    pub starts: usize,
    /// Steps per start.
    pub steps: usize,
    /// Polyak step size (times the loss).
    pub gamma: f64,
    /// Gradient normalisation exponent.
    pub beta: f64,
    /// IBEA: seeds, generations after the initial population, population.
    pub ga_seeds: usize,
    /// Generations per seed.
    pub ga_generations: usize,
    /// Members (and offspring) per generation.
    pub ga_population: usize,
    /// The loss a fit must reach.
    pub target_loss: f64,
    /// Show progress bars.
    pub progress: bool,
}

impl Config {
    /// The paper's protocol: 10 starts x 10 steps, IBEA 10 offspring x 10
    /// generations x 10 seeds.
    pub fn full() -> Self {
        Self {
            t_max: 100.0,
            step: (10.0, 80.0, 1.0),
            windows: vec![(10.0, 50.0), (50.0, 90.0)],
            truth_seed: 1,
            starts: 10,
            steps: 10,
            gamma: 3.0,
            beta: 0.99,
            ga_seeds: 10,
            ga_generations: 10,
            ga_population: 10,
            target_loss: 0.05,
            progress: true,
        }
    }

    /// The same with 4 starts and 4 seeds (a few minutes on two cores).
    pub fn default_run() -> Self {
        Self {
            starts: 4,
            ga_seeds: 4,
            ..Self::full()
        }
    }
}

/// One fit: its loss after each entry, what an entry costs, the best point.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// GD: the loss at each iterate (the start first); IBEA: the best loss
    /// after each generation.
    pub losses: Vec<f64>,
    /// Simulations per entry of `losses` (1 gradient, or one population).
    pub sims_per_entry: usize,
    /// The best parameters (physical units).
    pub best: Vec<f64>,
    /// Their loss.
    pub best_loss: f64,
}

impl Run {
    /// Simulations until the loss first reached `target` (a GD step is one
    /// simulation and its backward pass), or None.
    pub fn sims_to(&self, target: f64) -> Option<usize> {
        self.losses
            .iter()
            .position(|&l| l <= target)
            .map(|k| (k + 1) * self.sims_per_entry)
    }
}

/// What the experiment found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The trainables' labels.
    pub labels: Vec<String>,
    /// Their bounds.
    pub bounds: Vec<(f64, f64)>,
    /// The ground truth.
    pub truth: Vec<f64>,
    /// One run per start.
    pub gd: Vec<Run>,
    /// One run per seed.
    pub ga: Vec<Run>,
    /// The starts of gradient descent.
    pub starts: Vec<Vec<f64>>,
    /// Wall-clock seconds of all gradient descent runs (batched over the
    /// starts, on every core).
    pub gd_wall: f64,
    /// Wall-clock seconds of all IBEA runs (a generation batched, on every core).
    pub ga_wall: f64,
    /// Somatic voltage (mV) of the truth, the best GD run's start, its fit
    /// and the best IBEA fit, at dt = 0.025 ms.
    pub voltages: [Vec<f64>; 4],
}

/// BluePyOpt's L5PC with the step and the somatic recording, no trainables.
pub fn cell(config: &Config) -> Result<Model, Box<dyn std::error::Error>> {
    let mut cell = Model::from_swc_file(MORPHOLOGY, &SwcImport::new(4).max_branch_len(300.0))?;
    insert_bluepyopt_l5pc(&mut cell)?;
    let (start, duration, amplitude) = config.step;
    let soma = cell.branch(0).comp(0);
    soma.stimulate(Waveform::step(start, duration, amplitude))?;
    cell.branch(0).comp(0).record_as("v", "soma")?;
    Ok(cell)
}

/// [`cell`] with the 19 trainables.
pub fn model(config: &Config) -> Result<Model, Box<dyn std::error::Error>> {
    let mut cell = cell(config)?;
    for p in trained() {
        cell.group(p.region).make_trainable(p.name, None)?;
    }
    Ok(cell)
}

/// The free parameters that are trained (all but [`HELD`]).
pub fn trained() -> impl Iterator<Item = &'static FreeParameter> {
    FREE_PARAMETERS
        .iter()
        .filter(|p| (p.region, p.name) != HELD)
}

/// The statistics windows as sample ranges.
pub fn window_stats(config: &Config, dt: f64) -> WindowStats {
    WindowStats {
        windows: config
            .windows
            .iter()
            .map(|&(a, b)| (a / dt).round() as usize..(b / dt).round() as usize)
            .collect(),
        mean_scale: 8.0,
        std_scale: 4.0,
    }
}

/// Runs the experiment.
pub fn run(config: &Config) -> Result<Outcome, Box<dyn std::error::Error>> {
    let layout: Layout = model(config)?.build()?;
    let options = RunOptions::new(0.025, config.t_max);
    let backend = CpuBackend::new();
    let labels = layout.trainables().labels();
    let bounds: Vec<(f64, f64)> = trained().map(|p| p.bounds).collect();
    let transform = Transforms::sigmoid_boxes(&bounds)?;
    // The truth: the first draw of its stream whose somatic voltage spikes.
    let draws = uniform_starts(&bounds, TRUTH_DRAWS, stream(config.truth_seed, 0));
    let mut draws = draws.into_iter();
    let (truth, target) = loop {
        let truth = draws.next().ok_or(format!(
            "none of {TRUTH_DRAWS} draws fires; raise the step current"
        ))?;
        let trace = simulate(&backend, &layout, std::slice::from_ref(&truth), &options)?;
        let v = trace[0].get(SOMA).ok_or("no somatic trace")?.to_vec();
        if !spike_times(&v, options.dt, 0.0).is_empty() {
            break (truth, v);
        }
    };
    let stats = window_stats(config, options.dt);
    let loss = TraceFit::new().term(SOMA, target.clone(), Compare::Windows(stats.clone()), 1.0);
    let schedule = Schedule::sqrt(options.grid()?.n_steps());

    // ANCHOR: gd
    // Gradient descent: every start steps in lockstep, one batched gradient per step.
    let starts = uniform_starts(&bounds, config.starts, stream(config.truth_seed, 1));
    let mut u: Vec<Vec<f64>> = starts
        .iter()
        .map(|x| transform.inverse(x))
        .collect::<Result<_, _>>()?;
    let mut gd: Vec<Run> = (0..config.starts)
        .map(|_| Run {
            losses: Vec::new(),
            sims_per_entry: 1,
            best: Vec::new(),
            best_loss: f64::INFINITY,
        })
        .collect();
    let mut optimizers: Vec<PolyakGd> = (0..config.starts)
        .map(|_| PolyakGd {
            gamma: config.gamma,
            beta: config.beta,
            loss_scaled: true,
        })
        .collect();
    let progress = ruxley::progress::bar(config.steps + 1, "GD", config.progress);
    let start = Instant::now();
    for step in 0..=config.steps {
        let thetas: Vec<Vec<f64>> = u.iter().map(|u| transform.forward(u)).collect();
        let grads = value_and_grad(&backend, &layout, &thetas, &options, &loss, &schedule)?;
        for (k, g) in grads.iter().enumerate() {
            let run = &mut gd[k];
            run.losses.push(g.loss);
            if g.loss < run.best_loss {
                run.best_loss = g.loss;
                run.best.clone_from(&thetas[k]);
            }
            if step < config.steps {
                let grad_u = transform.pull_back(&u[k], &g.grad);
                optimizers[k].step(&mut u[k], &grad_u, g.loss, 1.0);
            }
        }
        let best = gd.iter().map(|r| r.best_loss).fold(f64::INFINITY, f64::min);
        progress.set_message(format!("best loss {best:.4}"));
        progress.inc(1);
    }
    progress.finish();
    // ANCHOR_END: gd
    let gd_wall = start.elapsed().as_secs_f64();

    // ANCHOR: ibea
    // IBEA on the same objectives, one batched simulation per generation.
    let progress = ruxley::progress::bar(
        config.ga_seeds * (config.ga_generations + 1),
        "IBEA",
        config.progress,
    );
    let start = Instant::now();
    let mut ga = Vec::new();
    for seed in 0..config.ga_seeds {
        let mut evaluate = |members: &[Vec<f64>]| -> Result<Vec<Vec<f64>>, _> {
            let traces = simulate(&backend, &layout, members, &options)?;
            progress.inc(1);
            traces
                .iter()
                .map(|t| {
                    let v = t.get(SOMA).ok_or("no somatic trace")?;
                    Ok(stats.errors(v, &target))
                })
                .collect()
        };
        let report = ibea(
            &mut evaluate,
            &bounds,
            &IbeaOptions {
                population: config.ga_population,
                generations: config.ga_generations,
                seed: stream(config.truth_seed, 2 + seed as u64),
                ..IbeaOptions::default()
            },
            &mut [],
        )?;
        ga.push(Run {
            losses: report.history,
            sims_per_entry: config.ga_population,
            best: report.best_x,
            best_loss: report.best_loss,
        });
    }
    progress.finish();
    // ANCHOR_END: ibea
    let ga_wall = start.elapsed().as_secs_f64();
    let best_of = |runs: &[Run]| {
        (0..runs.len())
            .min_by(|&a, &b| runs[a].best_loss.total_cmp(&runs[b].best_loss))
            .unwrap_or(0)
    };
    let k = best_of(&gd);
    let shown = [
        starts.get(k).cloned().unwrap_or_else(|| truth.clone()),
        gd.get(k).map_or_else(|| truth.clone(), |r| r.best.clone()),
        ga.get(best_of(&ga))
            .map_or_else(|| truth.clone(), |r| r.best.clone()),
    ];
    let traces = simulate(&backend, &layout, &shown, &options)?;
    let soma = |k: usize| -> Result<Vec<f64>, Box<dyn std::error::Error>> {
        Ok(traces[k].get(SOMA).ok_or("no somatic trace")?.to_vec())
    };
    let voltages = [target.clone(), soma(0)?, soma(1)?, soma(2)?];
    Ok(Outcome {
        voltages,
        labels,
        bounds,
        truth,
        gd,
        ga,
        starts,
        gd_wall,
        ga_wall,
    })
}

/// A seed for one random stream of the experiment (the truth, the starts,
/// each IBEA run), so that no two streams repeat each other's draws.
fn stream(seed: u64, stream: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// The median of the finite values, or None.
pub fn median(values: &[Option<usize>]) -> Option<f64> {
    let mut v: Vec<usize> = values.iter().flatten().copied().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2]) as f64
    })
}
