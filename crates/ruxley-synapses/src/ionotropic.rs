//! The reverse-mode kernels of [`IonotropicSynapse`], which its
//! [`crate::SynapseDynamics`] supplies instead of the generic ones (its
//! forward kernels are the generic ones, like every synapse's). They are derived by hand, since networks of graded synapses spend most of their
//! gradient there (the generic dual-number ones take a pass of several
//! exponentials per synapse and step). Tests hold them to the generic ones.
//!
//! With z = (v_th - v_pre)/delta, s_inf = 1/(e^z + 1), tau = (1 - s_inf)/k,
//! E = e^(-dt/tau), a step is s' = s E + s_inf (1 - E), so
//! ds'/ds = E, ds'/ds_inf = 1 - E plus (s - s_inf) E dt/tau^2 / (-k) through
//! tau, ds'/dk = (s - s_inf) E dt/tau^2 (-tau/k), and
//! ds_inf/dz = -s_inf (1 - s_inf), dz/dv_pre = -1/delta, dz/dv_th = 1/delta,
//! dz/ddelta = -z/delta.

use ruxley_channels::Rows;

use crate::{Columns, ColumnsMut, IonotropicSynapse, SynCot, SynapseEnv};

/// Parameter columns, in spec order.
const GS: usize = 0;
const E_SYN: usize = 1;
const K_MINUS: usize = 2;
const V_TH: usize = 3;
const DELTA: usize = 4;

/// z and s_inf at rows `r..r + T::WIDTH`, computed as the forward kernel
/// computes them.
#[inline(always)]
fn s_inf<T: Rows>(env: &SynapseEnv, params: &Columns, r: usize) -> (T, T) {
    let v_pre = T::get(env.v_pre, r);
    let z = (T::get(params.col(V_TH), r) - v_pre) / T::get(params.col(DELTA), r);
    (z, (z.exp() + 1.0).recip())
}

/// Adds the cotangent `c_z` of z at rows `r..` to those of v_pre, v_th and
/// delta.
#[inline(always)]
fn pull_z<T: Rows>(c_z: T, z: T, params: &Columns, cot: &mut SynCot, r: usize) {
    let c = c_z / T::get(params.col(DELTA), r);
    (-c).add_to(cot.v_pre, r);
    c.add_to(cot.params.col(V_TH), r);
    (-(c * z)).add_to(cot.params.col(DELTA), r);
}

#[inline(always)]
fn init_vjp_rows<T: Rows>(
    env: &SynapseEnv,
    params: &Columns,
    cot_states: &Columns,
    cot: &mut SynCot,
    r: usize,
) {
    let (z, si) = s_inf::<T>(env, params, r);
    let c = T::get(cot_states.col(0), r);
    pull_z(-(c * si * (T::cst(1.0) - si)), z, params, cot, r);
}

#[inline(always)]
fn advance_vjp_rows<T: Rows>(
    env: &SynapseEnv,
    params: &Columns,
    states: &Columns,
    cot_states: &mut ColumnsMut,
    cot: &mut SynCot,
    r: usize,
) {
    let (z, si) = s_inf::<T>(env, params, r);
    let k = T::get(params.col(K_MINUS), r);
    let tau = (T::cst(1.0) - si) / k;
    let e = ((T::cst(-1.0) / tau) * env.dt).exp();
    let c = T::get(cot_states.col(0), r);
    // Through E into tau, then into s_inf and k.
    let c_tau = c * (T::get(states.col(0), r) - si) * e * env.dt / (tau * tau);
    let c_si = c * (T::cst(1.0) - e) - c_tau / k;
    (-(c_tau * tau / k)).add_to(cot.params.col(K_MINUS), r);
    pull_z(-(c_si * si * (T::cst(1.0) - si)), z, params, cot, r);
    (c * e).put(cot_states.col(0), r);
}

#[inline(always)]
fn current_vjp_rows<T: Rows>(
    env: &SynapseEnv,
    params: &Columns,
    states: &Columns,
    [cot_i, cot_g]: [&[f64]; 2],
    cot_states: &mut ColumnsMut,
    cot: &mut SynCot,
    r: usize,
) {
    // i = gS s (v_post - e_syn), di/dv_post = gS s.
    let (gs, s) = (T::get(params.col(GS), r), T::get(states.col(0), r));
    let drive = T::get(env.v_post, r) - T::get(params.col(E_SYN), r);
    let ci = T::get(cot_i, r);
    let c_gs_s = ci * drive + T::get(cot_g, r);
    (c_gs_s * s).add_to(cot.params.col(GS), r);
    (c_gs_s * gs).add_to(cot_states.col(0), r);
    let c_drive = ci * gs * s;
    c_drive.add_to(cot.v_post, r);
    (-c_drive).add_to(cot.params.col(E_SYN), r);
}

