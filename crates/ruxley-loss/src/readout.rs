//! Class readouts on recorded voltages: each trace's samples in a time
//! window reduced to one logit, and the cross-entropy of a label given the
//! logits (the paper's task losses).

use ruxley_traces::Traces;

use crate::{LossError, TraceLoss, cross_entropy};

/// How the samples of a trace in the readout window become one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reduce {
    /// Their mean (evidence read from a sustained voltage).
    Mean,
    /// A smooth maximum, tau ln(mean exp(x / tau)): between the mean and
    /// the maximum and within tau ln(n) of the maximum, so a spike in the
    /// window raises it by tens of mV while its gradient reaches every
    /// sample near the peak.
    SoftMax {
        /// Sharpness in the trace's unit (mV); smaller is closer to the max.
        tau: f64,
    },
    /// The same smooth maximum of the rate of rise (x_{i+1} - x_i) / dt
    /// (mV/ms): a spike's upstroke reads high, a depolarised plateau does
    /// not.
    SoftMaxRise {
        /// Sharpness in the trace's unit per ms.
        tau: f64,
    },
}

/// tau ln(mean exp(x / tau)) and its gradient.
fn soft_max(x: &[f64], tau: f64) -> (f64, Vec<f64>) {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = x.iter().map(|v| ((v - m) / tau).exp()).collect();
    let z: f64 = w.iter().sum();
    let value = m + tau * (z / x.len() as f64).ln();
    (value, w.iter().map(|w| w / z).collect())
}

impl Reduce {
    /// The reduced value of `x` (samples `dt` ms apart) and its gradient.
    fn value_and_grad(self, x: &[f64], dt: f64) -> (f64, Vec<f64>) {
        let n = x.len() as f64;
        match self {
            Self::Mean => (x.iter().sum::<f64>() / n, vec![1.0 / n; x.len()]),
            Self::SoftMax { tau } => soft_max(x, tau),
            Self::SoftMaxRise { tau } => {
                let rise: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]) / dt).collect();
                let (value, g) = soft_max(&rise, tau);
                let mut grad = vec![0.0; x.len()];
                for (i, g) in g.iter().enumerate() {
                    grad[i + 1] += g / dt;
                    grad[i] -= g / dt;
                }
                (value, grad)
            }
        }
    }
}

/// Logits read from named traces: (reduce(trace in window) - offset) / scale
/// for each trace. With several traces the class is the largest logit; with
/// one it is binary, class 1 where the logit is positive.
#[derive(Debug, Clone, PartialEq)]
pub struct Readout {
    /// One trace per class, or one trace for a binary label.
    pub traces: Vec<String>,
    /// The window in ms: samples at times t with start <= t < end (end may
    /// be infinite: to the last sample).
    pub window: (f64, f64),
    /// How the window's samples are reduced.
    pub reduce: Reduce,
    /// Subtracted from each reduced value (in its unit: mV, or mV/ms for
    /// the rate of rise).
    pub offset: f64,
    /// Divides each reduced value (its unit per logit unit).
    pub scale: f64,
}

impl Readout {
    /// The number of classes (2 for a single trace).
    pub fn classes(&self) -> usize {
        self.traces.len().max(2)
    }

    /// The sample range of the window in `traces`, or an error when it
    /// holds no sample.
    fn samples(&self, traces: &Traces) -> Result<std::ops::Range<usize>, LossError> {
        let (start, end) = self.window;
        if !(start.is_finite() && end > start) {
            return Err(LossError::Other(format!(
                "a readout window needs a finite start before its end, not [{start}, {end})"
            )));
        }
        let dt = traces.dt();
        let first = (self.window.0 / dt - 1e-9).ceil().max(0.0) as usize;
        let end = ((self.window.1 / dt - 1e-9).ceil().max(0.0) as usize).min(traces.n_samples());
        let least = if matches!(self.reduce, Reduce::SoftMaxRise { .. }) {
            2
        } else {
            1
        };
        if first + least > end {
            return Err(LossError::Other(format!(
                "the readout window [{}, {}) ms holds too few samples ({least} needed) of the {} recorded",
                self.window.0,
                self.window.1,
                traces.n_samples()
            )));
        }
        Ok(first..end)
    }

