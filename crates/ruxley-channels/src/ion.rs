//! Ions: per-compartment concentrations, reversal potentials and currents
//! shared between mechanisms (NEURON's ion model).
//!
//! A mechanism names the ion its membrane current carries
//! ([`crate::Channel::ion`]; those currents are summed per compartment, e.g.
//! into `ica`) and the ion quantities its kernels read
//! ([`crate::Channel::inputs`]). A pool ([`crate::Channel::pool`]) owns an
//! ion's inside concentration as a state; where a pool lives, the reversal
//! potential follows the Nernst equation from the concentrations and the
//! temperature, elsewhere it is a parameter.

use ruxley_ir::Expr;

use crate::channel::{Channel, ParamSpec, StateSpec};
use crate::ir::ChannelIr;
use ruxley_core::Real;

/// Faraday's constant (C/mol), CODATA 2018, as NEURON 9 uses it.
pub const FARADAY: f64 = 96485.33212331001;
/// The molar gas constant (J/(mol K)), CODATA 2018, as NEURON 9 uses it.
pub const GAS_CONSTANT: f64 = 8.31446261815324;
/// 0 degC in kelvin.
pub const ZERO_CELSIUS: f64 = 273.15;

/// An ion species and the names and defaults of its per-compartment values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ion {
    /// Short name (`ca`).
    pub name: &'static str,
    /// Charge number.
    pub valence: f64,
    /// Name of the reversal potential (`eca`), in mV.
    pub reversal: &'static str,
    /// Name of the inside concentration (`cai`), in mM.
    pub inside: &'static str,
    /// Name of the outside concentration (`cao`), in mM.
    pub outside: &'static str,
    /// Name of the summed current density (`ica`), in mA/cm2.
    pub current: &'static str,
    /// Default reversal potential where no pool sets it (mV).
    pub default_reversal: f64,
    /// Default inside concentration (mM): fixed where no pool lives, the
    /// initial value where one does.
    pub default_inside: f64,
    /// Default outside concentration (mM).
    pub default_outside: f64,
}

/// Calcium, with NEURON's defaults: eca = 132.4579 mV, cai = 5e-5 mM,
/// cao = 2 mM.
pub const CALCIUM: Ion = Ion {
    name: "ca",
    valence: 2.0,
    reversal: "eca",
    inside: "cai",
    outside: "cao",
    current: "ica",
    default_reversal: 132.4579,
    default_inside: 5e-5,
    default_outside: 2.0,
};

/// Sodium, with NEURON's defaults: ena = 50 mV, nai = 10 mM, nao = 140 mM.
pub const SODIUM: Ion = Ion {
    name: "na",
    valence: 1.0,
    reversal: "ena",
    inside: "nai",
    outside: "nao",
    current: "ina",
    default_reversal: 50.0,
    default_inside: 10.0,
    default_outside: 140.0,
};

/// Potassium, with NEURON's defaults: ek = -77 mV, ki = 54.4 mM, ko = 2.5 mM.
pub const POTASSIUM: Ion = Ion {
    name: "k",
    valence: 1.0,
    reversal: "ek",
    inside: "ki",
    outside: "ko",
    current: "ik",
    default_reversal: -77.0,
    default_inside: 54.4,
    default_outside: 2.5,
};

/// An ion quantity a mechanism reads, per compartment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IonVar {
    /// The reversal potential (mV) in effect during the step.
    Reversal(Ion),
    /// The inside concentration (mM) at the start of the step.
    Inside(Ion),
    /// The ion's summed membrane current density (mA/cm2) of the step; only
    /// pools may read it.
    Current(Ion),
}

impl IonVar {
    /// The ion.
    pub fn ion(&self) -> Ion {
        match *self {
            Self::Reversal(i) | Self::Inside(i) | Self::Current(i) => i,
        }
    }
}

