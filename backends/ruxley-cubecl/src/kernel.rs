//! The kernels: one thread per batch member runs a whole simulation, the
//! mechanisms' graphs expanded at compile time into straight-line code.
//!
//! Every per-member buffer is a list of columns of `m` values, member
//! fastest (see `plan`), so the threads of a warp read adjacent values.

use cubecl::prelude::*;

use crate::plan::{KGraph, Kind, MechPlan, Node, Plan, ProbePlan, SynPlan, exp_consts as ec};

/// The kernel buffers and sizes, grouped so helper functions take one
/// argument.
#[derive(CubeType, CubeLaunch)]
pub struct Bufs<F: Float> {
    /// Voltages `[node]`.
    pub v: Array<F>,
    /// Mechanism and synapse states.
    pub st: Array<F>,
    /// Explicit initial states (NaN for the steady state).
    pub st0: Array<F>,
    /// Parameters.
    pub par: Array<F>,
    /// Geometry: capacitance, sum of axial conductances, axial conductance
    /// to the parent, area factor (`[4][node]`).
    pub geo: Array<F>,
    /// Scratch columns (see `WorkPlan`).
    pub work: Array<F>,
    /// Recordings `[sample][probe]`.
    pub out: Array<F>,
    /// Per member: the first unstable step + 1 (0 if none) and its node.
    pub flags: Array<F>,
    /// Shared: indices, constants, stimulus currents, clamp commands.
    pub idx: Array<u32>,
    /// See `idx`.
    pub consts: Array<F>,
    /// See `idx`.
    pub drive: Array<F>,
    /// See `idx`.
    pub command: Array<F>,
}

/// Entry `col` of member `t` of `m`.
#[cube]
fn at(col: usize, m: usize, t: usize) -> usize {
    col * m + t
}

/// e^x, natively or built from arithmetic with the CPU backend's
/// polynomial (Vulkan has no f64 exp).
#[cube]
fn exp<F: Float>(x: F, c: &Array<F>, #[comptime] precise: bool, #[comptime] e: u32) -> F {
    if comptime![precise] {
        let e = comptime![e as usize];
        let x = F::clamp(x, c[e + ec::LO as usize], c[e + ec::HI as usize]);
        // The nearest integer to x log2(e) (ties up; any integer within one
        // of it keeps r in the polynomial's range).
        let kk = F::floor(x * c[e + ec::LOG2E as usize] + F::new(0.5));
        let r = (x - kk * c[e + ec::LN2_HI as usize]) - kk * c[e + ec::LN2_LO as usize];
        let mut p = c[e + ec::POLY as usize];
        #[unroll]
        for j in 1..12usize {
            p = p * r + c[e + ec::POLY as usize + j];
        }
        // 2^k from the binary digits of |k| (exact products of powers of 2).
        let neg = kk < F::new(0.0);
        let mut a = F::abs(kk);
        let mut s = F::new(1.0);
        #[unroll]
        for j in 0..10usize {
            let b = 9 - j;
            let bit = c[e + ec::BITS as usize + b];
            let take = a >= bit;
            a = select(take, a - bit, a);
            let f = select(
                neg,
                c[e + ec::DOWN as usize + b],
                c[e + ec::UP as usize + b],
            );
            s *= select(take, f, F::new(1.0));
        }
        p * s
    } else {
        F::exp(x)
    }
}

/// ln x: natively, or from a single-precision start refined by two Newton
/// steps on e^y = x.
#[cube]
fn ln<F: Float>(x: F, c: &Array<F>, #[comptime] precise: bool, #[comptime] e: u32) -> F {
    if comptime![precise] {
        let mut y = F::cast_from(f32::ln(f32::cast_from(x)));
        #[unroll]
        for _ in 0..2 {
            y = y - F::new(1.0) + x * exp::<F>(-y, c, precise, e);
        }
        y
    } else {
        F::ln(x)
    }
}

