//! The paper's conductance profiles (Deistler et al. 2025, Fig. 3i-l): on
//! BluePyOpt's L5PC, one density per branch for the 3 channel types of the
//! apical dendrite and 7 of the axon, a ground truth drawn from a Gaussian
//! process along the path distance, the voltage at every branch during and
//! after a 5 ms somatic step as data, and the loss
//! MSE + lambda sum_b (u_b - u_parent(b))^2 in the sigmoid space of each
//! density. Gradient descent and IBEA fit it; HMC samples its posterior.

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use ruxley::core::linalg::cholesky;
use ruxley::cpu::CpuBackend;
use ruxley::grad::{simulate, value_and_grad};
use ruxley::l5pc::{FREE_PARAMETERS, insert_bluepyopt_l5pc};
use ruxley::loss::smoothness;
use ruxley::{
    Layout, Model, RunOptions, Schedule, SwcImport, TraceFit, TraceLoss, Traces, Waveform,
};
use ruxley_hmc::diagnostics::{ess_bulk, split_rhat};
use ruxley_hmc::{Chain, Kernel, LogDensity, Settings, sample_chains_with_progress};
use ruxley_optim::{Adam, IbeaOptions, Observer, Options, Transforms, ibea, minimize};

/// The bundled morphology (BBP cell C060114A7 as converted by Jaxley's tests).
pub const MORPHOLOGY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/morphologies/jaxley/tests_swc_files/morph_l5pc_with_axon.swc"
);

/// The channel densities given one value per branch: the apical dendrite's
/// three and the axon's densities but K_Tst (which the L5PC fit showed the
/// soma's voltage hardly depends on).
pub const PROFILES: [(&str, &str); 10] = [
    ("apical", "NaTs2_t_gbar"),
    ("apical", "SKv3_1_gbar"),
    ("apical", "Im_gbar"),
    ("axon", "NaTa_t_gbar"),
    ("axon", "Nap_Et2_gbar"),
    ("axon", "K_Pst_gbar"),
    ("axon", "SKv3_1_gbar"),
    ("axon", "SK_E2_gbar"),
    ("axon", "Ca_HVA_gbar"),
    ("axon", "Ca_LVAst_gbar"),
];

/// How the experiment runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Simulated time (ms) at dt = 0.025 ms.
    pub t_max: f64,
    /// The somatic step: start (ms), duration (ms), amplitude (nA).
    pub step: (f64, f64, f64),
    /// Weight of the smoothness prior.
    pub lambda: f64,
    /// Length scale (um) and standard deviation (in the sigmoid space) of
    /// the ground truth's Gaussian process.
    pub gp: (f64, f64),
    /// Seed of the ground truth.
    pub seed: u64,
    /// Gradient descent: Adam iterations and learning rate.
    pub iterations: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// IBEA generations (population 10).
    pub ga_generations: usize,
    /// Posterior: chains, warm-up and kept iterations of HMC with 5
    /// leapfrog steps (the paper's BlackJAX setting), noise s.d. (mV).
    pub chains: usize,
    /// Warm-up iterations per chain.
    pub warmup: usize,
    /// Kept draws per chain.
    pub draws: usize,
    /// Measurement noise (mV) of the likelihood.
    pub sigma: f64,
}

impl Config {
    /// The paper's scale: 100 GD iterations, 500 IBEA generations.
    pub fn full() -> Self {
        Self {
            t_max: 10.0,
            step: (1.0, 5.0, 1.0),
            lambda: 0.001,
            gp: (300.0, 1.0),
            seed: 3,
            iterations: 100,
            lr: 0.05,
            ga_generations: 500,
            chains: 4,
            warmup: 300,
            draws: 300,
            sigma: 1.0,
        }
    }

    /// The same with 50 IBEA generations and 2 chains of 150 + 100 HMC
    /// iterations.
    pub fn default_run() -> Self {
        Self {
            ga_generations: 50,
            chains: 2,
            warmup: 150,
            draws: 100,
            ..Self::full()
        }
    }
}

