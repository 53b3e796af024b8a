//! The model: cells made of branches made of compartments, with channels,
//! parameters, groups, stimuli, clamps and recordings.

use std::collections::BTreeMap;
use std::path::Path;

use ruxley_channels::{Channel, Ion, IonSite};
use ruxley_morph::{
    CompartmentGeometry, DiscretizedBranch, Morphology, Ncomp, Point, Swc, SwcOptions, TraceOptions,
};

use crate::error::ModelError;
use crate::stimulus::{Clamp, Recording, Stimulus};

/// Default compartment length (um) of cells built from branches (Jaxley's).
pub const DEFAULT_LENGTH: f64 = 10.0;
/// Default compartment radius (um) of cells built from branches (Jaxley's).
pub const DEFAULT_RADIUS: f64 = 1.0;
/// Default specific capacitance (uF/cm2).
pub const DEFAULT_CAPACITANCE: f64 = 1.0;
/// Default axial resistivity (ohm cm). This is Jaxley's default; NEURON's is 35.4.
pub const DEFAULT_AXIAL_RESISTIVITY: f64 = 5000.0;
/// Default initial voltage (mV) (Jaxley's).
pub const DEFAULT_V: f64 = -70.0;
/// Default temperature (degC) (NEURON's, at which `hh` has its textbook rates).
pub const DEFAULT_CELSIUS: f64 = 6.3;

/// How to turn an SWC file into a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct SwcImport {
    /// Compartments per branch.
    pub ncomp: Ncomp,
    /// Branch tracing options (max branch length, min radius, relevant types).
    pub trace: TraceOptions,
    /// Reader options (length unit).
    pub read: SwcOptions,
}

impl SwcImport {
    /// `ncomp` compartments in every branch, all other options at their defaults.
    pub fn new(ncomp: usize) -> Self {
        Self {
            ncomp: Ncomp::Uniform(ncomp),
            trace: TraceOptions::default(),
            read: SwcOptions::default(),
        }
    }

    /// Cuts branches longer than `len` um.
    pub fn max_branch_len(mut self, len: f64) -> Self {
        self.trace.max_branch_len = Some(len);
        self
    }

