//! IBEA, the indicator-based evolutionary algorithm of Zitzler and Künzli
//! (2004), which BluePyOpt runs by default to fit neuron models: the genetic
//! algorithm baseline of the paper's L5PC fit.
//!
//! Each member of a population is scored on several objectives (for a neuron
//! fit, one per feature). Survival follows the additive epsilon indicator:
//! a member's fitness sums, over the others, how little they would have to
//! move to dominate it; the least fit are dropped one at a time. Parents are
//! picked by binary tournaments and varied by simulated binary crossover and
//! polynomial mutation (Deb and Agrawal 1995), both kept inside the bounds.
//! A whole generation is evaluated in one call, so that a batched simulator
//! runs it at once.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::minimize::{ObjectiveError, Observer, OptimError, Progress, Report, Stop, notify};

/// Settings of [`ibea`]; the defaults are BluePyOpt's (population 10,
/// distribution indices 10, crossover of every pair, mutation of each gene
/// with probability 1/2, mating tournaments of 4).
#[derive(Debug, Clone, PartialEq)]
pub struct IbeaOptions {
    /// Members kept, and offspring evaluated, per generation.
    pub population: usize,
    /// Generations after the initial population.
    pub generations: usize,
    /// Distribution index of the crossover (larger: children nearer their parents).
    pub eta_crossover: f64,
    /// Distribution index of the mutation.
    pub eta_mutation: f64,
    /// Probability that a pair of parents is crossed over.
    pub crossover_probability: f64,
    /// Probability that a gene mutates.
    pub mutation_probability: f64,
    /// Members per mating tournament (the fittest is a parent).
    pub tournament: usize,
    /// Scaling of the indicator in the fitness.
    pub kappa: f64,
    /// Stop once the best loss is at most this.
    pub target_loss: Option<f64>,
    /// Seed of the initial population and the variation.
    pub seed: u64,
}

impl Default for IbeaOptions {
    fn default() -> Self {
        Self {
            population: 10,
            generations: 10,
            eta_crossover: 10.0,
            eta_mutation: 10.0,
            crossover_probability: 1.0,
            mutation_probability: 0.5,
            tournament: 4,
            kappa: 0.05,
            target_loss: None,
            seed: 0,
        }
    }
}

/// Evaluates a generation: the objectives (all minimised) of every member.
pub type Evaluate<'a> = dyn FnMut(&[Vec<f64>]) -> Result<Vec<Vec<f64>>, ObjectiveError> + 'a;

