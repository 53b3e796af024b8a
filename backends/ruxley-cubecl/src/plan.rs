//! A layout lowered for the kernels: the compile-time description
//! ([`Plan`]: sizes, offsets, the mechanisms' graphs) and the run-time
//! buffers every member shares (indices, constants, drives).
//!
//! Every per-member buffer is a list of columns of `members` values
//! (member fastest), as the CPU backend's blocks: column c of member t is
//! entry `c * members + t`, so a warp's threads read adjacent values.

use ruxley_backend::lower::{clamp_drives, delay_steps, stimulus_drives};
use ruxley_backend::{Scheme, SimError};
use ruxley_cell::{Layout, MechKind, NONE, Parameters, Source, Stimulus};
use ruxley_channels::IonVar;
use ruxley_channels::ion::nernst_factor;
use ruxley_core::TimeGrid;
use ruxley_core::simd::{EXP_POLY, LN2_HI, LN2_LO};
use ruxley_ir::{Graph, Op};

/// One node of a kernel graph: an [`Op`] whose constants are indices into
/// the constant buffer (f64 constants cannot be written into kernels).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Node {
    Const(u32),
    Input(u32),
    Add(u32, u32),
    Sub(u32, u32),
    Mul(u32, u32),
    Div(u32, u32),
    Neg(u32),
    Abs(u32),
    Exp(u32),
    Ln(u32),
    Sqrt(u32),
    Tanh(u32),
    /// x^p, p a constant index.
    Powf(u32, u32),
    Powi(u32, i32),
    SelectLt(u32, u32, u32, u32),
    SelectEq(u32, u32, u32, u32),
    Spike(u32),
}

/// A graph for a kernel.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct KGraph {
    /// The nodes, operands before users.
    pub nodes: Vec<Node>,
    /// The output nodes.
    pub outputs: Vec<u32>,
}

/// What a mechanism is in the step.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Kind {
    /// A membrane mechanism: its states advance, it carries a current.
    Channel,
    /// An ion pool: advances after the currents, carries none.
    Pool,
    /// An ion's site: no math of its own.
    Site,
    /// A channel that also sets the voltage at the start of each step.
    Voltage,
}

impl Kind {
    /// Whether its states advance with the channels' and it carries a
    /// membrane current.
    pub fn is_channel(self) -> bool {
        matches!(self, Kind::Channel | Kind::Voltage)
    }
}

/// Where an ion input of a mechanism comes from: the ion's reversal
/// potential, inside concentration or summed current (work columns), at
/// the site rows listed at `rows` in the index buffer.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct InputPlan {
    /// The first work column of the quantity (one per site row).
    pub col: u32,
    /// The index offset of the site row of each mechanism row.
    pub rows: u32,
}

/// A mechanism.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct MechPlan {
    /// Its role.
    pub kind: Kind,
    /// Rows.
    pub rows: u32,
    /// Index offset of the node of each row.
    pub nodes: u32,
    /// First parameter column (`[param][row]`).
    pub par: u32,
    /// The number of parameters.
    pub np: u32,
    /// First state column (`[state][row]`).
    pub st: u32,
    /// The number of states.
    pub ns: u32,
    /// Its ion inputs.
    pub inputs: Vec<InputPlan>,
    /// For a current an ion carries: the first work column of the ion's
    /// summed current and the index offset of each row's site row.
    pub carries: Option<(u32, u32)>,
    /// First work column of its current per row (for recordings).
    pub cur: u32,
    /// Its graphs (see `ChannelIr`).
    pub init: KGraph,
    /// See `ChannelIr::advance`.
    pub advance: KGraph,
    /// See `ChannelIr::current`.
    pub current: KGraph,
    /// See `ChannelIr::set_voltage`.
    pub set_voltage: Option<KGraph>,
}

/// A synapse group.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct SynPlan {
    /// Rows.
    pub rows: u32,
    /// Index offsets of the pre- and postsynaptic nodes.
    pub pre: u32,
    /// See `pre`.
    pub post: u32,
    /// For spike-driven groups: index offsets of each row's spike source
    /// and delay (steps).
    pub spikes: Option<(u32, u32)>,
    /// First parameter column (`[param][row]`).
    pub par: u32,
    /// The number of parameters.
    pub np: u32,
    /// First state column (`[state][row]`).
    pub st: u32,
    /// The number of states.
    pub ns: u32,
    /// Its graphs (see `SynapseIr`).
    pub init: KGraph,
    /// See `SynapseIr::advance`.
    pub advance: KGraph,
    /// See `SynapseIr::current`.
    pub current: KGraph,
}

