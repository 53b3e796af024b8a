//! Networks: synapses between compartments of a model's cells, the
//! functions that connect populations, and synapse views.
//!
//! Synapses are numbered globally in the order they are created. Each
//! synapse type (by name) keeps its synapses in one group, structure of
//! arrays: parameters and initial states per synapse, and for spike-driven
//! types the spike threshold (mV, default 0) and transmission delay (ms,
//! default 1) of each connection.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ruxley_synapses::{IntoSynapse, Synapse};

use crate::error::ModelError;
use crate::model::Model;
use crate::stimulus::{Observable, Recording};
use crate::trainable::TrainableSpec;
use crate::view::Sel;

/// Default spike threshold (mV) of spike-driven synapses.
pub const DEFAULT_THRESHOLD: f64 = 0.0;
/// Default transmission delay (ms) of spike-driven synapses.
pub const DEFAULT_DELAY: f64 = 1.0;

/// All synapses of one type.
#[derive(Debug, Clone)]
pub(crate) struct SynapseGroup {
    pub synapse: Box<dyn Synapse>,
    /// Global synapse index of each row, ascending.
    pub ids: Vec<usize>,
    /// Presynaptic and postsynaptic global compartments.
    pub pre: Vec<usize>,
    pub post: Vec<usize>,
    /// `params[p][row]`.
    pub params: Vec<Vec<f64>>,
    /// `states[s][row]`: the initial value, NaN for the synapse's own.
    pub states: Vec<Vec<f64>>,
    pub threshold: Vec<f64>,
    pub delay: Vec<f64>,
}

impl SynapseGroup {
    pub fn param_name(&self, p: usize) -> String {
        format!("{}_{}", self.synapse.name(), self.synapse.params()[p].name)
    }

    pub fn state_name(&self, s: usize) -> String {
        format!("{}_{}", self.synapse.name(), self.synapse.states()[s].name)
    }

    pub fn row_of(&self, id: usize) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }
}

impl Model {
    /// The number of synapses.
    pub fn n_synapses(&self) -> usize {
        self.n_synapses
    }

    /// The names of the synapse types in the model.
    pub fn synapse_names(&self) -> Vec<String> {
        self.synapses
            .iter()
            .map(|g| g.synapse.name().to_string())
            .collect()
    }

    /// The (presynaptic, postsynaptic) global compartments of synapse `id`.
    pub fn synapse_ends(&self, id: usize) -> Option<(usize, usize)> {
        self.synapses.iter().find_map(|g| {
            let r = g.row_of(id)?;
            Some((g.pre[r], g.post[r]))
        })
    }

    /// The first compartment of `cell` (branch 0, compartment 0), where
    /// connections between cells attach.
    pub fn root_comp(&self, cell: usize) -> usize {
        self.cells[cell].first_comp
    }

    /// Connects global compartment `pre` to global compartment `post` with
    /// `synapse`; returns the new synapse's index.
    pub fn connect(
        &mut self,
        pre: usize,
        post: usize,
        synapse: impl IntoSynapse,
    ) -> Result<usize, ModelError> {
        Ok(self.connect_pairs(&[(pre, post)], synapse)?.start)
    }

    /// Connects `pre[i]` to `post[i]` for every i, as Jaxley's `connect` does
    /// with two views of equally many compartments; select them with views,
    /// e.g. `net.cell(0).branch(2).loc(0.5).comps()?`. Returns the range of
    /// the new synapse indices.
    pub fn connect_each(
        &mut self,
        pre: &[usize],
        post: &[usize],
        synapse: impl IntoSynapse,
    ) -> Result<std::ops::Range<usize>, ModelError> {
        if pre.len() != post.len() {
            return Err(ModelError::Invalid(format!(
                "connect_each pairs compartments one to one: {} presynaptic, {} postsynaptic",
                pre.len(),
                post.len()
            )));
        }
        let pairs: Vec<(usize, usize)> = pre.iter().copied().zip(post.iter().copied()).collect();
        self.connect_pairs(&pairs, synapse)
    }

