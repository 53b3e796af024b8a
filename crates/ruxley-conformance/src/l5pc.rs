//! The L5PC channel references (crates/ruxley-conformance/data/reference/l5pc): NEURON 9.0.2 runs of
//! the Hay et al. (2011) channels, one compartment per channel and the full
//! set on the W2 tree.

use ruxley_backend::RunOptions;
use ruxley_cell::{Model, ModelError, Waveform};
use ruxley_channels::l5pc::{
    CaDynamicsE2, CaHva, CaLvast, Ih, Im, KPst, KTst, NaTaT, NaTs2T, NapEt2, SKv31, SkE2,
};
use ruxley_channels::{Channel, Leak};

use crate::reference::data_path;
use crate::workloads::{Workload, w2_tree};

/// Passive leak, capacitance, axial resistivity and temperature of every
/// reference run: g_pas 3e-5 S/cm2, e_pas -75 mV, cm 1, Ra 100, 34 degC.
fn passive(m: &mut Model) -> Result<(), ModelError> {
    m.insert(Leak::new())?;
    m.set("Leak_gLeak", 3e-5)?;
    m.set("Leak_eLeak", -75.0)?;
    m.set("capacitance", 1.0)?;
    m.set("axial_resistivity", 100.0)?;
    m.set_celsius(34.0)
}

