//! The synapse library.

use crate::{Columns, ColumnsMut, ParamSpec, Real, StateSpec, SynCot, SynapseDynamics, SynapseEnv};

/// Defines a unit struct with a default constructor.
macro_rules! synapse_struct {
    ($(#[$doc:meta])* $t:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $t;

        impl $t {
            /// The synapse.
            pub fn new() -> Self {
                Self
            }
        }
    };
}

synapse_struct!(
    /// A graded conductance synapse (Abbott and Marder 1998; Jaxley's
    /// `IonotropicSynapse`).
    ///
    /// The open fraction s relaxes to s_inf = 1/(1 + e^((v_th - v_pre)/delta))
    /// with time constant tau = (1 - s_inf)/k_minus (exponential Euler);
    /// current gS s (v_post - e_syn). Parameters `gS` (uS, 1e-4), `e_syn`
    /// (mV, 0), `k_minus` (1/ms, 0.025), `v_th` (mV, -35), `delta` (mV, 10).
    /// s starts at its steady state for the initial presynaptic voltage
    /// (Jaxley starts it at 0.2); set `IonotropicSynapse_s` to choose.
    IonotropicSynapse
);

const IONOTROPIC_PARAMS: [ParamSpec; 5] = [
    ParamSpec::new("gS", "uS", 1e-4, (0.0, 1.0)),
    ParamSpec::new("e_syn", "mV", 0.0, (-100.0, 50.0)),
    ParamSpec::new("k_minus", "1/ms", 0.025, (1e-4, 1.0)),
    ParamSpec::new("v_th", "mV", -35.0, (-80.0, 0.0)),
    ParamSpec::new("delta", "mV", 10.0, (0.1, 50.0)),
];

#[inline(always)]
fn ionotropic_s_inf<R: Real>(v_pre: R, p: &[R]) -> R {
    (((p[3] - v_pre) / p[4]).exp() + 1.0).recip()
}

impl SynapseDynamics for IonotropicSynapse {
    fn name(&self) -> &str {
        "IonotropicSynapse"
    }
    fn params(&self) -> &[ParamSpec] {
        &IONOTROPIC_PARAMS
    }
    fn states(&self) -> &[StateSpec] {
        const S: [StateSpec; 1] = [StateSpec::gate("s")];
        &S
    }
    #[inline(always)]
    fn init<R: Real>(&self, v_pre: R, _: R, p: &[R], s: &mut [R]) {
        s[0] = ionotropic_s_inf(v_pre, p);
    }
    #[inline(always)]
    fn advance<R: Real>(&self, dt: f64, v_pre: R, _: R, p: &[R], s: &mut [R]) {
        let s_inf = ionotropic_s_inf(v_pre, p);
        let tau = (R::cst(1.0) - s_inf) / p[2];
        let e = ((R::cst(-1.0) / tau) * dt).exp();
        s[0] = s[0] * e + s_inf * (R::cst(1.0) - e);
    }
    #[inline(always)]
    fn current<R: Real>(&self, _: R, v_post: R, s: &[R], p: &[R]) -> R {
        p[0] * s[0] * (v_post - p[1])
    }
    // Hand-derived reverse kernels: `crate::ionotropic`.
    fn reverse_init(&self, env: &SynapseEnv, params: Columns, cot_states: Columns, cot: SynCot) {
        crate::ionotropic::init_states_vjp(self, env, params, cot_states, cot)
    }
    fn reverse_advance(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        crate::ionotropic::advance_states_vjp(self, env, params, states, cot_states, cot)
    }
    fn reverse_current(
        &self,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        crate::ionotropic::current_vjp(self, env, params, states, cot_i, cot_di_dv, cot_states, cot)
    }
}

synapse_struct!(
    /// A stateless rate synapse (Jaxley's `TanhRateSynapse`): current
    /// -gS tanh((v_pre - x_offset) slope), independent of the postsynaptic
    /// voltage. Parameters `gS` (uS, 1e-4), `x_offset` (mV, -70), `slope`
    /// (1/mV, 1).
    TanhRateSynapse
);

const TANH_PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("gS", "uS", 1e-4, (-1.0, 1.0)),
    ParamSpec::new("x_offset", "mV", -70.0, (-100.0, 0.0)),
    ParamSpec::new("slope", "1/mV", 1.0, (0.0, 10.0)),
];

impl SynapseDynamics for TanhRateSynapse {
    fn name(&self) -> &str {
        "TanhRateSynapse"
    }
    fn params(&self) -> &[ParamSpec] {
        &TANH_PARAMS
    }
    fn states(&self) -> &[StateSpec] {
        &[]
    }
    #[inline(always)]
    fn init<R: Real>(&self, _: R, _: R, _: &[R], _: &mut [R]) {}
    #[inline(always)]
    fn advance<R: Real>(&self, _: f64, _: R, _: R, _: &[R], _: &mut [R]) {}
    #[inline(always)]
    fn current<R: Real>(&self, v_pre: R, _: R, _: &[R], p: &[R]) -> R {
        -(p[0] * ((v_pre - p[1]) * p[2]).tanh())
    }
}

