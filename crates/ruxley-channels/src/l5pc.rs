//! The layer-5 pyramidal cell channels of Hay et al. (2011), as in
//! BluePyOpt's L5PC model, with NEURON's physics.
//!
//! Conventions: v in mV, t in ms, rates in 1/ms, conductances in S/cm2,
//! currents g (v - E) in mA/cm2. Gates advance by exponential Euler at the
//! voltage of the start of the step. Where a channel has a temperature
//! factor, it is the fixed `qt = 2.3^((34 - 21)/10)` of the original files
//! (it does not follow the model temperature); the temperature only enters
//! the calcium reversal potential. The rate functions are evaluated exactly
//! as written, without clipping exponents, and with NEURON's guards: where a
//! rate has a 0/0 point, v equal to that point (exactly) is moved by 1e-4 mV.
//!
//! Every channel but `Ih` carries an ion, as in NEURON: sodium channels
//! carry `ina` and read `ena`, potassium channels `ik` and `ek` (fixed
//! per-compartment values of the ion's site), and the calcium channels
//! carry `ica` and read `eca`, which follows the Nernst equation where
//! [`CaDynamicsE2`] lives. The summed ion currents can be recorded. Conductance parameters are named
//! `<channel>_gbar` (NEURON's `g<channel>bar`).

use crate::channel::{ParamSpec, StateSpec};
use crate::dual::Real;
use crate::gated::{Gate, GateKinetics};
use crate::ion::{CALCIUM, FARADAY, Ion, IonVar, POTASSIUM, SODIUM};

/// The temperature factor 2.3^((34 - 21)/10) hard-coded in the files.
pub const QT: f64 = 2.952882641412121;

/// 1 / (1 + e^x).
#[inline(always)]
fn sigmoid<R: Real>(x: R) -> R {
    (R::cst(1.0) + x.exp()).recip()
}

/// x + 1e-4 if x equals `at` exactly (NEURON's guard at a 0/0 point).
#[inline(always)]
fn guard<R: Real>(v: R, at: f64) -> R {
    v.if_eq(at, v + 1e-4, v)
}

/// The transient sodium activation and inactivation of NaTa_t with the
/// half-points shifted by `shift` mV (0 for NaTa_t, 6 for NaTs2_t).
#[inline(always)]
fn na_transient<R: Real>(v: R, shift: f64, g: &mut [Gate<R>]) {
    let (vm, vh) = (-38.0 + shift, -66.0 + shift);
    let v = guard(v, vm);
    let x = v - vm;
    let am = x * 0.182 / (R::cst(1.0) - (-x / 6.0).exp());
    let bm = -x * 0.124 / (R::cst(1.0) - (x / 6.0).exp());
    g[0] = Gate::from_rates(am, bm, QT);
    let v = guard(v, vh);
    let y = v - vh;
    let ah = y * -0.015 / (R::cst(1.0) - (y / 6.0).exp());
    let bh = -y * -0.015 / (R::cst(1.0) - (-y / 6.0).exp());
    g[1] = Gate::from_rates(ah, bh, QT);
}

const GATES_MH: [StateSpec; 2] = [StateSpec::gate("m"), StateSpec::gate("h")];
const GATES_M: [StateSpec; 1] = [StateSpec::gate("m")];

/// A conductance (S/cm2) with its default and upper bound.
const fn gbar(max: f64) -> [ParamSpec; 1] {
    [ParamSpec::new("gbar", "S/cm2", 1e-5, (0.0, max))]
}

const NA_PARAMS: [ParamSpec; 1] = gbar(4.0);
const K_PARAMS: [ParamSpec; 1] = gbar(1.0);
/// Sodium and potassium channels read the reversal potential of their ion's
/// site (NEURON's `USEION na READ ena WRITE ina`), so that `ena`, `ek` and
/// the summed `ina`, `ik` are per-compartment ion quantities.
const NA_INPUT: [IonVar; 1] = [IonVar::Reversal(SODIUM)];
const K_INPUT: [IonVar; 1] = [IonVar::Reversal(POTASSIUM)];
const CA_INPUT: [IonVar; 1] = [IonVar::Reversal(CALCIUM)];