/// An ion.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct IonPlan {
    /// Site rows.
    pub rows: u32,
    /// The site mechanism's first parameter column (e, ci, co).
    pub par: u32,
    /// Index offset of each site row's pool state column (`NONE` where the
    /// concentration is fixed).
    pub pools: u32,
    /// First work columns of e, ci and the summed current.
    pub e: u32,
    /// See `e`.
    pub ci: u32,
    /// See `e`.
    pub ii: u32,
    /// The constant index of the Nernst factor RT/zF.
    pub nernst: u32,
}

/// What a recording reads: a column of the voltages, states, parameters
/// or work buffer.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ProbePlan {
    /// The voltage of a node.
    Voltage(u32),
    /// A state column.
    State(u32),
    /// A parameter column.
    Param(u32),
    /// A work column (a current, an ion quantity).
    Work(u32),
}

/// A voltage clamp.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct ClampPlan {
    /// The node.
    pub node: u32,
    /// Its parent (`NONE` for a root) and children.
    pub parent: u32,
    /// The nodes whose parent it is.
    pub children: Vec<u32>,
}

/// The compile-time description of a run: everything the kernels are
/// specialised to (a kernel is compiled once per distinct plan).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Plan {
    /// Nodes.
    pub nodes: u32,
    /// Crank-Nicolson (else backward Euler).
    pub cn: bool,
    /// Use exp/ln built from arithmetic (f64 where the runtime's are
    /// missing or inexact: Vulkan).
    pub precise: bool,
    /// A cube per member solves the tree in shared memory (the system of
    /// three values per node fits the device's shared memory).
    pub shared_solve: bool,
    /// The mechanisms.
    pub mechs: Vec<MechPlan>,
    /// The synapse groups.
    pub syns: Vec<SynPlan>,
    /// The ions.
    pub ions: Vec<IonPlan>,
    /// Spike sources: index offset of their nodes, constant index of their
    /// thresholds, and their count.
    pub sources: (u32, u32, u32),
    /// The length of the spike ring (steps).
    pub ring: u32,
    /// The stimuli: index offset of their nodes, and their count.
    pub stims: (u32, u32),
    /// Whether each member has its own stimulus currents.
    pub stim_per_member: bool,
    /// The clamps.
    pub clamps: Vec<ClampPlan>,
    /// The recordings.
    pub probes: Vec<ProbePlan>,
    /// Index offset of the parents (`NONE` for roots).
    pub parent: u32,
    /// Work columns: d, b, current and conductance per node, the coupling
    /// per node the solve uses, the spike sources' voltages before the
    /// solve, the spike ring (`[slot][source]`).
    pub work: WorkPlan,
    /// Where constants sit in the constant buffer.
    pub k: ConstPlan,
}

impl Plan {
    /// An upper bound on the loop iterations of one step (the kernels'
    /// loops over nodes, rows, stimuli and spike sources).
    pub fn loop_iterations_per_step(&self) -> usize {
        let mech_rows: u32 = self.mechs.iter().map(|m| 2 * m.rows).sum();
        let syn_rows: u32 = self.syns.iter().map(|g| 2 * g.rows).sum();
        let ion_rows: u32 = self.ions.iter().map(|i| 2 * i.rows).sum();
        (6 * self.nodes + mech_rows + syn_rows + ion_rows + self.stims.1 + 2 * self.sources.2 + 16)
            as usize
    }
}

/// The first work column of each per-node or per-source quantity.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct WorkPlan {
    /// The diagonal of the voltage system.
    pub d: u32,
    /// Its right-hand side.
    pub b: u32,
    /// The summed membrane current.
    pub i: u32,
    /// The summed membrane conductance (slope).
    pub g: u32,
    /// The coupling to the parent the solve eliminates with.
    pub gx: u32,
    /// The spike sources' voltages before the solve.
    pub src_v: u32,
    /// The spike ring, `[slot][source]`.
    pub ring: u32,
    /// The number of work columns.
    pub columns: u32,
}

