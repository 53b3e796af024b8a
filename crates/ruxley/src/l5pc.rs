//! BluePyOpt's layer-5 pyramidal cell model: the Hay et al. (2011) channels
//! per region with the parameter values BluePyOpt releases, and the bounds
//! of its 20 free parameters (BluePyOpt's `examples/l5pc/config`).

use ruxley_cell::{Model, ModelError};
use ruxley_channels::l5pc::{
    CaDynamicsE2, CaHva, CaLvast, Ih, Im, KPst, KTst, NaTaT, NaTs2T, NapEt2, SKv31, SkE2,
};
use ruxley_channels::{Channel, Leak};

/// A free parameter of the model: where it lives, its released value and
/// the box BluePyOpt optimises it in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FreeParameter {
    /// The group it is set on (`soma`, `axon`, `apical`).
    pub region: &'static str,
    /// Its Ruxley name (`NaTs2_t_gbar`, `CaDynamics_E2_decay`, ...).
    pub name: &'static str,
    /// BluePyOpt's released value.
    pub value: f64,
    /// BluePyOpt's bounds.
    pub bounds: (f64, f64),
}

const fn p(
    region: &'static str,
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
) -> FreeParameter {
    FreeParameter {
        region,
        name,
        value,
        bounds: (lo, hi),
    }
}

/// BluePyOpt's 20 free parameters in its order: conductances in S/cm2, the
/// calcium pools' `gamma` (fraction of free calcium) and `decay` (ms).
pub const FREE_PARAMETERS: [FreeParameter; 20] = [
    p("apical", "NaTs2_t_gbar", 0.026145, 0.0, 0.04),
    p("apical", "SKv3_1_gbar", 0.004226, 0.0, 0.04),
    p("apical", "Im_gbar", 0.000143, 0.0, 1e-3),
    p("axon", "NaTa_t_gbar", 3.137968, 0.0, 4.0),
    p("axon", "K_Tst_gbar", 0.089259, 0.0, 0.1),
    p("axon", "CaDynamics_E2_gamma", 0.002910, 0.0005, 0.05),
    p("axon", "Nap_Et2_gbar", 0.006827, 0.0, 0.01),
    p("axon", "SK_E2_gbar", 0.007104, 0.0, 0.1),
    p("axon", "Ca_HVA_gbar", 0.000990, 0.0, 0.001),
    p("axon", "K_Pst_gbar", 0.973538, 0.0, 1.0),
    p("axon", "SKv3_1_gbar", 1.021945, 0.0, 2.0),
    p("axon", "CaDynamics_E2_decay", 287.198731, 20.0, 1000.0),
    p("axon", "Ca_LVAst_gbar", 0.008752, 0.0, 0.01),
    p("soma", "CaDynamics_E2_gamma", 0.000609, 0.0005, 0.05),
    p("soma", "SKv3_1_gbar", 0.303472, 0.25, 1.0),
    p("soma", "SK_E2_gbar", 0.008407, 0.0, 0.1),
    p("soma", "Ca_HVA_gbar", 0.000994, 0.0, 0.001),
    p("soma", "NaTs2_t_gbar", 0.983955, 0.0, 1.0),
    p("soma", "CaDynamics_E2_decay", 210.485284, 20.0, 1000.0),
    p("soma", "Ca_LVAst_gbar", 0.000333, 0.0, 0.01),
];

/// Inserts BluePyOpt's L5PC model into a cell with `soma`, `axon`, `apical`
/// and `basal` groups (an SWC or Neurolucida reconstruction): per region
/// the Hay channels with the released values, Ih everywhere but the axon
/// (in the apical dendrite growing as 8e-5 (-0.8696 + 2.087 e^(0.0031 d))
/// S/cm2 with the path distance d in um), a leak of 3e-5 S/cm2 at -75 mV,
/// 100 ohm cm, 1 uF/cm2 (2 in the dendrites), ena 50 mV, ek -85 mV, 34 degC
/// and v -65 mV.
pub fn insert_bluepyopt_l5pc(cell: &mut Model) -> Result<(), ModelError> {
    cell.insert(Leak::new())?;
    cell.set("Leak_gLeak", 3e-5)?;
    cell.set("Leak_eLeak", -75.0)?;
    cell.set("axial_resistivity", 100.0)?;
    cell.set("capacitance", 1.0)?;
    for dendrite in ["apical", "basal"] {
        cell.group(dendrite).set("capacitance", 2.0)?;
    }
    // ANCHOR: regions
    let regions: [(&str, Vec<Box<dyn Channel>>); 4] = [
        (
            "soma",
            vec![
                Box::new(CaDynamicsE2),
                Box::new(NaTs2T),
                Box::new(SKv31),
                Box::new(SkE2),
                Box::new(CaHva),
                Box::new(CaLvast),
                Box::new(Ih),
            ],
        ),
        (
            "axon",
            vec![
                Box::new(CaDynamicsE2),
                Box::new(NaTaT),
                Box::new(NapEt2),
                Box::new(KPst),
                Box::new(KTst),
                Box::new(SKv31),
                Box::new(SkE2),
                Box::new(CaHva),
                Box::new(CaLvast),
            ],
        ),
        (
            "apical",
            vec![
                Box::new(NaTs2T),
                Box::new(SKv31),
                Box::new(Im),
                Box::new(Ih),
            ],
        ),
        ("basal", vec![Box::new(Ih)]),
    ];
    for (region, channels) in regions {
        for channel in channels {
            cell.group(region).insert(channel)?;
        }
    }
    for p in &FREE_PARAMETERS {
        cell.group(p.region).set(p.name, p.value)?;
    }
    for region in ["soma", "basal"] {
        cell.group(region).set("Ih_gbar", 8e-5)?;
    }
    cell.group("apical")
        .set_by_distance("Ih_gbar", |d| 8e-5 * (-0.8696 + 2.087 * (0.0031 * d).exp()))?;
    // ANCHOR_END: regions
    cell.set("ena", 50.0)?;
    cell.set("ek", -85.0)?;
    cell.set_celsius(34.0)?;
    cell.set("v", -65.0)
}
