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
    /// that none is longer than `d_lambda` times the branch's AC length
    /// constant at `frequency_hz` ([`lambda_f`]), with `cm` in uF/cm2 and
    /// `ra` in ohm cm.
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

/// The AC length constant (um) at `frequency_hz` of a cylinder of
/// diameter `diameter` (um): 1e5 sqrt(d / (4 pi f cm ra)).
fn cylinder_lambda(diameter: f64, frequency_hz: f64, cm: f64, ra: f64) -> f64 {
    1e5 * (diameter / (4.0 * std::f64::consts::PI * frequency_hz * cm * ra)).sqrt()
}

/// A branch's AC length constant (um) as NEURON's d_lambda rule computes
/// it from the branch's points (x, y, z, radius): the branch length over
/// its electrotonic length, the sum over the pieces between points of
/// length / lambda at the piece's mean diameter. For one cylinder it is
/// 1e5 sqrt(d / (4 pi f cm ra)); a thin stretch weighs in more than a mean diameter
/// says.
pub fn lambda_f(points: &[Point], frequency_hz: f64, cm: f64, ra: f64) -> f64 {
    let lambda = |d: f64| cylinder_lambda(d, frequency_hz, cm, ra);
    let (mut length, mut electrotonic) = (0.0, 0.0);
    for w in points.windows(2) {
        let dx = ((w[1][0] - w[0][0]).powi(2)
            + (w[1][1] - w[0][1]).powi(2)
            + (w[1][2] - w[0][2]).powi(2))
        .sqrt();
        length += dx;
        electrotonic += dx / lambda(w[0][3] + w[1][3]);
    }
    if electrotonic > 0.0 {
        length / electrotonic
    } else {
        lambda(2.0 * points.first().map_or(0.0, |p| p[3]))
    }
}

/// The d_lambda rule for one branch of length `length` (um) and AC length
/// constant `lambda_f` (um): int((L / (d_lambda lambda_f) + 0.9) / 2) * 2 + 1.
pub fn d_lambda_ncomp(length: f64, lambda_f: f64, d_lambda: f64) -> usize {
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
                    } => d_lambda_ncomp(
                        length,
                        lambda_f(&branch.points, *frequency_hz, *cm, *ra),
                        *d_lambda,
                    ),
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
        let cylinder = [[0.0, 0.0, 0.0, 0.5], [300.0, 0.0, 0.0, 0.5]];
        let lambda = lambda_f(&cylinder, 100.0, 1.0, 100.0);
        assert!((lambda - 282.094_791_773_878_1).abs() < 1e-9, "{lambda}");
        assert_eq!(d_lambda_ncomp(300.0, lambda, 0.1), 11);
        assert_eq!(d_lambda_ncomp(1.0, lambda, 0.1), 1);
    }

    #[test]
    fn lambda_f_weighs_each_piece_by_its_own_length_constant() {
        // 100 um at 4 um diameter, then 100 um at 0.25 um (points along a
        // bent line): lambda is 2x and 0.5x the 1 um value lambda_1, so the
        // electrotonic length is 100/(2 lambda_1) + 100/(0.5 lambda_1) and
        // lambda_f = 200 / (250 / lambda_1) = 0.8 lambda_1.
        let l1 = 282.094_791_773_878_1;
        let points = [
            [0.0, 0.0, 0.0, 2.0],
            [60.0, 80.0, 0.0, 2.0],
            [60.0, 80.0, 0.0, 0.125],
            [60.0, 80.0, 100.0, 0.125],
        ];
        let lambda = lambda_f(&points, 100.0, 1.0, 100.0);
        assert!((lambda - 0.8 * l1).abs() < 1e-9, "{lambda} vs {}", 0.8 * l1);
        // At d_lambda 0.1: 200 / (0.1 * 0.8 lambda_1) = 8.86, so 9
        // compartments; the mean diameter (2.125 um, lambda 1.46 lambda_1)
        // would give 5.
        assert_eq!(d_lambda_ncomp(200.0, lambda, 0.1), 9);
        let mean = cylinder_lambda(2.125, 100.0, 1.0, 100.0);
        assert_eq!(d_lambda_ncomp(200.0, mean, 0.1), 5);
    }
}