    /// Connects each (presynaptic, postsynaptic) pair of global compartments
    /// with a synapse of this type (by value or boxed); returns the range of
    /// the new indices.
    pub fn connect_pairs(
        &mut self,
        pairs: &[(usize, usize)],
        synapse: impl IntoSynapse,
    ) -> Result<std::ops::Range<usize>, ModelError> {
        let synapse = synapse.into_synapse();
        let n = self.comps.len();
        if let Some(&(a, b)) = pairs.iter().find(|(a, b)| *a >= n || *b >= n) {
            return Err(ModelError::Invalid(format!(
                "cannot connect compartment {a} to {b}: the model has {n} compartments"
            )));
        }
        let name = synapse.name().to_string();
        let g = match self.synapses.iter().position(|g| g.synapse.name() == name) {
            Some(g) => {
                let known = &self.synapses[g].synapse;
                if known.params() != synapse.params() || known.states() != synapse.states() {
                    return Err(ModelError::Invalid(format!(
                        "two different synapses are named `{name}`; rename one"
                    )));
                }
                g
            }
            None => {
                self.synapses.push(SynapseGroup {
                    params: vec![Vec::new(); synapse.params().len()],
                    states: vec![Vec::new(); synapse.states().len()],
                    synapse,
                    ids: Vec::new(),
                    pre: Vec::new(),
                    post: Vec::new(),
                    threshold: Vec::new(),
                    delay: Vec::new(),
                });
                self.synapses.len() - 1
            }
        };
        let first = self.n_synapses;
        let group = &mut self.synapses[g];
        let k = pairs.len();
        group.ids.extend(first..first + k);
        group.pre.extend(pairs.iter().map(|p| p.0));
        group.post.extend(pairs.iter().map(|p| p.1));
        for (col, spec) in group.params.iter_mut().zip(group.synapse.params()) {
            col.resize(col.len() + k, spec.default);
        }
        for col in &mut group.states {
            col.resize(col.len() + k, f64::NAN);
        }
        group
            .threshold
            .resize(group.threshold.len() + k, DEFAULT_THRESHOLD);
        group.delay.resize(group.delay.len() + k, DEFAULT_DELAY);
        self.n_synapses += k;
        Ok(first..first + k)
    }

    fn cells_of(&self, sel: Sel) -> Result<Vec<usize>, ModelError> {
        sel.resolve("cell", self.cells.len())
    }

    /// Connects the first compartment of every cell in `pre` to the first
    /// compartment of every cell in `post` (no cell to itself).
    pub fn fully_connect(
        &mut self,
        pre: impl Into<Sel>,
        post: impl Into<Sel>,
        synapse: impl IntoSynapse,
    ) -> Result<std::ops::Range<usize>, ModelError> {
        let (pre, post) = (self.cells_of(pre.into())?, self.cells_of(post.into())?);
        let mut pairs = Vec::with_capacity(pre.len() * post.len());
        for &i in &pre {
            for &j in &post {
                if i != j {
                    pairs.push((self.root_comp(i), self.root_comp(j)));
                }
            }
        }
        self.connect_pairs(&pairs, synapse)
    }

    /// Connects each (pre cell, post cell) pair, no cell to itself, with
    /// probability `p`, independently and at most once; `seed` makes it
    /// reproducible.
    pub fn sparse_connect(
        &mut self,
        pre: impl Into<Sel>,
        post: impl Into<Sel>,
        synapse: impl IntoSynapse,
        p: f64,
        seed: u64,
    ) -> Result<std::ops::Range<usize>, ModelError> {
        if !(0.0..=1.0).contains(&p) {
            return Err(ModelError::InvalidValue {
                name: "p".into(),
                value: p,
                reason: "a connection probability lies in [0, 1]",
            });
        }
        let (pre, post) = (self.cells_of(pre.into())?, self.cells_of(post.into())?);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut pairs = Vec::with_capacity((p * (pre.len() * post.len()) as f64) as usize + 16);
        for &i in &pre {
            for &j in &post {
                if i != j && rng.random::<f64>() < p {
                    pairs.push((self.root_comp(i), self.root_comp(j)));
                }
            }
        }
        self.connect_pairs(&pairs, synapse)
    }

    /// Connects pre cell `pre[a]` to post cell `post[b]` wherever
    /// `matrix[a][b]` is true (first compartments, in row-major order).
    pub fn connectivity_matrix_connect(
        &mut self,
        pre: impl Into<Sel>,
        post: impl Into<Sel>,
        synapse: impl Synapse + 'static,
        matrix: &[Vec<bool>],
    ) -> Result<std::ops::Range<usize>, ModelError> {
        let (pre, post) = (self.cells_of(pre.into())?, self.cells_of(post.into())?);
        if matrix.len() != pre.len() || matrix.iter().any(|row| row.len() != post.len()) {
            return Err(ModelError::Invalid(format!(
                "the connectivity matrix must be {} x {}",
                pre.len(),
                post.len()
            )));
        }
        let mut pairs = Vec::new();
        for (a, row) in matrix.iter().enumerate() {
            for (b, &on) in row.iter().enumerate() {
                if on {
                    pairs.push((self.root_comp(pre[a]), self.root_comp(post[b])));
                }
            }
        }
        self.connect_pairs(&pairs, synapse)
    }

