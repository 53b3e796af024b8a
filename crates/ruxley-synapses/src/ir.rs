//! Synapses as expression graphs ([`SynapseIr`]).

use ruxley_core::Real;
use ruxley_ir::{Expr, Graph, trace};

use crate::SynapseDynamics;

/// A synapse type's math for one step size, as expression graphs. Every
/// graph reads the same input slots: the presynaptic voltage, the
/// postsynaptic voltage, the arriving spikes, the parameters and the
/// states ([`SynapseIr::slot_param`], [`SynapseIr::slot_state`]); the
/// outputs are
/// - `init`: the initial states;
/// - `advance`: the states after one step;
/// - `current`: the current (nA, outward at the postsynaptic compartment)
///   and its derivative in the postsynaptic voltage (uS).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SynapseIr {
    /// The number of parameters.
    pub params: usize,
    /// The number of states.
    pub states: usize,
    /// The initial states.
    pub init: Graph,
    /// The states after one step.
    pub advance: Graph,
    /// The current and its slope.
    pub current: Graph,
}

/// The slots of the voltages and spikes.
pub(crate) const V_PRE: usize = 0;
pub(crate) const V_POST: usize = 1;
const EVENTS: usize = 2;

impl SynapseIr {
    /// The number of input slots of every graph.
    pub fn n_slots(&self) -> usize {
        3 + self.params + self.states
    }

    /// The slot of parameter `k`.
    pub fn slot_param(&self, k: usize) -> usize {
        3 + k
    }

    /// The slot of state `k`.
    pub fn slot_state(&self, k: usize) -> usize {
        3 + self.params + k
    }

    /// The graphs of a [`SynapseDynamics`], computing what its native
    /// kernels compute (the slope is the exact derivative, as their dual
    /// number gives it).
    pub fn of<D: SynapseDynamics>(d: &D, dt: f64) -> Self {
        let (np, ns) = (d.params().len(), d.states().len());
        let n = 3 + np + ns;
        let split = |x: &[Expr]| {
            (
                x[V_PRE],
                x[V_POST],
                x[EVENTS],
                x[3..3 + np].to_vec(),
                x[3 + np..].to_vec(),
            )
        };
        let init = trace(n, |x| {
            let (pre, post, _, p, _) = split(x);
            let mut s = vec![Expr::cst(0.0); ns];
            d.init(pre, post, &p, &mut s);
            s
        });
        let advance = trace(n, |x| {
            let (pre, _, events, p, mut s) = split(x);
            d.advance(dt, pre, events, &p, &mut s);
            s
        });
        let current = trace(n, |x| {
            let (pre, post, _, p, s) = split(x);
            vec![d.current(pre, post, &s, &p)]
        })
        .with_derivatives(V_POST);
        Self {
            params: np,
            states: ns,
            init,
            advance,
            current,
        }
    }
}
