//! HMC and NUTS transitions.

use rand::{Rng, RngExt};

use crate::metric::Metric;

/// An unnormalised log-density with its gradient.
pub trait LogDensity: Sync {
    /// The dimension.
    fn dim(&self) -> usize;
    /// log p(x), writing its gradient into `grad`. Return -inf (or NaN)
    /// outside the support; the sampler treats it as a divergence.
    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> f64;
}

/// A point of a chain with its log-density and gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Position.
    pub x: Vec<f64>,
    /// log p(x).
    pub logp: f64,
    /// Its gradient.
    pub grad: Vec<f64>,
}

impl State {
    /// Evaluates the target at `x`.
    pub fn new(target: &dyn LogDensity, x: Vec<f64>) -> Self {
        let mut grad = vec![0.0; x.len()];
        let logp = target.logp_and_grad(&x, &mut grad);
        Self { x, logp, grad }
    }
}

/// What one transition did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Info {
    /// The mean Metropolis acceptance probability over the trajectory (what
    /// step-size adaptation targets).
    pub accept_prob: f64,
    /// Whether the state moved.
    pub moved: bool,
    /// Whether the trajectory diverged (energy error above the limit).
    pub divergent: bool,
    /// Gradient evaluations.
    pub n_grad: usize,
    /// Tree depth (NUTS) or 0.
    pub depth: usize,
    /// Hamiltonian at the start.
    pub energy: f64,
}

/// Energy errors beyond this count as divergences (Stan's threshold).
pub const MAX_ENERGY_ERROR: f64 = 1000.0;

/// A point in phase space, with its velocity v = M^{-1} p.
#[derive(Debug, Clone)]
struct Phase {
    x: Vec<f64>,
    p: Vec<f64>,
    v: Vec<f64>,
    logp: f64,
    grad: Vec<f64>,
}

impl Phase {
    fn start(metric: &Metric, rng: &mut impl Rng, state: &State) -> Self {
        let n = state.x.len();
        let mut z = Self {
            x: state.x.clone(),
            p: vec![0.0; n],
            v: vec![0.0; n],
            logp: state.logp,
            grad: state.grad.clone(),
        };
        metric.sample_momentum(rng, &mut z.p);
        metric.velocity(&z.p, &mut z.v);
        z
    }
}

/// One leapfrog step of size `eps` (negative integrates backwards).
fn leapfrog(target: &dyn LogDensity, metric: &Metric, z: &mut Phase, eps: f64) {
    for (p, g) in z.p.iter_mut().zip(&z.grad) {
        *p += 0.5 * eps * g;
    }
    metric.velocity(&z.p, &mut z.v);
    for (x, v) in z.x.iter_mut().zip(&z.v) {
        *x += eps * v;
    }
    z.logp = target.logp_and_grad(&z.x, &mut z.grad);
    for (p, g) in z.p.iter_mut().zip(&z.grad) {
        *p += 0.5 * eps * g;
    }
    metric.velocity(&z.p, &mut z.v);
}

fn hamiltonian(z: &Phase) -> f64 {
    let kinetic = 0.5 * z.p.iter().zip(&z.v).map(|(a, b)| a * b).sum::<f64>();
    let h = -z.logp + kinetic;
    if h.is_nan() { f64::INFINITY } else { h }
}

/// Static HMC: leapfrog steps of size `step_size`, then a Metropolis test.
#[derive(Debug, Clone, PartialEq)]
pub struct Hmc {
    /// Leapfrog step size.
    pub step_size: f64,
    /// Leapfrog steps per transition (the most, with `jitter`).
    pub n_leapfrog: usize,
    /// Draw each transition's number of steps uniformly from 1 to
    /// `n_leapfrog`. A fixed path length can fall into a near-periodic
    /// orbit: at half a period a coordinate changes sign every draw and the
    /// chain mixes badly; a random length averages that out.
    pub jitter: bool,
    /// The metric.
    pub metric: Metric,
}

