//! Lowering: a [`Model`] becomes an immutable, flat [`Layout`] that backends run.
//!
//! The cable is a tree of nodes: every compartment is a node, and every branch
//! with children gets one more node at its distal end, a branch point of zero
//! membrane area (NEURON's zero-area node at a section end, Jaxley's
//! branchpoint). Nodes are numbered breadth first from each cell's root, so
//! every parent precedes its children (Hines order) and nodes of equal depth
//! are adjacent: their eliminations in the tree solve are independent, which
//! lets the processor overlap them instead of waiting on one long chain of
//! divisions.

use std::ops::Range;
use std::sync::Arc;

use ruxley_channels::{Channel, Ion, IonVar};
use ruxley_synapses::Synapse;

use crate::error::ModelError;
use crate::model::Model;
use crate::params::{ParamLayout, Parameters, Target};
use crate::stimulus::{Clamp, Observable, Stimulus, Waveform};
use crate::trainable::{Control, Trainable, TrainableSpec, Trainables};

/// Marks "no node" / "no compartment" in index arrays.
pub const NONE: u32 = u32::MAX;

/// The role of a mechanism in the time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechKind {
    /// A channel: states and a membrane current.
    Channel,
    /// The pool of ion `ion` (an index into [`Layout::ions`]).
    Pool {
        /// The ion.
        ion: usize,
    },
    /// The parameters of ion `ion` (an [`ruxley_channels::IonSite`]).
    Site {
        /// The ion.
        ion: usize,
    },
}

/// Where one ion input of a mechanism comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct InputMap {
    /// The quantity.
    pub var: IonVar,
    /// The ion (an index into [`Layout::ions`]).
    pub ion: usize,
    /// The row of the ion's site for each row of the mechanism.
    pub site_rows: Vec<u32>,
}

/// A channel with the compartments (rows) it lives on.
#[derive(Debug, Clone)]
pub struct MechLayout {
    /// The channel.
    pub channel: Box<dyn Channel>,
    /// The global compartment of each row, ascending.
    pub comps: Vec<usize>,
    /// The node of each row.
    pub nodes: Vec<u32>,
    /// Its parameters in the parameter vector, laid out `[param][row]`.
    pub params: Range<usize>,
    /// Its initial states in the parameter vector, `[state][row]`, NaN for the
    /// steady state.
    pub init_states: Range<usize>,
    /// Its role in the step.
    pub kind: MechKind,
    /// The sources of its ion inputs, in [`Channel::inputs`] order.
    pub inputs: Vec<InputMap>,
    /// For a channel whose current an ion carries: the ion and the site row
    /// of each row.
    pub carries: Option<(usize, Vec<u32>)>,
}

/// The synapses of one type.
#[derive(Debug, Clone)]
pub struct SynapseLayout {
    /// The synapse type.
    pub synapse: Box<dyn Synapse>,
    /// The global index of each row.
    pub ids: Vec<usize>,
    /// The presynaptic node of each row.
    pub pre: Vec<u32>,
    /// The postsynaptic node of each row.
    pub post: Vec<u32>,
    /// Its parameters in the parameter vector, `[param][row]`.
    pub params: Range<usize>,
    /// Its initial states in the parameter vector, `[state][row]`, NaN for
    /// the synapse's own initial state.
    pub init_states: Range<usize>,
    /// For spike-driven synapses: the spike source of each row (an index
    /// into [`Layout::spike_sources`]).
    pub sources: Vec<u32>,
    /// The transmission delay of each row (ms).
    pub delays: Vec<f64>,
}

impl SynapseLayout {
    /// The number of rows (synapses).
    pub fn rows(&self) -> usize {
        self.ids.len()
    }
}

/// A node whose upward threshold crossings are spikes for spike-driven
/// synapses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeSource {
    /// The node.
    pub node: u32,
    /// The threshold (mV).
    pub threshold: f64,
}

