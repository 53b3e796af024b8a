//! Forward-mode tangents against finite differences of the simulator.

use ruxley::cell::Target;
use ruxley::core::TimeGrid;
use ruxley::cpu::{Jvp, KernelSource, State, Stepper};
use ruxley::prelude::*;
use ruxley::{Parameters, Scheme};
use ruxley_conformance::models::{spiking_cell, synapse_network};
use ruxley_conformance::reference::nan_max;

fn cell(cn: bool, clamp: bool) -> (ruxley::Layout, Scheme) {
    let mut m = Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2, 3, 2, 2]).unwrap();
    m.branch(0).set("radius", 5.0).unwrap();
    m.insert(Hh::new()).unwrap();
    m.branch(2).insert(Leak::new()).unwrap();
    m.set("axial_resistivity", 120.0).unwrap();
    m.set("v", -65.0).unwrap();
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(0.3, 2.0, 0.4))
        .unwrap();
    if clamp {
        m.branch(1)
            .loc(1.0)
            .clamp(Waveform::step(1.0, 0.5, -20.0))
            .unwrap();
    }
    (
        m.build().unwrap(),
        if cn {
            Scheme::CrankNicolson
        } else {
            Scheme::BackwardEuler
        },
    )
}

type St = State<f64>;

fn make_stepper<'a>(
    layout: &'a ruxley::Layout,
    params: &'a Parameters,
    grid: TimeGrid,
    scheme: Scheme,
    source: KernelSource,
) -> Stepper<'a, f64> {
    Stepper::new(layout, &[(params, layout.stimuli())], grid, scheme, source).unwrap()
}

fn run(stepper: &Stepper<f64>, mut x: St, n: usize) -> St {
    let mut ws = stepper.workspace();
    for k in 0..n {
        stepper.step(k, &mut x, &mut ws);
    }
    x
}

fn axpy(x: &St, a: f64, d: &St) -> St {
    let cols = |x: &[Vec<f64>], d: &[Vec<f64>]| -> Vec<Vec<f64>> {
        x.iter()
            .zip(d)
            .map(|(x, d)| x.iter().zip(d).map(|(x, d)| x + a * d).collect())
            .collect()
    };
    State {
        v: x.v.iter().zip(&d.v).map(|(x, d)| x + a * d).collect(),
        mech: cols(&x.mech, &d.mech),
        syn: cols(&x.syn, &d.syn),
        spikes: x.spikes.clone(),
    }
}

/// (plus - minus) / 2h.
fn central(plus: &St, minus: &St, h: f64) -> St {
    let d = axpy(plus, -1.0, minus);
    axpy(&d.zeros_like(), 0.5 / h, &d)
}

fn max_diff(a: &St, b: &St) -> (f64, f64) {
    let pairs =
        a.v.iter()
            .zip(&b.v)
            .chain(a.mech.iter().flatten().zip(b.mech.iter().flatten()))
            .chain(a.syn.iter().flatten().zip(b.syn.iter().flatten()));
    pairs.fold((0.0, 0.0), |(e, s), (x, y)| {
        (nan_max(e, (x - y).abs()), nan_max(s, y.abs()))
    })
}

/// Tangents of the whole state, along a direction in the initial state
/// after `t_state` ms and along one in the channel and synapse parameters
/// after `t_max` ms, against central finite differences, with native and
/// compiled kernels. (A reset forgets the initial state: `t_state` must
/// come before it.)
fn check_tangents(layout: &ruxley::Layout, scheme: Scheme, t_state: f64, t_max: f64, what: &str) {
    for source in [KernelSource::Native, KernelSource::Compiled] {
        check_tangents_with(
            layout,
            scheme,
            (t_state, t_max),
            &format!("{what}, {source:?}"),
            source,
        );
    }
}

/// The largest relative difference of two tangents; fails on NaN and on a
/// zero tangent (a comparison of zeros shows nothing).
fn assert_tangents_agree(got: &St, want: &St, bar: f64, what: &str) {
    let (err, scale) = max_diff(got, want);
    assert!(scale > 0.0, "{what}: the tangent is zero");
    assert!(err <= bar * scale, "{what}: {err:e} of {scale:e}");
}