/// The model, its trainables and what the loss needs.
pub struct Problem {
    /// The lowered model (one trainable per branch and profile).
    pub layout: Layout,
    /// Per trainable: its profile (index into [`PROFILES`]), its branch,
    /// the parent trainable of the same profile (None at the region's root).
    pub sites: Vec<(usize, usize, Option<usize>)>,
    /// Path distance (um) of each trainable's branch midpoint.
    pub distance: Vec<f64>,
    /// The sigmoid onto each density's BluePyOpt box.
    pub transforms: Transforms,
    /// The released densities, in the sigmoid space.
    pub released: Vec<f64>,
    /// Run options.
    pub options: RunOptions,
    /// Recorded traces (one per branch).
    pub n_traces: usize,
}

impl Problem {
    /// Builds the model: BluePyOpt's L5PC, the step, the voltage at the
    /// middle compartment of every branch, one trainable per branch and profile.
    pub fn new(config: &Config) -> Result<Self, Box<dyn std::error::Error>> {
        let mut cell = Model::from_swc_file(MORPHOLOGY, &SwcImport::new(4).max_branch_len(300.0))?;
        insert_bluepyopt_l5pc(&mut cell)?;
        let (start, duration, amplitude) = config.step;
        cell.branch(0)
            .comp(0)
            .stimulate(Waveform::step(start, duration, amplitude))?;
        for b in 0..cell.n_branches() {
            let comps = cell.branch_comps(b);
            let middle = comps.start + comps.len() / 2;
            cell.comp(middle).record_as("v", &format!("b{b}"))?;
        }
        let parents = cell.branch_parents();
        let n_traces = cell.recordings().len();
        let mut sites = Vec::new();
        let mut distance = Vec::new();
        let mut bounds = Vec::new();
        let mut released = Vec::new();
        for (k, &(region, name)) in PROFILES.iter().enumerate() {
            let branches: Vec<(usize, usize)> = cell
                .group(region)
                .branch("all")
                .sites()?
                .iter()
                .filter_map(|s| Some((s.branch?, s.comps[s.comps.len() / 2])))
                .collect();
            let first = sites.len();
            for &(b, middle) in &branches {
                let parent = parents[b]
                    .and_then(|p| branches.iter().position(|&(q, _)| q == p))
                    .map(|i| first + i);
                sites.push((k, b, parent));
                distance.push(cell.path_distance(middle));
            }
            let p = FREE_PARAMETERS
                .iter()
                .find(|p| p.region == region && p.name == name)
                .ok_or("not a free parameter")?;
            bounds.extend(std::iter::repeat_n(p.bounds, branches.len()));
            released.extend(std::iter::repeat_n(p.value, branches.len()));
            cell.group(region)
                .branch("all")
                .make_trainable(name, None)?;
        }
        let layout = cell.build()?;
        if layout.trainables().len() != sites.len() {
            return Err(format!(
                "{} trainables for {} branch sites",
                layout.trainables().len(),
                sites.len()
            )
            .into());
        }
        let transforms = Transforms::sigmoid_boxes(&bounds)?;
        let released = transforms.inverse(&released)?;
        Ok(Self {
            layout,
            sites,
            distance,
            transforms,
            released,
            options: RunOptions::new(0.025, config.t_max),
            n_traces,
        })
    }

    /// The trainables of profile `k` (an index into [`PROFILES`]), in branch order.
    pub fn profile(&self, k: usize) -> Vec<usize> {
        (0..self.sites.len())
            .filter(|&i| self.sites[i].0 == k)
            .collect()
    }

    /// The parent of each trainable (for the smoothness prior).
    pub fn parents(&self) -> Vec<Option<usize>> {
        self.sites.iter().map(|s| s.2).collect()
    }