    /// Appends the synapses of another model (`n` of them, in `groups`)
    /// whose compartments start at `comp0` here, keeping their order.
    pub(crate) fn append_synapses(
        &mut self,
        groups: Vec<SynapseGroup>,
        n: usize,
        comp0: usize,
    ) -> Result<(), ModelError> {
        let syn0 = self.n_synapses;
        for mut g in groups {
            let name = g.synapse.name().to_string();
            g.ids.iter_mut().for_each(|id| *id += syn0);
            g.pre.iter_mut().for_each(|c| *c += comp0);
            g.post.iter_mut().for_each(|c| *c += comp0);
            match self.synapses.iter_mut().find(|x| x.synapse.name() == name) {
                None => self.synapses.push(g),
                Some(known) => {
                    if known.synapse.params() != g.synapse.params()
                        || known.synapse.states() != g.synapse.states()
                    {
                        return Err(ModelError::Invalid(format!(
                            "two different synapses are named `{name}`; rename one"
                        )));
                    }
                    // Indices here are all above the known ones: order holds.
                    known.ids.extend(g.ids);
                    known.pre.extend(g.pre);
                    known.post.extend(g.post);
                    for (a, b) in known.params.iter_mut().zip(g.params) {
                        a.extend(b);
                    }
                    for (a, b) in known.states.iter_mut().zip(g.states) {
                        a.extend(b);
                    }
                    known.threshold.extend(g.threshold);
                    known.delay.extend(g.delay);
                }
            }
        }
        self.n_synapses += n;
        Ok(())
    }

    /// A view of every synapse (one site).
    pub fn synapses(&mut self) -> SynapseView<'_> {
        let ids: Vec<usize> = (0..self.n_synapses).collect();
        SynapseView {
            model: self,
            sites: Ok(vec![ids]),
        }
    }

    /// A view of the synapses of one type (one site).
    pub fn synapse_type(&mut self, name: &str) -> SynapseView<'_> {
        let sites = match self.synapses.iter().find(|g| g.synapse.name() == name) {
            Some(g) => Ok(vec![g.ids.clone()]),
            None => Err(ModelError::UnknownName {
                name: name.into(),
                known: self.synapse_names(),
            }),
        };
        SynapseView { model: self, sites }
    }
}

/// A selection of synapses, in sites as [`crate::View`]: the whole model's
/// or a type's synapses form one site, [`SynapseView::edge`] makes one site
/// per selected synapse. Parameter sharing in training follows the sites.
#[derive(Debug)]
pub struct SynapseView<'m> {
    model: &'m mut Model,
    sites: Result<Vec<Vec<usize>>, ModelError>,
}