/// One node of a graph.
#[cube]
fn node<F: Float>(
    vals: &Sequence<F>,
    ins: &Sequence<F>,
    c: &Array<F>,
    #[comptime] n: Node,
    #[comptime] precise: bool,
    #[comptime] e: u32,
) -> F {
    match n {
        Node::Const(k) => c[k as usize],
        Node::Input(k) => *ins.index(k as usize),
        Node::Add(a, b) => *vals.index(a as usize) + *vals.index(b as usize),
        Node::Sub(a, b) => *vals.index(a as usize) - *vals.index(b as usize),
        Node::Mul(a, b) => *vals.index(a as usize) * *vals.index(b as usize),
        Node::Div(a, b) => *vals.index(a as usize) / *vals.index(b as usize),
        Node::Neg(a) => -*vals.index(a as usize),
        Node::Abs(a) => F::abs(*vals.index(a as usize)),
        Node::Exp(a) => exp::<F>(*vals.index(a as usize), c, precise, e),
        Node::Ln(a) => ln::<F>(*vals.index(a as usize), c, precise, e),
        Node::Sqrt(a) => F::sqrt(*vals.index(a as usize)),
        Node::Tanh(a) => {
            let z = exp::<F>(*vals.index(a as usize) * F::new(2.0), c, precise, e);
            F::new(1.0) - F::new(2.0) / (z + F::new(1.0))
        }
        Node::Powf(a, p) => {
            let x = *vals.index(a as usize);
            exp::<F>(c[p as usize] * ln::<F>(x, c, precise, e), c, precise, e)
        }
        Node::Powi(a, k) => {
            let x = *vals.index(a as usize);
            let mut y = F::new(1.0);
            #[unroll]
            for _ in 0..comptime![k.unsigned_abs()] {
                y *= x;
            }
            if comptime![k < 0] { F::new(1.0) / y } else { y }
        }
        Node::SelectLt(a, b, t, f) => select(
            *vals.index(a as usize) < *vals.index(b as usize),
            *vals.index(t as usize),
            *vals.index(f as usize),
        ),
        Node::SelectEq(a, b, t, f) => select(
            *vals.index(a as usize) == *vals.index(b as usize),
            *vals.index(t as usize),
            *vals.index(f as usize),
        ),
        Node::Spike(a) => select(
            *vals.index(a as usize) >= F::new(0.0),
            F::new(1.0),
            F::new(0.0),
        ),
    }
}

/// Every node of `g` on inputs `ins`.
#[cube]
fn eval<F: Float>(
    ins: &Sequence<F>,
    c: &Array<F>,
    #[comptime] g: KGraph,
    #[comptime] precise: bool,
    #[comptime] e: u32,
) -> Sequence<F> {
    let mut vals = Sequence::<F>::new();
    #[unroll]
    for k in 0..comptime![g.nodes.len()] {
        let x = node::<F>(&vals, ins, c, comptime![g.nodes[k]], precise, e);
        vals.push(x);
    }
    vals
}

/// Pushes row `r` of `count` columns of `buf`, `rows` apart from column
/// `first`: a mechanism's parameters or states.
#[cube]
#[allow(clippy::too_many_arguments)]
fn push_rows<F: Float>(
    ins: &mut Sequence<F>,
    buf: &Array<F>,
    m: usize,
    t: usize,
    r: usize,
    #[comptime] first: u32,
    #[comptime] count: u32,
    #[comptime] rows: u32,
) {
    #[unroll]
    for q in 0..comptime![count as usize] {
        ins.push(buf[at(comptime![first as usize + q * rows as usize] + r, m, t)]);
    }
}

/// Writes graph outputs `outs` (of the graph's values `vals`) to row `r`
/// of consecutive state columns, `rows` apart from column `first`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn store_rows<F: Float>(
    st: &mut Array<F>,
    vals: &Sequence<F>,
    m: usize,
    t: usize,
    r: usize,
    #[comptime] outs: Vec<u32>,
    #[comptime] first: u32,
    #[comptime] rows: u32,
) {
    #[unroll]
    for q in 0..comptime![outs.len()] {
        st[at(comptime![first as usize + q * rows as usize] + r, m, t)] =
            *vals.index(comptime![outs[q] as usize]);
    }
}

/// Evaluates graph `g` on `ins` and writes its outputs `outs` to row `r`
/// of the state columns from `first` (`rows` apart); returns the graph's
/// values.
#[cube]
#[allow(clippy::too_many_arguments)]
fn eval_store<F: Float>(
    bufs: &mut Bufs<F>,
    ins: &Sequence<F>,
    m: usize,
    t: usize,
    r: usize,
    #[comptime] g: KGraph,
    #[comptime] outs: Vec<u32>,
    #[comptime] first: u32,
    #[comptime] rows: u32,
    #[comptime] precise: bool,
    #[comptime] e: u32,
) -> Sequence<F> {
    let vals = eval::<F>(ins, &bufs.consts, g, precise, e);
    store_rows::<F>(&mut bufs.st, &vals, m, t, r, outs, first, rows);
    vals
}

/// Keeps row `r`'s current density `i` of channel `mp` for recording and
/// adds it to its ion's sum where the ion's current is read.
#[cube]
fn record_current<F: Float>(
    bufs: &mut Bufs<F>,
    m: usize,
    t: usize,
    r: usize,
    i: F,
    #[comptime] mp: MechPlan,
) {
    bufs.work[at(comptime![mp.cur as usize] + r, m, t)] = i;
    if comptime![mp.carries.is_some()] {
        let (col, rows_at) = comptime![mp.carries.unwrap()];
        let sr = bufs.idx[comptime![rows_at as usize] + r] as usize;
        bufs.work[at(comptime![col as usize] + sr, m, t)] += i;
    }
}