    /// Raises radii below `r` um to `r`.
    pub fn min_radius(mut self, r: f64) -> Self {
        self.trace.min_radius = Some(r);
        self
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CellRecord {
    pub first_branch: usize,
    pub n_branches: usize,
    pub first_comp: usize,
    pub n_comps: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct BranchRecord {
    pub cell: usize,
    pub parent: Option<usize>,
    pub first_comp: usize,
    pub ncomp: usize,
    pub kind: Option<i32>,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompRecord {
    pub branch: usize,
    pub geometry: CompartmentGeometry,
    /// The geometry is a cylinder given by radius and length (built from
    /// branches, or set or trained), not the frusta of a reconstruction.
    pub cylinder: bool,
    pub cm: f64,
    pub ra: f64,
    pub v: f64,
}

/// A channel inserted on a set of compartments, with its per-compartment
/// parameters and initial states.
#[derive(Debug, Clone)]
pub(crate) struct Mechanism {
    pub channel: Box<dyn Channel>,
    /// Global compartment indices, ascending.
    pub comps: Vec<usize>,
    /// `params[p][row]`.
    pub params: Vec<Vec<f64>>,
    /// `states[s][row]`: the initial value, NaN for the steady state.
    pub states: Vec<Vec<f64>>,
}

impl Mechanism {
    pub fn param_name(&self, p: usize) -> String {
        let spec = &self.channel.params()[p];
        if spec.shared {
            spec.name.to_string()
        } else {
            format!("{}_{}", self.channel.name(), spec.name)
        }
    }

    pub fn state_name(&self, s: usize) -> String {
        format!("{}_{}", self.channel.name(), self.channel.states()[s].name)
    }

    pub fn row_of(&self, comp: usize) -> Option<usize> {
        self.comps.binary_search(&comp).ok()
    }
}

/// A neuron model: one or more cells with their channels, parameters,
/// stimuli and recordings. Select parts with [`Model::cell`],
/// [`Model::branch`], [`Model::comp`], [`Model::group`] (or a kept
/// [`crate::Selection`] with [`Model::at`]) and act on them with the methods
/// of [`crate::View`].
///
/// Its methods are written beside the concept they belong to: building
/// cells and reading values here (`model.rs`), selections in `view.rs`,
/// networks and synapses in `network.rs`, trainables in `trainable.rs`, and
/// [`Model::build`], the lowering to a [`crate::Layout`], in `layout.rs`.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) cells: Vec<CellRecord>,
    pub(crate) branches: Vec<BranchRecord>,
    pub(crate) comps: Vec<CompRecord>,
    pub(crate) groups: BTreeMap<String, Vec<bool>>,
    pub(crate) mechanisms: Vec<Mechanism>,
    pub(crate) stimuli: Vec<Stimulus>,
    pub(crate) clamps: Vec<Clamp>,
    pub(crate) recordings: Vec<Recording>,
    pub(crate) celsius: f64,
    pub(crate) warnings: Vec<String>,
    pub(crate) trainables: Vec<crate::trainable::TrainableSpec>,
    /// The ions some mechanism uses; each has an [`IonSite`] mechanism of
    /// the ion's name.
    pub(crate) ions: Vec<Ion>,
    /// Synapses, grouped by type.
    pub(crate) synapses: Vec<crate::network::SynapseGroup>,
    pub(crate) n_synapses: usize,
}

/// The SWC group name of a structure type.
pub fn group_name(kind: i32) -> String {
    match kind {
        0 => "undefined".into(),
        1 => "soma".into(),
        2 => "axon".into(),
        3 => "basal".into(),
        4 => "apical".into(),
        k => format!("custom{k}"),
    }
}

impl Model {
    fn empty() -> Self {
        Self {
            cells: Vec::new(),
            branches: Vec::new(),
            comps: Vec::new(),
            groups: BTreeMap::new(),
            mechanisms: Vec::new(),
            stimuli: Vec::new(),
            clamps: Vec::new(),
            recordings: Vec::new(),
            celsius: DEFAULT_CELSIUS,
            warnings: Vec::new(),
            trainables: Vec::new(),
            ions: Vec::new(),
            synapses: Vec::new(),
            n_synapses: 0,
        }
    }

    /// One cell from compartmentalised branches (parents before children).
    fn from_geometry(branches: Vec<DiscretizedBranch>) -> Self {
        let mut m = Self::empty();
        let mut n_comps = 0;
        for (
            b,
            DiscretizedBranch {
                parent,
                kind,
                comps,
                points,
            },
        ) in branches.into_iter().enumerate()
        {
            m.branches.push(BranchRecord {
                cell: 0,
                parent,
                first_comp: n_comps,
                ncomp: comps.len(),
                kind,
                points,
            });
            n_comps += comps.len();
            m.comps.extend(comps.into_iter().map(|geometry| CompRecord {
                branch: b,
                geometry,
                cylinder: kind.is_none(),
                cm: DEFAULT_CAPACITANCE,
                ra: DEFAULT_AXIAL_RESISTIVITY,
                v: DEFAULT_V,
            }));
        }
        m.cells.push(CellRecord {
            first_branch: 0,
            n_branches: m.branches.len(),
            first_comp: 0,
            n_comps,
        });
        m
    }

    /// A cell of cylindrical branches: `parents[b]` is the parent of branch b
    /// (`None` for the root, otherwise a smaller index) and every branch has
    /// `ncomp[b]` compartments of [`DEFAULT_LENGTH`] and [`DEFAULT_RADIUS`].
    /// Children attach at the distal end of their parent.
    pub fn from_branches(parents: &[Option<usize>], ncomp: &[usize]) -> Result<Self, ModelError> {
        if parents.is_empty() {
            return Err(ModelError::InvalidParents(
                "a cell needs at least one branch".into(),
            ));
        }
        if parents.len() != ncomp.len() {
            return Err(ModelError::InvalidParents(format!(
                "{} parents but {} ncomp values",
                parents.len(),
                ncomp.len()
            )));
        }
        for (b, p) in parents.iter().enumerate() {
            match (b, p) {
                (0, None) => {}
                (0, Some(_)) => {
                    return Err(ModelError::InvalidParents(
                        "branch 0 must be the root (parent -1)".into(),
                    ));
                }
                (_, None) => {
                    return Err(ModelError::InvalidParents(format!(
                        "branch {b} has no parent; a cell has one root (use a network for several cells)"
                    )));
                }
                (_, Some(p)) if *p >= b => {
                    return Err(ModelError::InvalidParents(format!(
                        "branch {b} has parent {p}; parents must come before their children"
                    )));
                }
                _ => {}
            }
            if ncomp[b] == 0 {
                return Err(ModelError::InvalidParents(format!(
                    "branch {b} has ncomp 0"
                )));
            }
        }
        let cyl = CompartmentGeometry::cylinder(DEFAULT_LENGTH, DEFAULT_RADIUS);
        Ok(Self::from_geometry(
            parents
                .iter()
                .zip(ncomp)
                .map(|(&parent, &n)| DiscretizedBranch {
                    parent,
                    kind: None,
                    comps: vec![cyl; n],
                    points: Vec::new(),
                })
                .collect(),
        ))
    }

    /// A single cylindrical compartment.
    pub fn compartment() -> Self {
        Self::from_branches(&[None], &[1]).expect("one root branch is valid")
    }

    /// A cell from a traced morphology, with the SWC types as groups
    /// (`soma`, `axon`, `basal`, `apical`, `custom<k>`, `undefined`).
    pub fn from_morphology(morph: &Morphology, ncomp: &Ncomp) -> Result<Self, ModelError> {
        let branches = morph.discretize(ncomp)?;
        let mut m = Self::from_geometry(branches);
        for c in 0..m.comps.len() {
            if let Some(kind) = m.branches[m.comps[c].branch].kind {
                let n = m.comps.len();
                m.groups
                    .entry(group_name(kind))
                    .or_insert_with(|| vec![false; n])[c] = true;
            }
        }
        m.warnings.clone_from(&morph.warnings);
        Ok(m)
    }

    /// A cell from a parsed SWC file.
    pub fn from_swc(swc: &Swc, import: &SwcImport) -> Result<Self, ModelError> {
        let morph = ruxley_morph::trace(swc, &import.trace)?;
        Self::from_morphology(&morph, &import.ncomp)
    }

    /// A cell from an SWC file.
    pub fn from_swc_file(path: impl AsRef<Path>, import: &SwcImport) -> Result<Self, ModelError> {
        let swc = ruxley_morph::read_swc(path, &import.read)?;
        Self::from_swc(&swc, import)
    }

    /// A cell from a Neurolucida ASCII file (`.asc`; see
    /// [`ruxley_morph::asc`] for what is read); `import.read` does not apply.
    pub fn from_asc_file(path: impl AsRef<Path>, import: &SwcImport) -> Result<Self, ModelError> {
        let swc = ruxley_morph::read_asc(path)?;
        Self::from_swc(&swc, import)
    }

    /// A network: the cells of all `models` side by side, in order, with
    /// their channels, groups, stimuli, recordings and synapses. Recording
    /// labels get a `c<cell>_` prefix where they would otherwise collide.
    /// Takes time linear in the size of the network.
    pub fn network(models: Vec<Model>) -> Result<Self, ModelError> {
        let mut net = Self::empty();
        if models.is_empty() {
            return Err(ModelError::Invalid(
                "a network needs at least one cell".into(),
            ));
        }
        net.celsius = models[0].celsius;
        let multi = models.iter().map(|m| m.cells.len()).sum::<usize>() > 1;
        // Group members and mechanisms by name, gathered in one pass.
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut mech_index: std::collections::HashMap<String, usize> = Default::default();
        for m in models {
            if m.celsius != net.celsius {
                return Err(ModelError::Invalid(format!(
                    "cells at different temperatures ({} and {} degC)",
                    net.celsius, m.celsius
                )));
            }
            let (cell0, branch0, comp0) = (net.cells.len(), net.branches.len(), net.comps.len());
            net.cells.extend(m.cells.iter().map(|c| CellRecord {
                first_branch: c.first_branch + branch0,
                first_comp: c.first_comp + comp0,
                ..c.clone()
            }));
            net.branches
                .extend(m.branches.into_iter().map(|b| BranchRecord {
                    cell: b.cell + cell0,
                    parent: b.parent.map(|p| p + branch0),
                    first_comp: b.first_comp + comp0,
                    ..b
                }));
            net.comps.extend(m.comps.into_iter().map(|c| CompRecord {
                branch: c.branch + branch0,
                ..c
            }));
            for (name, mask) in m.groups {
                let members = groups.entry(name).or_default();
                members.extend(
                    mask.iter()
                        .enumerate()
                        .filter(|(_, inside)| **inside)
                        .map(|(k, _)| comp0 + k),
                );
            }
            for ion in m.ions {
                net.register_ion(ion)?;
            }
            // Compartments of later cells come after those of earlier ones,
            // so appending rows keeps every mechanism's rows sorted.
            for mech in m.mechanisms {
                let name = mech.channel.name().to_string();
                let comps = mech.comps.iter().map(|c| c + comp0);
                match mech_index.get(&name) {
                    None => {
                        mech_index.insert(name, net.mechanisms.len());
                        net.mechanisms.push(Mechanism {
                            comps: comps.collect(),
                            ..mech
                        });
                    }
                    Some(&k) => {
                        let known = &mut net.mechanisms[k];
                        if known.channel.params() != mech.channel.params()
                            || known.channel.states() != mech.channel.states()
                        {
                            return Err(ModelError::Invalid(format!(
                                "two different channels are named `{name}`; rename one"
                            )));
                        }
                        known.comps.extend(comps);
                        for (col, add) in known.params.iter_mut().zip(mech.params) {
                            col.extend(add);
                        }
                        for (col, add) in known.states.iter_mut().zip(mech.states) {
                            col.extend(add);
                        }
                    }
                }
            }
            let stim0 = net.stimuli.len();
            net.stimuli.extend(m.stimuli.into_iter().map(|s| Stimulus {
                comp: s.comp + comp0,
                ..s
            }));
            net.clamps.extend(m.clamps.into_iter().map(|s| Clamp {
                comp: s.comp + comp0,
                ..s
            }));
            // Labels of a single cell get its index in the network as a prefix.
            let prefix = multi && m.cells.len() == 1;
            for r in m.recordings {
                let comp = r.comp + comp0;
                let label = if prefix {
                    format!("c{}_{}", cell0, r.label)
                } else {
                    r.label
                };
                net.recordings.push(Recording { comp, label, ..r });
            }
            net.warnings.extend(m.warnings);
            let syn0 = net.n_synapses;
            net.trainables.extend(
                m.trainables
                    .into_iter()
                    .map(|t| t.offset(comp0, stim0, syn0)),
            );
            net.append_synapses(m.synapses, m.n_synapses, comp0)?;
        }
        let n = net.comps.len();
        for (name, members) in groups {
            let mut mask = vec![false; n];
            for c in members {
                mask[c] = true;
            }
            net.groups.insert(name, mask);
        }
        Ok(net)
    }

    /// Adds the rows of `mech` to the mechanism of the same name, or adds it.
    /// Compartments that already have the channel keep their values.
    pub(crate) fn merge_mechanism(&mut self, mech: Mechanism) -> Result<(), ModelError> {
        let name = mech.channel.name().to_string();
        let Some(existing) = self
            .mechanisms
            .iter_mut()
            .find(|m| m.channel.name() == name)
        else {
            self.mechanisms.push(mech);
            return Ok(());
        };
        let same_spec = existing.channel.params() == mech.channel.params()
            && existing.channel.states() == mech.channel.states();
        if !same_spec {
            return Err(ModelError::Invalid(format!(
                "two different channels are named `{name}`; rename one"
            )));
        }
        let mut rows: Vec<(usize, Vec<f64>, Vec<f64>)> = Vec::new();
        for (src, m) in [(0, &*existing), (1, &mech)] {
            for (r, &c) in m.comps.iter().enumerate() {
                if src == 1 && existing.row_of(c).is_some() {
                    continue;
                }
                rows.push((
                    c,
                    m.params.iter().map(|p| p[r]).collect(),
                    m.states.iter().map(|s| s[r]).collect(),
                ));
            }
        }
        rows.sort_by_key(|r| r.0);
        existing.comps = rows.iter().map(|r| r.0).collect();
        for (p, col) in existing.params.iter_mut().enumerate() {
            *col = rows.iter().map(|r| r.1[p]).collect();
        }
        for (s, col) in existing.states.iter_mut().enumerate() {
            *col = rows.iter().map(|r| r.2[s]).collect();
        }
        Ok(())
    }

    /// Records that `ion` is used; an ion of the same name must be the same.
    pub(crate) fn register_ion(&mut self, ion: Ion) -> Result<(), ModelError> {
        match self.ions.iter().find(|i| i.name == ion.name) {
            Some(known) if *known != ion => Err(ModelError::Invalid(format!(
                "two different ions are named `{}`",
                ion.name
            ))),
            Some(_) => Ok(()),
            None => {
                self.ions.push(ion);
                Ok(())
            }
        }
    }

    /// Inserts the sites of the ions `channel` uses on `comps`.
    pub(crate) fn insert_ion_sites(
        &mut self,
        channel: &dyn Channel,
        comps: &[usize],
    ) -> Result<(), ModelError> {
        let ions = channel
            .ion()
            .into_iter()
            .chain(channel.pool())
            .chain(channel.inputs().iter().map(|i| i.ion()));
        for ion in ions {
            self.register_ion(ion)?;
            let site = IonSite::new(ion);
            let params = site
                .params()
                .iter()
                .map(|p| vec![p.default; comps.len()])
                .collect();
            self.merge_mechanism(Mechanism {
                channel: Box::new(site),
                comps: comps.to_vec(),
                params,
                states: Vec::new(),
            })?;
        }
        Ok(())
    }

    /// The ions used by the model's mechanisms.
    pub fn ions(&self) -> &[Ion] {
        &self.ions
    }

    /// Sets the temperature in degC (NEURON's `celsius`; default 6.3).
    pub fn set_celsius(&mut self, celsius: f64) -> Result<(), ModelError> {
        if !celsius.is_finite() || celsius < -273.15 {
            return Err(ModelError::InvalidValue {
                name: "celsius".into(),
                value: celsius,
                reason: "must be a finite temperature above absolute zero",
            });
        }
        self.celsius = celsius;
        Ok(())
    }

    /// The temperature in degC.
    pub fn celsius(&self) -> f64 {
        self.celsius
    }

    /// The number of cells.
    pub fn n_cells(&self) -> usize {
        self.cells.len()
    }

    /// The number of branches of all cells.
    pub fn n_branches(&self) -> usize {
        self.branches.len()
    }

    /// The number of compartments of all cells.
    pub fn n_comps(&self) -> usize {
        self.comps.len()
    }

    /// The geometry of global compartment `c`.
    pub fn geometry(&self, c: usize) -> &CompartmentGeometry {
        &self.comps[c].geometry
    }

    /// The parent of each branch (global indices).
    pub fn branch_parents(&self) -> Vec<Option<usize>> {
        self.branches.iter().map(|b| b.parent).collect()
    }

    /// Global index range of the compartments of global branch `b`.
    pub fn branch_comps(&self, b: usize) -> std::ops::Range<usize> {
        let br = &self.branches[b];
        br.first_comp..br.first_comp + br.ncomp
    }

    /// The polyline (x, y, z, r) of global branch `b` (empty for cells built
    /// from branches).
    pub fn branch_points(&self, b: usize) -> &[Point] {
        &self.branches[b].points
    }

    /// The polyline (x, y, z, r) of every compartment, in global order: its
    /// share of its branch's points (empty for cells built from branches).
    pub fn comp_points(&self) -> Vec<Vec<Point>> {
        self.branches
            .iter()
            .flat_map(|b| {
                if b.points.is_empty() {
                    vec![Vec::new(); b.ncomp]
                } else {
                    ruxley_morph::geometry::split_equal_length(&b.points, b.ncomp)
                }
            })
            .collect()
    }

    /// (cell, branch within cell, compartment within branch) of global
    /// compartment `c`.
    pub fn locate(&self, c: usize) -> (usize, usize, usize) {
        let b = self.comps[c].branch;
        let br = &self.branches[b];
        (
            br.cell,
            b - self.cells[br.cell].first_branch,
            c - br.first_comp,
        )
    }

    /// The names of all groups.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.keys().cloned().collect()
    }

    /// The names of the inserted channels.
    pub fn channel_names(&self) -> Vec<String> {
        self.mechanisms
            .iter()
            .map(|m| m.channel.name().to_string())
            .collect()
    }

    /// Warnings gathered while reading the morphology.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The recordings, in order.
    pub fn recordings(&self) -> &[Recording] {
        &self.recordings
    }

    /// The current stimuli.
    pub fn stimuli(&self) -> &[Stimulus] {
        &self.stimuli
    }

    /// The voltage clamps.
    pub fn clamps(&self) -> &[Clamp] {
        &self.clamps
    }

    /// Removes all stimuli.
    pub fn clear_stimuli(&mut self) {
        self.stimuli.clear();
    }

    /// Removes all recordings.
    pub fn clear_recordings(&mut self) {
        self.recordings.clear();
    }

    /// The path distance (um) along the cell from the middle of its root
    /// branch (the soma of an SWC cell) to the centre of global compartment
    /// `c`, as NEURON's `distance()` from soma(0.5) measures it for children
    /// attached at the soma's end.
    pub fn path_distance(&self, c: usize) -> f64 {
        let b = self.comps[c].branch;
        let br = &self.branches[b];
        let within: f64 = self.comps[br.first_comp..c]
            .iter()
            .map(|x| x.geometry.length)
            .sum::<f64>()
            + 0.5 * self.comps[c].geometry.length;
        let branch_len = |b: usize| -> f64 {
            self.branch_comps(b)
                .map(|k| self.comps[k].geometry.length)
                .sum()
        };
        let mut start = 0.0;
        let mut p = br.parent;
        while let Some(q) = p {
            let parent = self.branches[q].parent;
            start += if parent.is_some() {
                branch_len(q)
            } else {
                0.5 * branch_len(q)
            };
            p = parent;
        }
        if br.parent.is_none() {
            (within - 0.5 * branch_len(b)).abs()
        } else {
            start + within
        }
    }

    /// The default label of a compartment: `b<branch>_c<comp>`, prefixed by
    /// `c<cell>_` in models with several cells.
    pub fn site_label(&self, c: usize) -> String {
        let (cell, b, k) = self.locate(c);
        if self.cells.len() > 1 {
            format!("c{cell}_b{b}_c{k}")
        } else {
            format!("b{b}_c{k}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_group_indices_count_within_the_group_as_in_jaxley() {
        // Branches 0-3 of 2 compartments; the group holds branches 2 and 3.
        let mut m = Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2; 4]).unwrap();
        m.branch(vec![2, 3]).add_to_group("tips").unwrap();
        let b2 = m.branch(2).comps().unwrap();
        let b3 = m.branch(3).comps().unwrap();
        assert_eq!(m.group("tips").branch(0).comps().unwrap(), b2);
        assert_eq!(m.group("tips").branch(1).comp(1).comps().unwrap(), [b3[1]]);
        assert_eq!(m.group("tips").comp(2).comps().unwrap(), [b3[0]]);
        let e = m.group("tips").branch(2).comps().unwrap_err().to_string();
        assert!(
            e.contains("out of range") && e.contains("there are 2"),
            "{e}"
        );
        // Without a group, indices count within the cell and the branch.
        assert_eq!(m.branch(3).comp(1).comps().unwrap(), [b3[1]]);
        assert_eq!(m.comp(5).comps().unwrap(), [b2[1]]);
    }

    #[test]
    fn a_kept_selection_selects_what_its_view_selects_every_time() {
        use crate::view::{Selection, View};
        let mut m =
            Model::from_branches(&[None, Some(0), Some(0), Some(1)], &[2, 3, 2, 4]).unwrap();
        m.branch(vec![2, 3]).add_to_group("tips").unwrap();
        type Chained = fn(&mut Model) -> View<'_>;
        let chains: Vec<(Selection, Chained)> = vec![
            (Selection::new(), |m| m.view()),
            (Selection::new().branch(1).comp(2), |m| m.branch(1).comp(2)),
            (Selection::new().group("tips").branch(1).comp(3), |m| {
                m.group("tips").branch(1).comp(3)
            }),
            (Selection::new().branch("all").loc(0.5), |m| {
                m.branch("all").loc(0.5)
            }),
            (Selection::new().cell(0).branch(vec![3, 0]), |m| {
                m.cell(0).branch(vec![3, 0])
            }),
            (Selection::new().group("tips").comp(1..4), |m| {
                m.group("tips").comp(1..4)
            }),
        ];
        for (k, (kept, chained)) in chains.iter().enumerate() {
            let want = chained(&mut m).sites().map(<[_]>::to_vec);
            assert!(want.as_ref().is_ok_and(|w| !w.is_empty()), "chain {k}");
            for _ in 0..2 {
                assert_eq!(m.at(kept).sites().map(<[_]>::to_vec), want, "chain {k}");
            }
        }
        // A view narrowed by a selection continues the chain.
        let tips = Selection::new().group("tips");
        assert_eq!(
            m.cell(0).at(&tips).branch(0).comps().unwrap(),
            m.group("tips").branch(0).comps().unwrap()
        );
        // Errors surface where the selection is applied, as in a view.
        let bad = Selection::new().group("tips").branch(2);
        let e = m.at(&bad).comps().unwrap_err().to_string();
        assert!(
            e.contains("out of range") && e.contains("there are 2"),
            "{e}"
        );
        assert!(
            m.at(&Selection::new().group("none"))
                .set("v", -70.0)
                .is_err()
        );
        // Acting through a kept selection acts on its compartments only.
        let tip = Selection::new().branch(3).comp(0);
        m.at(&tip).set("radius", 7.0).unwrap();
        let r = m.values("radius").unwrap();
        let c = m.branch(3).comp(0).comps().unwrap()[0];
        assert!(
            r.iter()
                .enumerate()
                .all(|(i, x)| (i == c) == (*x == Some(7.0)))
        );
    }

    #[test]
    fn values_per_compartment_and_polylines() {
        let mut m = Model::from_branches(&[None, Some(0)], &[2, 3]).unwrap();
        m.branch(1).insert(ruxley_channels::Hh::new()).unwrap();
        m.branch(1).comp(2).set("HH_gNa", 0.2).unwrap();
        m.branch(0).set("radius", 3.0).unwrap();
        let g = m.values("HH_gNa").unwrap();
        assert_eq!(g, [None, None, Some(0.12), Some(0.12), Some(0.2)]);
        let r = m.values("radius").unwrap();
        assert_eq!(&r[..2], [Some(3.0), Some(3.0)]);
        assert!(m.values("HH_x").is_err());
        // Cells built from branches have no positions.
        let points = m.comp_points();
        assert!(points.len() == 5 && points.iter().all(Vec::is_empty));
    }

    #[test]
    fn recording_a_parameter_says_why_it_cannot() {
        let mut m = Model::compartment();
        m.insert(ruxley_channels::Hh::new()).unwrap();
        let e = m.comp(0).record("HH_gNa").unwrap_err().to_string();
        assert!(e.contains("`HH_gNa` is a parameter"), "{e}");
        assert!(
            e.contains("recordable there: v, HH_m, HH_h, HH_n, i_HH"),
            "{e}"
        );
        let e = m.comp(0).record("HH_x").unwrap_err().to_string();
        assert!(e.contains("`HH_x`") && e.contains("i_HH"), "{e}");
        assert!(
            !e.contains("HH_gNa"),
            "parameters listed as recordable: {e}"
        );
        for what in ["v", "HH_m", "i_HH"] {
            m.comp(0).record(what).unwrap();
        }
    }

    #[test]
    fn a_branch_point_is_carried_by_the_compartment_it_ends() {
        // Branch 0 (3 compartments) forks into branches 1 and 2.
        let m = Model::from_branches(&[None, Some(0), Some(0)], &[3, 2, 2]).unwrap();
        let lay = m.build().unwrap();
        let points: Vec<usize> = (0..lay.n_nodes())
            .filter(|&i| lay.comp_of_node()[i] == crate::NONE)
            .collect();
        assert!(!points.is_empty());
        for i in points {
            assert_eq!(lay.site(lay.comp_at_node(i)), (0, 0, 2), "node {i}");
        }
        for c in 0..lay.n_comps() {
            assert_eq!(lay.comp_at_node(lay.node_of_comp()[c] as usize), c);
        }
    }

    #[test]
    fn path_distance_runs_from_the_middle_of_the_root() {
        // Root of 2 x 10 um, child of 3 x 5 um at its end, grandchild 1 x 4 um.
        let mut m = Model::from_branches(&[None, Some(0), Some(1)], &[2, 3, 1]).unwrap();
        m.branch(0).set("length", 10.0).unwrap();
        m.branch(1).set("length", 5.0).unwrap();
        m.branch(2).set("length", 4.0).unwrap();
        let d: Vec<f64> = (0..6).map(|c| m.path_distance(c)).collect();
        assert_eq!(d, vec![5.0, 5.0, 12.5, 17.5, 22.5, 27.0]);
    }
}
