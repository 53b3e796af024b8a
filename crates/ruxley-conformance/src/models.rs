//! Small models the tests share.

use ruxley_cell::{Model, ModelError, Waveform};
use ruxley_channels::ir::Args;
use ruxley_channels::spiking::{Fire, Izhikevich};
use ruxley_channels::{Channel, ChannelIr, Hh, Leak, ParamSpec, Real, StateSpec};
use ruxley_ir::Expr;
use ruxley_synapses::{AlphaSynapse, ExpSynapse, GapJunction, IonotropicSynapse, TanhRateSynapse};

/// Four cells (three compartments and a small tree) joined by every synapse
/// type, with spikes crossing delayed connections.
pub fn synapse_network() -> Result<Model, ModelError> {
    let mut cells = Vec::new();
    for k in 0..4 {
        let mut m = if k == 3 {
            Model::from_branches(&[None, Some(0)], &[1, 2])?
        } else {
            Model::compartment()
        };
        m.set("length", 20.0)?;
        m.set("radius", 8.0)?;
        m.insert(Hh::new())?;
        m.set("axial_resistivity", 100.0)?;
        m.set("v", -65.0)?;
        cells.push(m);
    }
    let mut net = Model::network(cells)?;
    net.cell(0)
        .comp(0)
        .stimulate(Waveform::step(0.5, 8.0, 0.3))?;
    let c = |net: &Model, k: usize| net.root_comp(k);
    let (c0, c1, c2, c3) = (c(&net, 0), c(&net, 1), c(&net, 2), c(&net, 3));
    net.connect(c0, c1, IonotropicSynapse)?;
    net.connect(c0, c2, ExpSynapse)?;
    net.connect(c1, c2, AlphaSynapse)?;
    net.connect(c2, c3 + 2, TanhRateSynapse)?;
    net.connect(c1, c3, GapJunction)?;
    net.connect(c3, c1, GapJunction)?;
    net.synapse_type("IonotropicSynapse")
        .set("IonotropicSynapse_gS", 0.02)?;
    net.synapse_type("ExpSynapse").set("ExpSynapse_w", 0.01)?;
    net.synapse_type("ExpSynapse").set("delay", 1.0)?;
    net.synapse_type("AlphaSynapse")
        .set("AlphaSynapse_w", 0.01)?;
    net.synapse_type("AlphaSynapse").set("delay", 0.5)?;
    net.synapse_type("AlphaSynapse").set("threshold", -20.0)?;
    net.synapse_type("TanhRateSynapse")
        .set("TanhRateSynapse_gS", 0.01)?;
    net.synapse_type("TanhRateSynapse")
        .set("TanhRateSynapse_slope", 0.05)?;
    net.synapse_type("GapJunction")
        .set("GapJunction_g", 0.005)?;
    for k in 0..4 {
        net.cell(k).comp(0).record("v")?;
    }
    Ok(net)
}

/// The W1 cylinder (C = 12.57 pF) with a mechanism and a step current.
pub fn spiking_cell(
    mechanism: Box<dyn Channel>,
    leak: bool,
    amp: f64,
) -> Result<Model, ModelError> {
    let mut m = Model::compartment();
    m.set("length", 20.0)?;
    m.set("radius", 10.0)?;
    if leak {
        m.insert(Leak::new())?;
        m.set("Leak_gLeak", 1e-3)?;
        m.set("Leak_eLeak", -70.0)?;
    }
    m.view().insert(mechanism)?;
    m.set("v", -70.0)?;
    m.comp(0).stimulate(Waveform::step(2.0, 40.0, amp))?;
    m.comp(0).record("v")?;
    Ok(m)
}