/// Advances the states of row `r` of mechanism `mp` by its `advance`
/// graph at the row's voltage; returns the row's node.
#[cube]
fn advance_row<F: Float>(
    bufs: &mut Bufs<F>,
    m: usize,
    t: usize,
    r: usize,
    #[comptime] mp: MechPlan,
    #[comptime] precise: bool,
    #[comptime] e: u32,
) -> usize {
    let node = bufs.idx[comptime![mp.nodes as usize] + r] as usize;
    let vv = bufs.v[at(node, m, t)];
    let ins = channel_inputs::<F>(bufs, m, t, r, vv, mp.clone(), false);
    eval_store::<F>(
        bufs,
        &ins,
        m,
        t,
        r,
        comptime![mp.advance.clone()],
        comptime![mp.advance.outputs.clone()],
        comptime![mp.st],
        mp.rows,
        precise,
        e,
    );
    node
}

/// A channel graph's inputs at row `r`: v, the parameters, the states, the
/// ion inputs (`zero_inputs` for a pool's initialisation).
#[cube]
fn channel_inputs<F: Float>(
    bufs: &Bufs<F>,
    m: usize,
    t: usize,
    r: usize,
    vv: F,
    #[comptime] mp: MechPlan,
    #[comptime] zero_inputs: bool,
) -> Sequence<F> {
    let mut ins = Sequence::<F>::new();
    ins.push(vv);
    push_rows::<F>(&mut ins, &bufs.par, m, t, r, mp.par, mp.np, mp.rows);
    push_rows::<F>(&mut ins, &bufs.st, m, t, r, mp.st, mp.ns, mp.rows);
    #[unroll]
    for j in 0..comptime![mp.inputs.len()] {
        let ip = comptime![mp.inputs[j]];
        if comptime![zero_inputs] {
            ins.push(F::new(0.0));
        } else {
            let sr = bufs.idx[comptime![ip.rows as usize] + r] as usize;
            ins.push(bufs.work[at(comptime![ip.col as usize] + sr, m, t)]);
        }
    }
    ins
}

/// A synapse graph's inputs at row `r` in step `n` (`first` for the
/// initialisation): v_pre, v_post, arriving spikes, parameters, states.
#[cube]
fn synapse_inputs<F: Float>(
    bufs: &Bufs<F>,
    m: usize,
    t: usize,
    r: usize,
    n: usize,
    #[comptime] sp: SynPlan,
    #[comptime] plan: Plan,
    #[comptime] first: bool,
) -> Sequence<F> {
    let mut ins = Sequence::<F>::new();
    let pre = bufs.idx[comptime![sp.pre as usize] + r] as usize;
    let post = bufs.idx[comptime![sp.post as usize] + r] as usize;
    ins.push(bufs.v[at(pre, m, t)]);
    ins.push(bufs.v[at(post, m, t)]);
    let mut ev = F::new(0.0);
    if comptime![sp.spikes.is_some() && !first] {
        let (src_at, delay_at) = comptime![sp.spikes.unwrap()];
        let src = bufs.idx[comptime![src_at as usize] + r] as usize;
        let d = bufs.idx[comptime![delay_at as usize] + r] as usize;
        if n > d {
            let ring = comptime![plan.ring as usize];
            let sources = comptime![plan.sources.2 as usize];
            let pos = (n - 1 - d) % ring;
            ev = bufs.work[at(
                comptime![plan.work.ring as usize] + pos * sources + src,
                m,
                t,
            )];
        }
    }
    ins.push(ev);
    push_rows::<F>(&mut ins, &bufs.par, m, t, r, sp.par, sp.np, sp.rows);
    push_rows::<F>(&mut ins, &bufs.st, m, t, r, sp.st, sp.ns, sp.rows);
    ins
}

