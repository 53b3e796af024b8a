//! A passive leak.

use crate::channel::{
    Channel, ChannelEnv, ChannelKernels, Columns, ColumnsMut, Cot, ParamSpec, StateSpec,
};
use crate::ir::ChannelIr;

/// A passive leak current gLeak (v - eLeak) in mA/cm2 (Jaxley's `Leak`).
#[derive(Debug, Clone)]
pub struct Leak {
    name: String,
}

impl Default for Leak {
    fn default() -> Self {
        Self::new()
    }
}

impl Leak {
    /// The channel with its standard name `Leak`.
    pub fn new() -> Self {
        Self::named("Leak")
    }

    /// The channel under another name.
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

const PARAMS: [ParamSpec; 2] = [
    ParamSpec::new("gLeak", "S/cm2", 1e-4, (0.0, 0.01)),
    ParamSpec::new("eLeak", "mV", -70.0, (-100.0, 0.0)),
];

impl Channel for Leak {
    fn name(&self) -> &str {
        &self.name
    }

    fn params(&self) -> &[ParamSpec] {
        &PARAMS
    }

    fn states(&self) -> &[StateSpec] {
        &[]
    }

    fn ir(&self, _dt: f64, _celsius: f64) -> ChannelIr {
        ChannelIr::trace(
            (2, 0, 0),
            |_| vec![],
            |_| vec![],
            |a| [a.params[0] * (a.v - a.params[1]), a.params[0]],
            None,
        )
    }

    fn native(&self) -> Option<&dyn ChannelKernels<f64>> {
        Some(self)
    }

    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}

impl ChannelKernels<f64> for Leak {
    fn init_states(&self, _env: &ChannelEnv, _params: Columns, _states: ColumnsMut) {}

    fn advance_states(&self, _env: &ChannelEnv, _params: Columns, _states: ColumnsMut) {}

    fn current(
        &self,
        env: &ChannelEnv,
        params: Columns,
        _states: Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    ) {
        let [g, e] = params.split::<2>();
        for (k, &v) in env.v.iter().enumerate() {
            i[k] = g[k] * (v - e[k]);
            di_dv[k] = g[k];
        }
    }

    fn init_states_vjp(&self, _: &ChannelEnv, _: Columns, _: Columns, _: Cot) {}

    fn advance_states_vjp(&self, _: &ChannelEnv, _: Columns, _: Columns, _: ColumnsMut, _: Cot) {}

    fn current_vjp(
        &self,
        env: &ChannelEnv,
        params: Columns,
        _states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        _cot_states: ColumnsMut,
        mut cot: Cot,
    ) {
        let [g, e] = params.split::<2>();
        let [cg, ce] = cot.params.split::<2>();
        for (k, &v) in env.v.iter().enumerate() {
            cot.v[k] += cot_i[k] * g[k];
            cg[k] += cot_i[k] * (v - e[k]) + cot_di_dv[k];
            ce[k] -= cot_i[k] * g[k];
        }
    }
}
