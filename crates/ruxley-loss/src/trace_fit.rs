//! Losses on the named traces of a simulation run, with their gradients with
//! respect to every recorded sample: what a backend needs to compute the
//! gradient of the loss with respect to the model's parameters.

use ruxley_traces::Traces;

use crate::{ShapeDtw, SoftDtw, WindowStats};

/// Why a loss cannot be evaluated on the traces of a run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LossError {
    /// The loss names a trace that was not recorded.
    #[error("the loss needs trace {name}, recorded are: {}", recorded.join(", "))]
    MissingTrace {
        /// The trace the loss needs.
        name: String,
        /// The traces of the run.
        recorded: Vec<String>,
    },
    /// A target and its trace differ in length.
    #[error("the target of {name} has {target} samples, the trace {trace}")]
    Length {
        /// The trace.
        name: String,
        /// Samples in the target.
        target: usize,
        /// Samples in the trace.
        trace: usize,
    },
    /// A loss written outside this crate failed.
    #[error("{0}")]
    Other(String),
}

/// A loss on the traces of a run that supplies its own gradient.
///
/// [`TraceFit`] composes the losses of this crate; implement the trait for a
/// loss it cannot express.
pub trait TraceLoss: Sync {
    /// The loss of batch member `member`; adds d loss / d value of every
    /// recorded sample into `grad` (zero on entry, shaped like `traces`).
    fn value_and_grad(
        &self,
        member: usize,
        traces: &Traces,
        grad: &mut Traces,
    ) -> Result<f64, LossError>;
}

/// How one trace is compared with its target.
#[derive(Debug, Clone, PartialEq)]
pub enum Compare {
    /// Mean squared error ([`crate::mse`]).
    Mse,
    /// Mean absolute error ([`crate::mae`]).
    Mae,
    /// Mean and standard deviation in windows (the paper's statistics).
    Windows(WindowStats),
    /// Soft dynamic time warping (the paper's cost).
    SoftDtw(SoftDtw),
    /// The soft-DTW divergence of pooled, normalised traces (the paper's
    /// fits to recordings).
    ShapeDtw(ShapeDtw),
}

impl Compare {
    fn value_and_grad(&self, x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
        match self {
            Self::Mse => crate::mse(x, y),
            Self::Mae => crate::mae(x, y),
            Self::Windows(w) => w.value_and_grad(x, y),
            Self::SoftDtw(s) => s.value_and_grad(x, y),
            Self::ShapeDtw(s) => s.value_and_grad(x, y),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    trace: String,
    target: Vec<f64>,
    compare: Compare,
    weight: f64,
}

/// A weighted sum of comparisons of named traces with their targets; the
/// same target for every batch member.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceFit {
    terms: Vec<Term>,
}

impl TraceFit {
    /// No terms (a loss of zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `weight` times the comparison of trace `trace` with `target`.
    pub fn term(mut self, trace: &str, target: Vec<f64>, compare: Compare, weight: f64) -> Self {
        self.terms.push(Term {
            trace: trace.to_string(),
            target,
            compare,
            weight,
        });
        self
    }

    /// The mean squared error over all samples of the listed traces (mV^2
    /// for voltages): each trace's MSE weighted by one over their number.
    pub fn mse(targets: Vec<(String, Vec<f64>)>) -> Self {
        let weight = 1.0 / targets.len().max(1) as f64;
        targets
            .into_iter()
            .fold(Self::new(), |fit, (trace, target)| {
                fit.term(&trace, target, Compare::Mse, weight)
            })
    }

