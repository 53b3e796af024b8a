//! The gradient equals central finite differences of the simulator, on random
//! small cells: random morphology, parameters, stimuli, clamps, scheme.

use proptest::prelude::*;
use ruxley::cell::{Stimulus, Target};
use ruxley::cpu::CpuBackend;
use ruxley::prelude::*;
use ruxley::{Schedule, TraceFit};
use ruxley_conformance::fdcheck::richardson as fd;

#[derive(Debug, Clone)]
struct Case {
    parents: Vec<Option<usize>>,
    ncomp: Vec<usize>,
    geometry: Vec<(f64, f64)>,
    gna: f64,
    ra: f64,
    leak_on_last: bool,
    explicit_m: bool,
    clamp: Option<bool>,
    cn: bool,
    amp: f64,
    series: Vec<f64>,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..5)
        .prop_flat_map(|nb| {
            (
                prop::collection::vec(0.0f64..1.0, nb),
                prop::collection::vec(1usize..4, nb),
                prop::collection::vec((5.0f64..40.0, 0.5f64..4.0), nb),
                (
                    0.08f64..0.2,
                    50.0f64..300.0,
                    any::<bool>(),
                    any::<bool>(),
                    any::<Option<bool>>(),
                    any::<bool>(),
                ),
                (0.05f64..0.4, prop::collection::vec(-0.05f64..0.2, 40)),
            )
        })
        .prop_map(
            |(
                p,
                ncomp,
                geometry,
                (gna, ra, leak_on_last, explicit_m, clamp, cn),
                (amp, series),
            )| Case {
                parents: p
                    .iter()
                    .enumerate()
                    .map(|(b, x)| {
                        if b == 0 {
                            None
                        } else {
                            Some((x * b as f64) as usize)
                        }
                    })
                    .collect(),
                ncomp,
                geometry,
                gna,
                ra,
                leak_on_last,
                explicit_m,
                clamp,
                cn,
                amp,
                series,
            },
        )
}

fn build(c: &Case) -> (ruxley::Layout, RunOptions, Vec<Stimulus>) {
    let mut m = Model::from_branches(&c.parents, &c.ncomp).unwrap();
    for (b, &(len, r)) in c.geometry.iter().enumerate() {
        m.branch(b).set("length", len).unwrap();
        m.branch(b).set("radius", r).unwrap();
    }
    m.insert(Hh::new()).unwrap();
    m.set("HH_gNa", c.gna).unwrap();
    m.set("axial_resistivity", c.ra).unwrap();
    m.set("v", -65.0).unwrap();
    let last = c.parents.len() - 1;
    if c.leak_on_last {
        m.branch(last).insert(Leak::new()).unwrap();
    }
    if c.explicit_m {
        m.branch(0).set("HH_m", 0.2).unwrap();
    }
    // A clamp at a tip, or at the end of the root branch (next to a branch point).
    if let Some(at_tip) = c.clamp {
        let b = if at_tip { last } else { 0 };
        m.branch(b)
            .loc(1.0)
            .clamp(Waveform::step(0.5, 1.0, -30.0))
            .unwrap();
    }
    m.branch(0).comp(0).record("v").unwrap();
    m.branch(last).loc(0.0).record("v").unwrap();
    m.branch(last).loc(1.0).record("HH_n").unwrap();
    let layout = m.build().unwrap();
    let comp0 = 0;
    let stimuli = vec![
        Stimulus {
            comp: comp0,
            current: Waveform::step(0.2, 1.5, c.amp),
        },
        Stimulus {
            comp: layout.n_comps() - 1,
            current: Waveform::Series(c.series.clone()),
        },
    ];
    let scheme = if c.cn {
        Scheme::CrankNicolson
    } else {
        Scheme::BackwardEuler
    };
    (
        layout,
        RunOptions::new(0.05, 2.0).with_scheme(scheme),
        stimuli,
    )
}

fn loss_for(layout: &ruxley::Layout, n: usize) -> TraceFit {
    let targets = layout
        .probes()
        .iter()
        .enumerate()
        .map(|(k, p)| {
            (
                p.column_name(),
                (0..n)
                    .map(|s| if k == 2 { 0.3 } else { -60.0 + 0.1 * s as f64 })
                    .collect(),
            )
        })
        .collect();
    TraceFit::mse(targets)
}

fn loss_at(
    layout: &ruxley::Layout,
    opts: &RunOptions,
    params: &Parameters,
    stimuli: &[Stimulus],
    loss: &TraceFit,
) -> f64 {
    use ruxley::TraceLoss;
    let t = CpuBackend::sequential()
        .simulate(
            layout,
            Batch {
                params: std::slice::from_ref(params),
                stimuli: std::slice::from_ref(&stimuli.to_vec()),
            },
            opts,
        )
        .unwrap()
        .remove(0);
    let mut g = t.zeros_like();
    loss.value_and_grad(0, &t, &mut g).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn gradient_equals_finite_differences(c in case()) {
        let (layout, opts, stimuli) = build(&c);
        let n = opts.grid().unwrap().n_samples();
        let loss = loss_for(&layout, n);
        let base = layout.parameters().clone();
        let g = CpuBackend::sequential()
            .value_and_grad(&layout, Batch { params: std::slice::from_ref(&base), stimuli: std::slice::from_ref(&stimuli) }, &opts, &loss, &Schedule::StoreAll)
            .unwrap()
            .remove(0);
        let scale = g.params.iter().chain(g.stimuli.iter().flatten()).fold(0.0f64, |m, x| m.max(x.abs()));
        // Every parameter value (except steady-state initial states, which are NaN).
        for block in base.layout().blocks() {
            if matches!(block.target, Target::ChannelState { .. }) && base.block(block)[0].is_nan() {
                continue;
            }
            for k in 0..block.comps.len() {
                let j = block.range.start + k;
                let x = base.values()[j];
                let h = 1e-4 * x.abs().max(1e-2);
                let d = fd(|t| {
                    let mut p = base.clone();
                    p.values_mut()[j] = x + t;
                    loss_at(&layout, &opts, &p, &stimuli, &loss)
                }, h);
                let err = (d - g.params[j]).abs();
                prop_assert!(err <= 1e-5 * d.abs().max(1e-4 * scale),
                    "{} [{}]: adjoint {:e}, finite differences {:e}", block.name, k, g.params[j], d);
            }
        }
        // Stimulus currents in a few steps.
        for (s, step) in [(0, 5), (0, 20), (1, 3), (1, 30)] {
            let d = fd(|t| {
                let mut st = stimuli.clone();
                let series = match &st[s].current {
                    Waveform::Series(v) => { let mut v = v.clone(); v[step] += t; v }
                    Waveform::Step { .. } => {
                        let grid = opts.grid().unwrap();
                        let mut v = st[s].current.sample(&grid, 0.0);
                        v[step] += t;
                        v
                    }
                };
                st[s].current = Waveform::Series(series);
                loss_at(&layout, &opts, &base, &st, &loss)
            }, 1e-4);
            let got = g.stimuli[s][step];
            prop_assert!((d - got).abs() <= 1e-5 * d.abs().max(1e-4 * scale),
                "stimulus {s} step {step}: adjoint {got:e}, finite differences {d:e}");
        }
    }
}