/// Reversal potentials and inside concentrations of every ion: Nernst from
/// the pools' states, the sites' parameters elsewhere.
#[cube]
fn ion_values<F: Float>(
    bufs: &mut Bufs<F>,
    m: usize,
    t: usize,
    lane: usize,
    #[comptime] lanes: u32,
    #[comptime] plan: Plan,
) {
    #[unroll]
    for i in 0..comptime![plan.ions.len()] {
        let ip = comptime![plan.ions[i].clone()];
        let rows = comptime![ip.rows as usize];
        let k = bufs.consts[comptime![ip.nernst as usize]];
        for r in range_stepped(lane, rows, comptime![lanes as usize]) {
            let slot = bufs.idx[comptime![ip.pools as usize] + r];
            let par = comptime![ip.par as usize];
            if slot == u32::MAX {
                bufs.work[at(comptime![ip.e as usize] + r, m, t)] = bufs.par[at(par + r, m, t)];
                bufs.work[at(comptime![ip.ci as usize] + r, m, t)] =
                    bufs.par[at(par + rows + r, m, t)];
            } else {
                let ci = bufs.st[at(slot as usize, m, t)];
                let co = bufs.par[at(par + 2 * rows + r, m, t)];
                bufs.work[at(comptime![ip.ci as usize] + r, m, t)] = ci;
                let e = k * ln::<F>(
                    co / ci,
                    &bufs.consts,
                    comptime![plan.precise],
                    comptime![plan.k.exp],
                );
                // NEURON: +1e6 mV where ci <= 0.
                bufs.work[at(comptime![ip.e as usize] + r, m, t)] =
                    select(ci <= F::new(0.0), F::new(1000000.0), e);
            }
        }
    }
}

/// Writes every probe of sample `s`.
#[cube]
fn record<F: Float>(bufs: &mut Bufs<F>, m: usize, t: usize, s: usize, #[comptime] plan: Plan) {
    let probes = comptime![plan.probes.len()];
    #[unroll]
    for k in 0..probes {
        let x = match comptime![plan.probes[k]] {
            ProbePlan::Voltage(node) => bufs.v[at(node as usize, m, t)],
            ProbePlan::State(col) => bufs.st[at(col as usize, m, t)],
            ProbePlan::Param(col) => bufs.par[at(col as usize, m, t)],
            ProbePlan::Work(col) => bufs.work[at(col as usize, m, t)],
        };
        bufs.out[at(s * probes + k, m, t)] = x;
    }
}

/// Replaces explicitly set initial states (non-NaN in `st0`). `x == x` is
/// the NaN test: `is_nan` has no `!` for a generic `F` in CubeCL 0.10.
#[allow(clippy::eq_op)]
#[cube]
fn explicit<F: Float>(
    bufs: &mut Bufs<F>,
    m: usize,
    t: usize,
    #[comptime] first: u32,
    #[comptime] count: u32,
) {
    for c in comptime![first as usize]..comptime![(first + count) as usize] {
        let given = bufs.st0[at(c, m, t)];
        if given == given {
            bufs.st[at(c, m, t)] = given;
        }
    }
}

/// Every channel's current at its states: into its work columns, and the
/// carried ions' summed currents.
#[cube]
fn currents_for_record<F: Float>(bufs: &mut Bufs<F>, m: usize, t: usize, #[comptime] plan: Plan) {
    #[unroll]
    for i in 0..comptime![plan.ions.len()] {
        let ip = comptime![plan.ions[i].clone()];
        for r in 0..comptime![ip.rows as usize] {
            bufs.work[at(comptime![ip.ii as usize] + r, m, t)] = F::new(0.0);
        }
    }
    #[unroll]
    for mi in 0..comptime![plan.mechs.len()] {
        let mp = comptime![plan.mechs[mi].clone()];
        if comptime![mp.kind.is_channel()] {
            for r in 0..comptime![mp.rows as usize] {
                let node = bufs.idx[comptime![mp.nodes as usize] + r] as usize;
                let vv = bufs.v[at(node, m, t)];
                let ins = channel_inputs::<F>(bufs, m, t, r, vv, mp.clone(), false);
                let vals = eval::<F>(
                    &ins,
                    &bufs.consts,
                    comptime![mp.current.clone()],
                    comptime![plan.precise],
                    comptime![plan.k.exp],
                );
                let i = *vals.index(comptime![mp.current.outputs[0] as usize]);
                record_current::<F>(bufs, m, t, r, i, mp.clone());
            }
        }
    }
}