// The reverse kernels, with the signatures of `kernels`.
ruxley_core::multiversion! {
    /// [`crate::SynapseKernels::init_states_vjp`].
    pub(crate) fn init_states_vjp(
        _synapse: &IonotropicSynapse,
        env: &SynapseEnv,
        params: Columns,
        cot_states: Columns,
        cot: SynCot,
    ) {
        let mut cot = cot;
        ruxley_core::by_row_blocks!(
            env.v_pre.len(),
            init_vjp_rows(env, &params, &cot_states, &mut cot)
        )
    }
}

ruxley_core::multiversion! {
    /// [`crate::SynapseKernels::advance_states_vjp`].
    pub(crate) fn advance_states_vjp(
        _synapse: &IonotropicSynapse,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        let (mut cot_states, mut cot) = (cot_states, cot);
        ruxley_core::by_row_blocks!(
            env.v_pre.len(),
            advance_vjp_rows(env, &params, &states, &mut cot_states, &mut cot)
        )
    }
}

ruxley_core::multiversion! {
    /// [`crate::SynapseKernels::current_vjp`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn current_vjp(
        _synapse: &IonotropicSynapse,
        env: &SynapseEnv,
        params: Columns,
        states: Columns,
        cot_i: &[f64],
        cot_di_dv: &[f64],
        cot_states: ColumnsMut,
        cot: SynCot,
    ) {
        let (mut cot_states, mut cot) = (cot_states, cot);
        ruxley_core::by_row_blocks!(
            env.v_pre.len(),
            current_vjp_rows(env, &params, &states, [cot_i, cot_di_dv], &mut cot_states, &mut cot)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SynapseKernels;
    use crate::dynamics::kernels;
    use ruxley_channels::LANES;

    /// The hand-derived VJPs against the generic dual-number ones.
    #[test]
    fn hand_derived_vjps_equal_the_generic_ones() {
        let rows = 2 * LANES + 3;
        let wave = |k: usize, a: f64, b: f64| a + b * ((k as f64 * 0.7548776662).fract() - 0.5);
        let v_pre: Vec<f64> = (0..rows).map(|k| wave(k, -40.0, 80.0)).collect();
        let v_post: Vec<f64> = (0..rows).map(|k| wave(k + 3, -50.0, 60.0)).collect();
        let events = vec![0.0; rows];
        let env = SynapseEnv {
            v_pre: &v_pre,
            v_post: &v_post,
            events: &events,
            dt: 0.025,
        };
        let defaults = [1e-3, 0.0, 0.025, -35.0, 10.0];
        let p: Vec<f64> = (0..5)
            .flat_map(|q| (0..rows).map(move |k| defaults[q] * wave(k + q, 1.0, 0.4)))
            .collect();
        let s: Vec<f64> = (0..rows).map(|k| wave(k + 7, 0.5, 0.9)).collect();
        let c: Vec<f64> = (0..rows).map(|k| wave(k + 11, 0.0, 2.0)).collect();
        let ci: Vec<f64> = (0..rows).map(|k| wave(k + 13, 0.0, 2.0)).collect();
        let syn = IonotropicSynapse;
        let params = Columns::new(&p, rows);
        // (cot of the states, of v_pre, of v_post, of the parameters).
        type Cots = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);
        let fresh = || -> Cots {
            (
                c.clone(),
                vec![0.1; rows],
                vec![0.2; rows],
                vec![0.3; 5 * rows],
            )
        };
        let run = |f: &dyn Fn(ColumnsMut, SynCot)| {
            let (mut cs, mut a, mut b, mut cp) = fresh();
            f(
                ColumnsMut::new(&mut cs, rows),
                SynCot {
                    v_pre: &mut a,
                    v_post: &mut b,
                    params: ColumnsMut::new(&mut cp, rows),
                },
            );
            (cs, a, b, cp)
        };
        let close = |what: &str, x: &Cots, y: &Cots| {
            for (u, w) in [(&x.0, &y.0), (&x.1, &y.1), (&x.2, &y.2), (&x.3, &y.3)] {
                for (a, b) in u.iter().zip(w.iter()) {
                    assert!(
                        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-3),
                        "{what}: {a:e} vs {b:e}"
                    );
                }
            }
        };
        close(
            "init",
            &run(&|_, cot| syn.init_states_vjp(&env, params, Columns::new(&c, rows), cot)),
            &run(&|_, cot| {
                kernels::init_states_vjp(&syn, &env, params, Columns::new(&c, rows), cot)
            }),
        );
        let states = Columns::new(&s, rows);
        close(
            "advance",
            &run(&|cs, cot| syn.advance_states_vjp(&env, params, states, cs, cot)),
            &run(&|cs, cot| kernels::advance_states_vjp(&syn, &env, params, states, cs, cot)),
        );
        close(
            "current",
            &run(&|cs, cot| syn.current_vjp(&env, params, states, &ci, &c, cs, cot)),
            &run(&|cs, cot| kernels::current_vjp(&syn, &env, params, states, &ci, &c, cs, cot)),
        );
    }
}