    /// The ground truth in the sigmoid space: the released densities plus,
    /// per profile, a Gaussian process along the path distance with a
    /// squared-exponential kernel.
    pub fn truth(&self, config: &Config) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
        let (scale, sd) = config.gp;
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut u = self.released.clone();
        for k in 0..PROFILES.len() {
            let idx = self.profile(k);
            let n = idx.len();
            let mut cov = vec![0.0; n * n];
            for (a, &i) in idx.iter().enumerate() {
                for (b, &j) in idx.iter().enumerate() {
                    let d = (self.distance[i] - self.distance[j]) / scale;
                    cov[a * n + b] =
                        sd * sd * (-0.5 * d * d).exp() + if a == b { 1e-6 } else { 0.0 };
                }
            }
            let l = cholesky(&cov, n)?;
            let z: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
            for (a, &i) in idx.iter().enumerate() {
                u[i] += (0..=a).map(|b| l[a * n + b] * z[b]).sum::<f64>();
            }
        }
        Ok(u)
    }

    /// The traces of each point of the sigmoid space, in parallel.
    pub fn simulate(&self, us: &[Vec<f64>]) -> Result<Vec<Traces>, ruxley::Error> {
        let thetas: Vec<Vec<f64>> = us.iter().map(|u| self.transforms.forward(u)).collect();
        simulate(&CpuBackend::new(), &self.layout, &thetas, &self.options)
    }
}

/// One fit's loss history and result.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The loss after each evaluation (GD) or generation (IBEA).
    pub losses: Vec<f64>,
    /// Simulations per entry of `losses`.
    pub sims_per_entry: usize,
    /// The best point (sigmoid space).
    pub best: Vec<f64>,
    /// Its loss.
    pub best_loss: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The data term (MSE over every branch's trace) plus the smoothness prior.
pub struct Objective<'a> {
    problem: &'a Problem,
    samples: usize,
    data: TraceFit,
    parents: Vec<Option<usize>>,
    lambda: f64,
}

impl<'a> Objective<'a> {
    /// The objective for `target`, the truth's traces.
    pub fn new(problem: &'a Problem, target: &Traces, lambda: f64) -> Self {
        Self {
            problem,
            samples: target.len() * target.n_samples(),
            data: TraceFit::mse_to(target),
            parents: problem.parents(),
            lambda,
        }
    }

    /// The loss and its gradient in the sigmoid space.
    pub fn value_and_grad(&self, u: &[f64]) -> Result<(f64, Vec<f64>), ruxley::Error> {
        let p = self.problem;
        let theta = p.transforms.forward(u);
        let schedule = Schedule::sqrt(p.options.grid()?.n_steps());
        let g = value_and_grad(
            &CpuBackend::new(),
            &p.layout,
            &[theta],
            &p.options,
            &self.data,
            &schedule,
        )?;
        let mut grad = p.transforms.pull_back(u, &g[0].grad);
        let (prior, prior_grad) = smoothness(u, &self.parents, self.lambda);
        for (g, q) in grad.iter_mut().zip(prior_grad) {
            *g += q;
        }
        Ok((g[0].loss + prior, grad))
    }

    /// The data term and the prior of a simulated run.
    pub fn parts(&self, u: &[f64], traces: &Traces) -> Result<(f64, f64), ruxley::LossError> {
        let mut grad = traces.zeros_like();
        let data = self.data.value_and_grad(0, traces, &mut grad)?;
        Ok((data, smoothness(u, &self.parents, self.lambda).0))
    }
}