/// Minimises the objectives `evaluate` returns over the boxes `bounds`.
///
/// A member's loss (for the best point, the history, the target and the
/// observers) is the mean of its objectives; NaN or infinite objectives
/// rank worst. In the report, `history` holds the best loss after each
/// generation (the initial population first), each generation costing
/// `population` evaluations, and `x` is the best point, as `best_x`.
pub fn ibea(
    evaluate: &mut Evaluate,
    bounds: &[(f64, f64)],
    options: &IbeaOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<Report, OptimError> {
    let mu = options.population;
    let o = options;
    let probability = |p: f64| (0.0..=1.0).contains(&p);
    if mu < 2
        || o.tournament < 1
        || !(o.kappa > 0.0 && o.eta_crossover >= 0.0 && o.eta_mutation >= 0.0)
        || !(probability(o.crossover_probability) && probability(o.mutation_probability))
        || bounds
            .iter()
            .any(|(lo, hi)| !(lo < hi && hi.is_finite() && lo.is_finite()))
    {
        return Err(OptimError::Numerical {
            iteration: 0,
            reason: format!(
                "IBEA needs a population of at least 2 (got {mu}), a tournament of at least 1, \
                 kappa > 0, distribution indices >= 0, probabilities in [0, 1] and finite \
                 boxes with lo < hi"
            ),
        });
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut members: Vec<Vec<f64>> = (0..mu)
        .map(|_| {
            bounds
                .iter()
                .map(|&(lo, hi)| lo + (hi - lo) * rng.random::<f64>())
                .collect()
        })
        .collect();
    let mut scores = score(evaluate, &members, 0)?;
    let (mut best_x, mut best_loss) = (members[0].clone(), f64::INFINITY);
    let mut history = Vec::new();
    let mut evaluations = 0;
    let mut generation = 0;
    let stop = loop {
        evaluations += mu;
        for (x, s) in members.iter().zip(&scores).rev().take(mu) {
            let loss = mean_loss(s);
            if loss < best_loss {
                best_loss = loss;
                best_x.clone_from(x);
            }
        }
        history.push(best_loss);
        let progress = Progress {
            iteration: generation,
            loss: best_loss,
            grad_norm: f64::NAN,
            x: &best_x,
        };
        if !notify(observers, &progress) {
            break Stop::Observer;
        }
        if options.target_loss.is_some_and(|t| best_loss <= t) {
            break Stop::TargetLoss;
        }
        // Environmental selection down to mu survivors, with their fitness.
        let (survivors, fitness) = select(&scores, mu, options.kappa);
        members = survivors.iter().map(|&i| members[i].clone()).collect();
        scores = survivors.iter().map(|&i| scores[i].clone()).collect();
        if generation == options.generations {
            break Stop::MaxIters;
        }
        generation += 1;
        // Mating selection by tournaments, variation, evaluation.
        let mut offspring: Vec<Vec<f64>> = (0..mu)
            .map(|_| {
                let winner = (0..options.tournament)
                    .map(|_| rng.random_range(0..mu))
                    .max_by(|&a, &b| fitness[a].total_cmp(&fitness[b]))
                    .expect("a tournament of at least one");
                members[winner].clone()
            })
            .collect();
        for pair in offspring.chunks_mut(2) {
            if let [a, b] = pair
                && rng.random::<f64>() < options.crossover_probability
            {
                crossover(a, b, bounds, options.eta_crossover, &mut rng);
            }
        }
        for child in &mut offspring {
            mutate(
                child,
                bounds,
                options.eta_mutation,
                options.mutation_probability,
                &mut rng,
            );
        }
        let child_scores = score(evaluate, &offspring, generation)?;
        members.extend(offspring);
        scores.extend(child_scores);
    };
    Ok(Report {
        x: best_x.clone(),
        best_x,
        best_loss,
        history,
        evaluations,
        stop,
    })
}

/// Evaluates `members` and checks the shape of the answer.
fn score(
    evaluate: &mut Evaluate,
    members: &[Vec<f64>],
    iteration: usize,
) -> Result<Vec<Vec<f64>>, OptimError> {
    let scores = evaluate(members).map_err(|error| OptimError::Objective { iteration, error })?;
    let width = scores.first().map_or(0, Vec::len);
    if scores.len() != members.len() || width == 0 || scores.iter().any(|s| s.len() != width) {
        return Err(OptimError::Objective {
            iteration,
            error: format!(
                "the evaluation returned {} score vectors for {} members; each needs the same \
                 non-zero number of objectives",
                scores.len(),
                members.len()
            )
            .into(),
        });
    }
    Ok(scores)
}

/// The mean of the objectives; infinite when any is NaN or infinite.
fn mean_loss(objectives: &[f64]) -> f64 {
    if objectives.iter().all(|f| f.is_finite()) {
        objectives.iter().sum::<f64>() / objectives.len() as f64
    } else {
        f64::INFINITY
    }
}

/// Objectives scaled to [0, 1] over the members whose objectives are all
/// finite; a member with a NaN or infinite objective gets 2 in every one,
/// worse than any finite member.
fn normalise(scores: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let m = scores[0].len();
    let finite = |s: &&Vec<f64>| s.iter().all(|f| f.is_finite());
    let range: Vec<(f64, f64)> = (0..m)
        .map(|k| {
            scores
                .iter()
                .filter(finite)
                .map(|s| s[k])
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), f| {
                    (lo.min(f), hi.max(f))
                })
        })
        .collect();
    scores
        .iter()
        .map(|s| {
            if !finite(&s) {
                return vec![2.0; m];
            }
            s.iter()
                .zip(&range)
                .map(
                    |(&f, &(lo, hi))| {
                        if hi > lo { (f - lo) / (hi - lo) } else { 0.0 }
                    },
                )
                .collect()
        })
        .collect()
}