impl Hmc {
    /// One transition from `state`.
    pub fn step(
        &self,
        rng: &mut impl Rng,
        target: &dyn LogDensity,
        state: &State,
    ) -> (State, Info) {
        let mut z = Phase::start(&self.metric, rng, state);
        let h0 = hamiltonian(&z);
        let mut divergent = false;
        let steps = if self.jitter {
            rng.random_range(1..=self.n_leapfrog.max(1))
        } else {
            self.n_leapfrog
        };
        for _ in 0..steps {
            leapfrog(target, &self.metric, &mut z, self.step_size);
            if hamiltonian(&z) - h0 > MAX_ENERGY_ERROR {
                divergent = true;
                break;
            }
        }
        let h1 = hamiltonian(&z);
        let accept_prob = if divergent {
            0.0
        } else {
            (h0 - h1).exp().min(1.0)
        };
        let moved = rng.random::<f64>() < accept_prob;
        let info = Info {
            accept_prob,
            moved,
            divergent,
            n_grad: steps,
            depth: 0,
            energy: h0,
        };
        if moved {
            (
                State {
                    x: z.x,
                    logp: z.logp,
                    grad: z.grad,
                },
                info,
            )
        } else {
            (state.clone(), info)
        }
    }
}

/// The No-U-Turn Sampler with multinomial sampling of the trajectory and the
/// generalised no-U-turn criterion (Hoffman and Gelman 2014; Betancourt
/// 2017), with Stan's extra checks across merged subtrees.
#[derive(Debug, Clone, PartialEq)]
pub struct Nuts {
    /// Leapfrog step size.
    pub step_size: f64,
    /// The deepest tree (2^max_depth leapfrog steps at most).
    pub max_depth: usize,
    /// The metric.
    pub metric: Metric,
}

/// A subtree: its two ends in time order, a proposal, and its summaries.
struct Tree {
    minus: Phase,
    plus: Phase,
    proposal: Phase,
    log_weight: f64,
    rho: Vec<f64>,
    sum_accept: f64,
    n_leapfrog: usize,
    stop: bool,
    divergent: bool,
}

fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

struct Builder<'a> {
    target: &'a dyn LogDensity,
    metric: &'a Metric,
    eps: f64,
    h0: f64,
}

/// True if the trajectory with momentum sum `rho`, whose ends have the
/// velocities `minus` and `plus`, has not turned back.
fn no_uturn(rho: &[f64], minus: &[f64], plus: &[f64]) -> bool {
    let a: f64 = minus.iter().zip(rho).map(|(v, r)| v * r).sum();
    let b: f64 = plus.iter().zip(rho).map(|(v, r)| v * r).sum();
    a > 0.0 && b > 0.0
}

impl Builder<'_> {
    fn build(&mut self, rng: &mut impl Rng, from: &Phase, depth: usize, forward: bool) -> Tree {
        if depth == 0 {
            let mut z = from.clone();
            let eps = if forward { self.eps } else { -self.eps };
            leapfrog(self.target, self.metric, &mut z, eps);
            let h = hamiltonian(&z);
            let divergent = h - self.h0 > MAX_ENERGY_ERROR;
            let log_weight = self.h0 - h;
            return Tree {
                minus: z.clone(),
                plus: z.clone(),
                rho: z.p.clone(),
                proposal: z,
                log_weight,
                sum_accept: log_weight.exp().min(1.0),
                n_leapfrog: 1,
                stop: divergent,
                divergent,
            };
        }
        let first = self.build(rng, from, depth - 1, forward);
        if first.stop {
            return first;
        }
        let edge = if forward { &first.plus } else { &first.minus };
        let edge = edge.clone();
        let second = self.build(rng, &edge, depth - 1, forward);
        let n_leapfrog = first.n_leapfrog + second.n_leapfrog;
        let sum_accept = first.sum_accept + second.sum_accept;
        if second.stop {
            return Tree {
                n_leapfrog,
                sum_accept,
                stop: true,
                divergent: second.divergent,
                ..first
            };
        }
        let (early, late) = if forward {
            (first, second)
        } else {
            (second, first)
        };
        let log_weight = log_add_exp(early.log_weight, late.log_weight);
        // Uniform (multinomial) choice within the subtree.
        let pick_late = rng.random::<f64>().ln() < late.log_weight - log_weight;
        let rho: Vec<f64> = early
            .rho
            .iter()
            .zip(&late.rho)
            .map(|(a, b)| a + b)
            .collect();
        let mut ok = no_uturn(&rho, &early.minus.v, &late.plus.v);
        // Stan's extra checks across the junction of the two halves.
        let r1: Vec<f64> = early
            .rho
            .iter()
            .zip(&late.minus.p)
            .map(|(a, b)| a + b)
            .collect();
        ok = ok && no_uturn(&r1, &early.minus.v, &late.minus.v);
        let r2: Vec<f64> = late
            .rho
            .iter()
            .zip(&early.plus.p)
            .map(|(a, b)| a + b)
            .collect();
        ok = ok && no_uturn(&r2, &early.plus.v, &late.plus.v);
        let proposal = if pick_late {
            late.proposal
        } else {
            early.proposal
        };
        Tree {
            minus: early.minus,
            plus: late.plus,
            proposal,
            log_weight,
            rho,
            sum_accept,
            n_leapfrog,
            stop: !ok,
            divergent: false,
        }
    }
}