fn check_tangents_with(
    layout: &ruxley::Layout,
    scheme: Scheme,
    (t_state, t_max): (f64, f64),
    what: &str,
    source: KernelSource,
) {
    let grid = TimeGrid::new(0.025, t_max).unwrap();
    let n = grid.n_steps();
    let n_state = TimeGrid::new(0.025, t_state).unwrap().n_steps();
    let params = layout.parameters().clone();
    let stepper = make_stepper(layout, &params, grid, scheme, source);
    let x0 = stepper.init(&mut stepper.workspace());
    // A direction in the state (branch-point voltages are algebraic: left at 0).
    let mut d = x0.zeros_like();
    for (c, &node) in layout.node_of_comp().iter().enumerate() {
        d.v[node as usize] = ((c * 7919) % 13) as f64 * 0.3 - 1.5;
    }
    for (m, s) in d.mech.iter_mut().chain(d.syn.iter_mut()).enumerate() {
        for (k, x) in s.iter_mut().enumerate() {
            *x = (((k + m) * 104729) % 11) as f64 * 0.002 - 0.01;
        }
    }
    let mut jvp = Jvp::new(&stepper, None).unwrap();
    let (mut x, mut t) = (x0.clone(), d.clone());
    for k in 0..n_state {
        jvp.step(k, &mut x, &mut t);
    }
    let h = 1e-5;
    let plus = run(&stepper, axpy(&x0, h, &d), n_state);
    let minus = run(&stepper, axpy(&x0, -h, &d), n_state);
    let fd = central(&plus, &minus, h);
    assert_tangents_agree(&t, &fd, 1e-5, &format!("state direction, {what}"));
    assert_eq!(
        x,
        run(&stepper, x0.clone(), n_state),
        "the JVP advances the state exactly as the step ({what})"
    );

    // A direction in the channel and synapse parameters.
    let mut dp = vec![0.0; params.values().len()];
    for block in params.layout().blocks() {
        if matches!(
            block.target,
            Target::ChannelParam { .. } | Target::SynapseParam { .. }
        ) {
            for (k, i) in block.range.clone().enumerate() {
                dp[i] = params.values()[i] * (0.01 + 0.001 * k as f64);
            }
        }
    }
    let mut jvp = Jvp::new(&stepper, Some(&[dp.clone()])).unwrap();
    let (mut x, mut t) = (x0.clone(), jvp.init_tangent(&x0));
    for k in 0..n {
        jvp.step(k, &mut x, &mut t);
    }
    let at = |s: f64| {
        let mut p = params.clone();
        for (v, d) in p.values_mut().iter_mut().zip(&dp) {
            *v += s * d;
        }
        let st = make_stepper(layout, &p, grid, scheme, source);
        let x0 = st.init(&mut st.workspace());
        run(&st, x0, n)
    };
    let fd = central(&at(h), &at(-h), h);
    assert_tangents_agree(&t, &fd, 1e-5, &format!("parameter direction, {what}"));
}

#[test]
fn state_and_parameter_tangents_equal_finite_differences() {
    for (cn, clamp) in [(false, false), (true, false), (false, true), (true, true)] {
        let (layout, scheme) = cell(cn, clamp);
        check_tangents(&layout, scheme, 3.0, 3.0, &format!("cn {cn} clamp {clamp}"));
    }
}

#[test]
fn tangents_through_synapses_equal_finite_differences() {
    // Every synapse type, with spikes crossing delayed connections.
    let mut net = synapse_network().unwrap();
    net.synapse_type("ExpSynapse")
        .record("ExpSynapse_g")
        .unwrap();
    let t_max = 6.0;
    let g = ruxley::simulate(&net, &RunOptions::new(0.025, t_max)).unwrap();
    assert!(
        *g.get("ExpSynapse_g_syn1").unwrap().last().unwrap() > 0.0,
        "a spike crosses the delayed synapse"
    );
    let layout = net.build().unwrap();
    for scheme in [Scheme::BackwardEuler, Scheme::CrankNicolson] {
        check_tangents(
            &layout,
            scheme,
            t_max,
            t_max,
            &format!("network, {scheme:?}"),
        );
    }
}

#[test]
fn unsupported_directions_are_errors() {
    let (layout, scheme) = cell(false, false);
    let grid = TimeGrid::new(0.025, 1.0).unwrap();
    let stepper = make_stepper(
        &layout,
        layout.parameters(),
        grid,
        scheme,
        KernelSource::Native,
    );
    let mut dp = vec![0.0; layout.parameters().values().len()];
    dp[layout.capacitance_range().start] = 1.0;
    assert!(Jvp::new(&stepper, Some(&[dp])).is_err());
    assert!(Jvp::new(&stepper, Some(&[vec![1.0]])).is_err());
}

#[test]
fn tangents_through_calcium_equal_finite_differences() {
    // A CaDynamics_E2 pool fed by calcium currents sets eca (Nernst) and
    // gates SK channels; elsewhere cai and eca are fixed parameters.
    for explicit_cai in [false, true] {
        let layout = ruxley_conformance::l5pc::calcium_cell(explicit_cai)
            .unwrap()
            .build()
            .unwrap();
        for scheme in [Scheme::BackwardEuler, Scheme::CrankNicolson] {
            check_tangents(
                &layout,
                scheme,
                6.0,
                6.0,
                &format!("calcium, explicit cai {explicit_cai}, {scheme:?}"),
            );
        }
    }
}

#[test]
fn tangents_through_voltage_setting_neurons_equal_finite_differences() {
    use ruxley::channels::spiking::{Fire, Izhikevich};
    // Spiking runs: the tangent is the derivative of the piecewise-smooth
    // discrete dynamics, which finite differences see while no spike moves
    // by a step.
    for (name, mechanism, leak, amp) in [
        (
            "LIF",
            Box::new(Fire::new()) as Box<dyn ruxley::channels::Channel>,
            true,
            0.3,
        ),
        ("Izhikevich", Box::new(Izhikevich::new()), false, 0.125),
    ] {
        let m = spiking_cell(mechanism, leak, amp).unwrap();
        let spikes = ruxley::simulate(&m, &RunOptions::new(0.025, 30.0)).unwrap();
        let v = spikes.trace(0);
        let resets: Vec<usize> = (1..v.len()).filter(|&k| v[k] < v[k - 1] - 10.0).collect();
        assert!(!resets.is_empty(), "{name} spikes");
        // The initial state's direction up to 1 ms before the first reset;
        // the parameters' through the spikes.
        let first = resets[0] as f64 * spikes.dt() - 1.0;
        let layout = m.build().unwrap();
        check_tangents(&layout, Scheme::BackwardEuler, first, 30.0, name);
    }
}
