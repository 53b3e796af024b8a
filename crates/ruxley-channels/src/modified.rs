//! Variants of any gated channel with one extra, trainable parameter: its
//! gates' voltage dependence shifted ([`Shifted`]) or their time constants
//! scaled ([`TauScaled`]).
//!
//! The paper's fits to recordings (Deistler et al. 2025, Fig. 3e-h) train
//! such knobs beside the densities: a shift of the transient sodium
//! channel's gates, and the speed of the calcium and M-type gates. Here they
//! wrap a channel instead of editing it, so the released channel stays
//! as published and the variant keeps its name (`NaTs2_t_vshift` is the
//! shift of a shifted `NaTs2_t`).
//!
//! ```
//! use ruxley_channels::Channel;
//! use ruxley_channels::l5pc::{CaHva, NaTs2T};
//! use ruxley_channels::modified::{Shifted, TauScaled};
//!
//! let na = Shifted::new(NaTs2T);
//! assert_eq!(na.params()[1].name, "vshift");
//! let ca = TauScaled::new(CaHva);
//! assert_eq!(ca.params().last().unwrap().name, "tau_scale");
//! ```

use crate::channel::{ParamSpec, StateSpec};
use crate::dual::Real;
use crate::gated::{Gate, GateKinetics};
use crate::ion::{Ion, IonVar};

/// The wrapped channel's parameters followed by one more.
fn with_param<K: GateKinetics>(inner: &K, extra: ParamSpec) -> Vec<ParamSpec> {
    inner.params().iter().copied().chain([extra]).collect()
}

/// Forwards everything but the parameters and `gates_at` to `self.inner`.
macro_rules! forward_to_inner {
    () => {
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn params(&self) -> &[ParamSpec] {
            &self.params
        }
        fn gates(&self) -> &[StateSpec] {
            self.inner.gates()
        }
        fn ion(&self) -> Option<Ion> {
            self.inner.ion()
        }
        fn inputs(&self) -> &[IonVar] {
            self.inner.inputs()
        }
        fn pool(&self) -> Option<Ion> {
            self.inner.pool()
        }
        fn kinetics_read_params(&self) -> bool {
            true
        }
        #[inline(always)]
        fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
            self.inner.current(v, x, e, &p[..p.len() - 1])
        }
    };
}

/// A channel whose gates see the voltage shifted by the parameter `vshift`
/// (mV, default 0): every gate's steady state and time constant at v are
/// the wrapped channel's at v + vshift, so a positive shift opens the
/// gates at lower voltages. The current is unchanged. The paper trains it
/// in [0, 10] mV on `NaTs2_t`.
#[derive(Debug, Clone)]
pub struct Shifted<K> {
    inner: K,
    params: Vec<ParamSpec>,
}

impl<K: GateKinetics> Shifted<K> {
    /// `inner` with a `vshift` parameter.
    pub fn new(inner: K) -> Self {
        let params = with_param(&inner, ParamSpec::new("vshift", "mV", 0.0, (-20.0, 20.0)));
        Self { inner, params }
    }
}

impl<K: GateKinetics> GateKinetics for Shifted<K> {
    forward_to_inner!();

    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, e: &[R], p: &[R], celsius: f64, g: &mut [Gate<R>]) {
        let (inner, shift) = p.split_at(p.len() - 1);
        self.inner.gates_at(v + shift[0], e, inner, celsius, g);
    }
}

/// A channel whose gates' time constants are multiplied by the parameter
/// `tau_scale` (default 1): the steady states are unchanged, a scale above 1
/// makes every gate slower. (The paper's calcium and M-type rate parameters
/// are this scale, or for its `LVA_tau` the reciprocal of it.)
#[derive(Debug, Clone)]
pub struct TauScaled<K> {
    inner: K,
    params: Vec<ParamSpec>,
}

impl<K: GateKinetics> TauScaled<K> {
    /// `inner` with a `tau_scale` parameter.
    pub fn new(inner: K) -> Self {
        let params = with_param(&inner, ParamSpec::new("tau_scale", "1", 1.0, (0.1, 10.0)));
        Self { inner, params }
    }
}