/// A cell of four branches with Hh, a voltage clamp on one branch's end
/// and recordings of voltages, a gate and a current.
pub fn clamped_cell() -> Result<Model, ModelError> {
    let mut m = Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2, 3, 2, 2])?;
    m.insert(Hh::new())?;
    m.set("axial_resistivity", 120.0)?;
    m.branch(1)
        .loc(1.0)
        .clamp(Waveform::step(1.0, 2.5, -20.0))?;
    m.branch(0).comp(0).record("v")?;
    m.branch(3).comp(1).record("v")?;
    m.branch(0).comp(0).record("HH_m")?;
    m.branch(0).comp(0).record("i_HH")?;
    Ok(m)
}

/// The models on which two backends must agree where the suite has no
/// reference data, with their durations (ms): spike-driven synapses with
/// delays and gap junctions, voltage-setting neurons (with and without a
/// membrane current of their own), a clamp, recorded currents and ion
/// quantities.
pub fn agreement_cases() -> Result<Vec<(&'static str, Model, f64)>, ModelError> {
    let mut net = synapse_network()?;
    net.synapse_type("ExpSynapse").record("ExpSynapse_g")?;
    let mut calcium = crate::l5pc::calcium_cell(false)?;
    let mut imported = crate::l5pc::calcium_cell_with(false, &crate::l5pc::from_mod_files)?;
    for cell in [&mut calcium, &mut imported] {
        for what in ["cai", "eca", "ica"] {
            cell.comp(0).record(what)?;
        }
    }
    let mut adaptive = spiking_cell(Box::new(AdaptiveReset), false, 0.5)?;
    adaptive.comp(0).record("Adapt_w")?;
    adaptive.comp(0).record("i_Adapt")?;
    Ok(vec![
        ("synapse network", net, 10.0),
        ("LIF", spiking_cell(Box::new(Fire::new()), true, 0.3)?, 30.0),
        (
            "Izhikevich",
            spiking_cell(Box::new(Izhikevich::new()), false, 0.125)?,
            30.0,
        ),
        ("adaptive reset", adaptive, 30.0),
        ("clamped cell", clamped_cell()?, 5.0),
        ("calcium cell", calcium, 10.0),
        ("calcium cell from .mod files", imported, 10.0),
    ])
}

/// A voltage-setting mechanism that also has a state that advances and a
/// membrane current: an integrate-and-fire reset whose every spike raises
/// an adaptation conductance g (1 + w), with w decaying between spikes.
#[derive(Debug, Clone)]
pub struct AdaptiveReset;

impl AdaptiveReset {
    const PARAMS: [ParamSpec; 5] = [
        ParamSpec::new("g", "S/cm2", 1e-3, (0.0, 0.1)),
        ParamSpec::new("e", "mV", -70.0, (-100.0, 0.0)),
        ParamSpec::new("threshold", "mV", -50.0, (-100.0, 0.0)),
        ParamSpec::new("reset", "mV", -65.0, (-100.0, 0.0)),
        ParamSpec::new("beta", "1/mV", 1.0, (0.0, 10.0)),
    ];
    const STATES: [StateSpec; 1] = [StateSpec::gate("w")];
    /// The decay time of w (ms).
    const TAU: f64 = 20.0;
}

impl Channel for AdaptiveReset {
    fn name(&self) -> &str {
        "Adapt"
    }
    fn params(&self) -> &[ParamSpec] {
        &Self::PARAMS
    }
    fn states(&self) -> &[StateSpec] {
        &Self::STATES
    }
    fn sets_voltage(&self) -> bool {
        true
    }
    fn ir(&self, dt: f64, _celsius: f64) -> ChannelIr {
        let decay = (-dt / Self::TAU).exp();
        ChannelIr::trace(
            (Self::PARAMS.len(), 1, 0),
            |_| vec![Expr::cst(0.0)],
            |a| vec![a.states[0] * Expr::cst(decay)],
            |a| {
                let g = a.params[0] * (a.states[0] + Expr::cst(1.0));
                [g * (a.v - a.params[1]), g]
            },
            Some(&|a: Args| {
                let (v, p, w) = (a.v, &a.params, a.states[0]);
                let spike = (v - p[2]).spike(p[4]);
                vec![v + spike * (p[3] - v), w + spike * Expr::cst(0.5)]
            }),
        )
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}
