//! Exact frustum geometry of compartments.
//!
//! A compartment is a polyline of SWC points (x, y, z, r) joined by frusta
//! (truncated cones). Its membrane area is the sum of the frusta's lateral
//! areas, its volume their volumes, and the resistive load of each half is
//! the integral of dx / (pi r(x)^2) along it: the axial resistance of that
//! half divided by the axial resistivity. These are the definitions of both
//! NEURON and Jaxley.

use std::f64::consts::PI;

/// A point of a polyline: position in um and radius in um.
pub type Point = [f64; 4];

/// Geometry of one compartment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompartmentGeometry {
    /// Length along the branch path in um.
    pub length: f64,
    /// Length-weighted mean radius in um.
    pub radius: f64,
    /// Membrane area in um2.
    pub area: f64,
    /// Volume in um3.
    pub volume: f64,
    /// Resistive load of the proximal half (towards compartment 0 of the
    /// branch), integral of dx/(pi r^2), in 1/um.
    pub load_in: f64,
    /// Resistive load of the distal half, in 1/um.
    pub load_out: f64,
    /// Centre of the compartment in um (NaN for cells built without positions).
    pub center: [f64; 3],
}

impl CompartmentGeometry {
    /// A cylinder of the given length and radius (um).
    pub fn cylinder(length: f64, radius: f64) -> Self {
        let half_load = 0.5 * length / (PI * radius * radius);
        Self {
            length,
            radius,
            area: 2.0 * PI * radius * length,
            volume: PI * radius * radius * length,
            load_in: half_load,
            load_out: half_load,
            center: [f64::NAN; 3],
        }
    }
}

fn distance(a: &Point, b: &Point) -> f64 {
    let dx = b[0] - a[0];
    let dy = b[1] - a[1];
    let dz = b[2] - a[2];
    (dx * dx + dy * dy + dz * dz).sqrt()
}

/// Lateral area of a frustum of length `l` between radii `r1` and `r2`.
pub fn frustum_area(l: f64, r1: f64, r2: f64) -> f64 {
    let dr = r2 - r1;
    PI * (r1 + r2) * (dr * dr + l * l).sqrt()
}

/// Volume of a frustum.
pub fn frustum_volume(l: f64, r1: f64, r2: f64) -> f64 {
    PI / 3.0 * l * (r1 * r1 + r1 * r2 + r2 * r2)
}

/// Resistive load of a frustum: the integral of dx/(pi r^2) with r linear in
/// x, which is l / (pi r1 r2) exactly.
pub fn frustum_load(l: f64, r1: f64, r2: f64) -> f64 {
    l / (PI * r1 * r2)
}

/// Splits a polyline into `n` pieces of equal Euclidean length. Split points
/// are interpolated (radius included) and shared by neighbouring pieces;
/// original points strictly inside a piece are kept. A single point is
/// returned `n` times.
pub fn split_equal_length(points: &[Point], n: usize) -> Vec<Vec<Point>> {
    assert!(!points.is_empty() && n > 0);
    if points.len() == 1 {
        return vec![points.to_vec(); n];
    }
    let mut cum = Vec::with_capacity(points.len());
    cum.push(0.0);
    for w in points.windows(2) {
        let last = *cum.last().unwrap_or(&0.0);
        cum.push(last + distance(&w[0], &w[1]));
    }
    let total = cum[cum.len() - 1];
    let last_segment = points.len() - 2;
    let split_point = |target: f64| -> Point {
        // The segment whose start is the last cumulative distance <= target.
        let k = cum
            .partition_point(|&c| c <= target)
            .saturating_sub(1)
            .min(last_segment);
        let seg = (cum[k + 1] - cum[k]).max(1e-14);
        let frac = (target - cum[k]) / seg;
        let (a, b) = (&points[k], &points[k + 1]);
        [
            a[0] + frac * (b[0] - a[0]),
            a[1] + frac * (b[1] - a[1]),
            a[2] + frac * (b[2] - a[2]),
            a[3] + frac * (b[3] - a[3]),
        ]
    };
    let step = total / n as f64;
    let targets: Vec<f64> = (0..=n)
        .map(|i| if i == n { total } else { i as f64 * step })
        .collect();
    let splits: Vec<Point> = targets.iter().map(|&t| split_point(t)).collect();
    (0..n)
        .map(|i| {
            let mut piece = vec![splits[i]];
            piece.extend(
                (0..points.len())
                    .filter(|&k| cum[k] > targets[i] && cum[k] < targets[i + 1])
                    .map(|k| points[k]),
            );
            piece.push(splits[i + 1]);
            piece
        })
        .collect()
}

