//! The anchor workloads W1-W3 and W6 (crates/ruxley-conformance/data/reference/anchors/WORKLOADS.md) as
//! models.

use ruxley_backend::RunOptions;
use ruxley_cell::{Model, ModelError, SwcImport, Waveform};
use ruxley_channels::{Channel, Hh};
use ruxley_synapses::IonotropicSynapse;

use crate::reference::data_path;

/// A workload: the model and how to run it.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The model, with its stimulus and recordings.
    pub model: Model,
    /// dt = 0.025 ms and the workload's t_max.
    pub options: RunOptions,
}

/// Shared physics: HH everywhere (NEURON `hh` defaults), cm 1, ra 100,
/// v = -65 mV with gates at steady state, 6.3 degC.
fn finish(model: &mut Model) -> Result<(), ModelError> {
    finish_with(model, Box::new(Hh::new()))
}

/// [`finish`] with `channel` in place of the built-in HH.
fn finish_with(model: &mut Model, channel: Box<dyn Channel>) -> Result<(), ModelError> {
    model.insert(channel)?;
    model.set("capacitance", 1.0)?;
    model.set("axial_resistivity", 100.0)?;
    model.set("v", -65.0)?;
    model.set_celsius(6.3)
}

/// W1: one cylinder (length 20 um, radius 10 um), 0.1 nA from 1 ms for
/// `duration` ms; recording `soma`. The anchor uses t_max 20 and duration 18.
pub fn w1_with(t_max: f64, duration: f64) -> Result<Workload, ModelError> {
    let mut m = Model::compartment();
    m.set("length", 20.0)?;
    m.set("radius", 10.0)?;
    finish(&mut m)?;
    m.comp(0).stimulate(Waveform::step(1.0, duration, 0.1))?;
    m.comp(0).record_as("v", "soma")?;
    Ok(Workload {
        model: m,
        options: RunOptions::new(0.025, t_max),
    })
}

/// W1 as in the anchors: 20 ms.
pub fn w1() -> Result<Workload, ModelError> {
    w1_with(20.0, 18.0)
}

/// The W2 tree: soma (20 um x 10 um) and a binary tree of depth 4, branches
/// numbered breadth first, ncomp 4; returns (parents, lengths, radii).
pub fn w2_tree() -> (Vec<Option<usize>>, Vec<f64>, Vec<f64>) {
    let levels = [(100.0, 1.0), (80.0, 0.8), (60.0, 0.6), (50.0, 0.5)];
    let (mut parents, mut lengths, mut radii) = (vec![None], vec![20.0], vec![10.0]);
    let mut frontier = vec![0];
    for &(len, r) in &levels {
        let mut next = Vec::new();
        for &p in &frontier {
            for _ in 0..2 {
                parents.push(Some(p));
                lengths.push(len);
                radii.push(r);
                next.push(parents.len() - 1);
            }
        }
        frontier = next;
    }
    (parents, lengths, radii)
}

/// W2: soma + binary tree (31 branches x 4 compartments), 0.5 nA at soma
/// compartment 0 from 1 ms to 46 ms, 50 ms; recordings soma, b2_c2, b14_c3,
/// b30_c3.
pub fn w2() -> Result<Workload, ModelError> {
    w2_with(Box::new(Hh::new()))
}

/// W2 with `channel` (an HH equivalent, such as one read from NEURON's
/// `hh.mod`) in place of the built-in HH.
pub fn w2_with(channel: Box<dyn Channel>) -> Result<Workload, ModelError> {
    let (parents, lengths, radii) = w2_tree();
    let mut m = Model::from_branches(&parents, &vec![4; parents.len()])?;
    for b in 0..parents.len() {
        m.branch(b).set("length", lengths[b] / 4.0)?;
        m.branch(b).set("radius", radii[b])?;
    }
    finish_with(&mut m, channel)?;
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(1.0, 45.0, 0.5))?;
    for (label, b, c) in [
        ("soma", 0, 0),
        ("b2_c2", 2, 2),
        ("b14_c3", 14, 3),
        ("b30_c3", 30, 3),
    ] {
        m.branch(b).comp(c).record_as("v", label)?;
    }
    Ok(Workload {
        model: m,
        options: RunOptions::new(0.025, 50.0),
    })
}

/// The W3 morphology file.
pub fn w3_swc() -> std::path::PathBuf {
    data_path("morphologies/morph_ca1_n120_single_point_soma.swc")
}

/// W3: the CA1 cell n120 (single-point soma) with ncomp 8, 1 nA at soma
/// compartment 0 from 1 ms to 96 ms, 100 ms; recordings soma, b10_c4,
/// b60_c4, b120_c7.
pub fn w3() -> Result<Workload, ModelError> {
    let mut m = Model::from_swc_file(w3_swc(), &SwcImport::new(8))?;
    finish(&mut m)?;
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(1.0, 95.0, 1.0))?;
    for (label, b, c) in [
        ("soma", 0, 0),
        ("b10_c4", 10, 4),
        ("b60_c4", 60, 4),
        ("b120_c7", 120, 7),
    ] {
        m.branch(b).comp(c).record_as("v", label)?;
    }
    Ok(Workload {
        model: m,
        options: RunOptions::new(0.025, 100.0),
    })
}

/// The W6 connectivity (crates/ruxley-conformance/data/reference/anchors/w6_connectivity.csv):
/// (presynaptic cell, postsynaptic cell) of each of the 243 synapses.
pub fn w6_connectivity() -> Result<Vec<(usize, usize)>, String> {
    let t = crate::reference::Table::read(data_path("reference/anchors/w6_connectivity.csv"))?;
    let pre = t.column("pre_cell").ok_or("no pre_cell column")?;
    let post = t.column("post_cell").ok_or("no post_cell column")?;
    Ok(pre
        .iter()
        .zip(post)
        .map(|(&a, &b)| (a as usize, b as usize))
        .collect())
}

/// W6: 50 single-compartment HH cells (the W1 cylinder), 243 Ionotropic
/// synapses (gS 0.001 uS, s starting at 0) from `w6_connectivity`; cells
/// 0-9 get 0.1 nA from 1 ms to 99 ms; 100 ms; every cell recorded as
/// `v_cell<i>_mV`.
pub fn w6() -> Result<Workload, ModelError> {
    let cells = (0..50)
        .map(|_| {
            let mut m = Model::compartment();
            m.set("length", 20.0)?;
            m.set("radius", 10.0)?;
            finish(&mut m)?;
            Ok(m)
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let mut net = Model::network(cells)?;
    let pairs: Vec<(usize, usize)> = w6_connectivity()
        .map_err(ModelError::Invalid)?
        .into_iter()
        .map(|(a, b)| (net.root_comp(a), net.root_comp(b)))
        .collect();
    net.connect_pairs(&pairs, IonotropicSynapse)?;
    net.synapses().set("IonotropicSynapse_gS", 0.001)?;
    net.synapses().set("IonotropicSynapse_s", 0.0)?;
    for i in 0..10 {
        net.cell(i)
            .comp(0)
            .stimulate(Waveform::step(1.0, 98.0, 0.1))?;
    }
    for i in 0..50 {
        net.cell(i)
            .comp(0)
            .record_column("v", &format!("v_cell{i}_mV"))?;
    }
    Ok(Workload {
        model: net,
        options: RunOptions::new(0.025, 100.0),
    })
}