impl Nuts {
    /// One transition from `state`.
    pub fn step(
        &self,
        rng: &mut impl Rng,
        target: &dyn LogDensity,
        state: &State,
    ) -> (State, Info) {
        let z0 = Phase::start(&self.metric, rng, state);
        let h0 = hamiltonian(&z0);
        let mut b = Builder {
            target,
            metric: &self.metric,
            eps: self.step_size,
            h0,
        };
        let (mut minus, mut plus) = (z0.clone(), z0.clone());
        let mut rho = z0.p.clone();
        let mut proposal = z0;
        let mut log_weight = 0.0;
        let (mut n_grad, mut sum_accept, mut divergent, mut depth) = (0, 0.0, false, 0);
        let mut moved = false;
        while depth < self.max_depth {
            let forward = rng.random::<bool>();
            let tree = if forward {
                b.build(rng, &plus, depth, true)
            } else {
                b.build(rng, &minus, depth, false)
            };
            depth += 1;
            n_grad += tree.n_leapfrog;
            sum_accept += tree.sum_accept;
            if tree.stop {
                divergent = tree.divergent;
                break;
            }
            // Biased progressive sampling: favour the new subtree.
            if rng.random::<f64>().ln() < tree.log_weight - log_weight {
                proposal = tree.proposal.clone();
                moved = true;
            }
            log_weight = log_add_exp(log_weight, tree.log_weight);
            let (early_rho, late_rho) = (rho.clone(), tree.rho.clone());
            let (old_minus, old_plus) = (minus.clone(), plus.clone());
            let (tree_minus, tree_plus) = (tree.minus.clone(), tree.plus.clone());
            if forward {
                plus = tree.plus;
            } else {
                minus = tree.minus;
            }
            rho = early_rho
                .iter()
                .zip(&late_rho)
                .map(|(a, c)| a + c)
                .collect();
            let mut ok = no_uturn(&rho, &minus.v, &plus.v);
            // Extra checks across the junction of old and new halves.
            let (early_plus, late_minus, early_rho, late_rho) = if forward {
                (&old_plus, &tree_minus, &early_rho, &late_rho)
            } else {
                (&tree_plus, &old_minus, &late_rho, &early_rho)
            };
            let r1: Vec<f64> = early_rho
                .iter()
                .zip(&late_minus.p)
                .map(|(a, c)| a + c)
                .collect();
            ok = ok && no_uturn(&r1, &minus.v, &late_minus.v);
            let r2: Vec<f64> = late_rho
                .iter()
                .zip(&early_plus.p)
                .map(|(a, c)| a + c)
                .collect();
            ok = ok && no_uturn(&r2, &early_plus.v, &plus.v);
            if !ok {
                break;
            }
        }
        let info = Info {
            accept_prob: sum_accept / n_grad.max(1) as f64,
            moved,
            divergent,
            n_grad,
            depth,
            energy: h0,
        };
        (
            State {
                x: proposal.x,
                logp: proposal.logp,
                grad: proposal.grad,
            },
            info,
        )
    }
}
