//! Channels as expression graphs ([`ChannelIr`]), traced from the generic
//! descriptions ([`crate::GateKinetics`], [`crate::spiking::VoltageDynamics`]).

use ruxley_core::Real;
use ruxley_ir::{Expr, Graph, trace};

use crate::gated::{Gate, GateKinetics, SLOPE_DV};
use crate::spiking::VoltageDynamics;

/// A channel's math for one step size and temperature, as expression
/// graphs. Every graph reads the same input slots: v, the parameters, the
/// states, the ion inputs, in that order ([`ChannelIr::slot`]); the outputs
/// are
/// - `init`: the initial states;
/// - `advance`: the states after one step (from v at the start of the step);
/// - `current`: the current density i (mA/cm2) and its slope di/dv (S/cm2);
/// - `set_voltage`: for mechanisms that set the voltage, v and the states
///   after they act.
///
/// A backend derives every kernel from these: its forward kernels directly,
/// the reverse-mode ones from [`Graph::vjp`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelIr {
    /// The number of parameters.
    pub params: usize,
    /// The number of states.
    pub states: usize,
    /// The number of ion inputs.
    pub inputs: usize,
    /// The initial states.
    pub init: Graph,
    /// The states after one step.
    pub advance: Graph,
    /// The current and its slope.
    pub current: Graph,
    /// The voltage and states after a voltage-setting mechanism acts.
    pub set_voltage: Option<Graph>,
}

/// A kind of input slot of a [`ChannelIr`] graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The voltage.
    V,
    /// Parameter k.
    Param(usize),
    /// State k.
    State(usize),
    /// Ion input k.
    Input(usize),
}

impl ChannelIr {
    /// The number of input slots of every graph.
    pub fn n_slots(&self) -> usize {
        1 + self.params + self.states + self.inputs
    }

    /// The index of an input slot.
    pub fn slot(&self, s: Slot) -> usize {
        match s {
            Slot::V => 0,
            Slot::Param(k) => 1 + k,
            Slot::State(k) => 1 + self.params + k,
            Slot::Input(k) => 1 + self.params + self.states + k,
        }
    }

    /// Traces the four phases of a channel with `params` parameters,
    /// `states` states and `inputs` ion inputs. Each closure gets v, the
    /// parameters, the states and the inputs as [`Expr`]s.
    pub fn trace(
        (params, states, inputs): (usize, usize, usize),
        init: impl FnOnce(Args) -> Vec<Expr>,
        advance: impl FnOnce(Args) -> Vec<Expr>,
        current: impl FnOnce(Args) -> [Expr; 2],
        set_voltage: Option<&dyn Fn(Args) -> Vec<Expr>>,
    ) -> Self {
        let n = 1 + params + states + inputs;
        let split = |x: &[Expr]| Args {
            v: x[0],
            params: x[1..1 + params].to_vec(),
            states: x[1 + params..1 + params + states].to_vec(),
            inputs: x[1 + params + states..].to_vec(),
        };
        Self {
            params,
            states,
            inputs,
            init: trace(n, |x| init(split(x))),
            advance: trace(n, |x| advance(split(x))),
            current: trace(n, |x| current(split(x)).to_vec()),
            set_voltage: set_voltage.map(|f| trace(n, |x| f(split(x)))),
        }
    }
}

/// The inputs of a channel graph being traced.
#[derive(Debug, Clone)]
pub struct Args {
    /// The voltage.
    pub v: Expr,
    /// The parameters.
    pub params: Vec<Expr>,
    /// The states.
    pub states: Vec<Expr>,
    /// The ion inputs.
    pub inputs: Vec<Expr>,
}

/// The graphs of a [`GateKinetics`] channel, computing exactly what its
/// native kernels compute: gates at their steady state, the exponential
/// Euler step x + (1 - exp(-dt/tau)) (x_inf - x), the current and NEURON's
/// forward-difference slope.
pub fn trace_gates<K: GateKinetics>(k: &K, dt: f64, celsius: f64) -> ChannelIr {
    let dims = (k.params().len(), k.gates().len(), k.inputs().len());
    let gates = |a: &Args| {
        let zero = Expr::cst(0.0);
        let mut g = vec![
            Gate {
                inf: zero,
                tau: zero
            };
            dims.1
        ];
        k.gates_at(a.v, &a.inputs, &a.params, celsius, &mut g);
        g
    };
    let pool = k.pool().is_some();
    ChannelIr::trace(
        dims,
        |a| gates(&a).iter().map(|g| g.inf).collect(),
        |a| {
            gates(&a)
                .iter()
                .zip(&a.states)
                .map(|(g, &x)| x + (Expr::cst(1.0) - (Expr::cst(-dt) / g.tau).exp()) * (g.inf - x))
                .collect()
        },
        |a| {
            if pool {
                return [Expr::cst(0.0); 2];
            }
            let i0 = k.current(a.v, &a.states, &a.inputs, &a.params);
            let i1 = k.current(a.v + SLOPE_DV, &a.states, &a.inputs, &a.params);
            [i0, (i1 - i0) / SLOPE_DV]
        },
        None,
    )
}

/// The graphs of a [`VoltageDynamics`] mechanism: no membrane current, no
/// state update besides its voltage update.
pub fn trace_voltage<D: VoltageDynamics>(d: &D, dt: f64) -> ChannelIr {
    let dims = (d.params().len(), d.states().len(), 0);
    let set = |a: Args| {
        let (mut v, mut s) = (a.v, a.states.clone());
        d.update(dt, &mut v, &a.params, &mut s);
        std::iter::once(v).chain(s).collect()
    };
    ChannelIr::trace(
        dims,
        |a| {
            let mut s = vec![Expr::cst(0.0); dims.1];
            d.init(a.v, &a.params, &mut s);
            s
        },
        |a| a.states,
        |_| [Expr::cst(0.0); 2],
        Some(&set),
    )
}