/// The additive epsilon indicator I(a, b): the least shift of a's
/// objectives that makes it weakly dominate b.
fn epsilon(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x - y)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The indicator matrix I[a][b] and its scale c = max |I| (at least a tiny
/// positive number, for populations of identical members).
fn indicators(objectives: &[Vec<f64>]) -> (Vec<Vec<f64>>, f64) {
    let matrix: Vec<Vec<f64>> = objectives
        .iter()
        .map(|a| objectives.iter().map(|b| epsilon(a, b)).collect())
        .collect();
    let c = matrix
        .iter()
        .flatten()
        .fold(f64::MIN_POSITIVE, |c, i| c.max(i.abs()));
    (matrix, c)
}

/// IBEA's fitness of each member (higher is better): -sum over the others
/// of exp(-I(other, member) / (c kappa)).
fn fitness(objectives: &[Vec<f64>], kappa: f64) -> Vec<f64> {
    let (matrix, c) = indicators(objectives);
    (0..objectives.len())
        .map(|b| {
            (0..objectives.len())
                .filter(|&a| a != b)
                .map(|a| -(-matrix[a][b] / (c * kappa)).exp())
                .sum()
        })
        .collect()
}

/// The indices of the `keep` survivors and their fitness: the least fit
/// member is removed and the others' fitness updated, until `keep` remain
/// (Zitzler and Künzli's selection).
pub(crate) fn select(scores: &[Vec<f64>], keep: usize, kappa: f64) -> (Vec<usize>, Vec<f64>) {
    let objectives = normalise(scores);
    let (matrix, c) = indicators(&objectives);
    let mut fit = fitness(&objectives, kappa);
    let mut alive: Vec<usize> = (0..scores.len()).collect();
    while alive.len() > keep {
        let (slot, &worst) = alive
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| fit[**a].total_cmp(&fit[**b]))
            .expect("more members than survivors");
        alive.remove(slot);
        for &b in &alive {
            fit[b] += (-matrix[worst][b] / (c * kappa)).exp();
        }
    }
    let kept_fitness = alive.iter().map(|&i| fit[i]).collect();
    (alive, kept_fitness)
}

/// Simulated binary crossover of two parents, gene by gene with probability
/// one half, children kept inside the bounds.
pub(crate) fn crossover(
    a: &mut [f64],
    b: &mut [f64],
    bounds: &[(f64, f64)],
    eta: f64,
    rng: &mut StdRng,
) {
    let exponent = 1.0 / (eta + 1.0);
    for ((x1, x2), &(lo, hi)) in a.iter_mut().zip(b.iter_mut()).zip(bounds) {
        if rng.random::<f64>() > 0.5 || (*x1 - *x2).abs() < 1e-14 * (hi - lo) {
            continue;
        }
        let (y1, y2) = (x1.min(*x2), x1.max(*x2));
        let u = rng.random::<f64>();
        // The spread factor, limited so that each child stays inside its bound.
        let spread = |distance: f64| {
            let beta = 1.0 + 2.0 * distance / (y2 - y1);
            let alpha = 2.0 - beta.powf(-(eta + 1.0));
            if u <= 1.0 / alpha {
                (u * alpha).powf(exponent)
            } else {
                (1.0 / (2.0 - u * alpha)).powf(exponent)
            }
        };
        let c1 = 0.5 * (y1 + y2 - spread(y1 - lo) * (y2 - y1));
        let c2 = 0.5 * (y1 + y2 + spread(hi - y2) * (y2 - y1));
        let (c1, c2) = (c1.clamp(lo, hi), c2.clamp(lo, hi));
        if rng.random::<f64>() < 0.5 {
            (*x1, *x2) = (c2, c1);
        } else {
            (*x1, *x2) = (c1, c2);
        }
    }
}