/// Adam from the released densities (a flat profile per channel).
pub fn gradient_descent(
    objective: &Objective,
    config: &Config,
    observe: &mut dyn Observer,
) -> Result<Fit, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut f = |u: &[f64]| Ok(objective.value_and_grad(u)?);
    let report = minimize(
        &mut f,
        &objective.problem.released,
        &mut Adam::new(config.lr),
        &Options {
            max_iters: config.iterations,
            ..Options::default()
        },
        &mut [observe],
    )?;
    Ok(Fit {
        losses: report.history,
        sims_per_entry: 1,
        best: report.best_x,
        best_loss: report.best_loss,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// IBEA on the box of the sigmoid space within 3 standard deviations of
/// the truth's process around the released densities, with the data term
/// and the prior as its two objectives.
pub fn genetic_algorithm(
    objective: &Objective,
    config: &Config,
    observe: &mut dyn Observer,
) -> Result<Fit, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let p = objective.problem;
    let width = 3.0 * config.gp.1;
    let bounds: Vec<(f64, f64)> = p.released.iter().map(|u| (u - width, u + width)).collect();
    let mut evaluate = |members: &[Vec<f64>]| -> Result<Vec<Vec<f64>>, _> {
        let traces = p.simulate(members)?;
        members
            .iter()
            .zip(&traces)
            .map(|(u, t)| {
                let (data, prior) = objective.parts(u, t)?;
                // Two objectives whose mean is half the loss.
                Ok(vec![data, prior])
            })
            .collect()
    };
    let report = ibea(
        &mut evaluate,
        &bounds,
        &IbeaOptions {
            generations: config.ga_generations,
            seed: config.seed,
            ..IbeaOptions::default()
        },
        &mut [observe],
    )?;
    Ok(Fit {
        // IBEA reports the mean of the two objectives: twice it is the loss.
        losses: report.history.iter().map(|l| 2.0 * l).collect(),
        sims_per_entry: IbeaOptions::default().population,
        best: report.best_x,
        best_loss: 2.0 * report.best_loss,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The posterior of the densities given the traces with Gaussian noise of
/// `sigma` mV on each of their N samples: exp(-N loss / (2 sigma^2)), the
/// smoothness prior scaled with the data term as in the fit.
pub struct Posterior<'a> {
    objective: &'a Objective<'a>,
    beta: f64,
}

impl<'a> Posterior<'a> {
    /// The posterior for noise `sigma` (mV).
    pub fn new(objective: &'a Objective<'a>, sigma: f64) -> Self {
        Self {
            objective,
            beta: objective.samples as f64 / (2.0 * sigma * sigma),
        }
    }
}

impl LogDensity for Posterior<'_> {
    fn dim(&self) -> usize {
        self.objective.problem.sites.len()
    }

    fn logp_and_grad(&self, u: &[f64], grad: &mut [f64]) -> f64 {
        match self.objective.value_and_grad(u) {
            Ok((loss, g)) => {
                for (d, g) in grad.iter_mut().zip(g) {
                    *d = -self.beta * g;
                }
                -self.beta * loss
            }
            // A failed simulation is outside the support.
            Err(_) => f64::NEG_INFINITY,
        }
    }
}

/// Chains of the posterior and their diagnostics per trainable.
pub struct PosteriorRun {
    /// The chains (draws in the sigmoid space).
    pub chains: Vec<Chain>,
    /// Split R-hat per trainable.
    pub r_hat: Vec<f64>,
    /// Bulk effective sample size per trainable.
    pub ess: Vec<f64>,
    /// Gradient evaluations of all chains, warm-up included.
    pub gradients: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl PosteriorRun {
    /// The `q` quantile of trainable `k` over all kept draws.
    pub fn quantile(&self, k: usize, q: f64) -> f64 {
        let mut x: Vec<f64> = self
            .chains
            .iter()
            .flat_map(|c| c.draws.iter().map(move |d| d[k]))
            .collect();
        x.sort_by(f64::total_cmp);
        let i = ((x.len() - 1) as f64 * q).round() as usize;
        x[i]
    }
}

/// HMC chains from `start` (jittered by 0.01), with a tick per transition.
pub fn sample_posterior(
    posterior: &Posterior,
    start: &[f64],
    config: &Config,
    tick: &(dyn Fn() + Sync),
) -> Result<PosteriorRun, Box<dyn std::error::Error>> {
    let begin = Instant::now();
    let settings = Settings {
        kernel: Kernel::Hmc { n_leapfrog: 5 },
        warmup: config.warmup,
        samples: config.draws,
        ..Settings::default()
    };
    let chains = sample_chains_with_progress(
        posterior,
        start,
        0.01,
        config.chains,
        &settings,
        config.seed,
        tick,
    )?;
    let n = start.len();
    let columns: Vec<Vec<Vec<f64>>> = (0..n)
        .map(|k| chains.iter().map(|c| c.coordinate(k)).collect())
        .collect();
    let diagnose = |f: fn(&[&[f64]]) -> f64| -> Vec<f64> {
        columns
            .iter()
            .map(|col| f(&col.iter().map(Vec::as_slice).collect::<Vec<_>>()))
            .collect()
    };
    Ok(PosteriorRun {
        r_hat: diagnose(split_rhat),
        ess: diagnose(ess_bulk),
        gradients: chains.iter().map(|c| c.n_grad_total).sum(),
        chains,
        seconds: begin.elapsed().as_secs_f64(),
    })
}