impl SynapseView<'_> {
    /// Selects synapses by position among those of the view (in order of
    /// their indices); each becomes its own site.
    pub fn edge(self, sel: impl Into<Sel>) -> Self {
        let sel = sel.into();
        let sites = self.sites.and_then(|sites| {
            let all: Vec<usize> = sites.into_iter().flatten().collect();
            Ok(sel
                .resolve("synapse", all.len())?
                .into_iter()
                .map(|k| vec![all[k]])
                .collect())
        });
        Self {
            model: self.model,
            sites,
        }
    }

    /// The selected synapse indices, ascending.
    pub fn ids(&self) -> Result<Vec<usize>, ModelError> {
        let mut ids: Vec<usize> = self
            .sites
            .as_ref()
            .map_err(Clone::clone)?
            .iter()
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Err(ModelError::EmptySelection("no synapse is selected".into()));
        }
        Ok(ids)
    }

    /// Sets a synapse parameter (`IonotropicSynapse_gS`), an initial state
    /// (`IonotropicSynapse_s`), or for spike-driven synapses `threshold`
    /// (mV) or `delay` (ms), on every selected synapse that has it.
    pub fn set(self, name: &str, value: f64) -> Result<(), ModelError> {
        let ids = self.ids()?;
        if !value.is_finite() {
            return Err(ModelError::InvalidValue {
                name: name.into(),
                value,
                reason: "must be finite",
            });
        }
        if name == "delay" && value < 0.0 {
            return Err(ModelError::InvalidValue {
                name: name.into(),
                value,
                reason: "a delay cannot be negative",
            });
        }
        let mut found = false;
        for g in &mut self.model.synapses {
            let p = (0..g.params.len()).find(|&p| g.param_name(p) == name);
            let s = (0..g.states.len()).find(|&s| g.state_name(s) == name);
            let col: &mut Vec<f64> = match (p, s, name) {
                (Some(p), _, _) => &mut g.params[p],
                (None, Some(s), _) => &mut g.states[s],
                (None, None, "threshold") => &mut g.threshold,
                (None, None, "delay") => &mut g.delay,
                _ => continue,
            };
            for &id in &ids {
                if let Ok(r) = g.ids.binary_search(&id) {
                    col[r] = value;
                    found = true;
                }
            }
        }
        if found {
            Ok(())
        } else {
            Err(ModelError::UnknownName {
                name: name.into(),
                known: synapse_names(self.model),
            })
        }
    }

    /// Records a state (`IonotropicSynapse_s`) of every selected synapse
    /// that has it, in trace columns `<state>_syn<id>`.
    pub fn record(self, state: &str) -> Result<(), ModelError> {
        let mut found = false;
        for id in self.ids()? {
            let Some(g) = self.model.synapses.iter().find(|g| {
                g.row_of(id).is_some() && (0..g.states.len()).any(|s| g.state_name(s) == state)
            }) else {
                continue;
            };
            let comp = g.post[g.row_of(id).expect("found above")];
            self.model.recordings.push(Recording {
                comp,
                observable: Observable::SynapseState {
                    name: state.into(),
                    synapse: id,
                },
                label: format!("syn{id}"),
                column: None,
            });
            found = true;
        }
        if found {
            Ok(())
        } else {
            Err(ModelError::UnknownName {
                name: state.into(),
                known: synapse_names(self.model),
            })
        }
    }

    /// Makes a synapse parameter or initial state trainable with one value
    /// per site, starting at `init` or the mean of the current values.
    pub fn make_trainable(self, name: &str, init: Option<f64>) -> Result<(), ModelError> {
        let sites = self.sites.clone()?;
        let model = self.model;
        let value = |id: usize| -> Option<f64> {
            model.synapses.iter().find_map(|g| {
                let r = g.row_of(id)?;
                let p = (0..g.params.len()).find(|&p| g.param_name(p) == name);
                let s = (0..g.states.len()).find(|&s| g.state_name(s) == name);
                match (p, s) {
                    (Some(p), _) => Some(g.params[p][r]),
                    (None, Some(s)) => Some(g.states[s][r]),
                    _ => None,
                }
            })
        };
        let mut kept = Vec::new();
        let mut inits = Vec::new();
        for ids in sites {
            let present: Vec<(usize, f64)> = ids
                .iter()
                .filter_map(|&id| value(id).map(|x| (id, x)))
                .collect();
            if present.is_empty() {
                continue;
            }
            let mean = present.iter().map(|p| p.1).sum::<f64>() / present.len() as f64;
            let x = init.unwrap_or(mean);
            if x.is_nan() {
                return Err(ModelError::Invalid(format!(
                    "{name} has no initial value yet; give make_trainable one"
                )));
            }
            kept.push(present.into_iter().map(|p| p.0).collect::<Vec<_>>());
            inits.push(x);
        }
        if kept.is_empty() {
            return Err(ModelError::UnknownName {
                name: name.into(),
                known: synapse_names(model),
            });
        }
        if let Some(x) = init {
            for ids in &kept {
                SynapseView {
                    model: &mut *model,
                    sites: Ok(vec![ids.clone()]),
                }
                .set(name, x)?;
            }
        }
        model.trainables.push(TrainableSpec::Synapse {
            name: name.to_string(),
            sites: kept,
            init: inits,
        });
        Ok(())
    }
}

/// Every settable synapse name.
fn synapse_names(m: &Model) -> Vec<String> {
    let mut names = Vec::new();
    for g in &m.synapses {
        names.extend((0..g.params.len()).map(|p| g.param_name(p)));
        names.extend((0..g.states.len()).map(|s| g.state_name(s)));
    }
    names.extend(["threshold".to_string(), "delay".to_string()]);
    names
}