/// Where constants sit in the constant buffer.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct ConstPlan {
    /// 1/h, h the implicit part of the step (dt, or dt/2 for
    /// Crank-Nicolson).
    pub inv_h: u32,
    /// The voltage magnitude beyond which a run is unstable.
    pub limit: u32,
    /// The first of the exponential's constants (see [`exp_consts`]).
    pub exp: u32,
}

/// Offsets within the exponential's constants.
pub mod exp_consts {
    /// log2(e).
    pub const LOG2E: u32 = 0;
    /// ln 2, high part.
    pub const LN2_HI: u32 = 1;
    /// ln 2, low part.
    pub const LN2_LO: u32 = 2;
    /// -708.
    pub const LO: u32 = 3;
    /// 709.
    pub const HI: u32 = 4;
    /// The polynomial, highest degree first.
    pub const POLY: u32 = 5;
    /// 2^(2^b).
    pub const UP: u32 = 17;
    /// 2^-(2^b).
    pub const DOWN: u32 = 27;
    /// 2^b.
    pub const BITS: u32 = 37;
    /// The count.
    pub const LEN: u32 = 47;
}

/// The buffers of a plan that every member shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The index buffer.
    pub idx: Vec<u32>,
    /// The constants (f64; converted to the run's precision).
    pub consts: Vec<f64>,
    /// Stimulus currents: `[stimulus][step]`, or `[stimulus][step][member]`.
    pub drive: Vec<f64>,
    /// Clamp commands `[clamp][step]` (NaN where off).
    pub command: Vec<f64>,
    /// The number of state columns per member.
    pub st_cols: u32,
    /// The number of parameter columns per member.
    pub par_cols: u32,
}

/// Collects constants and indices while a plan is built.
struct Builder {
    idx: Vec<u32>,
    consts: Vec<f64>,
}

impl Builder {
    fn indices(&mut self, x: impl IntoIterator<Item = u32>) -> u32 {
        let at = self.idx.len() as u32;
        self.idx.extend(x);
        at
    }

    fn constant(&mut self, x: f64) -> u32 {
        match self.consts.iter().position(|c| c.to_bits() == x.to_bits()) {
            Some(k) => k as u32,
            None => {
                self.consts.push(x);
                self.consts.len() as u32 - 1
            }
        }
    }

    fn graph(&mut self, g: &Graph) -> KGraph {
        let nodes = g
            .ops()
            .iter()
            .map(|op| match *op {
                Op::Const(bits) => Node::Const(self.constant(f64::from_bits(bits))),
                Op::Input(k) => Node::Input(k),
                Op::Add(a, b) => Node::Add(a, b),
                Op::Sub(a, b) => Node::Sub(a, b),
                Op::Mul(a, b) => Node::Mul(a, b),
                Op::Div(a, b) => Node::Div(a, b),
                Op::Neg(a) => Node::Neg(a),
                Op::Abs(a) => Node::Abs(a),
                Op::Exp(a) => Node::Exp(a),
                Op::Ln(a) => Node::Ln(a),
                Op::Sqrt(a) => Node::Sqrt(a),
                Op::Tanh(a) => Node::Tanh(a),
                Op::Powf(a, p) => Node::Powf(a, self.constant(f64::from_bits(p))),
                Op::Powi(a, n) => Node::Powi(a, n),
                Op::SelectLt(a, b, t, e) => Node::SelectLt(a, b, t, e),
                Op::SelectEq(a, b, t, e) => Node::SelectEq(a, b, t, e),
                Op::Spike(a, _) => Node::Spike(a),
            })
            .collect();
        KGraph {
            nodes,
            outputs: g.outputs().to_vec(),
        }
    }
}

/// The constants of the exponential built from arithmetic.
fn exp_constants() -> Vec<f64> {
    let mut c = vec![std::f64::consts::LOG2_E, LN2_HI, LN2_LO, -708.0, 709.0];
    c.extend(EXP_POLY);
    c.extend((0..10).map(|b| 2f64.powi(1 << b)));
    c.extend((0..10).map(|b| 2f64.powi(-(1 << b))));
    c.extend((0..10).map(|b| (1u32 << b) as f64));
    debug_assert_eq!(c.len() as u32, exp_consts::LEN);
    c
}