/// The initial state: pools at the ions' inside concentrations, states at
/// their steady state unless set, recordings of sample 0.
#[cube(launch)]
pub fn init_kernel<F: Float>(bufs: &mut Bufs<F>, members: u32, #[comptime] plan: Plan) {
    let t = ABSOLUTE_POS;
    let m = members as usize;
    if t >= m {
        terminate!();
    }
    let precise = comptime![plan.precise];
    let e = comptime![plan.k.exp];
    // Pools: state 0 at the ion's inside concentration, the rest from
    // their graph without ion inputs.
    #[unroll]
    for i in 0..comptime![plan.ions.len()] {
        let ip = comptime![plan.ions[i].clone()];
        let rows = comptime![ip.rows as usize];
        for r in 0..rows {
            let slot = bufs.idx[comptime![ip.pools as usize] + r];
            if slot != u32::MAX {
                bufs.st[at(slot as usize, m, t)] =
                    bufs.par[at(comptime![ip.par as usize] + rows + r, m, t)];
            }
        }
    }
    #[unroll]
    for mi in 0..comptime![plan.mechs.len()] {
        let mp = comptime![plan.mechs[mi].clone()];
        if comptime![mp.kind == Kind::Pool] {
            for r in 0..comptime![mp.rows as usize] {
                let node = bufs.idx[comptime![mp.nodes as usize] + r] as usize;
                let vv = bufs.v[at(node, m, t)];
                let ins = channel_inputs::<F>(bufs, m, t, r, vv, mp.clone(), true);
                eval_store::<F>(
                    bufs,
                    &ins,
                    m,
                    t,
                    r,
                    comptime![mp.init.clone()],
                    comptime![mp.init.outputs[1..mp.ns as usize].to_vec()],
                    comptime![mp.st + mp.rows],
                    mp.rows,
                    precise,
                    e,
                );
            }
            explicit::<F>(bufs, m, t, mp.st, comptime![mp.ns * mp.rows]);
        }
    }
    ion_values::<F>(bufs, m, t, 0usize, 1u32, plan.clone());
    #[unroll]
    for mi in 0..comptime![plan.mechs.len()] {
        let mp = comptime![plan.mechs[mi].clone()];
        if comptime![mp.kind.is_channel() && mp.ns > 0] {
            for r in 0..comptime![mp.rows as usize] {
                let node = bufs.idx[comptime![mp.nodes as usize] + r] as usize;
                let vv = bufs.v[at(node, m, t)];
                let ins = channel_inputs::<F>(bufs, m, t, r, vv, mp.clone(), false);
                eval_store::<F>(
                    bufs,
                    &ins,
                    m,
                    t,
                    r,
                    comptime![mp.init.clone()],
                    comptime![mp.init.outputs.clone()],
                    comptime![mp.st],
                    mp.rows,
                    precise,
                    e,
                );
            }
            explicit::<F>(bufs, m, t, mp.st, comptime![mp.ns * mp.rows]);
        }
    }
    #[unroll]
    for g in 0..comptime![plan.syns.len()] {
        let sp = comptime![plan.syns[g].clone()];
        if comptime![sp.ns > 0] {
            for r in 0..comptime![sp.rows as usize] {
                let ins = synapse_inputs::<F>(bufs, m, t, r, 0, sp.clone(), plan.clone(), true);
                eval_store::<F>(
                    bufs,
                    &ins,
                    m,
                    t,
                    r,
                    comptime![sp.init.clone()],
                    comptime![sp.init.outputs.clone()],
                    comptime![sp.st],
                    sp.rows,
                    precise,
                    e,
                );
            }
            explicit::<F>(bufs, m, t, sp.st, comptime![sp.ns * sp.rows]);
        }
    }
    currents_for_record::<F>(bufs, m, t, plan.clone());
    record::<F>(bufs, m, t, 0, plan.clone());
    bufs.flags[at(0, m, t)] = F::new(0.0);
    bufs.flags[at(1, m, t)] = F::new(0.0);
}

/// Steps `first..first + count`, recording after each. With `lanes == 1`
/// one thread runs one member; otherwise a cube of `lanes` threads runs one
/// member, the rows and nodes of each phase split across its threads and
/// the sequential parts (synapses, stimuli, clamps, the tree solve) on its
/// first.
#[cube(launch)]
pub fn step_kernel<F: Float>(
    bufs: &mut Bufs<F>,
    members: u32,
    first: u32,
    count: u32,
    steps: u32,
    #[comptime] lanes: u32,
    #[comptime] plan: Plan,
) {
    let t = if comptime![lanes > 1] {
        CUBE_POS
    } else {
        ABSOLUTE_POS
    };
    let mut lane = 0usize;
    if comptime![lanes > 1] {
        lane = UNIT_POS as usize;
    }
    let m = members as usize;
    if t >= m {
        terminate!();
    }
    for step_k in 0..count as usize {
        let n = first as usize + step_k;
        step::<F>(bufs, m, t, n, steps as usize, lane, lanes, plan.clone());
        if lane == 0 {
            record::<F>(bufs, m, t, n + 1, plan.clone());
        }
        sync(lanes);
    }
}

/// A barrier across the cube's threads when a cube runs one member.
#[cube]
fn sync(#[comptime] lanes: u32) {
    if comptime![lanes > 1] {
        sync_cube();
    }
}

