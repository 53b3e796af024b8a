//! The Hodgkin-Huxley squid axon channel, exactly as NEURON's `hh`.

use ruxley_core::Real;
use ruxley_ir::Expr;

use crate::channel::{
    Channel, ChannelEnv, ChannelKernels, Columns, ColumnsMut, Cot, ParamSpec, StateSpec,
};
use crate::ir::ChannelIr;
use crate::math::{exp, exp_euler, q10_factor, vtrap_dx_from_exp, vtrap_from_exp};

/// Hodgkin-Huxley sodium, potassium and leak currents (NEURON's `hh`).
///
/// Rates in 1/ms, v in mV:
/// - alpha_m = 0.1 vtrap(-(v+40), 10), beta_m = 4 exp(-(v+65)/18)
/// - alpha_h = 0.07 exp(-(v+65)/20), beta_h = 1 / (exp(-(v+35)/10) + 1)
/// - alpha_n = 0.01 vtrap(-(v+55), 10), beta_n = 0.125 exp(-(v+65)/80)
///
/// with vtrap(x, y) = x / (exp(x/y) - 1) and its Taylor guard near 0
/// ([`crate::math::vtrap`]). For each gate x_inf = alpha / (alpha + beta) and
/// tau = 1 / (q (alpha + beta)), q = 3^((celsius - 6.3)/10), so at NEURON's
/// default 6.3 degC the rates are those of Jaxley's `HH`. Gates advance by
/// exponential Euler. Current (mA/cm2):
/// gNa m^3 h (v - eNa) + gK n^4 (v - eK) + gLeak (v - eLeak).
#[derive(Debug, Clone)]
pub struct Hh {
    name: String,
}

impl Default for Hh {
    fn default() -> Self {
        Self::new()
    }
}

impl Hh {
    /// The channel with its standard name `HH`.
    pub fn new() -> Self {
        Self::named("HH")
    }

