//! What every backend's step needs from a layout, a parameter set and the
//! stimuli, computed once here rather than by each backend: the electrical
//! geometry (areas, capacitances, axial conductances) with its reverse-mode
//! derivative, the stimulus and clamp time courses per step, and the
//! synaptic delays in steps.

use std::f64::consts::PI;

use ruxley_cell::{Layout, NONE, Parameters, Stimulus};
use ruxley_core::TimeGrid;
use ruxley_core::units::{AXIAL_TO_ABS, CAPACITANCE_TO_ABS, DENSITY_TO_ABS};

use crate::SimError;

/// The electrical geometry of one parameter set, per node of the layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// Membrane area of each compartment (um2).
    pub area: Vec<f64>,
    /// Resistive loads of the two halves of each compartment (1/um).
    pub load: Vec<[f64; 2]>,
    /// Membrane capacitance per node (nF); 0 at branch points.
    pub cap: Vec<f64>,
    /// Density (per cm2) to absolute factor per node; 0 at branch points.
    pub area_abs: Vec<f64>,
    /// Axial conductance between each node and its parent (uS; 0 at roots).
    pub g_axial: Vec<f64>,
    /// The sum of the axial conductances at each node (uS).
    pub g_sum: Vec<f64>,
}

/// Cotangents of a [`Geometry`]'s per-node values.
#[derive(Debug, Clone, PartialEq)]
pub struct GeometryCot {
    /// Of `cap`.
    pub cap: Vec<f64>,
    /// Of `area_abs`.
    pub area_abs: Vec<f64>,
    /// Of `g_axial`.
    pub g_axial: Vec<f64>,
}

impl GeometryCot {
    /// Zeros for `layout`.
    pub fn zeros(layout: &Layout) -> Self {
        let n = layout.n_nodes();
        Self {
            cap: vec![0.0; n],
            area_abs: vec![0.0; n],
            g_axial: vec![0.0; n],
        }
    }
}

impl Geometry {
    /// The geometry of `params` (capacitance, axial resistivity, and the
    /// radius and length of cylindrical compartments).
    pub fn new(layout: &Layout, params: &Parameters) -> Self {
        let n = layout.n_nodes();
        let values = params.values();
        let cm = &values[layout.capacitance_range()];
        let ra = &values[layout.axial_resistivity_range()];
        let radius = &values[layout.radius_range()];
        let length = &values[layout.length_range()];
        let (area, load): (Vec<f64>, Vec<[f64; 2]>) = layout
            .geometry()
            .iter()
            .enumerate()
            .map(|(c, g)| g.resolve(radius[c], length[c]))
            .unzip();
        let mut cap = vec![0.0; n];
        let mut area_abs = vec![0.0; n];
        for (c, &node) in layout.node_of_comp().iter().enumerate() {
            cap[node as usize] = cm[c] * area[c] * CAPACITANCE_TO_ABS;
            area_abs[node as usize] = area[c] * DENSITY_TO_ABS;
        }
        let mut g_axial = vec![0.0; n];
        let mut g_sum = vec![0.0; n];
        for (i, pair) in layout.edge_halves().iter().enumerate() {
            let p = layout.parent()[i];
            if p == NONE {
                continue;
            }
            let resistance: f64 = pair
                .iter()
                .filter(|(c, _)| *c != NONE)
                .map(|&(c, half)| ra[c as usize] * load[c as usize][half as usize])
                .sum();
            let g = AXIAL_TO_ABS / resistance;
            g_axial[i] = g;
            g_sum[i] += g;
            g_sum[p as usize] += g;
        }
        Self {
            area,
            load,
            cap,
            area_abs,
            g_axial,
            g_sum,
        }
    }