/// One step n. (A clamp's command is NaN where it is off; `x == x` is the
/// NaN test.)
#[allow(clippy::eq_op)]
#[cube]
#[allow(clippy::too_many_arguments)]
fn step<F: Float>(
    bufs: &mut Bufs<F>,
    m: usize,
    t: usize,
    n: usize,
    steps: usize,
    lane: usize,
    #[comptime] lanes: u32,
    #[comptime] plan: Plan,
) {
    let stride = comptime![lanes as usize];
    let precise = comptime![plan.precise];
    let e = comptime![plan.k.exp];
    let nodes = comptime![plan.nodes as usize];
    let w = comptime![plan.work];
    // Voltage-setting mechanisms act first.
    #[unroll]
    for mi in 0..comptime![plan.mechs.len()] {
        let mp = comptime![plan.mechs[mi].clone()];
        if comptime![mp.kind == Kind::Voltage] {
            let g = comptime![mp.set_voltage.clone().unwrap()];
            for r in range_stepped(lane, comptime![mp.rows as usize], stride) {
                let node = bufs.idx[comptime![mp.nodes as usize] + r] as usize;
                let vv = bufs.v[at(node, m, t)];
                let ins = channel_inputs::<F>(bufs, m, t, r, vv, mp.clone(), false);
                let vals = eval_store::<F>(
                    bufs,
                    &ins,
                    m,
                    t,
                    r,
                    g.clone(),
                    comptime![g.outputs[1..].to_vec()],
                    comptime![mp.st],
                    mp.rows,
                    precise,
                    e,
                );
                bufs.v[at(node, m, t)] = *vals.index(comptime![g.outputs[0] as usize]);
            }
        }
    }
    sync(lanes);
    for i in range_stepped(lane, nodes, stride) {
        bufs.work[at(w.i as usize + i, m, t)] = F::new(0.0);
        bufs.work[at(w.g as usize + i, m, t)] = F::new(0.0);
    }
    ion_values::<F>(bufs, m, t, lane, lanes, plan.clone());
    #[unroll]
    for i in 0..comptime![plan.ions.len()] {
        let ip = comptime![plan.ions[i].clone()];
        for r in range_stepped(lane, comptime![ip.rows as usize], stride) {
            bufs.work[at(comptime![ip.ii as usize] + r, m, t)] = F::new(0.0);
        }
    }
    sync(lanes);
    // Channels: states, then current and slope at the new states.
    #[unroll]
    for mi in 0..comptime![plan.mechs.len()] {
        let mp = comptime![plan.mechs[mi].clone()];
        if comptime![mp.kind.is_channel()] {
            // Rows of one mechanism sit on distinct nodes and ion rows; the
            // mechanisms after one another add into the same ones.
            for r in range_stepped(lane, comptime![mp.rows as usize], stride) {
                let node = advance_row::<F>(bufs, m, t, r, mp.clone(), precise, e);
                let vv = bufs.v[at(node, m, t)];
                let ins = channel_inputs::<F>(bufs, m, t, r, vv, mp.clone(), false);
                let vals = eval::<F>(
                    &ins,
                    &bufs.consts,
                    comptime![mp.current.clone()],
                    precise,
                    e,
                );
                let i = *vals.index(comptime![mp.current.outputs[0] as usize]);
                let g = *vals.index(comptime![mp.current.outputs[1] as usize]);
                let a = bufs.geo[at(3 * nodes + node, m, t)];
                bufs.work[at(w.i as usize + node, m, t)] += i * a;
                bufs.work[at(w.g as usize + node, m, t)] += g * a;
                record_current::<F>(bufs, m, t, r, i, mp.clone());
            }
            sync(lanes);
        }
    }
    // Synapses (several may end on one node: sequential).
    if lane == 0 {
        #[unroll]
        for gi in 0..comptime![plan.syns.len()] {
            let sp = comptime![plan.syns[gi].clone()];
            for r in 0..comptime![sp.rows as usize] {
                let ins = synapse_inputs::<F>(bufs, m, t, r, n, sp.clone(), plan.clone(), false);
                eval_store::<F>(
                    bufs,
                    &ins,
                    m,
                    t,
                    r,
                    comptime![sp.advance.clone()],
                    comptime![sp.advance.outputs.clone()],
                    comptime![sp.st],
                    sp.rows,
                    precise,
                    e,
                );
                let ins = synapse_inputs::<F>(bufs, m, t, r, n, sp.clone(), plan.clone(), false);
                let vals = eval::<F>(
                    &ins,
                    &bufs.consts,
                    comptime![sp.current.clone()],
                    precise,
                    e,
                );
                let post = bufs.idx[comptime![sp.post as usize] + r] as usize;
                bufs.work[at(w.i as usize + post, m, t)] +=
                    *vals.index(comptime![sp.current.outputs[0] as usize]);
                bufs.work[at(w.g as usize + post, m, t)] +=
                    *vals.index(comptime![sp.current.outputs[1] as usize]);
            }
        }
    }

    // Pools, with this step's ion currents.
    #[unroll]
    for mi in 0..comptime![plan.mechs.len()] {
        let mp = comptime![plan.mechs[mi].clone()];
        if comptime![mp.kind == Kind::Pool] {
            for r in range_stepped(lane, comptime![mp.rows as usize], stride) {
                advance_row::<F>(bufs, m, t, r, mp.clone(), precise, e);
            }
        }
    }
    // Stimuli (several may sit on one node: sequential).
    let (stim_at, stims) = comptime![plan.stims];
    if lane == 0 {
        for k in 0..comptime![stims as usize] {
            let node = bufs.idx[comptime![stim_at as usize] + k] as usize;
            let x = if comptime![plan.stim_per_member] {
                bufs.drive[at(k * steps + n, m, t)]
            } else {
                bufs.drive[k * steps + n]
            };
            bufs.work[at(w.i as usize + node, m, t)] -= x;
        }
    }
    // The voltage system.
    sync(lanes);
    let inv_h = bufs.consts[comptime![plan.k.inv_h as usize]];
    for i in range_stepped(lane, nodes, stride) {
        let c = bufs.geo[at(i, m, t)] * inv_h;
        let gn = bufs.work[at(w.g as usize + i, m, t)];
        bufs.work[at(w.d as usize + i, m, t)] = c + gn + bufs.geo[at(nodes + i, m, t)];
        bufs.work[at(w.b as usize + i, m, t)] =
            (c + gn) * bufs.v[at(i, m, t)] - bufs.work[at(w.i as usize + i, m, t)];
        bufs.work[at(w.gx as usize + i, m, t)] = bufs.geo[at(2 * nodes + i, m, t)];
    }
    sync(lanes);
    if comptime![lanes > 1 && plan.shared_solve] {
        // The cube's first thread solves in shared memory.
        let mut sh = SharedMemory::<F>::new(comptime![3 * nodes]);
        for i in range_stepped(lane, nodes, stride) {
            sh[i] = bufs.work[at(w.d as usize + i, m, t)];
            sh[nodes + i] = bufs.work[at(w.b as usize + i, m, t)];
            sh[2 * nodes + i] = bufs.work[at(w.gx as usize + i, m, t)];
        }
        sync_cube();
        if lane == 0 {
            let mut sys = sh.to_slice_mut();
            let cols = comptime![(0u32, plan.nodes, 2 * plan.nodes)];
            solve::<F>(&mut sys, 1, 0, cols, bufs, m, t, n, steps, plan.clone());
        }
        sync_cube();
        for i in range_stepped(lane, nodes, stride) {
            bufs.work[at(w.b as usize + i, m, t)] = sh[nodes + i];
        }
    } else if lane == 0 {
        let mut sys = bufs.work.to_slice_mut();
        let cols = comptime![(w.d, w.b, w.gx)];
        solve::<F>(&mut sys, m, t, cols, bufs, m, t, n, steps, plan.clone());
    }
    sync(lanes);
    update::<F>(bufs, m, t, n, lane, lanes, plan.clone());
}