/// The Euclidean length of a polyline.
pub fn polyline_length(points: &[Point]) -> f64 {
    points.windows(2).map(|w| distance(&w[0], &w[1])).sum()
}

/// Geometry of a compartment given by its polyline, with its path length.
///
/// A single point (a compartment of a sphere-like single-point branch) has the
/// area and volume of a sphere of that radius divided by `n_pieces`, and half
/// loads of a cylinder of length r/n_pieces each (Jaxley's convention: the
/// sphere becomes a cylinder of length 2r).
pub fn compartment_geometry(points: &[Point], length: f64, n_pieces: usize) -> CompartmentGeometry {
    let n = n_pieces as f64;
    if points.len() == 1 || polyline_length(points) <= 1e-14 {
        let r = points.iter().map(|p| p[3]).sum::<f64>() / points.len() as f64;
        let half_load = (r / n) / (r * r) / PI;
        return CompartmentGeometry {
            length,
            radius: r,
            area: 4.0 * PI * r * r / n,
            volume: 4.0 / 3.0 * PI * r * r * r / n,
            load_in: half_load,
            load_out: half_load,
            center: [points[0][0], points[0][1], points[0][2]],
        };
    }
    let mut area = 0.0;
    let mut volume = 0.0;
    let mut weighted_r = 0.0;
    let mut weight = 0.0;
    for w in points.windows(2) {
        let l = distance(&w[0], &w[1]);
        let (r1, r2) = (w[0][3], w[1][3]);
        area += frustum_area(l, r1, r2);
        volume += frustum_volume(l, r1, r2);
        weighted_r += l * (r1 + r2);
        weight += 2.0 * l;
    }
    let halves = split_equal_length(points, 2);
    let load = |piece: &[Point]| -> f64 {
        piece
            .windows(2)
            .map(|w| frustum_load(distance(&w[0], &w[1]), w[0][3], w[1][3]))
            .sum()
    };
    let mid = halves[0][halves[0].len() - 1];
    CompartmentGeometry {
        length,
        radius: weighted_r / weight,
        area,
        volume,
        load_in: load(&halves[0]),
        load_out: load(&halves[1]),
        center: [mid[0], mid[1], mid[2]],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn a_straight_cylinder_polyline_equals_the_cylinder_formulas() {
        let pts = [
            [0.0, 0.0, 0.0, 2.0],
            [3.0, 0.0, 0.0, 2.0],
            [10.0, 0.0, 0.0, 2.0],
        ];
        let g = compartment_geometry(&pts, 10.0, 1);
        let c = CompartmentGeometry::cylinder(10.0, 2.0);
        assert!(close(g.area, c.area) && close(g.volume, c.volume));
        assert!(close(g.load_in, c.load_in) && close(g.load_out, c.load_out));
        assert!(close(g.radius, 2.0));
        assert_eq!(g.center, [5.0, 0.0, 0.0]);
    }

    #[test]
    fn frustum_load_equals_a_numerical_integral() {
        let (l, r1, r2) = (7.0, 0.5, 2.5);
        let n = 200_000;
        let h = l / n as f64;
        let integral: f64 = (0..n)
            .map(|i| {
                let r = r1 + (r2 - r1) * (i as f64 + 0.5) / n as f64;
                h / (PI * r * r)
            })
            .sum();
        assert!((frustum_load(l, r1, r2) - integral).abs() < 1e-9);
    }

    #[test]
    fn split_pieces_have_equal_lengths_and_keep_inner_points() {
        let pts = [
            [0.0, 0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0, 2.0],
            [1.0, 3.0, 0.0, 3.0],
        ];
        let pieces = split_equal_length(&pts, 4);
        assert_eq!(pieces.len(), 4);
        for p in &pieces {
            assert!(close(polyline_length(p), 1.0));
        }
        assert_eq!(pieces[0].len(), 2);
        assert_eq!(pieces[0][1], [1.0, 0.0, 0.0, 2.0]);
        assert_eq!(pieces[1][0], pieces[0][1]);
        // Radius is interpolated along each segment.
        assert!(close(pieces[1][1][3], 2.0 + 1.0 / 3.0));
    }

    #[test]
    fn a_single_point_is_a_sphere_split_into_pieces() {
        let g = compartment_geometry(&[[0.0, 0.0, 0.0, 3.0]], 1.5, 4);
        assert!(close(g.area * 4.0, 4.0 * PI * 9.0));
        assert!(close(g.load_in, 0.75 / (PI * 9.0)));
    }
}