    /// The channel under another name (to insert two differently parametrised
    /// copies).
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

const PARAMS: [ParamSpec; 6] = [
    ParamSpec::new("gNa", "S/cm2", 0.12, (0.0, 0.5)),
    ParamSpec::new("gK", "S/cm2", 0.036, (0.0, 0.2)),
    ParamSpec::new("gLeak", "S/cm2", 0.0003, (0.0, 0.01)),
    ParamSpec::new("eNa", "mV", 50.0, (0.0, 100.0)),
    ParamSpec::new("eK", "mV", -77.0, (-120.0, -40.0)),
    ParamSpec::new("eLeak", "mV", -54.3, (-100.0, 0.0)),
];

const STATES: [StateSpec; 3] = [
    StateSpec {
        name: "m",
        unit: "1",
        default: 0.2,
    },
    StateSpec {
        name: "h",
        unit: "1",
        default: 0.2,
    },
    StateSpec {
        name: "n",
        unit: "1",
        default: 0.2,
    },
];

/// Steady states and total rates alpha + beta (1/ms) of m, h, n at v.
///
/// The six exponentials of the rate functions are computed from two:
/// exp(-(v+40)/10) and exp(-(v+55)/10) are exp(-(v+35)/10) times a constant,
/// and exp(-(v+65)/20) is exp(-(v+65)/80) to the fourth power. Divisions by
/// constants are multiplications by their reciprocals, and the three steady
/// states share one division. These change results by a few ulp only.
#[inline(always)]
pub(crate) fn hh_rates(v: f64) -> [(f64, f64); 3] {
    const E_MINUS_HALF: f64 = 0.606_530_659_712_633_4; // exp(-0.5)
    const E_MINUS_2: f64 = 0.135_335_283_236_612_7; // exp(-2)
    let e35 = exp(-(v + 35.0) * 0.1);
    let e80 = exp(-(v + 65.0) * (1.0 / 80.0));
    let e20 = (e80 * e80) * (e80 * e80);
    let am = 0.1 * vtrap_from_exp(-(v + 40.0), 10.0, e35 * E_MINUS_HALF);
    let bm = 4.0 * exp(-(v + 65.0) * (1.0 / 18.0));
    let ah = 0.07 * e20;
    let bh = 1.0 / (e35 + 1.0);
    let an = 0.01 * vtrap_from_exp(-(v + 55.0), 10.0, e35 * E_MINUS_2);
    let bn = 0.125 * e80;
    let (sm, sh, sn) = (am + bm, ah + bh, an + bn);
    // One division for three reciprocals (all rates are positive).
    let inv = 1.0 / (sm * sh * sn);
    [
        (am * (sh * sn * inv), sm),
        (ah * (sm * sn * inv), sh),
        (an * (sm * sh * inv), sn),
    ]
}

/// [`hh_rates`] over any [`Real`]: the same operations in the same order,
/// so that the traced graph computes what the kernels compute.
#[inline(always)]
fn hh_rates_generic<R: Real>(v: R) -> [(R, R); 3] {
    const E_MINUS_HALF: f64 = 0.606_530_659_712_633_4;
    const E_MINUS_2: f64 = 0.135_335_283_236_612_7;
    let vtrap = |x: R, y: f64, exp_u: R| {
        let u = x * (1.0 / y);
        let taylor = (R::cst(1.0) - u * 0.5) * y;
        let exact = x / (exp_u - 1.0);
        u.abs().if_lt(1e-6, taylor, exact)
    };
    let e35 = (-(v + 35.0) * 0.1).exp();
    let e80 = (-(v + 65.0) * (1.0 / 80.0)).exp();
    let e20 = (e80 * e80) * (e80 * e80);
    let am = vtrap(-(v + 40.0), 10.0, e35 * E_MINUS_HALF) * 0.1;
    let bm = (-(v + 65.0) * (1.0 / 18.0)).exp() * 4.0;
    let ah = e20 * 0.07;
    let bh = R::cst(1.0) / (e35 + 1.0);
    let an = vtrap(-(v + 55.0), 10.0, e35 * E_MINUS_2) * 0.01;
    let bn = e80 * 0.125;
    let (sm, sh, sn) = (am + bm, ah + bh, an + bn);
    let inv = R::cst(1.0) / (sm * sh * sn);
    [
        (am * (sh * sn * inv), sm),
        (ah * (sm * sn * inv), sh),
        (an * (sm * sh * inv), sn),
    ]
}

/// The graphs of [`Hh`]: the kernels' arithmetic, traced.
fn hh_ir(dt: f64, celsius: f64) -> ChannelIr {
    let dtq = dt * q10_factor(3.0, celsius, 6.3);
    ChannelIr::trace(
        (6, 3, 0),
        |a| hh_rates_generic(a.v).iter().map(|g| g.0).collect(),
        |a| {
            hh_rates_generic(a.v)
                .iter()
                .zip(&a.states)
                .map(|(&(inf, rate), &x)| {
                    let e = (-(rate * dtq)).exp();
                    x + (Expr::cst(1.0) - e) * (inf - x)
                })
                .collect()
        },
        |a| {
            let (v, p, s) = (a.v, &a.params, &a.states);
            let m3h = s[0] * s[0] * s[0] * s[1];
            let n2 = s[2] * s[2];
            let g_na = p[0] * m3h;
            let g_k = p[1] * n2 * n2;
            let i = g_na * (v - p[3]) + g_k * (v - p[4]) + p[2] * (v - p[5]);
            [i, g_na + g_k + p[2]]
        },
        None,
    )
}

/// For each gate: steady state, total rate s = alpha + beta, and their
/// derivatives in v.
#[inline(always)]
pub(crate) fn hh_rates_dv(v: f64) -> [[f64; 4]; 3] {
    const E_MINUS_HALF: f64 = 0.606_530_659_712_633_4;
    const E_MINUS_2: f64 = 0.135_335_283_236_612_7;
    let e35 = exp(-(v + 35.0) * 0.1);
    let e80 = exp(-(v + 65.0) * (1.0 / 80.0));
    let e20 = (e80 * e80) * (e80 * e80);
    let (xm, em) = (-(v + 40.0), e35 * E_MINUS_HALF);
    let (xn, en) = (-(v + 55.0), e35 * E_MINUS_2);
    let am = 0.1 * vtrap_from_exp(xm, 10.0, em);
    let dam = -0.1 * vtrap_dx_from_exp(xm, 10.0, em);
    let bm = 4.0 * exp(-(v + 65.0) * (1.0 / 18.0));
    let dbm = -bm * (1.0 / 18.0);
    let ah = 0.07 * e20;
    let dah = -ah * (1.0 / 20.0);
    let bh = 1.0 / (e35 + 1.0);
    let dbh = bh * bh * e35 * 0.1;
    let an = 0.01 * vtrap_from_exp(xn, 10.0, en);
    let dan = -0.01 * vtrap_dx_from_exp(xn, 10.0, en);
    let bn = 0.125 * e80;
    let dbn = -bn * (1.0 / 80.0);
    let gate = |a: f64, da: f64, b: f64, db: f64| {
        let s = a + b;
        let ds = da + db;
        let inf = a / s;
        [inf, s, (da - inf * ds) / s, ds]
    };
    [
        gate(am, dam, bm, dbm),
        gate(ah, dah, bh, dbh),
        gate(an, dan, bn, dbn),
    ]
}

ruxley_core::multiversion! {
    fn init_vjp_kernel(v: &[f64], cs: [&[f64]; 3], cot_v: &mut [f64]) {
        let len = v.len();
        let cs = cs.map(|c| &c[..len]);
        let cot_v = &mut cot_v[..len];
        for k in 0..len {
            let g = hh_rates_dv(v[k]);
            cot_v[k] += cs[0][k] * g[0][2] + cs[1][k] * g[1][2] + cs[2][k] * g[2][2];
        }
    }
}

ruxley_core::multiversion! {
    fn advance_vjp_kernel(v: &[f64], dtq: f64, s: [&[f64]; 3], cs: [&mut [f64]; 3], cot_v: &mut [f64]) {
        let len = v.len();
        let s = s.map(|c| &c[..len]);
        let [c0, c1, c2] = cs;
        let cs = [&mut c0[..len], &mut c1[..len], &mut c2[..len]];
        let cot_v = &mut cot_v[..len];
        for k in 0..len {
            let g = hh_rates_dv(v[k]);
            let mut dv = 0.0;
            for j in 0..3 {
                let [inf, rate, dinf, drate] = g[j];
                let e = exp(-dtq * rate);
                let x = s[j][k];
                let c = cs[j][k];
                // x' = x + (1 - E)(inf - x), E = exp(-dtq rate).
                dv += c * ((1.0 - e) * dinf + (inf - x) * dtq * drate * e);
                cs[j][k] = c * e;
            }
            cot_v[k] += dv;
        }
    }
}

ruxley_core::multiversion! {
    #[allow(clippy::too_many_arguments)]
    fn current_vjp_kernel(
        v: &[f64],
        p: [&[f64]; 6],
        s: [&[f64]; 3],
        ci: &[f64],
        cg: &[f64],
        cot_v: &mut [f64],
        cs: [&mut [f64]; 3],
        cp: [&mut [f64]; 6],
    ) {
        let len = v.len();
        let [gna, gk, gl, ena, ek, el] = p.map(|c| &c[..len]);
        let [m, h, n] = s.map(|c| &c[..len]);
        let (ci, cg, cot_v) = (&ci[..len], &cg[..len], &mut cot_v[..len]);
        let [cm, ch, cn] = cs;
        let (cm, ch, cn) = (&mut cm[..len], &mut ch[..len], &mut cn[..len]);
        let [cgna, cgk, cgl, cena, cek, cel] = cp;
        let (cgna, cgk, cgl) = (&mut cgna[..len], &mut cgk[..len], &mut cgl[..len]);
        let (cena, cek, cel) = (&mut cena[..len], &mut cek[..len], &mut cel[..len]);
        for k in 0..len {
            let (dna, dk, dl) = (v[k] - ena[k], v[k] - ek[k], v[k] - el[k]);
            let m2 = m[k] * m[k];
            let m3h = m2 * m[k] * h[k];
            let n3 = n[k] * n[k] * n[k];
            let n4 = n3 * n[k];
            // i = gNa m3h dNa + gK n4 dK + gL dL and di/dv = gNa m3h + gK n4 + gL.
            let (wna, wk) = (ci[k] * dna + cg[k], ci[k] * dk + cg[k]);
            cm[k] += wna * gna[k] * 3.0 * m2 * h[k];
            ch[k] += wna * gna[k] * m2 * m[k];
            cn[k] += wk * gk[k] * 4.0 * n3;
            cot_v[k] += ci[k] * (gna[k] * m3h + gk[k] * n4 + gl[k]);
            cgna[k] += wna * m3h;
            cgk[k] += wk * n4;
            cgl[k] += ci[k] * dl + cg[k];
            cena[k] -= ci[k] * gna[k] * m3h;
            cek[k] -= ci[k] * gk[k] * n4;
            cel[k] -= ci[k] * gl[k];
        }
    }
}

ruxley_core::multiversion! {
    fn init_kernel(v: &[f64], m: &mut [f64], h: &mut [f64], n: &mut [f64]) {
        let len = v.len();
        let (m, h, n) = (&mut m[..len], &mut h[..len], &mut n[..len]);
        for k in 0..len {
            let [(mi, _), (hi, _), (ni, _)] = hh_rates(v[k]);
            m[k] = mi;
            h[k] = hi;
            n[k] = ni;
        }
    }
}

ruxley_core::multiversion! {
    fn advance_kernel(v: &[f64], dtq: f64, m: &mut [f64], h: &mut [f64], n: &mut [f64]) {
        let len = v.len();
        let (m, h, n) = (&mut m[..len], &mut h[..len], &mut n[..len]);
        for k in 0..len {
            let [(mi, ms), (hi, hs), (ni, ns)] = hh_rates(v[k]);
            m[k] = exp_euler(m[k], mi, dtq * ms);
            h[k] = exp_euler(h[k], hi, dtq * hs);
            n[k] = exp_euler(n[k], ni, dtq * ns);
        }
    }
}

ruxley_core::multiversion! {
    fn current_kernel(v: &[f64], p: [&[f64]; 6], s: [&[f64]; 3], i: &mut [f64], di_dv: &mut [f64]) {
        let len = v.len();
        let [gna, gk, gl, ena, ek, el] = p.map(|c| &c[..len]);
        let [m, h, n] = s.map(|c| &c[..len]);
        let (i, di_dv) = (&mut i[..len], &mut di_dv[..len]);
        for k in 0..len {
            let m3h = m[k] * m[k] * m[k] * h[k];
            let n2 = n[k] * n[k];
            let g_na = gna[k] * m3h;
            let g_k = gk[k] * n2 * n2;
            i[k] = g_na * (v[k] - ena[k]) + g_k * (v[k] - ek[k]) + gl[k] * (v[k] - el[k]);
            di_dv[k] = g_na + g_k + gl[k];
        }
    }
}

impl Channel for Hh {
    fn name(&self) -> &str {
        &self.name
    }