    /// [`TraceFit::mse`] to every trace of `target` (a run of the same model).
    pub fn mse_to(target: &Traces) -> Self {
        Self::mse(
            target
                .names()
                .iter()
                .zip(target.data().chunks(target.n_samples().max(1)))
                .map(|(name, row)| (name.clone(), row.to_vec()))
                .collect(),
        )
    }
}

impl TraceLoss for TraceFit {
    fn value_and_grad(
        &self,
        _member: usize,
        traces: &Traces,
        grad: &mut Traces,
    ) -> Result<f64, LossError> {
        let mut total = 0.0;
        for term in &self.terms {
            let k = traces
                .names()
                .iter()
                .position(|n| *n == term.trace)
                .ok_or_else(|| LossError::MissingTrace {
                    name: term.trace.clone(),
                    recorded: traces.names().to_vec(),
                })?;
            let x = traces.trace(k);
            if x.len() != term.target.len() {
                return Err(LossError::Length {
                    name: term.trace.clone(),
                    target: term.target.len(),
                    trace: x.len(),
                });
            }
            let (value, dx) = term.compare.value_and_grad(x, &term.target);
            total += term.weight * value;
            for (g, d) in grad.trace_mut(k).iter_mut().zip(dx) {
                *g += term.weight * d;
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traces(rows: &[(&str, &[f64])]) -> Traces {
        let n = rows[0].1.len();
        let mut t = Traces::zeros(rows.iter().map(|r| r.0.to_string()).collect(), 0.1, n);
        for (k, (_, row)) in rows.iter().enumerate() {
            t.trace_mut(k).copy_from_slice(row);
        }
        t
    }

    #[test]
    fn the_mse_is_the_mean_over_all_samples_of_all_traces() {
        let target = traces(&[("a", &[0.0, 0.0]), ("b", &[1.0, 1.0])]);
        let run = traces(&[("a", &[1.0, 3.0]), ("b", &[1.0, 0.0])]);
        let mut grad = run.zeros_like();
        let loss = TraceFit::mse_to(&target)
            .value_and_grad(0, &run, &mut grad)
            .unwrap();
        // (1 + 9 + 0 + 1) / 4 samples.
        assert_eq!(loss, 11.0 / 4.0);
        // d/dx (x - y)^2 / 4 = (x - y) / 2.
        assert_eq!(grad.data(), &[0.5, 1.5, 0.0, -0.5]);
    }

    #[test]
    fn terms_add_with_their_weights_and_gradients_match_differences() {
        let target: Vec<f64> = (0..40).map(|k| (k as f64 * 0.3).sin()).collect();
        let x: Vec<f64> = (0..40).map(|k| (k as f64 * 0.31).sin() + 0.1).collect();
        let fit = TraceFit::new()
            .term("v", target.clone(), Compare::Mse, 2.0)
            .term(
                "v",
                target.clone(),
                Compare::Windows(WindowStats::equal(40, 4, 8.0, 4.0)),
                0.5,
            )
            .term(
                "v",
                target.clone(),
                Compare::SoftDtw(SoftDtw {
                    gamma: 1.0,
                    time_weight: 1.0,
                }),
                1e-2,
            );
        let run = traces(&[("v", &x)]);
        let mut grad = run.zeros_like();
        let loss = fit.value_and_grad(0, &run, &mut grad).unwrap();
        let want = 2.0 * crate::mse(&x, &target).0
            + 0.5
                * WindowStats::equal(40, 4, 8.0, 4.0)
                    .value_and_grad(&x, &target)
                    .0
            + 1e-2
                * SoftDtw {
                    gamma: 1.0,
                    time_weight: 1.0,
                }
                .value(&x, &target);
        assert!(
            (loss - want).abs() <= 1e-12 * want.abs(),
            "{loss} vs {want}"
        );
        let h = 1e-6;
        let mut worst: f64 = 0.0;
        for k in 0..x.len() {
            let at = |d: f64| {
                let mut y = x.clone();
                y[k] += d;
                let mut g = run.zeros_like();
                fit.value_and_grad(0, &traces(&[("v", &y)]), &mut g)
                    .unwrap()
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            let d = (fd - grad.trace(0)[k]).abs();
            // A NaN difference becomes the worst and fails the check.
            if d.is_nan() || d > worst {
                worst = d;
            }
        }
        // Central differences of smooth terms: measured 3.3e-11.
        assert!(worst <= 3e-10, "worst difference {worst}");
    }

    #[test]
    fn a_missing_trace_or_a_short_target_is_named() {
        let run = traces(&[("v", &[0.0, 1.0])]);
        let mut grad = run.zeros_like();
        let e = TraceFit::mse(vec![("w".into(), vec![0.0, 1.0])])
            .value_and_grad(0, &run, &mut grad)
            .unwrap_err();
        assert_eq!(
            e,
            LossError::MissingTrace {
                name: "w".into(),
                recorded: vec!["v".into()]
            }
        );
        let e = TraceFit::mse(vec![("v".into(), vec![0.0])])
            .value_and_grad(0, &run, &mut grad)
            .unwrap_err();
        assert_eq!(e.to_string(), "the target of v has 1 samples, the trace 2");
    }
}