    /// Adds to `grad` (in the layout of the parameter vector) the shares of
    /// the capacitances, axial resistivities, and radii and lengths of
    /// cylindrical compartments, given the cotangents of this geometry.
    pub fn vjp(&self, layout: &Layout, params: &Parameters, cot: &GeometryCot, grad: &mut [f64]) {
        let values = params.values();
        let cm = layout.capacitance_range();
        let ra = layout.axial_resistivity_range();
        let mut lam_area = vec![0.0; layout.n_comps()];
        for (c, &node) in layout.node_of_comp().iter().enumerate() {
            let node = node as usize;
            grad[cm.start + c] += cot.cap[node] * self.area[c] * CAPACITANCE_TO_ABS;
            lam_area[c] = cot.cap[node] * values[cm.start + c] * CAPACITANCE_TO_ABS
                + cot.area_abs[node] * DENSITY_TO_ABS;
        }
        let mut lam_load = vec![[0.0; 2]; layout.n_comps()];
        for (j, pair) in layout.edge_halves().iter().enumerate() {
            if layout.parent()[j] == NONE {
                continue;
            }
            let g = self.g_axial[j];
            // g = AXIAL_TO_ABS / sum(ra_c load_c).
            let dg_dr = -g * g / AXIAL_TO_ABS * cot.g_axial[j];
            for &(c, half) in pair {
                if c != NONE {
                    let (c, h) = (c as usize, half as usize);
                    grad[ra.start + c] += dg_dr * self.load[c][h];
                    lam_load[c][h] += dg_dr * values[ra.start + c];
                }
            }
        }
        let (r0, l0) = (layout.radius_range().start, layout.length_range().start);
        for (c, geo) in layout.geometry().iter().enumerate() {
            if !geo.cylinder {
                continue;
            }
            let (r, l) = (values[r0 + c], values[l0 + c]);
            let lam_loads = lam_load[c][0] + lam_load[c][1];
            // area = 2 pi r l, each half load = (l/2) / (pi r^2).
            grad[r0 + c] += lam_area[c] * 2.0 * PI * l - lam_loads * l / (PI * r * r * r);
            grad[l0 + c] += lam_area[c] * 2.0 * PI * r + lam_loads / (2.0 * PI * r * r);
        }
    }
}

/// A stimulus resolved to its node and its current (nA) in each step.
#[derive(Debug, Clone, PartialEq)]
pub struct StimulusDrive {
    /// The node.
    pub node: usize,
    /// The current injected during each step.
    pub current: Vec<f64>,
}

/// A voltage clamp resolved to its node, the node's children, and the
/// command (mV) in each step (NaN where the clamp is off).
#[derive(Debug, Clone, PartialEq)]
pub struct ClampDrive {
    /// The node.
    pub node: usize,
    /// The nodes whose parent it is.
    pub children: Vec<usize>,
    /// The command voltage of each step.
    pub command: Vec<f64>,
}

/// The node of compartment `comp`, or an error naming it.
fn node_of(layout: &Layout, comp: usize) -> Result<usize, SimError> {
    if comp >= layout.n_comps() {
        Err(SimError::Input(format!(
            "stimulus or clamp at compartment {comp}, which does not exist"
        )))
    } else {
        Ok(layout.node_of_comp()[comp] as usize)
    }
}

/// The stimuli sampled on `grid`.
pub fn stimulus_drives(
    layout: &Layout,
    stimuli: &[Stimulus],
    grid: &TimeGrid,
) -> Result<Vec<StimulusDrive>, SimError> {
    stimuli
        .iter()
        .map(|s| {
            s.current.validate(false).map_err(SimError::Input)?;
            Ok(StimulusDrive {
                node: node_of(layout, s.comp)?,
                current: s.current.sample(grid, 0.0),
            })
        })
        .collect()
}

/// The layout's clamps sampled on `grid`.
pub fn clamp_drives(layout: &Layout, grid: &TimeGrid) -> Result<Vec<ClampDrive>, SimError> {
    layout
        .clamps()
        .iter()
        .map(|c| {
            c.voltage.validate(true).map_err(SimError::Input)?;
            let node = node_of(layout, c.comp)?;
            Ok(ClampDrive {
                node,
                children: (0..layout.n_nodes())
                    .filter(|&j| layout.parent()[j] as usize == node)
                    .collect(),
                command: c.voltage.sample(grid, f64::NAN),
            })
        })
        .collect()
}

/// The transmission delay of every synapse in steps of `dt`, per group.
pub fn delay_steps(layout: &Layout, dt: f64) -> Vec<Vec<u32>> {
    layout
        .synapses()
        .iter()
        .map(|g| g.delays.iter().map(|d| (d / dt).round() as u32).collect())
        .collect()
}