    fn params(&self) -> &[ParamSpec] {
        &PARAMS
    }

    fn states(&self) -> &[StateSpec] {
        &STATES
    }

    fn ir(&self, dt: f64, celsius: f64) -> ChannelIr {
        hh_ir(dt, celsius)
    }

    fn native(&self) -> Option<&dyn ChannelKernels<f64>> {
        Some(self)
    }

    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}

/// Hand-written SIMD kernels, equal to the graphs of [`Channel::ir`] (a
/// test holds them to it).
impl ChannelKernels<f64> for Hh {
    fn init_states(&self, env: &ChannelEnv, _params: Columns, mut states: ColumnsMut) {
        let [m, h, n] = states.split::<3>();
        init_kernel(env.v, m, h, n);
    }

    fn advance_states(&self, env: &ChannelEnv, _params: Columns, mut states: ColumnsMut) {
        let dtq = env.dt * q10_factor(3.0, env.celsius, 6.3);
        let [m, h, n] = states.split::<3>();
        advance_kernel(env.v, dtq, m, h, n);
    }

    fn current(
        &self,
        env: &ChannelEnv,
        params: Columns,
        states: Columns,
        i: &mut [f64],
        di_dv: &mut [f64],
    ) {
        current_kernel(env.v, params.split::<6>(), states.split::<3>(), i, di_dv);
    }

