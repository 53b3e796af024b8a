//! Deliberately broken backends, for the suite's negative tests: each wraps
//! a correct backend and spoils its results in one way; the suite must
//! reject every one of them.

use ruxley_backend::{
    Backend, Batch, Capabilities, JvpRequest, JvpResult, RunOptions, Schedule, SimError,
    ValueAndGrad,
};
use ruxley_cell::Layout;
use ruxley_loss::TraceLoss;
use ruxley_traces::Traces;

/// How a [`Broken`] backend spoils its results.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// One sample of every member's first trace becomes NaN.
    NanSample,
    /// Every trace is shifted by this many mV.
    Offset(f64),
    /// The members of a batch come back in reverse order.
    SwappedMembers,
    /// In a batch of several members, one sample of the first member's
    /// first trace becomes NaN (a member run alone is right).
    NanInFirstMember,
    /// Every gradient value is scaled by this factor.
    GradientScale(f64),
    /// Every seventh gradient value becomes NaN.
    NanGradient,
    /// A failed run returns NaN traces instead of its error.
    SwallowErrors,
}

/// A correct backend with a [`Fault`].
#[derive(Debug, Clone)]
pub struct Broken<B> {
    /// The correct backend.
    pub inner: B,
    /// What goes wrong.
    pub fault: Fault,
}

impl<B> Broken<B> {
    fn spoil_traces(&self, traces: &mut [Traces]) {
        match self.fault {
            Fault::NanSample => {
                for t in traces.iter_mut() {
                    let k = t.n_samples() / 2;
                    t.trace_mut(0)[k] = f64::NAN;
                }
            }
            Fault::Offset(mv) => {
                for t in traces.iter_mut() {
                    for k in 0..t.len() {
                        for x in t.trace_mut(k) {
                            *x += mv;
                        }
                    }
                }
            }
            Fault::SwappedMembers => traces.reverse(),
            Fault::NanInFirstMember => {
                if traces.len() > 1 {
                    let k = traces[0].n_samples() / 2;
                    traces[0].trace_mut(0)[k] = f64::NAN;
                }
            }
            Fault::GradientScale(_) | Fault::NanGradient | Fault::SwallowErrors => {}
        }
    }
}

impl<B: Backend> Backend for Broken<B> {
    fn name(&self) -> &str {
        "broken"
    }

    fn device(&self) -> String {
        self.inner.device()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn simulate(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Vec<Traces>, SimError> {
        let mut t = match self.inner.simulate(layout, batch, options) {
            Err(_) if self.fault == Fault::SwallowErrors => {
                let names = layout.probes().iter().map(|p| p.column_name()).collect();
                let mut t = Traces::zeros(names, options.dt, options.grid()?.n_samples());
                for k in 0..t.len() {
                    t.trace_mut(k).fill(f64::NAN);
                }
                vec![t; batch.len()?]
            }
            other => other?,
        };
        self.spoil_traces(&mut t);
        Ok(t)
    }

    fn value_and_grad(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        loss: &dyn TraceLoss,
        schedule: &Schedule,
    ) -> Result<Vec<ValueAndGrad>, SimError> {
        let mut g = self
            .inner
            .value_and_grad(layout, batch, options, loss, schedule)?;
        match self.fault {
            Fault::GradientScale(f) => {
                for m in &mut g {
                    for x in &mut m.params {
                        *x *= f;
                    }
                }
            }
            Fault::NanGradient => {
                for m in &mut g {
                    for x in m.params.iter_mut().step_by(7) {
                        *x = f64::NAN;
                    }
                }
            }
            Fault::SwappedMembers => g.reverse(),
            Fault::NanInFirstMember => {
                if g.len() > 1 {
                    g[0].params[0] = f64::NAN;
                }
            }
            Fault::NanSample | Fault::Offset(_) | Fault::SwallowErrors => {}
        }
        Ok(g)
    }

    fn jvp(
        &self,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
        request: &JvpRequest,
    ) -> Result<Vec<JvpResult>, SimError> {
        self.inner.jvp(layout, batch, options, request)
    }
}
