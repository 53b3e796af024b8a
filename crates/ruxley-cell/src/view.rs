//! Views: selections of compartments to act on.
//!
//! A view is built by chaining selections from a [`Model`]:
//! `model.branch(3).comp(0)`, `model.cell("all").branch(0)`,
//! `model.group("apical").branch("all")`. Each level narrows the previous one;
//! indices are local, as in Jaxley: a branch index counts among the branches
//! the selection reaches in its cell (after a group, the group's branches), a
//! compartment index among the selected compartments of its branch, or of
//! its cell when no branch is selected.
//! Errors in a selection (an index out of range, an unknown group) surface
//! when the view is used.
//!
//! A view remembers its last level of selection: `branch("all")` selects one
//! site per branch, `comp(...)` one per compartment, a group or the whole model
//! one site. Parameter sharing for training follows these sites.
//!
//! A view borrows its model, so it is used once. To name a part of a model
//! and use it many times (as `soma = cell.branch(0).comp(0)` in Jaxley),
//! keep a [`Selection`], the same chain as a value, and apply it with
//! [`Model::at`]:
//!
//! ```
//! # use ruxley_cell::{Model, Selection, Waveform};
//! # let mut cell = Model::from_branches(&[None, Some(0)], &[2, 2])?;
//! let soma = Selection::new().branch(0).comp(0);
//! cell.at(&soma).set("radius", 10.0)?;
//! cell.at(&soma).stimulate(Waveform::step(1.0, 3.0, 0.1))?;
//! cell.at(&soma).record("v")?;
//! # Ok::<(), ruxley_cell::ModelError>(())
//! ```

use std::ops::Range;

use ruxley_channels::IntoChannel;

use crate::error::ModelError;
use crate::model::{Mechanism, Model};
use crate::stimulus::{Clamp, Observable, Recording, Stimulus, Waveform};

/// Which items to select at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sel {
    /// All of them.
    All,
    /// One.
    Index(usize),
    /// These, in this order.
    List(Vec<usize>),
    /// An invalid selector given as a string other than "all".
    Invalid(String),
}

impl From<usize> for Sel {
    fn from(i: usize) -> Self {
        Self::Index(i)
    }
}

impl From<&str> for Sel {
    fn from(s: &str) -> Self {
        if s == "all" {
            Self::All
        } else {
            Self::Invalid(s.to_string())
        }
    }
}

impl From<Range<usize>> for Sel {
    fn from(r: Range<usize>) -> Self {
        Self::List(r.collect())
    }
}

impl From<Vec<usize>> for Sel {
    fn from(v: Vec<usize>) -> Self {
        Self::List(v)
    }
}

impl From<&[usize]> for Sel {
    fn from(v: &[usize]) -> Self {
        Self::List(v.to_vec())
    }
}

impl Sel {
    pub(crate) fn resolve(&self, what: &'static str, len: usize) -> Result<Vec<usize>, ModelError> {
        let check = |i: usize| {
            if i < len {
                Ok(i)
            } else {
                Err(ModelError::IndexOutOfRange {
                    what,
                    index: i,
                    len,
                })
            }
        };
        match self {
            Self::All => Ok((0..len).collect()),
            Self::Index(i) => Ok(vec![check(*i)?]),
            Self::List(v) => v.iter().map(|&i| check(i)).collect(),
            Self::Invalid(s) => Err(ModelError::Invalid(format!(
                "`{s}` is not a {what} selector (use an index, a list, a range or \"all\")"
            ))),
        }
    }
}

/// One step of a [`Selection`].
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Cell(Sel),
    Branch(Sel),
    Comp(Sel),
    Loc(f64),
    Group(String),
}

/// A chain of selections kept as a value: what a [`View`] selects, without
/// the model. Apply it with [`Model::at`] (or narrow a view with
/// [`View::at`]) as often as needed; each step means what the view method of
/// the same name means, and errors surface when it is applied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selection {
    steps: Vec<Step>,
}

impl Selection {
    /// The whole model.
    pub fn new() -> Self {
        Self::default()
    }

    fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Then cells, as [`View::cell`].
    pub fn cell(self, sel: impl Into<Sel>) -> Self {
        self.then(Step::Cell(sel.into()))
    }

    /// Then branches, as [`View::branch`].
    pub fn branch(self, sel: impl Into<Sel>) -> Self {
        self.then(Step::Branch(sel.into()))
    }