synapse_struct!(
    /// An electrical synapse: current g (v_post - v_pre) into the
    /// postsynaptic compartment, `g` in uS (1e-3). One gap junction couples
    /// in one direction; connect it both ways for a symmetric coupling. The
    /// presynaptic voltage is that of the start of the step (explicit), so
    /// keep g dt / C well below 1.
    GapJunction
);

const GAP_PARAMS: [ParamSpec; 1] = [ParamSpec::new("g", "uS", 1e-3, (0.0, 1.0))];

impl SynapseDynamics for GapJunction {
    fn name(&self) -> &str {
        "GapJunction"
    }
    fn params(&self) -> &[ParamSpec] {
        &GAP_PARAMS
    }
    fn states(&self) -> &[StateSpec] {
        &[]
    }
    #[inline(always)]
    fn init<R: Real>(&self, _: R, _: R, _: &[R], _: &mut [R]) {}
    #[inline(always)]
    fn advance<R: Real>(&self, _: f64, _: R, _: R, _: &[R], _: &mut [R]) {}
    #[inline(always)]
    fn current<R: Real>(&self, v_pre: R, v_post: R, _: &[R], p: &[R]) -> R {
        p[0] * (v_post - v_pre)
    }
}

synapse_struct!(
    /// A spike-driven conductance with an exponential decay (NEURON's
    /// `ExpSyn` with its `NetCon` weight): each presynaptic spike arriving
    /// after the connection's delay raises g by `w` (uS, 1e-3), which then
    /// decays with `tau` (ms, 2); current g (v_post - `e`) (mV, 0). The
    /// decay is exact: g <- g e^(-dt/tau) + w spikes.
    ExpSynapse
);

const EXP_PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("w", "uS", 1e-3, (0.0, 1.0)),
    ParamSpec::new("tau", "ms", 2.0, (0.1, 100.0)),
    ParamSpec::new("e", "mV", 0.0, (-100.0, 50.0)),
];

impl SynapseDynamics for ExpSynapse {
    fn name(&self) -> &str {
        "ExpSynapse"
    }
    fn params(&self) -> &[ParamSpec] {
        &EXP_PARAMS
    }
    fn states(&self) -> &[StateSpec] {
        const S: [StateSpec; 1] = [StateSpec {
            name: "g",
            unit: "uS",
            default: 0.0,
        }];
        &S
    }
    fn spiking(&self) -> bool {
        true
    }
    #[inline(always)]
    fn init<R: Real>(&self, _: R, _: R, _: &[R], s: &mut [R]) {
        s[0] = R::cst(0.0);
    }
    #[inline(always)]
    fn advance<R: Real>(&self, dt: f64, _: R, events: R, p: &[R], s: &mut [R]) {
        s[0] = s[0] * (R::cst(-dt) / p[1]).exp() + p[0] * events;
    }
    #[inline(always)]
    fn current<R: Real>(&self, _: R, v_post: R, s: &[R], p: &[R]) -> R {
        s[0] * (v_post - p[2])
    }
}

synapse_struct!(
    /// A spike-driven alpha-function conductance: after a presynaptic spike
    /// (and the connection's delay) g(t) = w (t/tau) e^(1 - t/tau), peaking
    /// at `w` (uS, 1e-3) after `tau` (ms, 2); current g (v_post - `e`).
    /// Two exactly integrated states: a' = -a/tau (a jumps by w e per
    /// spike) and g' = (a - g)/tau.
    AlphaSynapse
);