/// The per-compartment values of an ion, as a mechanism without states or
/// current: its parameters are the reversal potential (used where no pool
/// lives), the inside concentration (fixed where no pool lives, the initial
/// value where one does) and the outside concentration. Models insert it
/// wherever a mechanism uses the ion; its name is the ion's (`ca`).
#[derive(Debug, Clone)]
pub struct IonSite {
    ion: Ion,
    params: [ParamSpec; 3],
}

impl IonSite {
    /// The site of `ion`.
    pub fn new(ion: Ion) -> Self {
        Self {
            ion,
            params: [
                ParamSpec::shared(ion.reversal, "mV", ion.default_reversal, (-150.0, 200.0)),
                ParamSpec::shared(ion.inside, "mM", ion.default_inside, (0.0, 1e3)),
                ParamSpec::shared(ion.outside, "mM", ion.default_outside, (0.0, 1e3)),
            ],
        }
    }

    /// The ion.
    pub fn ion(&self) -> Ion {
        self.ion
    }
}

impl Channel for IonSite {
    fn name(&self) -> &str {
        self.ion.name
    }
    fn params(&self) -> &[ParamSpec] {
        &self.params
    }
    fn states(&self) -> &[StateSpec] {
        &[]
    }
    fn ir(&self, _dt: f64, _celsius: f64) -> ChannelIr {
        ChannelIr::trace(
            (3, 0, 0),
            |_| vec![],
            |_| vec![],
            |_| [Expr::cst(0.0); 2],
            None,
        )
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}

/// The Nernst factor RT/(zF) in mV at `celsius`.
pub fn nernst_factor(ion: &Ion, celsius: f64) -> f64 {
    1000.0 * GAS_CONSTANT * (celsius + ZERO_CELSIUS) / (ion.valence * FARADAY)
}

/// The Nernst potential (mV) for inside and outside concentrations `ci` and
/// `co` (mM) at `celsius`, as NEURON computes it: RT/(zF) ln(co/ci), and
/// +1e6 mV where ci <= 0.
pub fn nernst(ion: &Ion, ci: f64, co: f64, celsius: f64) -> f64 {
    if ci <= 0.0 {
        1e6
    } else {
        nernst_factor(ion, celsius) * (co / ci).ln()
    }
}

/// The derivatives of [`nernst`] in ci and co (zero where ci <= 0).
pub fn nernst_derivatives(ion: &Ion, ci: f64, co: f64, celsius: f64) -> (f64, f64) {
    if ci <= 0.0 {
        (0.0, 0.0)
    } else {
        let k = nernst_factor(ion, celsius);
        (-k / ci, k / co)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calcium_reversal_at_neurons_reference_point() {
        // l5pc reference: Nernst(cai0 = 5e-5, cao = 2) at 34 degC.
        let e = nernst(&CALCIUM, 5e-5, 2.0, 34.0);
        assert!((e - 140.236601131513).abs() < 1e-9, "{e}");
        // ... and 127.59 mV at 6.3 degC.
        assert!((nernst(&CALCIUM, 5e-5, 2.0, 6.3) - 127.59).abs() < 5e-3);
        assert_eq!(nernst(&CALCIUM, 0.0, 2.0, 34.0), 1e6);
    }

    #[test]
    fn nernst_derivatives_match_finite_differences() {
        let (ci, co, t) = (3e-4, 2.0, 34.0);
        let (dci, dco) = nernst_derivatives(&CALCIUM, ci, co, t);
        let h = 1e-9;
        let fd_ci = (nernst(&CALCIUM, ci + h, co, t) - nernst(&CALCIUM, ci - h, co, t)) / (2.0 * h);
        let fd_co =
            (nernst(&CALCIUM, ci, co + 1e-6, t) - nernst(&CALCIUM, ci, co - 1e-6, t)) / 2e-6;
        assert!((dci - fd_ci).abs() < 1e-6 * dci.abs());
        assert!((dco - fd_co).abs() < 1e-6 * dco.abs());
    }
}
