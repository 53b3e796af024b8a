//! Small models the tests share.

use ruxley_cell::{Model, ModelError, Waveform};
use ruxley_channels::{Channel, Hh, Leak};
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
    m.view().insert_boxed(mechanism)?;
    m.set("v", -70.0)?;
    m.comp(0).stimulate(Waveform::step(2.0, 40.0, amp))?;
    m.comp(0).record("v")?;
    Ok(m)
}