/// Lowers `layout` for runs of `members` (each a parameter set and its
/// stimuli) on `grid`; `precise` selects the arithmetic exponential.
pub fn plan(
    layout: &Layout,
    members: &[(&Parameters, &[Stimulus])],
    grid: &TimeGrid,
    scheme: Scheme,
    precise: bool,
    shared_solve: bool,
) -> Result<(Plan, Shared), SimError> {
    let (dt, celsius) = (grid.dt(), layout.celsius());
    let mut b = Builder {
        idx: Vec::new(),
        consts: Vec::new(),
    };
    let exp = b.consts.len() as u32;
    b.consts.extend(exp_constants());
    let h = match scheme {
        Scheme::BackwardEuler => dt,
        Scheme::CrankNicolson => 0.5 * dt,
    };
    let k = ConstPlan {
        inv_h: b.constant(1.0 / h),
        limit: b.constant(ruxley_backend::MAX_ABS_VOLTAGE),
        exp,
    };
    let n = layout.n_nodes() as u32;
    // Work columns: d, b, i, g, gx per node; then per mechanism its current
    // per row; per ion e, ci, ii per site row; then spike sources.
    let mut work_cols = 5 * n;
    let mut take = |count: u32| {
        let at = work_cols;
        work_cols += count;
        at
    };
    let ions: Vec<(u32, u32, u32)> = layout
        .ions()
        .iter()
        .map(|il| {
            let rows = layout.mechs()[il.site].rows() as u32;
            (take(rows), take(rows), take(rows))
        })
        .collect();
    let mut st_cols = 0u32;
    let mut par_cols = 0u32;
    let mut mech_st = Vec::new();
    let mut mechs = Vec::new();
    for ml in layout.mechs() {
        let rows = ml.rows() as u32;
        let ir = ml.channel.ir(dt, celsius);
        let kind = match ml.kind {
            MechKind::Pool { .. } => Kind::Pool,
            MechKind::Site { .. } => Kind::Site,
            MechKind::Channel if ml.channel.sets_voltage() => Kind::Voltage,
            MechKind::Channel => Kind::Channel,
        };
        let inputs = ml
            .inputs
            .iter()
            .map(|input| {
                let (e, ci, ii) = ions[input.ion];
                let col = match input.var {
                    IonVar::Reversal(_) => e,
                    IonVar::Inside(_) => ci,
                    IonVar::Current(_) => ii,
                };
                InputPlan {
                    col,
                    rows: b.indices(input.site_rows.iter().copied()),
                }
            })
            .collect();
        let carries = ml
            .carries
            .as_ref()
            .map(|(ion, rows)| (ions[*ion].2, b.indices(rows.iter().copied())));
        mech_st.push(st_cols);
        let m = MechPlan {
            kind,
            rows,
            nodes: b.indices(ml.nodes.iter().copied()),
            par: par_cols,
            np: ir.params as u32,
            st: st_cols,
            ns: ir.states as u32,
            inputs,
            carries,
            cur: take(rows),
            init: b.graph(&ir.init),
            advance: b.graph(&ir.advance),
            current: b.graph(&ir.current),
            set_voltage: ir.set_voltage.as_ref().map(|g| b.graph(g)),
        };
        par_cols += m.np * rows;
        st_cols += m.ns * rows;
        mechs.push(m);
    }
    let delays = delay_steps(layout, dt);
    let mut syns = Vec::new();
    for (g, sl) in layout.synapses().iter().enumerate() {
        let rows = sl.rows() as u32;
        let ir = sl.synapse.ir(dt);
        let spikes = (!sl.sources.is_empty()).then(|| {
            (
                b.indices(sl.sources.iter().copied()),
                b.indices(delays[g].iter().copied()),
            )
        });
        let s = SynPlan {
            rows,
            pre: b.indices(sl.pre.iter().copied()),
            post: b.indices(sl.post.iter().copied()),
            spikes,
            par: par_cols,
            np: ir.params as u32,
            st: st_cols,
            ns: ir.states as u32,
            init: b.graph(&ir.init),
            advance: b.graph(&ir.advance),
            current: b.graph(&ir.current),
        };
        par_cols += s.np * rows;
        st_cols += s.ns * rows;
        syns.push(s);
    }
    let ion_plans = layout
        .ions()
        .iter()
        .zip(&ions)
        .map(|(il, &(e, ci, ii))| IonPlan {
            rows: il.pools.len() as u32,
            par: mechs[il.site].par,
            pools: b.indices(il.pools.iter().map(|&(pm, pr)| {
                if pm == NONE {
                    NONE
                } else {
                    mech_st[pm as usize] + pr
                }
            })),
            e,
            ci,
            ii,
            nernst: b.constant(nernst_factor(&il.ion, celsius)),
        })
        .collect();
    let sources = layout.spike_sources();
    let ring = 1 + delays.iter().flatten().copied().max().unwrap_or(0);
    let src_v = take(sources.len() as u32);
    let ring_col = take(ring * sources.len() as u32);
    let source_plan = (
        b.indices(sources.iter().map(|s| s.node)),
        {
            let first = b.consts.len() as u32;
            for s in sources {
                b.consts.push(s.threshold);
            }
            first
        },
        sources.len() as u32,
    );
    // Stimuli: shared when every member has the same set.
    let first = members[0].1;
    let shared = members
        .iter()
        .all(|m| std::ptr::eq(m.1, first) || m.1 == first);
    let drives = stimulus_drives(layout, first, grid)?;
    let steps = grid.n_steps();
    let mut drive = Vec::new();
    if shared {
        for d in &drives {
            drive.extend(d.current.iter().take(steps));
        }
    } else {
        let per: Vec<_> = members
            .iter()
            .map(|m| stimulus_drives(layout, m.1, grid))
            .collect::<Result<_, _>>()?;
        if per.iter().any(|p| {
            p.len() != drives.len() || p.iter().zip(&drives).any(|(a, b)| a.node != b.node)
        }) {
            return Err(SimError::Unsupported(
                "the GPU backend needs every member's stimuli at the same compartments".into(),
            ));
        }
        let m = members.len();
        drive = vec![0.0; drives.len() * steps * m];
        for (t, p) in per.iter().enumerate() {
            for (k, d) in p.iter().enumerate() {
                for (s, &x) in d.current.iter().take(steps).enumerate() {
                    drive[(k * steps + s) * m + t] = x;
                }
            }
        }
    }
    let stims = (
        b.indices(drives.iter().map(|d| d.node as u32)),
        drives.len() as u32,
    );
    let clamp_drives = clamp_drives(layout, grid)?;
    let command = clamp_drives
        .iter()
        .flat_map(|c| c.command.iter().take(steps).copied())
        .collect();
    let clamps = clamp_drives
        .iter()
        .map(|c| ClampPlan {
            node: c.node as u32,
            parent: layout.parent()[c.node],
            children: c.children.iter().map(|&j| j as u32).collect(),
        })
        .collect();
    let probes = layout
        .probes()
        .iter()
        .map(|p| match p.source {
            Source::Voltage { node } => ProbePlan::Voltage(node),
            Source::State { mech, state, row } => {
                ProbePlan::State(mechs[mech].st + (state as u32) * mechs[mech].rows + row as u32)
            }
            Source::SynapseState { group, state, row } => {
                ProbePlan::State(syns[group].st + (state as u32) * syns[group].rows + row as u32)
            }
            Source::Current { mech, row } => ProbePlan::Work(mechs[mech].cur + row as u32),
            Source::IonInside { ion, row } => {
                let site = layout.ions()[ion].site;
                ProbePlan::Param(mechs[site].par + mechs[site].rows + row as u32)
            }
            Source::IonReversal { ion, row } => ProbePlan::Work(ions[ion].0 + row as u32),
            Source::IonCurrent { ion, row } => ProbePlan::Work(ions[ion].2 + row as u32),
        })
        .collect();
    let parent = b.indices(layout.parent().iter().copied());
    let plan = Plan {
        nodes: n,
        cn: scheme == Scheme::CrankNicolson,
        precise,
        shared_solve,
        mechs,
        syns,
        ions: ion_plans,
        sources: source_plan,
        ring,
        stims,
        stim_per_member: !shared,
        clamps,
        probes,
        parent,
        work: WorkPlan {
            d: 0,
            b: n,
            i: 2 * n,
            g: 3 * n,
            gx: 4 * n,
            src_v,
            ring: ring_col,
            columns: work_cols,
        },
        k,
    };
    Ok((
        plan,
        Shared {
            idx: b.idx,
            consts: b.consts,
            drive,
            command,
            st_cols,
            par_cols,
        },
    ))
}