/// Clamps, then the tree solve of the assembled system (one thread). Node
/// `i` of column `c` (`cols`: d, b, gx) is `sys[at(c + i, stride, base)]`:
/// the member's work columns, or a cube's shared memory.
#[allow(clippy::eq_op, clippy::too_many_arguments)]
#[cube]
fn solve<F: Float>(
    sys: &mut SliceMut<F>,
    stride: usize,
    base: usize,
    #[comptime] cols: (u32, u32, u32),
    bufs: &Bufs<F>,
    m: usize,
    t: usize,
    n: usize,
    steps: usize,
    #[comptime] plan: Plan,
) {
    let nodes = comptime![plan.nodes as usize];
    let (cd, cb, cg) = comptime![(cols.0 as usize, cols.1 as usize, cols.2 as usize)];
    #[unroll]
    for ci in 0..comptime![plan.clamps.len()] {
        let cp = comptime![plan.clamps[ci].clone()];
        let command = bufs.command[ci * steps + n];
        if command == command {
            let node = comptime![cp.node as usize];
            let target = if comptime![plan.cn] {
                F::new(0.5) * (command + bufs.v[at(node, m, t)])
            } else {
                command
            };
            sys[at(cd + node, stride, base)] = F::new(1.0);
            sys[at(cb + node, stride, base)] = target;
            if comptime![cp.parent != u32::MAX] {
                let p = comptime![cp.parent as usize];
                let gx = sys[at(cg + node, stride, base)];
                sys[at(cb + p, stride, base)] = sys[at(cb + p, stride, base)] + gx * target;
                sys[at(cg + node, stride, base)] = F::new(0.0);
            }
            #[unroll]
            for j in 0..comptime![cp.children.len()] {
                let ch = comptime![cp.children[j] as usize];
                let gx = sys[at(cg + ch, stride, base)];
                sys[at(cb + ch, stride, base)] = sys[at(cb + ch, stride, base)] + gx * target;
                sys[at(cg + ch, stride, base)] = F::new(0.0);
            }
        }
    }
    // Hines: elimination from the leaves, substitution from the roots.
    let parent_at = comptime![plan.parent as usize];
    for k in 0..nodes {
        let i = nodes - 1 - k;
        let inv = F::new(1.0) / sys[at(cd + i, stride, base)];
        sys[at(cd + i, stride, base)] = inv;
        let p = bufs.idx[parent_at + i];
        if p != u32::MAX {
            let p = p as usize;
            let g = sys[at(cg + i, stride, base)];
            let f = g * inv;
            sys[at(cd + p, stride, base)] = sys[at(cd + p, stride, base)] - f * g;
            let bi = sys[at(cb + i, stride, base)];
            sys[at(cb + p, stride, base)] = sys[at(cb + p, stride, base)] + f * bi;
        }
    }
    for i in 0..nodes {
        let p = bufs.idx[parent_at + i];
        let mut coupled = F::new(0.0);
        if p != u32::MAX {
            coupled = sys[at(cg + i, stride, base)] * sys[at(cb + p as usize, stride, base)];
        }
        sys[at(cb + i, stride, base)] =
            (sys[at(cb + i, stride, base)] + coupled) * sys[at(cd + i, stride, base)];
    }
}