impl<K: GateKinetics> GateKinetics for TauScaled<K> {
    forward_to_inner!();

    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, e: &[R], p: &[R], celsius: f64, g: &mut [Gate<R>]) {
        let (inner, scale) = p.split_at(p.len() - 1);
        self.inner.gates_at(v, e, inner, celsius, g);
        for gate in g.iter_mut() {
            gate.tau = gate.tau * scale[0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Channel;
    use crate::gradcheck::{Point, check_channel};
    use crate::l5pc::{CaHva, CaLvast, Im, KTst, NaTs2T};

    fn gates<K: GateKinetics>(k: &K, v: f64, p: &[f64]) -> Vec<Gate<f64>> {
        let mut g = vec![Gate { inf: 0.0, tau: 0.0 }; k.gates().len()];
        k.gates_at(v, &[120.0], p, 34.0, &mut g);
        g
    }

    fn defaults(ch: &dyn Channel) -> Vec<f64> {
        ch.params().iter().map(|p| p.default).collect()
    }

    #[test]
    fn a_shift_evaluates_the_gates_at_the_shifted_voltage() {
        let na = NaTs2T;
        let shifted = Shifted::new(na);
        let mut p = defaults(&shifted);
        assert_eq!(p.len(), 2);
        for v in [-80.0, -51.3, -20.0, 10.0] {
            p[1] = 0.0;
            assert_eq!(gates(&shifted, v, &p), gates(&na, v, &p[..1]));
            p[1] = 7.5;
            assert_eq!(gates(&shifted, v, &p), gates(&na, v + 7.5, &p[..1]));
            // The negative check: the shift does change the gates.
            assert_ne!(gates(&shifted, v, &p), gates(&na, v, &p[..1]));
        }
    }

    #[test]
    fn a_tau_scale_scales_every_time_constant_and_no_steady_state() {
        let ca = CaHva;
        let scaled = TauScaled::new(ca);
        let mut p = defaults(&scaled);
        for v in [-70.0, -30.0, 0.0] {
            let plain = gates(&ca, v, &p[..1]);
            assert_eq!(gates(&scaled, v, &p), plain);
            p[1] = 2.5;
            for (s, g) in gates(&scaled, v, &p).iter().zip(&plain) {
                assert_eq!(s.inf, g.inf);
                assert!((s.tau - 2.5 * g.tau).abs() <= 1e-15 * g.tau, "{s:?} {g:?}");
            }
            p[1] = 1.0;
        }
    }

    #[test]
    fn the_variants_keep_the_channel_and_add_one_parameter() {
        let k = TauScaled::new(Im);
        assert_eq!(GateKinetics::name(&k), "Im");
        assert_eq!(Channel::states(&k), Channel::states(&Im));
        assert_eq!(Channel::ion(&k), Channel::ion(&Im));
        let names: Vec<&str> = Channel::params(&k).iter().map(|p| p.name).collect();
        assert_eq!(names, ["gbar", "tau_scale"]);
        let k = Shifted::new(KTst);
        assert_eq!(Channel::params(&k).len(), Channel::params(&KTst).len() + 1);
    }

    fn points(ch: &dyn Channel) -> Vec<Point> {
        [-85.0, -62.1, -44.0, -20.0, 12.0]
            .iter()
            .enumerate()
            .map(|(k, &v)| Point {
                v,
                params: ch
                    .params()
                    .iter()
                    .map(|p| match p.name {
                        "vshift" => 1.5 + 1.7 * k as f64,
                        "tau_scale" => 0.4 + 0.5 * k as f64,
                        _ => p.default.max(1e-3) * (1.0 + 0.1 * k as f64),
                    })
                    .collect(),
                states: (0..ch.states().len())
                    .map(|j| 0.15 + 0.1 * ((k + j) % 6) as f64)
                    .collect(),
                inputs: ch.inputs().iter().map(|_| 120.0 + 2.0 * k as f64).collect(),
            })
            .collect()
    }

    #[test]
    fn derivatives_in_the_new_parameters_match_finite_differences() {
        let channels: Vec<Box<dyn Channel>> = vec![
            Box::new(Shifted::new(NaTs2T)),
            Box::new(Shifted::new(KTst)),
            Box::new(TauScaled::new(CaHva)),
            Box::new(TauScaled::new(CaLvast)),
            Box::new(TauScaled::new(Im)),
        ];
        for ch in channels {
            check_channel(&*ch, &points(&*ch), 0.025, 34.0, 1e-6)
                .unwrap_or_else(|e| panic!("{}: {e}", ch.name()));
        }
    }
}