/// An ion used by some mechanisms.
#[derive(Debug, Clone, PartialEq)]
pub struct IonLayout {
    /// The ion.
    pub ion: Ion,
    /// The mechanism holding its parameters; its rows are the compartments
    /// that use the ion.
    pub site: usize,
    /// For each site row, the pool mechanism and its row there, or
    /// (`NONE`, `NONE`) where the concentration is fixed.
    pub pools: Vec<(u32, u32)>,
}

impl MechLayout {
    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.comps.len()
    }
}

/// Which half of a compartment a resistive load belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// The proximal half (towards compartment 0 of the branch).
    In = 0,
    /// The distal half.
    Out = 1,
}

/// The fixed geometry of a compartment: the frusta of a reconstruction, or a
/// cylinder whose radius and length are parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompGeometry {
    /// Membrane area (um2).
    pub area: f64,
    /// Resistive loads of the proximal and distal halves (1/um).
    pub load: [f64; 2],
    /// True if area and loads follow the `radius` and `length` parameters.
    pub cylinder: bool,
}

impl CompGeometry {
    /// Area and half loads for the given radius and length (um): the
    /// cylinder's if this compartment is one, else the fixed values.
    pub fn resolve(&self, radius: f64, length: f64) -> (f64, [f64; 2]) {
        if self.cylinder {
            let half = 0.5 * length / (std::f64::consts::PI * radius * radius);
            (2.0 * std::f64::consts::PI * radius * length, [half, half])
        } else {
            (self.area, self.load)
        }
    }
}

/// Where a recording reads its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The voltage of a node.
    Voltage {
        /// The node.
        node: u32,
    },
    /// A state of a mechanism.
    State {
        /// The mechanism.
        mech: usize,
        /// The state index.
        state: usize,
        /// The row.
        row: usize,
    },
    /// The current density of a mechanism.
    Current {
        /// The mechanism.
        mech: usize,
        /// The row.
        row: usize,
    },
    /// A fixed inside concentration (mM) of an ion (where a pool lives, the
    /// concentration is the pool's [`Source::State`]).
    IonInside {
        /// The ion (an index into [`Layout::ions`]).
        ion: usize,
        /// The row of the ion's site.
        row: usize,
    },
    /// The reversal potential of an ion (mV) in effect during the last step.
    IonReversal {
        /// The ion.
        ion: usize,
        /// The row of the ion's site.
        row: usize,
    },
    /// The summed current density (mA/cm2) of an ion during the last step.
    IonCurrent {
        /// The ion.
        ion: usize,
        /// The row of the ion's site.
        row: usize,
    },
    /// A state of a synapse.
    SynapseState {
        /// The synapse group (an index into [`Layout::synapses`]).
        group: usize,
        /// The state index.
        state: usize,
        /// The synapse's row in its group.
        row: usize,
    },
}

/// A resolved recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The site label.
    pub label: String,
    /// What is recorded.
    pub observable: Observable,
    /// The global compartment.
    pub comp: usize,
    /// Where the value comes from.
    pub source: Source,
    /// The column name, if given instead of the default one.
    pub column: Option<String>,
}

impl Probe {
    /// The column name in trace files: the given one, or `v_<label>_mV` for
    /// voltages (as the reference CSVs) and `<observable>_<label>` otherwise.
    pub fn column_name(&self) -> String {
        if let Some(c) = &self.column {
            return c.clone();
        }
        match self.observable {
            Observable::Voltage => format!("v_{}_mV", self.label),
            _ => format!("{}_{}", self.observable.name(), self.label),
        }
    }
}

/// The flat, immutable form of a model that backends run.
#[derive(Debug, Clone)]
pub struct Layout {
    n_comps: usize,
    parent: Vec<u32>,
    levels: Vec<u32>,
    node_of_comp: Vec<u32>,
    comp_of_node: Vec<u32>,
    geometry: Vec<CompGeometry>,
    edge: Vec<[(u32, Half); 2]>,
    mechs: Vec<MechLayout>,
    ions: Vec<IonLayout>,
    synapses: Vec<SynapseLayout>,
    spike_sources: Vec<SpikeSource>,
    stimuli: Vec<Stimulus>,
    clamps: Vec<Clamp>,
    probes: Vec<Probe>,
    celsius: f64,
    sites: Vec<(usize, usize, usize)>,
    defaults: Parameters,
    capacitance: Range<usize>,
    axial_resistivity: Range<usize>,
    initial_voltage: Range<usize>,
    radius: Range<usize>,
    length: Range<usize>,
    trainables: Trainables,
}