    fn init_states_vjp(&self, env: &ChannelEnv, _params: Columns, cot_states: Columns, cot: Cot) {
        init_vjp_kernel(env.v, cot_states.split::<3>(), cot.v);
    }

    fn advance_states_vjp(
        &self,
        env: &ChannelEnv,
        _params: Columns,
        states: Columns,
        mut cot_states: ColumnsMut,
        cot: Cot,
    ) {
        let dtq = env.dt * q10_factor(3.0, env.celsius, 6.3);
        advance_vjp_kernel(
            env.v,
            dtq,
            states.split::<3>(),
            cot_states.split::<3>(),
            cot.v,
        );
    }

    fn current_vjp(
        &self,
        env: &ChannelEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        mut cot_states: ColumnsMut,
        mut cot: Cot,
    ) {
        current_vjp_kernel(
            env.v,
            params.split::<6>(),
            states.split::<3>(),
            cot_i,
            cot_di_dv,
            cot.v,
            cot_states.split::<3>(),
            cot.params.split::<6>(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resting_steady_state_matches_textbook_values() {
        // Standard HH gate values at -65 mV.
        let [(m, _), (h, _), (n, _)] = hh_rates(-65.0);
        assert!((m - 0.0529).abs() < 1e-4, "m {m}");
        assert!((h - 0.5961).abs() < 1e-4, "h {h}");
        assert!((n - 0.3177).abs() < 1e-4, "n {n}");
    }

    #[test]
    fn rates_are_finite_at_the_vtrap_singularities() {
        for v in [-40.0, -55.0, -40.0 + 1e-9, -55.0 - 1e-12] {
            for (inf, rate) in hh_rates(v) {
                assert!(inf.is_finite() && rate.is_finite() && rate > 0.0);
            }
        }
    }

    #[test]
    fn current_derivative_equals_finite_difference() {
        let hh = Hh::new();
        let params: Vec<f64> = PARAMS.iter().map(|p| p.default).collect();
        let states = [0.3, 0.6, 0.4];
        let eval = |v: f64| {
            let (mut i, mut g) = ([0.0], [0.0]);
            let vs = [v];
            let env = ChannelEnv::new(&vs, 0.025, 6.3);
            hh.current(
                &env,
                Columns::new(&params, 1),
                Columns::new(&states, 1),
                &mut i,
                &mut g,
            );
            (i[0], g[0])
        };
        let (_, g) = eval(-20.0);
        let fd = (eval(-20.0 + 1e-4).0 - eval(-20.0 - 1e-4).0) / 2e-4;
        assert!((g - fd).abs() < 1e-10);
    }
}