/// Defines a unit struct with a default constructor.
macro_rules! channel_struct {
    ($(#[$doc:meta])* $t:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $t;

        impl $t {
            /// The channel.
            pub fn new() -> Self {
                Self
            }
        }
    };
}

channel_struct!(
    /// `NaTa_t`: transient sodium current (Colbert and Pan 2002).
    ///
    /// With x = v + 38, y = v + 66 and q = [`QT`]:
    /// alpha_m = 0.182 x / (1 - e^(-x/6)), beta_m = 0.124 x / (e^(x/6) - 1),
    /// alpha_h = 0.015 y / (e^(y/6) - 1), beta_h = 0.015 y / (1 - e^(-y/6)),
    /// x_inf = alpha/(alpha + beta), tau = 1/(q (alpha + beta)).
    /// Guards at v = -38 and then -66. Current gbar m^3 h (v - ena).
    NaTaT
);

impl GateKinetics for NaTaT {
    fn name(&self) -> &str {
        "NaTa_t"
    }
    fn params(&self) -> &[ParamSpec] {
        &NA_PARAMS
    }
    fn ion(&self) -> Option<Ion> {
        Some(SODIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &NA_INPUT
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_MH
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        na_transient(v, 0.0, g);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(3) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `NaTs2_t`: [`NaTaT`] with every half-point shifted by +6 mV
    /// (x = v + 32, y = v + 60, guards at -32 and -60). Current
    /// gbar m^3 h (v - ena).
    NaTs2T
);

impl GateKinetics for NaTs2T {
    fn name(&self) -> &str {
        "NaTs2_t"
    }
    fn params(&self) -> &[ParamSpec] {
        &NA_PARAMS
    }
    fn ion(&self) -> Option<Ion> {
        Some(SODIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &NA_INPUT
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_MH
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        na_transient(v, 6.0, g);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(3) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `Nap_Et2`: persistent sodium current (Magistretti and Alonso 1999).
    ///
    /// m_inf = 1/(1 + e^(-(v + 52.6)/4.6)) (before any guard);
    /// tau_m = 6/(q (alpha_m + beta_m)) with the rates of [`NaTaT`]
    /// (x = v + 38, guard at -38); then guards at -17 and -64.4;
    /// h_inf = 1/(1 + e^((v + 48.8)/10)), alpha_h = 2.88e-6 (v + 17) /
    /// (e^((v + 17)/4.63) - 1), beta_h = 6.94e-6 (v + 64.4) /
    /// (1 - e^(-(v + 64.4)/2.63)), tau_h = 1/(q (alpha_h + beta_h)).
    /// Current gbar m^3 h (v - ena).
    NapEt2
);

impl GateKinetics for NapEt2 {
    fn name(&self) -> &str {
        "Nap_Et2"
    }
    fn params(&self) -> &[ParamSpec] {
        &NA_PARAMS
    }
    fn ion(&self) -> Option<Ion> {
        Some(SODIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &NA_INPUT
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_MH
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let m_inf = sigmoid(-(v + 52.6) / 4.6);
        let v = guard(v, -38.0);
        let x = v + 38.0;
        let am = x * 0.182 / (R::cst(1.0) - (-x / 6.0).exp());
        let bm = -x * 0.124 / (R::cst(1.0) - (x / 6.0).exp());
        g[0] = Gate {
            inf: m_inf,
            tau: (am + bm).recip() * 6.0 / QT,
        };
        let v = guard(guard(v, -17.0), -64.4);
        let (y, z) = (v + 17.0, v + 64.4);
        let ah = y * -2.88e-6 / (R::cst(1.0) - (y / 4.63).exp());
        let bh = z * 6.94e-6 / (R::cst(1.0) - (-z / 2.63).exp());
        g[1] = Gate {
            inf: sigmoid((v + 48.8) / 10.0),
            tau: (ah + bh).recip() / QT,
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(3) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `K_Pst`: persistent potassium current (Korngreen and Sakmann 2000).
    ///
    /// With the junction shift vs = v + 10 and q = [`QT`]:
    /// m_inf = 1/(1 + e^(-(vs + 1)/12)); tau_m = (1.25 + 175.03
    /// e^(0.026 vs))/q for vs < -50, else (1.25 + 13 e^(-0.026 vs))/q;
    /// h_inf = 1/(1 + e^((vs + 54)/11)); tau_h = (360 + (1010 + 24 (vs + 55))
    /// e^(-((vs + 75)/48)^2))/q. Current gbar m^2 h (v - ek).
    KPst
);

impl GateKinetics for KPst {
    fn name(&self) -> &str {
        "K_Pst"
    }
    fn params(&self) -> &[ParamSpec] {
        &K_PARAMS
    }
    fn ion(&self) -> Option<Ion> {
        Some(POTASSIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &K_INPUT
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_MH
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let vs = v + 10.0;
        let tau_m = vs.if_lt(
            -50.0,
            ((vs * 0.026).exp() * 175.03 + 1.25) / QT,
            ((vs * -0.026).exp() * 13.0 + 1.25) / QT,
        );
        g[0] = Gate {
            inf: sigmoid(-(vs + 1.0) / 12.0),
            tau: tau_m,
        };
        let w = (vs + 75.0) / 48.0;
        g[1] = Gate {
            inf: sigmoid((vs + 54.0) / 11.0),
            tau: (((vs + 55.0) * 24.0 + 1010.0) * (-(w * w)).exp() + 360.0) / QT,
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(2) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `K_Tst`: transient potassium current (Korngreen and Sakmann 2000).
    ///
    /// With vs = v + 10 and q = [`QT`]: m_inf = 1/(1 + e^(-vs/19)),
    /// tau_m = (0.34 + 0.92 e^(-((vs + 71)/59)^2))/q, h_inf = 1/(1 +
    /// e^((vs + 66)/10)), tau_h = (8 + 49 e^(-((vs + 73)/23)^2))/q.
    /// Current gbar m^4 h (v - ek).
    KTst
);

impl GateKinetics for KTst {
    fn name(&self) -> &str {
        "K_Tst"
    }
    fn params(&self) -> &[ParamSpec] {
        &K_PARAMS
    }
    fn ion(&self) -> Option<Ion> {
        Some(POTASSIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &K_INPUT
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_MH
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let vs = v + 10.0;
        let (a, b) = ((vs + 71.0) / 59.0, (vs + 73.0) / 23.0);
        g[0] = Gate {
            inf: sigmoid(-vs / 19.0),
            tau: ((-(a * a)).exp() * 0.92 + 0.34) / QT,
        };
        g[1] = Gate {
            inf: sigmoid((vs + 66.0) / 10.0),
            tau: ((-(b * b)).exp() * 49.0 + 8.0) / QT,
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(4) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `SKv3_1`: Kv3.1 potassium current (Rettig et al. 1992), no
    /// temperature factor.
    ///
    /// m_inf = 1/(1 + e^(-(v - 18.7)/9.7)), tau_m = 4/(1 + e^(-(v + 46.56)/
    /// 44.14)). Current gbar m (v - ek).
    SKv31
);

impl GateKinetics for SKv31 {
    fn name(&self) -> &str {
        "SKv3_1"
    }
    fn params(&self) -> &[ParamSpec] {
        &K_PARAMS
    }
    fn ion(&self) -> Option<Ion> {
        Some(POTASSIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &K_INPUT
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_M
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        g[0] = Gate {
            inf: sigmoid((v - 18.7) / -9.7),
            tau: R::cst(4.0) / (((v + 46.56) / -44.14).exp() + 1.0),
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0] * (v - e[0])
    }
}

channel_struct!(
    /// `Im`: muscarinic potassium current (Adams et al. 1982).
    ///
    /// alpha = 3.3e-3 e^(0.1 (v + 35)), beta = 3.3e-3 e^(-0.1 (v + 35)),
    /// q = [`QT`]. Current gbar m (v - ek).
    Im
);

impl GateKinetics for Im {
    fn name(&self) -> &str {
        "Im"
    }
    fn params(&self) -> &[ParamSpec] {
        &K_PARAMS
    }
    fn ion(&self) -> Option<Ion> {
        Some(POTASSIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &K_INPUT
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_M
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let x = v + 35.0;
        g[0] = Gate::from_rates((x * 0.1).exp() * 3.3e-3, (x * -0.1).exp() * 3.3e-3, QT);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0] * (v - e[0])
    }
}

channel_struct!(
    /// `Ih`: hyperpolarisation-activated cation current (Kole et al. 2006),
    /// no temperature factor, carried by no tracked ion.
    ///
    /// alpha = 6.43e-3 (v + 154.9)/(e^((v + 154.9)/11.9) - 1) (guard at
    /// -154.9), beta = 0.193 e^(v/33.1). Current gbar m (v - ehcn), ehcn =
    /// `Ih_ehcn` (-45 mV).
    Ih
);

const IH_PARAMS: [ParamSpec; 2] = [
    ParamSpec::new("gbar", "S/cm2", 1e-5, (0.0, 0.01)),
    ParamSpec::new("ehcn", "mV", -45.0, (-60.0, -20.0)),
];

impl GateKinetics for Ih {
    fn name(&self) -> &str {
        "Ih"
    }
    fn params(&self) -> &[ParamSpec] {
        &IH_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_M
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let v = guard(v, -154.9);
        let x = v + 154.9;
        let a = x * 6.43e-3 / ((x / 11.9).exp() - 1.0);
        let b = (v / 33.1).exp() * 0.193;
        g[0] = Gate::from_rates(a, b, 1.0);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], _: &[R], p: &[R]) -> R {
        p[0] * x[0] * (v - p[1])
    }
}

const CA_PARAMS: [ParamSpec; 1] = [ParamSpec::new("gbar", "S/cm2", 1e-5, (0.0, 0.01))];

channel_struct!(
    /// `Ca_HVA`: high-voltage-activated calcium current (Reuveni et al.
    /// 1993), no temperature factor.
    ///
    /// alpha_m = 0.055 (-27 - v)/(e^((-27 - v)/3.8) - 1) (guard at -27),
    /// beta_m = 0.94 e^((-75 - v)/17), alpha_h = 4.57e-4 e^((-13 - v)/50),
    /// beta_h = 0.0065/(e^((-v - 15)/28) + 1). Current gbar m^2 h (v - eca),
    /// carried by calcium.
    CaHva
);

impl GateKinetics for CaHva {
    fn name(&self) -> &str {
        "Ca_HVA"
    }
    fn params(&self) -> &[ParamSpec] {
        &CA_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_MH
    }
    fn ion(&self) -> Option<Ion> {
        Some(CALCIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &CA_INPUT
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let v = guard(v, -27.0);
        let x = -v - 27.0;
        let am = x * 0.055 / ((x / 3.8).exp() - 1.0);
        let bm = ((-v - 75.0) / 17.0).exp() * 0.94;
        g[0] = Gate::from_rates(am, bm, 1.0);
        let ah = ((-v - 13.0) / 50.0).exp() * 4.57e-4;
        let bh = R::cst(0.0065) / (((-v - 15.0) / 28.0).exp() + 1.0);
        g[1] = Gate::from_rates(ah, bh, 1.0);
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(2) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `Ca_LVAst`: low-voltage-activated calcium current (Avery and Johnston
    /// 1996).
    ///
    /// With vs = v + 10 and q = [`QT`]: m_inf = 1/(1 + e^(-(vs + 30)/6)),
    /// tau_m = (5 + 20/(1 + e^((vs + 25)/5)))/q, h_inf = 1/(1 +
    /// e^((vs + 80)/6.4)), tau_h = (20 + 50/(1 + e^((vs + 40)/7)))/q.
    /// Current gbar m^2 h (v - eca), carried by calcium.
    CaLvast
);

impl GateKinetics for CaLvast {
    fn name(&self) -> &str {
        "Ca_LVAst"
    }
    fn params(&self) -> &[ParamSpec] {
        &CA_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        &GATES_MH
    }
    fn ion(&self) -> Option<Ion> {
        Some(CALCIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &CA_INPUT
    }
    fn kinetics_read_params(&self) -> bool {
        false
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, v: R, _: &[R], _: &[R], _: f64, g: &mut [Gate<R>]) {
        let vs = v + 10.0;
        g[0] = Gate {
            inf: sigmoid((vs + 30.0) / -6.0),
            tau: (R::cst(20.0) / (((vs + 25.0) / 5.0).exp() + 1.0) + 5.0) / QT,
        };
        g[1] = Gate {
            inf: sigmoid((vs + 80.0) / 6.4),
            tau: (R::cst(50.0) / (((vs + 40.0) / 7.0).exp() + 1.0) + 20.0) / QT,
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], e: &[R], p: &[R]) -> R {
        p[0] * x[0].powi(2) * x[1] * (v - e[0])
    }
}

channel_struct!(
    /// `SK_E2`: calcium-activated potassium current (Koehler et al. 1996),
    /// no voltage dependence and no temperature factor.
    ///
    /// z_inf = 1/(1 + (4.3e-4/ca)^4.8) with ca = cai, shifted to cai + 1e-7
    /// where cai < 1e-7; tau_z = `SK_E2_zTau` (1 ms). It reads cai at the
    /// start of the step, which a pool has already updated with the previous
    /// step's calcium current (NEURON's order). Current gbar z (v - ek).
    SkE2
);

const SK_PARAMS: [ParamSpec; 2] = [
    ParamSpec::new("gbar", "S/cm2", 1e-6, (0.0, 0.1)),
    ParamSpec::new("zTau", "ms", 1.0, (0.1, 100.0)),
];
const SK_INPUTS: [IonVar; 2] = [IonVar::Inside(CALCIUM), IonVar::Reversal(POTASSIUM)];

impl GateKinetics for SkE2 {
    fn name(&self) -> &str {
        "SK_E2"
    }
    fn params(&self) -> &[ParamSpec] {
        &SK_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        const Z: [StateSpec; 1] = [StateSpec::gate("z")];
        &Z
    }
    fn ion(&self) -> Option<Ion> {
        Some(POTASSIUM)
    }
    fn inputs(&self) -> &[IonVar] {
        &SK_INPUTS
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, _: R, inputs: &[R], p: &[R], _: f64, g: &mut [Gate<R>]) {
        let cai = inputs[0];
        let ca = cai.if_lt(1e-7, cai + 1e-7, cai);
        g[0] = Gate {
            inf: ((R::cst(4.3e-4) / ca).powf(4.8) + 1.0).recip(),
            tau: p[1],
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, v: R, x: &[R], inputs: &[R], p: &[R]) -> R {
        p[0] * x[0] * (v - inputs[1])
    }
}

channel_struct!(
    /// `CaDynamics_E2`: a submembrane calcium shell with buffering and decay
    /// (after Destexhe et al. 1994), the pool of calcium.
    ///
    /// d cai/dt = -1e4 gamma ica/(2 F depth) - (cai - minCai)/decay, with ica
    /// in mA/cm2, depth in um and F = 96485.33212331001 C/mol; advanced
    /// exactly for the step's ica: cai + (1 - e^(-dt/decay)) (cai_inf - cai),
    /// cai_inf = minCai + decay (-1e4 gamma ica/(2 F depth)). It starts at
    /// the ion's `cai` (5e-5 mM), not at its steady state, as in NEURON.
    CaDynamicsE2
);

const POOL_PARAMS: [ParamSpec; 4] = [
    ParamSpec::new("gamma", "1", 0.05, (0.0005, 0.05)),
    ParamSpec::new("decay", "ms", 80.0, (20.0, 1000.0)),
    ParamSpec::new("depth", "um", 0.1, (0.01, 1.0)),
    ParamSpec::new("minCai", "mM", 1e-4, (0.0, 1e-3)),
];
const CA_CURRENT: [IonVar; 1] = [IonVar::Current(CALCIUM)];

impl GateKinetics for CaDynamicsE2 {
    fn name(&self) -> &str {
        "CaDynamics_E2"
    }
    fn params(&self) -> &[ParamSpec] {
        &POOL_PARAMS
    }
    fn gates(&self) -> &[StateSpec] {
        const CAI: [StateSpec; 1] = [StateSpec {
            name: "cai",
            unit: "mM",
            default: 5e-5,
        }];
        &CAI
    }
    fn inputs(&self) -> &[IonVar] {
        &CA_CURRENT
    }
    fn pool(&self) -> Option<Ion> {
        Some(CALCIUM)
    }
    #[inline(always)]
    fn gates_at<R: Real>(&self, _: R, ica: &[R], p: &[R], _: f64, g: &mut [Gate<R>]) {
        let (gamma, decay, depth, min_cai) = (p[0], p[1], p[2], p[3]);
        let influx = -(ica[0] * gamma * 1e4) / (depth * (2.0 * FARADAY));
        g[0] = Gate {
            inf: min_cai + decay * influx,
            tau: decay,
        };
    }
    #[inline(always)]
    fn current<R: Real>(&self, _: R, _: &[R], _: &[R], _: &[R]) -> R {
        R::cst(0.0)
    }
}

/// All twelve mechanisms of the set.
pub fn all() -> Vec<Box<dyn crate::Channel>> {
    vec![
        Box::new(CaDynamicsE2),
        Box::new(CaHva),
        Box::new(CaLvast),
        Box::new(Ih),
        Box::new(Im),
        Box::new(KPst),
        Box::new(KTst),
        Box::new(NaTaT),
        Box::new(NaTs2T),
        Box::new(NapEt2),
        Box::new(SkE2),
        Box::new(SKv31),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Channel;
    use crate::gradcheck::{Point, check_channel};

    #[test]
    fn the_temperature_factor_is_the_files_constant() {
        assert_eq!(QT, 2.3f64.powf((34.0 - 21.0) / 10.0));
    }

    /// Voltages across the physiological range, avoiding the kink of K_Pst's
    /// tau_m at v = -60 (where finite differences straddle two branches).
    const VOLTAGES: [f64; 7] = [-85.0, -71.0, -55.3, -38.5, -20.0, 5.0, 31.0];

    fn points(ch: &dyn Channel) -> Vec<Point> {
        VOLTAGES
            .iter()
            .enumerate()
            .map(|(k, &v)| Point {
                v,
                params: ch
                    .params()
                    .iter()
                    .map(|p| {
                        let x = if p.default == 0.0 { 1e-3 } else { p.default };
                        x * (1.0 + 0.07 * k as f64)
                    })
                    .collect(),
                states: (0..ch.states().len())
                    .map(|j| 0.1 + 0.11 * ((k + j) % 7) as f64)
                    .collect(),
                inputs: ch
                    .inputs()
                    .iter()
                    .map(|i| match i {
                        IonVar::Reversal(_) => 120.0 + 3.0 * k as f64,
                        IonVar::Inside(_) => 5e-5 * (1.0 + k as f64),
                        IonVar::Current(_) => -1e-4 * (1.0 + 0.5 * k as f64),
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn every_channel_derivative_matches_finite_differences() {
        for ch in all() {
            check_channel(&*ch, &points(&*ch), 0.025, 34.0, 1e-6).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn guards_keep_rates_finite_at_their_singular_points() {
        let cases: Vec<(Box<dyn Channel>, Vec<f64>)> = vec![
            (Box::new(NaTaT), vec![-38.0, -66.0]),
            (Box::new(NaTs2T), vec![-32.0, -60.0]),
            (Box::new(NapEt2), vec![-38.0, -17.0, -64.4]),
            (Box::new(Ih), vec![-154.9]),
            (Box::new(CaHva), vec![-27.0]),
        ];
        for (ch, vs) in cases {
            let rows = vs.len();
            let p: Vec<f64> = ch
                .params()
                .iter()
                .flat_map(|p| vec![p.default; rows])
                .collect();
            let inputs = vec![140.0; rows * ch.inputs().len()];
            let env = crate::ChannelEnv {
                inputs: crate::Columns::new(&inputs, rows),
                ..crate::ChannelEnv::new(&vs, 0.025, 34.0)
            };
            let mut s = vec![0.0; rows * ch.states().len()];
            ch.native().unwrap().init_states(
                &env,
                crate::Columns::new(&p, rows),
                crate::ColumnsMut::new(&mut s, rows),
            );
            ch.native().unwrap().advance_states(
                &env,
                crate::Columns::new(&p, rows),
                crate::ColumnsMut::new(&mut s, rows),
            );
            assert!(
                s.iter().all(|x| x.is_finite() && *x >= 0.0 && *x <= 1.0),
                "{}: {s:?}",
                ch.name()
            );
        }
    }
}