    /// Then compartments, as [`View::comp`].
    pub fn comp(self, sel: impl Into<Sel>) -> Self {
        self.then(Step::Comp(sel.into()))
    }

    /// Then the compartment at relative position `x`, as [`View::loc`].
    pub fn loc(self, x: f64) -> Self {
        self.then(Step::Loc(x))
    }

    /// Then a group's compartments, as [`View::group`].
    pub fn group(self, name: &str) -> Self {
        self.then(Step::Group(name.to_string()))
    }
}

/// One selected site: a set of compartments with the cell and branch it lies in.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The cell, if the site lies in one.
    pub cell: Option<usize>,
    /// The global branch, if the site lies in one.
    pub branch: Option<usize>,
    /// Global compartment indices, ascending.
    pub comps: Vec<usize>,
}

/// A selection of compartments of a model. See the module documentation.
#[derive(Debug)]
pub struct View<'m> {
    pub(crate) model: &'m mut Model,
    pub(crate) sites: Result<Vec<Site>, ModelError>,
}

fn intersect(a: &[usize], b: Range<usize>) -> Vec<usize> {
    a.iter().copied().filter(|c| b.contains(c)).collect()
}

impl Model {
    /// A view of the whole model (one site).
    pub fn view(&mut self) -> View<'_> {
        let sites = vec![Site {
            cell: (self.cells.len() == 1).then_some(0),
            branch: None,
            comps: (0..self.comps.len()).collect(),
        }];
        View {
            model: self,
            sites: Ok(sites),
        }
    }

    /// Selects cells.
    pub fn cell(&mut self, sel: impl Into<Sel>) -> View<'_> {
        self.view().cell(sel)
    }

    /// Selects branches (of every cell, by index within the cell).
    pub fn branch(&mut self, sel: impl Into<Sel>) -> View<'_> {
        self.view().branch(sel)
    }

    /// Selects compartments by index within their cell.
    pub fn comp(&mut self, sel: impl Into<Sel>) -> View<'_> {
        self.view().comp(sel)
    }

    /// Selects a group.
    pub fn group(&mut self, name: &str) -> View<'_> {
        self.view().group(name)
    }

    /// Applies a kept [`Selection`].
    pub fn at(&mut self, selection: &Selection) -> View<'_> {
        self.view().at(selection)
    }

    /// Sets a parameter or initial state on every compartment that has it.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), ModelError> {
        self.view().set(name, value)
    }

    /// Inserts a channel (by value or boxed) on every compartment.
    pub fn insert(&mut self, channel: impl IntoChannel) -> Result<(), ModelError> {
        self.view().insert(channel)
    }

    /// Makes `name` trainable with one value shared by the whole model.
    pub fn make_trainable(&mut self, name: &str, init: Option<f64>) -> Result<(), ModelError> {
        self.view().make_trainable(name, init)
    }
}

impl<'m> View<'m> {
    fn map_sites(self, f: impl FnOnce(&Model, Vec<Site>) -> Result<Vec<Site>, ModelError>) -> Self {
        let sites = match self.sites {
            Ok(s) => f(self.model, s),
            Err(e) => Err(e),
        };
        Self {
            model: self.model,
            sites,
        }
    }