impl SynapseDynamics for AlphaSynapse {
    fn name(&self) -> &str {
        "AlphaSynapse"
    }
    fn params(&self) -> &[ParamSpec] {
        &EXP_PARAMS
    }
    fn states(&self) -> &[StateSpec] {
        const S: [StateSpec; 2] = [
            StateSpec {
                name: "a",
                unit: "uS",
                default: 0.0,
            },
            StateSpec {
                name: "g",
                unit: "uS",
                default: 0.0,
            },
        ];
        &S
    }
    fn spiking(&self) -> bool {
        true
    }
    #[inline(always)]
    fn init<R: Real>(&self, _: R, _: R, _: &[R], s: &mut [R]) {
        s[0] = R::cst(0.0);
        s[1] = R::cst(0.0);
    }
    #[inline(always)]
    fn advance<R: Real>(&self, dt: f64, _: R, events: R, p: &[R], s: &mut [R]) {
        let e = (R::cst(-dt) / p[1]).exp();
        let a = s[0];
        s[1] = (s[1] + a * dt / p[1]) * e;
        s[0] = a * e + p[0] * events * std::f64::consts::E;
    }
    #[inline(always)]
    fn current<R: Real>(&self, _: R, v_post: R, s: &[R], p: &[R]) -> R {
        s[1] * (v_post - p[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Columns, ColumnsMut, CompiledSynapse, SynCot, Synapse, SynapseEnv, SynapseKernels,
    };

    fn rng(k: usize) -> f64 {
        ((k as f64 * 0.618_033_988_75).fract() - 0.5) * 2.0
    }

    /// Every VJP of the native and the compiled kernels against
    /// Richardson-extrapolated central differences.
    fn check(syn: &dyn Synapse) {
        check_kernels(syn, syn.native().expect("native kernels"));
        check_kernels(syn, &CompiledSynapse::<f64>::new(&syn.ir(0.1)));
    }

    fn check_kernels(syn: &dyn Synapse, s: &dyn SynapseKernels<f64>) {
        // One block of LANES rows and a remainder, so both paths run.
        let rows = ruxley_channels::LANES + 3;
        let (ns, np) = (syn.states().len(), syn.params().len());
        let v_pre: Vec<f64> = (0..rows).map(|k| -70.0 + 10.0 * k as f64).collect();
        let v_post: Vec<f64> = (0..rows).map(|k| -60.0 + 7.0 * k as f64).collect();
        let events: Vec<f64> = (0..rows).map(|k| (k % 2) as f64).collect();
        let p: Vec<f64> = (0..np)
            .flat_map(|q| {
                let d = syn.params()[q].default;
                (0..rows).map(move |k| d * (1.0 + 0.1 * k as f64))
            })
            .collect();
        let st: Vec<f64> = (0..ns * rows).map(|k| 0.3 + 0.2 * rng(k)).collect();
        let dt = 0.1;
        let env = |a: &'_ [f64], b: &'_ [f64]| -> (Vec<f64>, Vec<f64>) { (a.to_vec(), b.to_vec()) };
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let fd = |f: &dyn Fn(f64) -> f64| {
            let g = |h: f64| (f(h) - f(-h)) / (2.0 * h);
            (4.0 * g(5e-4) - g(1e-3)) / 3.0
        };
        let agree = |what: &str, a: f64, b: f64| {
            assert!(
                (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-9),
                "{} {what}: fd {a:e}, vjp {b:e}",
                syn.name()
            );
        };
        // A direction in each input.
        let dir = |n: usize, o: usize| -> Vec<f64> { (0..n).map(|k| rng(k + o) + 0.1).collect() };
        let (d_pre, d_post, d_p, d_s) = (
            dir(rows, 1),
            dir(rows, 7),
            dir(np * rows, 13),
            dir(ns * rows, 29),
        );
        let scale_p: Vec<f64> = p
            .iter()
            .zip(&d_p)
            .map(|(x, d)| d * x.abs().max(1e-3))
            .collect();
        let moved = |t: f64, which: usize| {
            let mv = |x: &[f64], d: &[f64], on: bool| -> Vec<f64> {
                x.iter()
                    .zip(d)
                    .map(|(a, b)| if on { a + t * b } else { *a })
                    .collect()
            };
            (
                mv(&v_pre, &d_pre, which == 0),
                mv(&v_post, &d_post, which == 1),
                mv(&p, &scale_p, which == 2),
                mv(&st, &d_s, which == 3),
            )
        };
        let dirs = [d_pre.clone(), d_post.clone(), scale_p.clone(), d_s.clone()];
        // advance
        let c: Vec<f64> = (0..ns * rows).map(|k| rng(k + 41)).collect();
        let advance = |t: f64, which: usize| {
            let (a, b, pp, mut ss) = moved(t, which);
            let (a, b) = env(&a, &b);
            s.advance_states(
                &SynapseEnv {
                    v_pre: &a,
                    v_post: &b,
                    events: &events,
                    dt,
                },
                Columns::new(&pp, rows),
                ColumnsMut::new(&mut ss, rows),
            );
            dot(&c, &ss)
        };
        let (mut cpre, mut cpost, mut cp, mut cs) = (
            vec![0.0; rows],
            vec![0.0; rows],
            vec![0.0; np * rows],
            c.clone(),
        );
        s.advance_states_vjp(
            &SynapseEnv {
                v_pre: &v_pre,
                v_post: &v_post,
                events: &events,
                dt,
            },
            Columns::new(&p, rows),
            Columns::new(&st, rows),
            ColumnsMut::new(&mut cs, rows),
            SynCot {
                v_pre: &mut cpre,
                v_post: &mut cpost,
                params: ColumnsMut::new(&mut cp, rows),
            },
        );
        for (which, cot) in [(0, &cpre), (1, &cpost), (2, &cp), (3, &cs)] {
            agree(
                &format!("advance {which}"),
                fd(&|t| advance(t, which)),
                dot(cot, &dirs[which]),
            );
        }
        // current
        let (ci, cg): (Vec<f64>, Vec<f64>) = (
            (0..rows).map(|k| rng(k + 3)).collect(),
            (0..rows).map(|k| rng(k + 5)).collect(),
        );
        let current = |t: f64, which: usize| {
            let (a, b, pp, ss) = moved(t, which);
            let (mut i, mut g) = (vec![0.0; rows], vec![0.0; rows]);
            s.current(
                &SynapseEnv {
                    v_pre: &a,
                    v_post: &b,
                    events: &events,
                    dt,
                },
                Columns::new(&pp, rows),
                Columns::new(&ss, rows),
                &mut i,
                &mut g,
            );
            dot(&ci, &i) + dot(&cg, &g)
        };
        let (mut cpre, mut cpost, mut cp, mut cs) = (
            vec![0.0; rows],
            vec![0.0; rows],
            vec![0.0; np * rows],
            vec![0.0; ns * rows],
        );
        s.current_vjp(
            &SynapseEnv {
                v_pre: &v_pre,
                v_post: &v_post,
                events: &events,
                dt,
            },
            Columns::new(&p, rows),
            Columns::new(&st, rows),
            &ci,
            &cg,
            ColumnsMut::new(&mut cs, rows),
            SynCot {
                v_pre: &mut cpre,
                v_post: &mut cpost,
                params: ColumnsMut::new(&mut cp, rows),
            },
        );
        for (which, cot) in [(0, &cpre), (1, &cpost), (2, &cp), (3, &cs)] {
            agree(
                &format!("current {which}"),
                fd(&|t| current(t, which)),
                dot(cot, &dirs[which]),
            );
        }
        // init
        let c: Vec<f64> = (0..ns * rows).map(|k| rng(k + 53)).collect();
        let init = |t: f64, which: usize| {
            let (a, b, pp, _) = moved(t, which);
            let mut ss = vec![0.0; ns * rows];
            s.init_states(
                &SynapseEnv {
                    v_pre: &a,
                    v_post: &b,
                    events: &events,
                    dt,
                },
                Columns::new(&pp, rows),
                ColumnsMut::new(&mut ss, rows),
            );
            dot(&c, &ss)
        };
        let (mut cpre, mut cpost, mut cp) =
            (vec![0.0; rows], vec![0.0; rows], vec![0.0; np * rows]);
        s.init_states_vjp(
            &SynapseEnv {
                v_pre: &v_pre,
                v_post: &v_post,
                events: &events,
                dt,
            },
            Columns::new(&p, rows),
            Columns::new(&c, rows),
            SynCot {
                v_pre: &mut cpre,
                v_post: &mut cpost,
                params: ColumnsMut::new(&mut cp, rows),
            },
        );
        for (which, cot) in [(0, &cpre), (1, &cpost), (2, &cp)] {
            agree(
                &format!("init {which}"),
                fd(&|t| init(t, which)),
                dot(cot, &dirs[which]),
            );
        }
    }

    #[test]
    fn every_synapse_derivative_matches_finite_differences() {
        for s in crate::library() {
            check(&*s);
        }
    }

    #[test]
    fn the_alpha_synapse_peaks_at_w_after_tau() {
        let (w, tau, dt) = (2e-3, 3.0, 0.001);
        let p = [w, tau, 0.0];
        let mut s = [0.0, 0.0];
        AlphaSynapse.advance(dt, 0.0, 1.0, &p, &mut s);
        let mut peak = (0.0, 0.0);
        for n in 1..20000 {
            AlphaSynapse.advance(dt, 0.0, 0.0, &p, &mut s);
            if s[1] > peak.1 {
                peak = (n as f64 * dt, s[1]);
            }
        }
        assert!((peak.0 - tau).abs() < 2.0 * dt, "{peak:?}");
        assert!((peak.1 - w).abs() < 1e-9, "{peak:?}");
    }

    #[test]
    fn the_exponential_synapse_decays_exactly() {
        let p = [1e-3, 2.0, 0.0];
        let mut s = [0.0];
        ExpSynapse.advance(0.025, 0.0, 1.0, &p, &mut s);
        assert_eq!(s[0], 1e-3);
        for _ in 0..80 {
            ExpSynapse.advance(0.025, 0.0, 0.0, &p, &mut s);
        }
        assert!((s[0] - 1e-3 * (-1.0f64).exp()).abs() < 1e-15);
    }
}
