//! Losses on recorded traces, with their gradients.

use crate::traces::Traces;

/// A loss on the traces of a simulation that supplies its own gradient.
pub trait TraceLoss: Sync {
    /// The loss of batch member `member`; writes d loss / d value of every
    /// recorded sample into `grad` (zero on entry, shaped like `traces`).
    fn value_and_grad(
        &self,
        member: usize,
        traces: &Traces,
        grad: &mut Traces,
    ) -> Result<f64, String>;
}

/// The mean squared error between named traces and their targets, averaged
/// over all samples of all listed traces (mV^2 for voltages).
#[derive(Debug, Clone, PartialEq)]
pub struct Mse {
    targets: Vec<(String, Vec<f64>)>,
}

impl Mse {
    /// Targets by trace column name (`v_soma_mV`), one value per sample.
    pub fn new(targets: Vec<(String, Vec<f64>)>) -> Self {
        Self { targets }
    }
}

impl TraceLoss for Mse {
    fn value_and_grad(
        &self,
        _member: usize,
        traces: &Traces,
        grad: &mut Traces,
    ) -> Result<f64, String> {
        // The mean over all samples of all traces: the mean of the traces'
        // mean squared errors (every trace has the same samples).
        let traces_n = self.targets.len().max(1) as f64;
        let mut loss = 0.0;
        for (name, target) in &self.targets {
            let k = traces
                .names()
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| {
                    format!(
                        "the loss needs trace {name}, recorded are: {}",
                        traces.names().join(", ")
                    )
                })?;
            if target.len() != traces.n_samples() {
                return Err(format!(
                    "target {name} has {} samples, the traces {}",
                    target.len(),
                    traces.n_samples()
                ));
            }
            let (value, dy) = ruxley_loss::mse(traces.trace(k), target);
            loss += value / traces_n;
            for (g, d) in grad.trace_mut(k).iter_mut().zip(dy) {
                *g += d / traces_n;
            }
        }
        Ok(loss)
    }
}