    /// Selects cells (indices into the model's cells).
    pub fn cell(self, sel: impl Into<Sel>) -> Self {
        let sel = sel.into();
        self.map_sites(|m, sites| {
            let cells = sel.resolve("cell", m.cells.len())?;
            let mut out = Vec::new();
            for site in sites {
                if site.branch.is_some() {
                    return Err(ModelError::Invalid(
                        "cannot select a cell inside a branch".into(),
                    ));
                }
                for &c in &cells {
                    if site.cell.is_some_and(|sc| sc != c) {
                        continue;
                    }
                    let rec = &m.cells[c];
                    let comps =
                        intersect(&site.comps, rec.first_comp..rec.first_comp + rec.n_comps);
                    out.push(Site {
                        cell: Some(c),
                        branch: None,
                        comps,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Selects branches by index among those the selection reaches in each
    /// cell: all of the cell's branches, or after a group (as in Jaxley,
    /// `cell.group("soma").branch(0)` is the group's first branch) the
    /// branches that hold some of the group's compartments.
    pub fn branch(self, sel: impl Into<Sel>) -> Self {
        let sel = sel.into();
        self.map_sites(|m, sites| {
            let mut out = Vec::new();
            for site in sites {
                if site.branch.is_some() {
                    return Err(ModelError::Invalid("a branch is already selected".into()));
                }
                let cells: Vec<usize> = match site.cell {
                    Some(c) => vec![c],
                    None => (0..m.cells.len()).collect(),
                };
                for c in cells {
                    let rec = &m.cells[c];
                    let reached: Vec<(usize, Vec<usize>)> = (rec.first_branch
                        ..rec.first_branch + rec.n_branches)
                        .map(|gb| (gb, intersect(&site.comps, m.branch_comps(gb))))
                        .filter(|(_, comps)| !comps.is_empty())
                        .collect();
                    if reached.is_empty() {
                        continue;
                    }
                    for b in sel.resolve("branch", reached.len())? {
                        let (gb, comps) = reached[b].clone();
                        out.push(Site {
                            cell: Some(c),
                            branch: Some(gb),
                            comps,
                        });
                    }
                }
            }
            Ok(out)
        })
    }

    /// Selects compartments by index among the selected ones of each site:
    /// within its branch, or within its cell when no branch is selected, or
    /// after a group within the group's compartments there. Every
    /// compartment becomes a site.
    pub fn comp(self, sel: impl Into<Sel>) -> Self {
        let sel = sel.into();
        self.map_sites(|_, sites| {
            let mut out = Vec::new();
            for site in sites {
                for k in sel.resolve("comp", site.comps.len())? {
                    out.push(Site {
                        comps: vec![site.comps[k]],
                        ..site.clone()
                    });
                }
            }
            Ok(out)
        })
    }

    /// Selects, in each selected branch, the compartment at relative position
    /// `x` in [0, 1] (compartment floor(x ncomp), the last one at x = 1).
    pub fn loc(self, x: f64) -> Self {
        self.map_sites(|m, sites| {
            if !(0.0..=1.0).contains(&x) {
                return Err(ModelError::InvalidLocation(x));
            }
            let mut out = Vec::new();
            for site in sites {
                let Some(b) = site.branch else {
                    return Err(ModelError::Invalid(
                        "loc(x) needs a branch selection".into(),
                    ));
                };
                let n = m.branches[b].ncomp;
                let k = ((x * n as f64).floor() as usize).min(n - 1);
                let gc = m.branches[b].first_comp + k;
                if site.comps.binary_search(&gc).is_ok() {
                    out.push(Site {
                        comps: vec![gc],
                        ..site.clone()
                    });
                }
            }
            Ok(out)
        })
    }

    /// Keeps only the compartments of a group; the group becomes one site
    /// unless branches or compartments are selected afterwards or before.
    pub fn group(self, name: &str) -> Self {
        let name = name.to_string();
        self.map_sites(|m, sites| {
            let mask = m
                .groups
                .get(&name)
                .ok_or_else(|| ModelError::UnknownGroup(name.clone()))?;
            Ok(sites
                .into_iter()
                .filter_map(|mut s| {
                    s.comps.retain(|&c| mask[c]);
                    (!s.comps.is_empty()).then_some(s)
                })
                .collect())
        })
    }

    /// Narrows the view by the steps of a kept [`Selection`], in order.
    pub fn at(self, selection: &Selection) -> Self {
        selection.steps.iter().fold(self, |view, step| match step {
            Step::Cell(sel) => view.cell(sel.clone()),
            Step::Branch(sel) => view.branch(sel.clone()),
            Step::Comp(sel) => view.comp(sel.clone()),
            Step::Loc(x) => view.loc(*x),
            Step::Group(name) => view.group(name),
        })
    }

    /// The selected sites, or the selection's error.
    pub fn sites(&self) -> Result<&[Site], ModelError> {
        self.sites.as_deref().map_err(Clone::clone)
    }

    /// All selected compartments (global indices, ascending, no repeats).
    pub fn comps(&self) -> Result<Vec<usize>, ModelError> {
        let mut all: Vec<usize> = self
            .sites()?
            .iter()
            .flat_map(|s| s.comps.iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        if all.is_empty() {
            return Err(ModelError::EmptySelection(
                "no compartment is selected".into(),
            ));
        }
        Ok(all)
    }

    /// Sets a parameter or an initial state on the selected compartments.
    ///
    /// Names: `v` (initial voltage, mV), `capacitance` (uF/cm2),
    /// `axial_resistivity` (ohm cm), `radius` and `length` (um; the
    /// compartment becomes a cylinder of that size), a channel parameter
    /// (`HH_gNa`, or a shared one like `eK`) or a channel state (`HH_m`: the
    /// initial value, instead of the steady state). Channel names apply where
    /// the channel is inserted; a name found nowhere in the view is an error.
    pub fn set(self, name: &str, value: f64) -> Result<(), ModelError> {
        self.assign(name, |_, _| value)
    }

    /// Sets a parameter or initial state (as [`View::set`]) on each selected
    /// compartment to `f(d)`, with d its path distance (um) from the middle
    /// of the cell's root branch ([`Model::path_distance`]): a density that
    /// grows along the apical dendrite, a hot zone.
    pub fn set_by_distance(self, name: &str, f: impl Fn(f64) -> f64) -> Result<(), ModelError> {
        self.assign(name, |m, c| f(m.path_distance(c)))
    }

    fn assign(self, name: &str, value_at: impl Fn(&Model, usize) -> f64) -> Result<(), ModelError> {
        let comps = self.comps()?;
        let m = self.model;
        let values: Vec<f64> = comps.iter().map(|&c| value_at(m, c)).collect();
        let positive = matches!(
            name,
            "capacitance" | "cm" | "axial_resistivity" | "ra" | "radius" | "length"
        );
        for &value in &values {
            let reason = if !value.is_finite() {
                "must be finite"
            } else if positive && value <= 0.0 {
                "must be positive"
            } else {
                continue;
            };
            return Err(ModelError::InvalidValue {
                name: name.into(),
                value,
                reason,
            });
        }
        let each = || comps.iter().copied().zip(values.iter().copied());
        match name {
            "v" => each().for_each(|(c, x)| m.comps[c].v = x),
            "capacitance" | "cm" => each().for_each(|(c, x)| m.comps[c].cm = x),
            "axial_resistivity" | "ra" => each().for_each(|(c, x)| m.comps[c].ra = x),
            "radius" | "length" => {
                for (c, x) in each() {
                    let g = &mut m.comps[c].geometry;
                    let (length, radius) = if name == "radius" {
                        (g.length, x)
                    } else {
                        (x, g.radius)
                    };
                    let center = g.center;
                    *g = ruxley_morph::CompartmentGeometry::cylinder(length, radius);
                    g.center = center;
                    m.comps[c].cylinder = true;
                }
            }
            _ => {
                let mut found = false;
                for mech in &mut m.mechanisms {
                    let p = (0..mech.params.len()).find(|&p| mech.param_name(p) == name);
                    let s = (0..mech.states.len()).find(|&s| mech.state_name(s) == name);
                    if p.is_none() && s.is_none() {
                        continue;
                    }
                    for (c, x) in each() {
                        if let Some(r) = mech.row_of(c) {
                            found = true;
                            match (p, s) {
                                (Some(p), _) => mech.params[p][r] = x,
                                (None, Some(s)) => mech.states[s][r] = x,
                                (None, None) => {}
                            }
                        }
                    }
                }
                if !found {
                    return Err(ModelError::UnknownName {
                        name: name.into(),
                        known: known_names(m, &comps),
                    });
                }
            }
        }
        Ok(())
    }

    /// Inserts a channel (by value or boxed) on the selected compartments
    /// (those that have it already keep their values).
    pub fn insert(self, channel: impl IntoChannel) -> Result<(), ModelError> {
        let channel = channel.into_channel();
        let comps = self.comps()?;
        let rows = comps.len();
        let params = channel
            .params()
            .iter()
            .map(|p| vec![p.default; rows])
            .collect();
        let states = channel
            .states()
            .iter()
            .map(|_| vec![f64::NAN; rows])
            .collect();
        self.model.insert_ion_sites(&*channel, &comps)?;
        self.model.merge_mechanism(Mechanism {
            channel,
            comps,
            params,
            states,
        })
    }

    /// Records `what` (`v`, a state such as `HH_m`, or `i_HH`) at every
    /// selected compartment, labelled `b<branch>_c<comp>`.
    pub fn record(self, what: &str) -> Result<(), ModelError> {
        let comps = self.comps()?;
        for c in comps {
            let label = self.model.site_label(c);
            push_recording(self.model, c, what, label, None)?;
        }
        Ok(())
    }

    /// Records `what` at the single selected compartment under `label`.
    pub fn record_as(self, what: &str, label: &str) -> Result<(), ModelError> {
        let comps = self.comps()?;
        if comps.len() != 1 {
            return Err(ModelError::Invalid(format!(
                "record_as(`{label}`) needs one compartment, {} are selected",
                comps.len()
            )));
        }
        push_recording(self.model, comps[0], what, label.to_string(), None)
    }

    /// Records `what` at the single selected compartment in a trace column
    /// named exactly `column` (e.g. to match another simulator's files).
    pub fn record_column(self, what: &str, column: &str) -> Result<(), ModelError> {
        let comps = self.comps()?;
        if comps.len() != 1 {
            return Err(ModelError::Invalid(format!(
                "record_column(`{column}`) needs one compartment, {} are selected",
                comps.len()
            )));
        }
        let label = self.model.site_label(comps[0]);
        push_recording(self.model, comps[0], what, label, Some(column.to_string()))
    }

    /// Injects a current (nA) into every selected compartment.
    pub fn stimulate(self, current: Waveform) -> Result<(), ModelError> {
        current.validate(false).map_err(ModelError::Invalid)?;
        for comp in self.comps()? {
            self.model.stimuli.push(Stimulus {
                comp,
                current: current.clone(),
            });
        }
        Ok(())
    }

    /// Clamps the voltage of every selected compartment (ideal clamp; NaN
    /// entries of a series leave the compartment free for that step).
    pub fn clamp(self, voltage: Waveform) -> Result<(), ModelError> {
        voltage.validate(true).map_err(ModelError::Invalid)?;
        for comp in self.comps()? {
            self.model.clamps.push(Clamp {
                comp,
                voltage: voltage.clone(),
            });
        }
        Ok(())
    }

    /// Adds the selected compartments to a group (created if needed).
    pub fn add_to_group(self, name: &str) -> Result<(), ModelError> {
        if name.is_empty() {
            return Err(ModelError::Invalid("a group needs a name".into()));
        }
        let comps = self.comps()?;
        let n = self.model.comps.len();
        let mask = self
            .model
            .groups
            .entry(name.to_string())
            .or_insert_with(|| vec![false; n]);
        for c in comps {
            mask[c] = true;
        }
        Ok(())
    }
}

pub(crate) fn known_names(m: &Model, comps: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = ["v", "capacitance", "axial_resistivity", "radius", "length"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for mech in &m.mechanisms {
        if comps.iter().any(|&c| mech.row_of(c).is_some()) {
            names.extend((0..mech.params.len()).map(|p| mech.param_name(p)));
            names.extend((0..mech.states.len()).map(|s| mech.state_name(s)));
        }
    }
    names
}

/// What can be recorded at `comp`: v, the states and currents of its
/// mechanisms, and the quantities of the ions present there.
fn recordable_names(m: &Model, comp: usize) -> Vec<String> {
    let mut names = vec!["v".to_string()];
    for mech in m
        .mechanisms
        .iter()
        .filter(|mech| mech.row_of(comp).is_some())
    {
        names.extend((0..mech.states.len()).map(|k| mech.state_name(k)));
        names.push(format!("i_{}", mech.channel.name()));
    }
    for ion in &m.ions {
        let present = m
            .mechanisms
            .iter()
            .any(|mech| mech.channel.name() == ion.name && mech.row_of(comp).is_some());
        if present {
            names.extend([ion.inside, ion.reversal, ion.current].map(String::from));
        }
    }
    names
}

fn push_recording(
    m: &mut Model,
    comp: usize,
    what: &str,
    label: String,
    column: Option<String>,
) -> Result<(), ModelError> {
    let observable = Observable::parse(what);
    let recordable = recordable_names(m, comp);
    let exists = match &observable {
        // Synapse states are recorded through synapse views.
        Observable::SynapseState { .. } => false,
        _ => recordable.iter().any(|n| n == what),
    };
    if !exists {
        if known_names(m, &[comp]).iter().any(|n| n == what) {
            return Err(ModelError::Invalid(format!(
                "`{what}` is a parameter, constant during a run, and is not recorded \
                 (read it from the parameters); recordable there: {}",
                recordable.join(", ")
            )));
        }
        return Err(ModelError::UnknownName {
            name: what.into(),
            known: recordable,
        });
    }
    m.recordings.push(Recording {
        comp,
        observable,
        label,
        column,
    });
    Ok(())
}
