//! Compartmentalisation: each branch is cut into `ncomp` pieces of equal
//! length, and each piece gets its exact frustum geometry.

use crate::geometry::{CompartmentGeometry, Point, compartment_geometry, split_equal_length};
use crate::trace::{MorphError, Morphology};

/// How many compartments each branch gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Ncomp {
    /// The same number in every branch.
    Uniform(usize),
    /// One number per branch, in branch order.
    PerBranch(Vec<usize>),
    /// NEURON's d_lambda rule: the smallest odd number of compartments such
    /// that none is longer than `d_lambda` times the AC length constant at
    /// `frequency_hz`, lambda_f = 1e5 sqrt(d / (4 pi f cm ra)) um with d the
    /// branch's mean diameter in um, `cm` in uF/cm2 and `ra` in ohm cm.
    DLambda {
        /// Fraction of the length constant (NEURON's default is 0.1).
        d_lambda: f64,
        /// Frequency in Hz (NEURON's default is 100).
        frequency_hz: f64,
        /// Specific capacitance in uF/cm2.
        cm: f64,
        /// Axial resistivity in ohm cm.
        ra: f64,
    },
}

/// The d_lambda rule for one branch of length `length` and mean diameter
/// `diameter` (um): int((L / (d_lambda lambda_f) + 0.9) / 2) * 2 + 1.
pub fn d_lambda_ncomp(
    length: f64,
    diameter: f64,
    d_lambda: f64,
    frequency_hz: f64,
    cm: f64,
    ra: f64,
) -> usize {
    let lambda_f = 1e5 * (diameter / (4.0 * std::f64::consts::PI * frequency_hz * cm * ra)).sqrt();
    (((length / (d_lambda * lambda_f) + 0.9) / 2.0) as usize) * 2 + 1
}

/// One compartmentalised branch.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscretizedBranch {
    /// The parent branch (children attach at the parent's distal end).
    pub parent: Option<usize>,
    /// The SWC type, if the branch came from an SWC file.
    pub kind: Option<i32>,
    /// The compartments, from proximal (0) to distal.
    pub comps: Vec<CompartmentGeometry>,
    /// The branch's polyline, if it has positions.
    pub points: Vec<Point>,
}

fn check_ncomp(b: usize, n: usize) -> Result<usize, MorphError> {
    if n == 0 || n > 100_000 {
        return Err(MorphError::InvalidNcomp(format!(
            "branch {b}: ncomp = {n} must be between 1 and 100000"
        )));
    }
    Ok(n)
}

impl Morphology {
    /// Cuts every branch into compartments.
    pub fn discretize(&self, ncomp: &Ncomp) -> Result<Vec<DiscretizedBranch>, MorphError> {
        if let Ncomp::PerBranch(v) = ncomp
            && v.len() != self.branches.len()
        {
            return Err(MorphError::InvalidNcomp(format!(
                "{} ncomp values for {} branches",
                v.len(),
                self.branches.len()
            )));
        }
        if let Ncomp::DLambda {
            d_lambda,
            frequency_hz,
            cm,
            ra,
        } = ncomp
        {
            for (name, x) in [
                ("d_lambda", d_lambda),
                ("frequency", frequency_hz),
                ("cm", cm),
                ("ra", ra),
            ] {
                if !(x.is_finite() && *x > 0.0) {
                    return Err(MorphError::InvalidNcomp(format!(
                        "d_lambda rule: {name} = {x} must be positive and finite"
                    )));
                }
            }
        }
        self.branches
            .iter()
            .enumerate()
            .map(|(b, branch)| {
                let length = if branch.path_length < 1e-8 {
                    0.1
                } else {
                    branch.path_length
                };
                let n = match ncomp {
                    Ncomp::Uniform(n) => *n,
                    Ncomp::PerBranch(v) => v[b],
                    Ncomp::DLambda {
                        d_lambda,
                        frequency_hz,
                        cm,
                        ra,
                    } => {
                        let whole = compartment_geometry(&branch.points, length, 1);
                        d_lambda_ncomp(
                            length,
                            2.0 * whole.radius,
                            *d_lambda,
                            *frequency_hz,
                            *cm,
                            *ra,
                        )
                    }
                };
                let n = check_ncomp(b, n)?;
                let comps: Vec<_> = split_equal_length(&branch.points, n)
                    .iter()
                    .map(|piece| compartment_geometry(piece, length / n as f64, n))
                    .collect();
                let finite = |c: &CompartmentGeometry| {
                    [c.length, c.radius, c.area, c.volume, c.load_in, c.load_out]
                        .iter()
                        .all(|x| x.is_finite() && *x > 0.0)
                };
                if !comps.iter().all(finite) {
                    let sample = branch.sample_ids.first().copied().unwrap_or(-1);
                    return Err(MorphError::Degenerate { branch: b, sample });
                }
                Ok(DiscretizedBranch {
                    parent: branch.parent,
                    kind: Some(branch.kind),
                    comps,
                    points: branch.points.clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d_lambda_matches_neuron_for_a_thin_dendrite() {
        // 1 um diameter, cm 1, ra 100, 100 Hz: lambda_f = 1e5 sqrt(1/(4 pi 1e4)) = 282.09 um.
        // A 300 um branch needs L/(0.1 lambda) = 10.63 -> int(11.53/2)*2+1 = 11.
        assert_eq!(d_lambda_ncomp(300.0, 1.0, 0.1, 100.0, 1.0, 100.0), 11);
        assert_eq!(d_lambda_ncomp(1.0, 1.0, 0.1, 100.0, 1.0, 100.0), 1);
    }
}