/// Sets ena = 50 and ek = -85 mV where the model has them.
fn reversals(m: &mut Model) -> Result<(), ModelError> {
    for (name, e) in [("ena", 50.0), ("ek", -85.0)] {
        match m.set(name, e) {
            Ok(()) | Err(ModelError::UnknownName { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The single-compartment tests: name, mechanisms with their conductance,
/// and the recorded columns besides `v` (as named in the reference files,
/// with this model's observable for each).
pub fn single_tests() -> Vec<&'static str> {
    vec![
        "NaTa_t",
        "NaTs2_t",
        "Nap_Et2",
        "K_Pst",
        "K_Tst",
        "SKv3_1",
        "Im",
        "Ih",
        "Ca_HVA",
        "Ca_LVAst",
        "SK_E2",
        "SK_E2_CaHVA",
    ]
}

/// One single-compartment test: a cylinder of length and diameter 20 um with
/// the leak and the test's mechanisms, v_init -75 mV and a current step of
/// `amplitude` nA from 10 ms to 110 ms, t_max 150 ms. Records `v` and every
/// column of the reference file under the file's names.
pub fn single(test: &str, amplitude: f64) -> Result<Workload, ModelError> {
    single_with(test, amplitude, &builtin)
}

/// Where a run takes the twelve mechanisms from: the mechanism with NEURON
/// suffix `suffix` (`NaTs2_t`) and the name of its conductance parameter
/// (`NaTs2_t_gbar`), or None for the pool.
pub type MechanismSet<'a> = &'a dyn Fn(&str) -> (Box<dyn Channel>, Option<String>);

/// The built-in Rust set (`ruxley_channels::l5pc`).
pub fn builtin(suffix: &str) -> (Box<dyn Channel>, Option<String>) {
    let c: Box<dyn Channel> = match suffix {
        "CaDynamics_E2" => return (Box::new(CaDynamicsE2), None),
        "Ca_HVA" => Box::new(CaHva),
        "Ca_LVAst" => Box::new(CaLvast),
        "Ih" => Box::new(Ih),
        "Im" => Box::new(Im),
        "K_Pst" => Box::new(KPst),
        "K_Tst" => Box::new(KTst),
        "NaTa_t" => Box::new(NaTaT),
        "NaTs2_t" => Box::new(NaTs2T),
        "Nap_Et2" => Box::new(NapEt2),
        "SK_E2" => Box::new(SkE2),
        "SKv3_1" => Box::new(SKv31),
        other => panic!("no L5PC mechanism `{other}`"),
    };
    (c, Some(format!("{suffix}_gbar")))
}

/// The set read from the NMODL files in `crates/ruxley-nmodl/mechanisms`
/// (conductances `g<SUFFIX>bar`, as in the original files).
pub fn from_mod_files(suffix: &str) -> (Box<dyn Channel>, Option<String>) {
    let path = format!("{}/{suffix}.mod", mod_files_dir());
    let m = ruxley_nmodl::Nmodl::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let gbar = (m.pool().is_none()).then(|| format!("{suffix}_g{suffix}bar"));
    (Box::new(m), gbar)
}

/// The directory of the shipped NMODL files.
pub fn mod_files_dir() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../ruxley-nmodl/mechanisms")
}

/// [`single`] with the mechanisms of `set`.
pub fn single_with(test: &str, amplitude: f64, set: MechanismSet) -> Result<Workload, ModelError> {
    let mut m = Model::compartment();
    m.set("length", 20.0)?;
    m.set("radius", 10.0)?;
    passive(&mut m)?;
    let pool = |m: &mut Model| m.insert(set("CaDynamics_E2").0);
    // Inserts a mechanism; its conductance parameter and `g` to set it to.
    let add = |m: &mut Model, suffix: &str, g: f64| -> Result<(String, f64), ModelError> {
        let (c, gbar) = set(suffix);
        m.insert(c)?;
        Ok((gbar.expect("a channel"), g))
    };
    // (conductance, value) pairs; (reference column, observable) pairs.
    type Setup = (Vec<(String, f64)>, Vec<(&'static str, &'static str)>);
    let (channels, columns): Setup = match test {
        "NaTa_t" => (
            vec![add(&mut m, "NaTa_t", 0.1)?],
            vec![
                ("NaTa_t.m", "NaTa_t_m"),
                ("NaTa_t.h", "NaTa_t_h"),
                ("ina", "ina"),
            ],
        ),
        "NaTs2_t" => (
            vec![add(&mut m, "NaTs2_t", 0.1)?],
            vec![
                ("NaTs2_t.m", "NaTs2_t_m"),
                ("NaTs2_t.h", "NaTs2_t_h"),
                ("ina", "ina"),
            ],
        ),
        "Nap_Et2" => (
            vec![add(&mut m, "Nap_Et2", 0.01)?],
            vec![
                ("Nap_Et2.m", "Nap_Et2_m"),
                ("Nap_Et2.h", "Nap_Et2_h"),
                ("ina", "ina"),
            ],
        ),
        "K_Pst" => (
            vec![add(&mut m, "K_Pst", 0.1)?],
            vec![("K_Pst.m", "K_Pst_m"), ("K_Pst.h", "K_Pst_h"), ("ik", "ik")],
        ),
        "K_Tst" => (
            vec![add(&mut m, "K_Tst", 0.1)?],
            vec![("K_Tst.m", "K_Tst_m"), ("K_Tst.h", "K_Tst_h"), ("ik", "ik")],
        ),
        "SKv3_1" => (
            vec![add(&mut m, "SKv3_1", 0.1)?],
            vec![("SKv3_1.m", "SKv3_1_m"), ("ik", "ik")],
        ),
        "Im" => (
            vec![add(&mut m, "Im", 1e-3)?],
            vec![("Im.m", "Im_m"), ("ik", "ik")],
        ),
        "Ih" => (
            vec![add(&mut m, "Ih", 1e-3)?],
            vec![("Ih.m", "Ih_m"), ("ihcn", "i_Ih")],
        ),
        "Ca_HVA" => {
            pool(&mut m)?;
            (
                vec![add(&mut m, "Ca_HVA", 1e-3)?],
                vec![
                    ("Ca_HVA.m", "Ca_HVA_m"),
                    ("Ca_HVA.h", "Ca_HVA_h"),
                    ("ica", "ica"),
                    ("cai", "cai"),
                    ("eca", "eca"),
                ],
            )
        }
        "Ca_LVAst" => {
            pool(&mut m)?;
            (
                vec![add(&mut m, "Ca_LVAst", 1e-2)?],
                vec![
                    ("Ca_LVAst.m", "Ca_LVAst_m"),
                    ("Ca_LVAst.h", "Ca_LVAst_h"),
                    ("ica", "ica"),
                    ("cai", "cai"),
                    ("eca", "eca"),
                ],
            )
        }
        "SK_E2" => {
            pool(&mut m)?;
            (
                vec![add(&mut m, "SK_E2", 1e-2)?],
                vec![("SK_E2.z", "SK_E2_z"), ("ik", "ik"), ("cai", "cai")],
            )
        }
        "SK_E2_CaHVA" => {
            pool(&mut m)?;
            (
                vec![add(&mut m, "SK_E2", 1e-2)?, add(&mut m, "Ca_HVA", 1e-3)?],
                vec![
                    ("SK_E2.z", "SK_E2_z"),
                    ("Ca_HVA.m", "Ca_HVA_m"),
                    ("Ca_HVA.h", "Ca_HVA_h"),
                    ("ik", "ik"),
                    ("ica", "ica"),
                    ("cai", "cai"),
                    ("eca", "eca"),
                ],
            )
        }
        other => return Err(ModelError::Invalid(format!("no L5PC test `{other}`"))),
    };
    for (name, g) in channels {
        m.set(&name, g)?;
    }
    reversals(&mut m)?;
    m.set("v", -75.0)?;
    m.comp(0)
        .stimulate(Waveform::step(10.0, 100.0, amplitude))?;
    m.comp(0).record_column("v", "v")?;
    for (column, what) in columns {
        m.comp(0).record_column(what, column)?;
    }
    Ok(Workload {
        model: m,
        options: RunOptions::new(0.025, 150.0),
    })
}

/// The reference file of a single-compartment test (`protocol` `A` at
/// 0.2 nA or `Alo` at 0.02 nA).
pub fn single_reference(protocol: &str, test: &str) -> std::path::PathBuf {
    data_path(&format!("reference/l5pc/nrn_{protocol}_{test}.csv"))
}

/// The L5PC channel set on the W2 tree (crates/ruxley-conformance/data/reference/l5pc/README.md):
/// BluePyOpt's optimised densities, uniform per region, leak everywhere,
/// v_init -65 mV, 0.5 nA at soma compartment 0 from 10 ms to 110 ms,
/// t_max 150 ms, recorded as in `nrn_L5PC_W2.csv`.
pub fn l5pc_w2() -> Result<Workload, ModelError> {
    l5pc_w2_with(&builtin)
}

/// [`l5pc_w2`] with the mechanisms of `set`.
pub fn l5pc_w2_with(set: MechanismSet) -> Result<Workload, ModelError> {
    let (parents, lengths, radii) = w2_tree();
    let mut m = Model::from_branches(&parents, &vec![4; parents.len()])?;
    for b in 0..parents.len() {
        m.branch(b).set("length", lengths[b] / 4.0)?;
        m.branch(b).set("radius", radii[b])?;
    }
    // Apical: branch 1 and its descendants; basal: branch 2 and its.
    let mut region = vec![""; parents.len()];
    region[0] = "soma";
    for b in 1..parents.len() {
        region[b] = match parents[b] {
            Some(0) if b == 1 => "apical",
            Some(0) => "basal",
            Some(p) => region[p],
            None => unreachable!("only branch 0 is a root"),
        };
    }
    for (b, r) in region.iter().enumerate() {
        m.branch(b).add_to_group(r)?;
    }
    passive(&mut m)?;
    m.group("soma").insert(set("CaDynamics_E2").0)?;
    for (group, channels) in [
        (
            "soma",
            vec![
                ("NaTs2_t", 0.983955),
                ("SKv3_1", 0.303472),
                ("SK_E2", 0.008407),
                ("Ca_HVA", 0.000994),
                ("Ca_LVAst", 0.000333),
                ("Ih", 8e-5),
            ],
        ),
        (
            "apical",
            vec![
                ("NaTs2_t", 0.026145),
                ("SKv3_1", 0.004226),
                ("Im", 0.000143),
                ("Ih", 8e-5),
            ],
        ),
        ("basal", vec![("Ih", 8e-5)]),
    ] {
        for (suffix, g) in channels {
            let (channel, gbar) = set(suffix);
            m.group(group).insert(channel)?;
            m.group(group).set(&gbar.expect("a channel"), g)?;
        }
    }
    m.group("soma").set("CaDynamics_E2_gamma", 0.000609)?;
    m.group("soma").set("CaDynamics_E2_decay", 210.485284)?;
    reversals(&mut m)?;
    m.set("v", -65.0)?;
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(10.0, 100.0, 0.5))?;
    for (column, b, c) in [
        ("v_soma", 0, 0),
        ("v_apic_b1_c3", 1, 3),
        ("v_apic_b22_c3", 22, 3),
        ("v_basal_b2_c3", 2, 3),
        ("v_basal_b30_c3", 30, 3),
    ] {
        m.branch(b).comp(c).record_column("v", column)?;
    }
    for (column, what) in [
        ("cai_soma", "cai"),
        ("eca_soma", "eca"),
        ("ica_soma", "ica"),
        ("NaTs2_t.m_soma", "NaTs2_t_m"),
        ("NaTs2_t.h_soma", "NaTs2_t_h"),
        ("SKv3_1.m_soma", "SKv3_1_m"),
        ("SK_E2.z_soma", "SK_E2_z"),
        ("Ca_HVA.m_soma", "Ca_HVA_m"),
        ("Ca_HVA.h_soma", "Ca_HVA_h"),
        ("Ca_LVAst.m_soma", "Ca_LVAst_m"),
        ("Ca_LVAst.h_soma", "Ca_LVAst_h"),
        ("Ih.m_soma", "Ih_m"),
    ] {
        m.branch(0).comp(0).record_column(what, column)?;
    }
    Ok(Workload {
        model: m,
        options: RunOptions::new(0.025, 150.0),
    })
}

/// A soma and a dendrite with L5PC channels and calcium: Ca_HVA, Ca_LVAst
/// and SK_E2 around a CaDynamics_E2 pool in the soma (its cai set to
/// 1.5e-4 mM if `explicit_cai`, else at the ion's inside value); Ca_HVA and
/// SK_E2 on fixed cai and eca in the dendrite; 34 degC, a 0.3 nA step into the
/// soma; v, cai and SK_E2_z recorded.
pub fn calcium_cell(explicit_cai: bool) -> Result<Model, ModelError> {
    calcium_cell_with(explicit_cai, &builtin)
}

/// [`calcium_cell`] with the mechanisms of `set`.
pub fn calcium_cell_with(explicit_cai: bool, set: MechanismSet) -> Result<Model, ModelError> {
    let mut m = Model::from_branches(&[None, Some(0)], &[1, 2])?;
    m.branch(0).set("radius", 8.0)?;
    m.branch(0).set("length", 16.0)?;
    m.branch(1).set("radius", 1.0)?;
    m.branch(1).set("length", 20.0)?;
    m.insert(Leak::new())?;
    m.set("Leak_eLeak", -70.0)?;
    // Inserts `suffix` on `branch` and sets its conductance (the pool's
    // decay) to `g`.
    let mut add = |branch: usize, suffix: &str, g: f64| -> Result<(), ModelError> {
        let (c, gbar) = set(suffix);
        m.branch(branch).insert(c)?;
        let name = gbar.unwrap_or_else(|| format!("{suffix}_decay"));
        m.branch(branch).set(&name, g)
    };
    for (suffix, g) in [
        ("CaDynamics_E2", 20.0),
        ("Ca_HVA", 2e-3),
        ("Ca_LVAst", 5e-3),
        ("SK_E2", 5e-3),
        ("NaTs2_t", 0.5),
        ("SKv3_1", 0.2),
    ] {
        add(0, suffix, g)?;
    }
    for (suffix, g) in [
        ("Ih", 1e-4),
        ("Im", 1e-3),
        ("Ca_HVA", 1e-3),
        ("SK_E2", 1e-3),
    ] {
        add(1, suffix, g)?;
    }
    m.branch(1).set("cai", 2e-4)?;
    m.branch(1).set("eca", 125.0)?;
    if explicit_cai {
        m.branch(0).set("CaDynamics_E2_cai", 1.5e-4)?;
    }
    m.set_celsius(34.0)?;
    m.set("ena", 50.0)?;
    m.set("ek", -85.0)?;
    m.set("axial_resistivity", 150.0)?;
    m.set("v", -70.0)?;
    m.branch(0)
        .comp(0)
        .stimulate(Waveform::step(1.0, 8.0, 0.3))?;
    m.branch(0).comp(0).record("v")?;
    m.branch(0).comp(0).record("cai")?;
    m.branch(0).comp(0).record("SK_E2_z")?;
    m.branch(1).comp(1).record("v")?;
    m.branch(1).comp(1).record("cai")?;
    Ok(m)
}