impl Model {
    /// Lowers the model to a [`Layout`].
    pub fn build(&self) -> Result<Layout, ModelError> {
        let n_comps = self.comps.len();
        if n_comps == 0 {
            return Err(ModelError::Invalid("the model has no compartments".into()));
        }
        for (c, comp) in self.comps.iter().enumerate() {
            let g = &comp.geometry;
            for (what, x) in [
                ("area", g.area),
                ("load_in", g.load_in),
                ("load_out", g.load_out),
            ] {
                if !(x.is_finite() && x > 0.0) {
                    let (cell, b, k) = self.locate(c);
                    return Err(ModelError::Invalid(format!(
                        "cell {cell} branch {b} compartment {k}: {what} = {x} must be positive and finite"
                    )));
                }
            }
        }
        // Nodes in Hines order.
        let mut parent: Vec<u32> = Vec::with_capacity(n_comps + self.branches.len());
        let mut comp_of_node = Vec::with_capacity(parent.capacity());
        let mut edge = Vec::with_capacity(parent.capacity());
        let mut node_of_comp = vec![NONE; n_comps];
        let mut branch_point = vec![NONE; self.branches.len()];
        let mut has_children = vec![false; self.branches.len()];
        for b in &self.branches {
            if let Some(p) = b.parent {
                has_children[p] = true;
            }
        }
        for (b, br) in self.branches.iter().enumerate() {
            for k in 0..br.ncomp {
                let c = br.first_comp + k;
                let node = parent.len() as u32;
                node_of_comp[c] = node;
                comp_of_node.push(c as u32);
                if k > 0 {
                    parent.push(node - 1);
                    edge.push([((c - 1) as u32, Half::Out), (c as u32, Half::In)]);
                } else if let Some(p) = br.parent {
                    parent.push(branch_point[p]);
                    edge.push([(c as u32, Half::In), (NONE, Half::In)]);
                } else {
                    parent.push(NONE);
                    edge.push([(NONE, Half::In), (NONE, Half::In)]);
                }
            }
            if has_children[b] {
                let last = br.first_comp + br.ncomp - 1;
                branch_point[b] = parent.len() as u32;
                parent.push(node_of_comp[last]);
                comp_of_node.push(NONE);
                edge.push([(last as u32, Half::Out), (NONE, Half::In)]);
            }
        }
        let (parent, node_of_comp, comp_of_node, edge) =
            breadth_first(&parent, &node_of_comp, &comp_of_node, &edge);
        // Parameter vector: per-compartment blocks, then each mechanism's
        // parameters and initial states.
        let mut pl = ParamLayout::default();
        let mut values = Vec::new();
        let all: Vec<usize> = (0..n_comps).collect();
        let mut per_comp = |pl: &mut ParamLayout, name: &str, target, f: &dyn Fn(usize) -> f64| {
            values.extend(all.iter().map(|&c| f(c)));
            pl.push(name.into(), target, all.clone())
        };
        let capacitance = per_comp(&mut pl, "capacitance", Target::Capacitance, &|c| {
            self.comps[c].cm
        });
        let axial_resistivity = per_comp(
            &mut pl,
            "axial_resistivity",
            Target::AxialResistivity,
            &|c| self.comps[c].ra,
        );
        let initial_voltage = per_comp(&mut pl, "v", Target::InitialVoltage, &|c| self.comps[c].v);
        let radius = per_comp(&mut pl, "radius", Target::Radius, &|c| {
            self.comps[c].geometry.radius
        });
        let length = per_comp(&mut pl, "length", Target::Length, &|c| {
            self.comps[c].geometry.length
        });
        let mut mechs = Vec::with_capacity(self.mechanisms.len());
        for (mi, m) in self.mechanisms.iter().enumerate() {
            let start = pl.len();
            for (p, col) in m.params.iter().enumerate() {
                pl.push(
                    m.param_name(p),
                    Target::ChannelParam { mech: mi, param: p },
                    m.comps.clone(),
                );
                values.extend_from_slice(col);
            }
            let params = start..pl.len();
            let start = pl.len();
            for (s, col) in m.states.iter().enumerate() {
                pl.push(
                    m.state_name(s),
                    Target::ChannelState { mech: mi, state: s },
                    m.comps.clone(),
                );
                values.extend_from_slice(col);
            }
            mechs.push(MechLayout {
                channel: m.channel.clone(),
                comps: m.comps.clone(),
                nodes: m.comps.iter().map(|&c| node_of_comp[c]).collect(),
                params,
                init_states: start..pl.len(),
                kind: MechKind::Channel,
                inputs: Vec::new(),
                carries: None,
            });
        }
        let ions = self.lower_ions(&mut mechs)?;
        // One voltage-setting mechanism per compartment: they act in turn.
        let mut sets = vec![None; n_comps];
        for m in mechs.iter().filter(|m| m.channel.sets_voltage()) {
            for &c in &m.comps {
                if let Some(other) = sets[c].replace(m.channel.name()) {
                    let (cell, b, k) = self.locate(c);
                    return Err(ModelError::Invalid(format!(
                        "cell {cell} branch {b} compartment {k} has two mechanisms that set the voltage: {other} and {}",
                        m.channel.name()
                    )));
                }
            }
        }
        let mut synapses = Vec::with_capacity(self.synapses.len());
        let mut spike_sources: Vec<SpikeSource> = Vec::new();
        let mut source_of = std::collections::HashMap::new();
        for (gi, g) in self.synapses.iter().enumerate() {
            let start = pl.len();
            for (p, col) in g.params.iter().enumerate() {
                pl.push(
                    g.param_name(p),
                    Target::SynapseParam {
                        group: gi,
                        param: p,
                    },
                    g.ids.clone(),
                );
                values.extend_from_slice(col);
            }
            let params = start..pl.len();
            let start = pl.len();
            for (st, col) in g.states.iter().enumerate() {
                pl.push(
                    g.state_name(st),
                    Target::SynapseState {
                        group: gi,
                        state: st,
                    },
                    g.ids.clone(),
                );
                values.extend_from_slice(col);
            }
            let mut sources = Vec::new();
            if g.synapse.spiking() {
                for (&c, &threshold) in g.pre.iter().zip(&g.threshold) {
                    let node = node_of_comp[c];
                    let key = (node, threshold.to_bits());
                    let k = *source_of.entry(key).or_insert_with(|| {
                        spike_sources.push(SpikeSource { node, threshold });
                        spike_sources.len() - 1
                    });
                    sources.push(k as u32);
                }
            }
            synapses.push(SynapseLayout {
                synapse: g.synapse.clone(),
                ids: g.ids.clone(),
                pre: g.pre.iter().map(|&c| node_of_comp[c]).collect(),
                post: g.post.iter().map(|&c| node_of_comp[c]).collect(),
                params,
                init_states: start..pl.len(),
                sources,
                delays: g.delay.clone(),
            });
        }
        let trainables = self.lower_trainables(&pl)?;
        let probes = self
            .recordings
            .iter()
            .map(|r| {
                let source = resolve(self, &r.observable, r.comp, &ions).ok_or_else(|| {
                    ModelError::UnknownName {
                        name: r.observable.name(),
                        known: Vec::new(),
                    }
                })?;
                let source = match source {
                    Source::Voltage { .. } => Source::Voltage {
                        node: node_of_comp[r.comp],
                    },
                    s => s,
                };
                Ok(Probe {
                    label: r.label.clone(),
                    observable: r.observable.clone(),
                    comp: r.comp,
                    source,
                    column: r.column.clone(),
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        // A channel's current is added to its ion's only where something
        // reads the sum (a pool) or records it: summing sodium and
        // potassium currents nobody reads cost the L5PC a fifth of its time.
        let read = |i: usize| {
            mechs.iter().any(|m| {
                m.inputs
                    .iter()
                    .any(|x| x.ion == i && matches!(x.var, IonVar::Current(_)))
            }) || probes
                .iter()
                .any(|p| matches!(p.source, Source::IonCurrent { ion, .. } if ion == i))
        };
        let unread: Vec<bool> = (0..ions.len()).map(|i| !read(i)).collect();
        for m in &mut mechs {
            if m.carries.as_ref().is_some_and(|(i, _)| unread[*i]) {
                m.carries = None;
            }
        }
        Ok(Layout {
            n_comps,
            levels: level_offsets(&parent),
            parent,
            node_of_comp,
            comp_of_node,
            geometry: self
                .comps
                .iter()
                .map(|c| CompGeometry {
                    area: c.geometry.area,
                    load: [c.geometry.load_in, c.geometry.load_out],
                    cylinder: c.cylinder,
                })
                .collect(),
            edge,
            mechs,
            ions,
            synapses,
            spike_sources,
            stimuli: self.stimuli.clone(),
            clamps: self.clamps.clone(),
            probes,
            celsius: self.celsius,
            sites: (0..n_comps).map(|c| self.locate(c)).collect(),
            defaults: Parameters::new(Arc::new(pl), values),
            capacitance,
            axial_resistivity,
            initial_voltage,
            radius,
            length,
            trainables,
        })
    }
}

impl Model {
    /// Finds the ion sites and pools and maps every ion input and carried
    /// current to its site rows.
    fn lower_ions(&self, mechs: &mut [MechLayout]) -> Result<Vec<IonLayout>, ModelError> {
        let mut ions = Vec::with_capacity(self.ions.len());
        for &ion in &self.ions {
            let site = mechs
                .iter()
                .position(|m| m.channel.name() == ion.name)
                .ok_or_else(|| ModelError::Invalid(format!("ion `{}` has no site", ion.name)))?;
            mechs[site].kind = MechKind::Site { ion: ions.len() };
            let rows = mechs[site].rows();
            ions.push(IonLayout {
                ion,
                site,
                pools: vec![(NONE, NONE); rows],
            });
        }
        let names: Vec<&str> = ions.iter().map(|i| i.ion.name).collect();
        let sites: Vec<usize> = ions.iter().map(|i| i.site).collect();
        let index = |ion: &Ion| names.iter().position(|n| *n == ion.name);
        let site_rows = |ion: usize, comps: &[usize], mechs: &[MechLayout]| -> Vec<u32> {
            let site = &mechs[sites[ion]];
            comps
                .iter()
                .map(|c| {
                    site.comps
                        .binary_search(c)
                        .expect("ion sites cover their users") as u32
                })
                .collect()
        };
        let mut updates = Vec::new();
        for (mi, m) in mechs.iter().enumerate() {
            if matches!(m.kind, MechKind::Site { .. }) {
                continue;
            }
            let ch = &m.channel;
            let known = |ion: &Ion| {
                index(ion).ok_or_else(|| {
                    ModelError::Invalid(format!("ion `{}` of {} is unknown", ion.name, ch.name()))
                })
            };
            let kind = match ch.pool() {
                Some(ion) => MechKind::Pool { ion: known(&ion)? },
                None => MechKind::Channel,
            };
            let mut inputs = Vec::new();
            for &var in ch.inputs() {
                if matches!(var, IonVar::Current(_)) && ch.pool().is_none() {
                    return Err(ModelError::Invalid(format!(
                        "{} reads an ion current, which only pools may",
                        ch.name()
                    )));
                }
                let ion = known(&var.ion())?;
                inputs.push(InputMap {
                    var,
                    ion,
                    site_rows: site_rows(ion, &m.comps, mechs),
                });
            }
            let carries = match ch.ion() {
                Some(ion) => {
                    let i = known(&ion)?;
                    Some((i, site_rows(i, &m.comps, mechs)))
                }
                None => None,
            };
            updates.push((mi, kind, inputs, carries));
        }
        for (mi, kind, inputs, carries) in updates {
            if let MechKind::Pool { ion } = kind {
                let rows = site_rows(ion, &mechs[mi].comps, mechs);
                for (r, &sr) in rows.iter().enumerate() {
                    let slot = &mut ions[ion].pools[sr as usize];
                    if slot.0 != NONE {
                        let comp = mechs[mi].comps[r];
                        let (cell, b, k) = self.locate(comp);
                        return Err(ModelError::Invalid(format!(
                            "cell {cell} branch {b} compartment {k} has two pools of {}: {} and {}",
                            names[ion],
                            mechs[slot.0 as usize].channel.name(),
                            mechs[mi].channel.name()
                        )));
                    }
                    *slot = (mi as u32, r as u32);
                }
            }
            let m = &mut mechs[mi];
            m.kind = kind;
            m.inputs = inputs;
            m.carries = carries;
        }
        Ok(ions)
    }
}

type Renumbered = (Vec<u32>, Vec<u32>, Vec<u32>, Vec<[(u32, Half); 2]>);

/// Where each depth begins among nodes numbered breadth first (roots at
/// depth 0), and the end: nodes `levels[d]..levels[d + 1]` have depth d.
fn level_offsets(parent: &[u32]) -> Vec<u32> {
    let mut depth = vec![0u32; parent.len()];
    let mut levels = vec![0u32];
    for (i, &p) in parent.iter().enumerate() {
        if p != NONE {
            depth[i] = depth[p as usize] + 1;
        }
        if i > 0 && depth[i] != depth[i - 1] {
            levels.push(i as u32);
        }
    }
    levels.push(parent.len() as u32);
    levels
}

/// Renumbers nodes breadth first from the roots (children in their old order).
fn breadth_first(
    parent: &[u32],
    node_of_comp: &[u32],
    comp_of_node: &[u32],
    edge: &[[(u32, Half); 2]],
) -> Renumbered {
    let n = parent.len();
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    for (i, &p) in parent.iter().enumerate() {
        if p == NONE {
            order.push(i as u32);
        } else {
            children[p as usize].push(i as u32);
        }
    }
    let mut k = 0;
    while k < order.len() {
        let i = order[k] as usize;
        order.extend_from_slice(&children[i]);
        k += 1;
    }
    let mut new_of_old = vec![0u32; n];
    for (new, &old) in order.iter().enumerate() {
        new_of_old[old as usize] = new as u32;
    }
    let parent = order
        .iter()
        .map(|&old| match parent[old as usize] {
            NONE => NONE,
            p => new_of_old[p as usize],
        })
        .collect();
    let node_of_comp = node_of_comp
        .iter()
        .map(|&i| new_of_old[i as usize])
        .collect();
    let comp_of_node = order
        .iter()
        .map(|&old| comp_of_node[old as usize])
        .collect();
    let edge = order.iter().map(|&old| edge[old as usize]).collect();
    (parent, node_of_comp, comp_of_node, edge)
}

impl Model {
    fn lower_trainables(&self, pl: &ParamLayout) -> Result<Trainables, ModelError> {
        let mut entries = Vec::new();
        for (entry, spec) in self.trainables.iter().enumerate() {
            match spec {
                TrainableSpec::Param { name, sites, init }
                | TrainableSpec::Synapse { name, sites, init } => {
                    let synapse = matches!(spec, TrainableSpec::Synapse { .. });
                    for (index, (comps, &x)) in sites.iter().zip(init).enumerate() {
                        let mut idx = Vec::new();
                        let blocks = pl.find(name).filter(|b| {
                            synapse
                                == matches!(
                                    b.target,
                                    Target::SynapseParam { .. } | Target::SynapseState { .. }
                                )
                        });
                        for block in blocks {
                            for &c in comps {
                                if let Ok(k) = block.comps.binary_search(&c) {
                                    idx.push(block.range.start + k);
                                }
                            }
                        }
                        if idx.is_empty() {
                            return Err(ModelError::UnknownName {
                                name: name.clone(),
                                known: pl.names(),
                            });
                        }
                        entries.push(Trainable {
                            name: name.clone(),
                            entry,
                            index,
                            control: Control::Params(idx),
                            init: x,
                        });
                    }
                }
                TrainableSpec::Stimulus { index } => {
                    let name = format!("stimulus{index}");
                    match &self.stimuli[*index].current {
                        Waveform::Step { amplitude, .. } => entries.push(Trainable {
                            name,
                            entry,
                            index: 0,
                            control: Control::StepAmplitude { stimulus: *index },
                            init: *amplitude,
                        }),
                        Waveform::Series(v) => {
                            for (step, &x) in v.iter().enumerate() {
                                entries.push(Trainable {
                                    name: name.clone(),
                                    entry,
                                    index: step,
                                    control: Control::SeriesValue {
                                        stimulus: *index,
                                        step,
                                    },
                                    init: x,
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(Trainables::new(entries))
    }
}

fn resolve(m: &Model, obs: &Observable, comp: usize, ions: &[IonLayout]) -> Option<Source> {
    match obs {
        Observable::Voltage => Some(Source::Voltage { node: NONE }),
        Observable::State(name) => m
            .mechanisms
            .iter()
            .enumerate()
            .find_map(|(mi, mech)| {
                let row = mech.row_of(comp)?;
                let state = (0..mech.states.len()).find(|&s| mech.state_name(s) == *name)?;
                Some(Source::State {
                    mech: mi,
                    state,
                    row,
                })
            })
            .or_else(|| resolve_ion(m, name, comp, ions)),
        Observable::Current(ch) => m.mechanisms.iter().enumerate().find_map(|(mi, mech)| {
            let row = mech.row_of(comp)?;
            (mech.channel.name() == ch).then_some(Source::Current { mech: mi, row })
        }),
        Observable::SynapseState { name, synapse } => {
            m.synapses.iter().enumerate().find_map(|(group, g)| {
                let row = g.row_of(*synapse)?;
                let state = (0..g.states.len()).find(|&s| g.state_name(s) == *name)?;
                Some(Source::SynapseState { group, state, row })
            })
        }
    }
}

/// An ion quantity (`cai`, `eca`, `ica`) at a compartment.
fn resolve_ion(m: &Model, name: &str, comp: usize, ions: &[IonLayout]) -> Option<Source> {
    ions.iter().enumerate().find_map(|(i, il)| {
        let row = m.mechanisms[il.site].row_of(comp)?;
        let ion = &il.ion;
        if name == ion.inside {
            Some(match il.pools[row] {
                (NONE, _) => Source::IonInside { ion: i, row },
                (mech, prow) => Source::State {
                    mech: mech as usize,
                    state: 0,
                    row: prow as usize,
                },
            })
        } else if name == ion.reversal {
            Some(Source::IonReversal { ion: i, row })
        } else if name == ion.current {
            Some(Source::IonCurrent { ion: i, row })
        } else {
            None
        }
    })
}

impl Layout {
    /// The number of compartments.
    pub fn n_comps(&self) -> usize {
        self.n_comps
    }

    /// The number of nodes (compartments and branch points).
    pub fn n_nodes(&self) -> usize {
        self.parent.len()
    }

    /// The parent of each node ([`NONE`] for the root of a cell); parents
    /// precede children.
    pub fn parent(&self) -> &[u32] {
        &self.parent
    }

    /// The offsets of the tree's levels: nodes `levels()[d]..levels()[d + 1]`
    /// are at depth d (every cell's root at depth 0) and depend only on
    /// nodes of smaller depth, so a level-parallel solve eliminates a level
    /// at a time.
    pub fn levels(&self) -> &[u32] {
        &self.levels
    }

    /// The node of each compartment.
    pub fn node_of_comp(&self) -> &[u32] {
        &self.node_of_comp
    }

    /// The compartment of each node ([`NONE`] for branch points).
    pub fn comp_of_node(&self) -> &[u32] {
        &self.comp_of_node
    }

    /// The compartment whose voltage node `node` carries: its own, or for
    /// a branch point that of its nearest ancestor with one (where the
    /// branch point starts, and where an instability there is reported).
    pub fn comp_at_node(&self, node: usize) -> usize {
        let mut i = node;
        while self.comp_of_node[i] == NONE {
            i = self.parent[i] as usize;
        }
        self.comp_of_node[i] as usize
    }

    /// The geometry of each compartment.
    pub fn geometry(&self) -> &[CompGeometry] {
        &self.geometry
    }

    /// The compartment halves in series between each node and its parent
    /// (unused entries have compartment [`NONE`]): the axial resistance is
    /// the sum of their resistive loads times their axial resistivities.
    pub fn edge_halves(&self) -> &[[(u32, Half); 2]] {
        &self.edge
    }

    /// The mechanisms.
    pub fn mechs(&self) -> &[MechLayout] {
        &self.mechs
    }

    /// The ions.
    pub fn ions(&self) -> &[IonLayout] {
        &self.ions
    }

    /// The synapses, grouped by type.
    pub fn synapses(&self) -> &[SynapseLayout] {
        &self.synapses
    }

    /// The spike sources of spike-driven synapses.
    pub fn spike_sources(&self) -> &[SpikeSource] {
        &self.spike_sources
    }

    /// True if some mechanism reads or carries an ion.
    pub fn has_ions(&self) -> bool {
        !self.ions.is_empty()
    }

    /// The stimuli of the model.
    pub fn stimuli(&self) -> &[Stimulus] {
        &self.stimuli
    }

    /// The voltage clamps.
    pub fn clamps(&self) -> &[Clamp] {
        &self.clamps
    }

    /// The recordings.
    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }

    /// The temperature (degC).
    pub fn celsius(&self) -> f64 {
        self.celsius
    }

    /// (cell, branch, compartment) of a global compartment.
    pub fn site(&self, comp: usize) -> (usize, usize, usize) {
        self.sites[comp]
    }

    /// The model's own parameter values.
    pub fn parameters(&self) -> &Parameters {
        &self.defaults
    }

    /// The range of the capacitance block.
    pub fn capacitance_range(&self) -> Range<usize> {
        self.capacitance.clone()
    }

    /// The range of the axial resistivity block.
    pub fn axial_resistivity_range(&self) -> Range<usize> {
        self.axial_resistivity.clone()
    }

    /// The range of the initial voltage block.
    pub fn initial_voltage_range(&self) -> Range<usize> {
        self.initial_voltage.clone()
    }

    /// The trainable values (theta) and what they control.
    pub fn trainables(&self) -> &Trainables {
        &self.trainables
    }

    /// The plausible range of each trainable value, in theta order: the
    /// channel's or synapse's `ParamSpec::bounds` for their parameters, None
    /// for geometry, initial values and stimuli (ranges of which depend on
    /// the model). Fitting maps these ranges onto the real line.
    pub fn trainable_bounds(&self) -> Vec<Option<(f64, f64)>> {
        let blocks = self.parameters().layout().blocks();
        self.trainables
            .entries()
            .iter()
            .map(|t| {
                let Control::Params(idx) = &t.control else {
                    return None;
                };
                let i = *idx.first()?;
                let block = blocks.iter().find(|b| b.range.contains(&i))?;
                match block.target {
                    Target::ChannelParam { mech, param } => {
                        Some(self.mechs[mech].channel.params()[param].bounds)
                    }
                    Target::SynapseParam { group, param } => {
                        Some(self.synapses[group].synapse.params()[param].bounds)
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The range of the radius block.
    pub fn radius_range(&self) -> Range<usize> {
        self.radius.clone()
    }

    /// The range of the length block.
    pub fn length_range(&self) -> Range<usize> {
        self.length.clone()
    }
}