/// Polynomial mutation of each gene with probability `p`, inside the bounds.
pub(crate) fn mutate(x: &mut [f64], bounds: &[(f64, f64)], eta: f64, p: f64, rng: &mut StdRng) {
    let exponent = 1.0 / (eta + 1.0);
    for (x, &(lo, hi)) in x.iter_mut().zip(bounds) {
        if rng.random::<f64>() >= p {
            continue;
        }
        let width = hi - lo;
        let u = rng.random::<f64>();
        let shift = if u < 0.5 {
            let room = 1.0 - (*x - lo) / width;
            (2.0 * u + (1.0 - 2.0 * u) * room.powf(eta + 1.0)).powf(exponent) - 1.0
        } else {
            let room = 1.0 - (hi - *x) / width;
            1.0 - (2.0 * (1.0 - u) + 2.0 * (u - 0.5) * room.powf(eta + 1.0)).powf(exponent)
        };
        *x = (*x + shift * width).clamp(lo, hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn selection_drops_dominated_members_first() {
        // Three points on a front and two dominated ones.
        let scores = vec![
            vec![0.0, 1.0],
            vec![0.5, 0.5],
            vec![1.0, 0.0],
            vec![0.9, 0.9],
            vec![0.6, 0.7],
        ];
        let (mut kept, _) = select(&scores, 3, 0.05);
        kept.sort();
        assert_eq!(kept, vec![0, 1, 2]);
        // Negative check: keeping four keeps the less dominated of the two.
        let (mut kept, _) = select(&scores, 4, 0.05);
        kept.sort();
        assert_eq!(kept, vec![0, 1, 2, 4]);
    }

    #[test]
    fn non_finite_members_are_dropped_before_finite_ones() {
        let scores = vec![
            vec![f64::NAN, 0.0],
            vec![3.0, 3.0],
            vec![0.0, f64::INFINITY],
            vec![2.0, 2.0],
        ];
        let (mut kept, _) = select(&scores, 2, 0.05);
        kept.sort();
        assert_eq!(kept, vec![1, 3]);
    }

    proptest! {
        #[test]
        fn variation_stays_inside_the_bounds(
            seed in 0u64..1000,
            genes in prop::collection::vec((-5.0f64..5.0, 0.01f64..10.0, 0.0f64..1.0, 0.0f64..1.0), 1..6),
            eta in 0.5f64..30.0,
        ) {
            let bounds: Vec<(f64, f64)> = genes.iter().map(|g| (g.0, g.0 + g.1)).collect();
            let mut a: Vec<f64> = genes.iter().map(|g| g.0 + g.2 * g.1).collect();
            let mut b: Vec<f64> = genes.iter().map(|g| g.0 + g.3 * g.1).collect();
            let mut rng = StdRng::seed_from_u64(seed);
            crossover(&mut a, &mut b, &bounds, eta, &mut rng);
            mutate(&mut a, &bounds, eta, 1.0, &mut rng);
            for (x, (lo, hi)) in a.iter().chain(&b).zip(bounds.iter().chain(&bounds)) {
                prop_assert!(x.is_finite() && lo <= x && x <= hi, "{x} outside [{lo}, {hi}]");
            }
        }
    }

    #[test]
    fn crossover_children_keep_the_parents_mean() {
        // Away from the bounds, SBX children are symmetric about the parents' mean.
        let bounds = vec![(-100.0, 100.0); 8];
        let mut rng = StdRng::seed_from_u64(3);
        let mut a: Vec<f64> = (0..8).map(|i| i as f64 * 0.1).collect();
        let mut b: Vec<f64> = (0..8).map(|i| 1.0 - i as f64 * 0.2).collect();
        let sums: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        crossover(&mut a, &mut b, &bounds, 10.0, &mut rng);
        for ((x, y), s) in a.iter().zip(&b).zip(&sums) {
            assert!((x + y - s).abs() < 1e-12, "{x} + {y} != {s}");
        }
    }
}