    /// The logits and, per logit, its trace's row and its gradient in the
    /// window's samples.
    #[allow(clippy::type_complexity)]
    fn evaluate(
        &self,
        traces: &Traces,
    ) -> Result<(Vec<f64>, Vec<(usize, Vec<f64>)>, std::ops::Range<usize>), LossError> {
        let tau = match self.reduce {
            Reduce::Mean => 1.0,
            Reduce::SoftMax { tau } | Reduce::SoftMaxRise { tau } => tau,
        };
        if !(tau.is_finite() && tau > 0.0) {
            return Err(LossError::Other(format!(
                "a readout's sharpness tau must be positive and finite, not {tau}"
            )));
        }
        if self.traces.is_empty() || !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(LossError::Other(format!(
                "a readout needs at least one trace and a positive scale (has {} traces, scale {})",
                self.traces.len(),
                self.scale
            )));
        }
        let window = self.samples(traces)?;
        let mut logits = Vec::with_capacity(self.traces.len());
        let mut grads = Vec::with_capacity(self.traces.len());
        for name in &self.traces {
            let row = traces
                .names()
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| LossError::MissingTrace {
                    name: name.clone(),
                    recorded: traces.names().to_vec(),
                })?;
            let x = &traces.trace(row)[window.clone()];
            let (r, g) = self.reduce.value_and_grad(x, traces.dt());
            let logit = (r - self.offset) / self.scale;
            if !logit.is_finite() {
                return Err(LossError::Other(format!(
                    "trace {name} gives the non-finite logit {logit} in the readout window"
                )));
            }
            logits.push(logit);
            grads.push((row, g.iter().map(|g| g / self.scale).collect()));
        }
        Ok((logits, grads, window))
    }

    /// The logits of a run.
    pub fn logits(&self, traces: &Traces) -> Result<Vec<f64>, LossError> {
        Ok(self.evaluate(traces)?.0)
    }

    /// The predicted class of logits from this readout.
    pub fn predict(&self, logits: &[f64]) -> usize {
        if logits.len() == 1 {
            usize::from(logits[0] > 0.0)
        } else {
            (0..logits.len())
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                .unwrap_or(0)
        }
    }

    /// The cross-entropy of `label` given `logits` (a single logit z is the
    /// pair (0, z)) and its gradient in the logits.
    fn cross_entropy_of(&self, logits: &[f64], label: usize) -> Result<(f64, Vec<f64>), LossError> {
        if label >= self.classes() {
            return Err(LossError::Other(format!(
                "label {label} for a readout of {} classes",
                self.classes()
            )));
        }
        Ok(if logits.len() == 1 {
            let (l, d) = cross_entropy(&[0.0, logits[0]], label);
            (l, vec![d[1]])
        } else {
            cross_entropy(logits, label)
        })
    }

    /// The cross-entropy of `label` given the run's logits, and the logits.
    pub fn loss(&self, traces: &Traces, label: usize) -> Result<(f64, Vec<f64>), LossError> {
        let logits = self.logits(traces)?;
        Ok((self.cross_entropy_of(&logits, label)?.0, logits))
    }

    /// [`Readout::loss`] with its gradient in every sample added to `grad`.
    pub fn cross_entropy(
        &self,
        traces: &Traces,
        label: usize,
        grad: &mut Traces,
    ) -> Result<(f64, Vec<f64>), LossError> {
        let (logits, grads, window) = self.evaluate(traces)?;
        let (loss, d_logits) = self.cross_entropy_of(&logits, label)?;
        for ((row, g), d) in grads.iter().zip(&d_logits) {
            let out = &mut grad.trace_mut(*row)[window.clone()];
            for (o, g) in out.iter_mut().zip(g) {
                *o += d * g;
            }
        }
        Ok((loss, logits))
    }
}

/// The cross-entropy of each batch member's label under a [`Readout`]: the
/// loss of member k is that of `labels[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassLoss {
    /// The readout.
    pub readout: Readout,
    /// One label per batch member.
    pub labels: Vec<usize>,
}

impl TraceLoss for ClassLoss {
    fn value_and_grad(
        &self,
        member: usize,
        traces: &Traces,
        grad: &mut Traces,
    ) -> Result<f64, LossError> {
        let label = *self.labels.get(member).ok_or_else(|| {
            LossError::Other(format!(
                "no label for batch member {member} ({} labels)",
                self.labels.len()
            ))
        })?;
        Ok(self.readout.cross_entropy(traces, label, grad)?.0)
    }
}