/// The new voltages, the first unstable node, the spike ring.
#[cube]
fn update<F: Float>(
    bufs: &mut Bufs<F>,
    m: usize,
    t: usize,
    n: usize,
    lane: usize,
    #[comptime] lanes: u32,
    #[comptime] plan: Plan,
) {
    let stride = comptime![lanes as usize];
    let nodes = comptime![plan.nodes as usize];
    let w = comptime![plan.work];
    // Spike sources see the voltage before and after the update.
    let (src_at, thr_at, sources) = comptime![plan.sources];
    for k in range_stepped(lane, comptime![sources as usize], stride) {
        let node = bufs.idx[comptime![src_at as usize] + k] as usize;
        bufs.work[at(w.src_v as usize + k, m, t)] = bufs.v[at(node, m, t)];
    }
    sync(lanes);
    let limit = bufs.consts[comptime![plan.k.limit as usize]];
    let fresh = bufs.flags[at(0, m, t)] == F::new(0.0);
    for i in range_stepped(lane, nodes, stride) {
        let x = bufs.work[at(w.b as usize + i, m, t)];
        let vn = if comptime![plan.cn] {
            F::new(2.0) * x - bufs.v[at(i, m, t)]
        } else {
            x
        };
        bufs.v[at(i, m, t)] = vn;
        // NaN fails the comparison.
        let ok = F::abs(vn) <= limit;
        if !ok && fresh {
            if comptime![lanes > 1] {
                // Marked here; the first node is found below.
                bufs.flags[at(1, m, t)] = F::new(-1.0);
            } else if bufs.flags[at(0, m, t)] == F::new(0.0) {
                bufs.flags[at(0, m, t)] = F::cast_from(n + 1);
                bufs.flags[at(1, m, t)] = F::cast_from(i);
            }
        }
    }
    if comptime![lanes > 1] {
        sync_cube();
        if lane == 0 && fresh && bufs.flags[at(1, m, t)] == F::new(-1.0) {
            for i in 0..nodes {
                let ok = F::abs(bufs.v[at(i, m, t)]) <= limit;
                if !ok {
                    bufs.flags[at(0, m, t)] = F::cast_from(n + 1);
                    bufs.flags[at(1, m, t)] = F::cast_from(i);
                    break;
                }
            }
        }
    }
    let ring = comptime![plan.ring as usize];
    let pos = n % ring;
    for k in range_stepped(lane, comptime![sources as usize], stride) {
        let node = bufs.idx[comptime![src_at as usize] + k] as usize;
        let th = bufs.consts[comptime![thr_at as usize] + k];
        let before = bufs.work[at(w.src_v as usize + k, m, t)];
        let after = bufs.v[at(node, m, t)];
        let spiked = before < th && after >= th;
        bufs.work[at(
            w.ring as usize + pos * comptime![sources as usize] + k,
            m,
            t,
        )] = select(spiked, F::new(1.0), F::new(0.0));
    }
}
