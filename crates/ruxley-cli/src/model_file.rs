//! The model file: a TOML description of a model and how to simulate it.
//!
//! ```toml
//! [simulation]
//! dt = 0.025            # ms
//! t_max = 50.0          # ms
//! solver = "backward_euler"   # or "crank_nicolson"
//! celsius = 6.3
//!
//! [morphology]
//! swc = "cell.swc"      # relative to this file; or asc = "cell.asc" (Neurolucida),
//!                       # or `parents = [-1, 0, 0]`
//! ncomp = 4             # or a list per branch, or { d_lambda = 0.1, frequency_hz = 100, cm = 1, ra = 100 }
//! max_branch_len = 300.0
//! min_radius = 0.1
//! unit_um = 1.0
//!
//! [[group]]             # named sets of compartments, usable in `where`
//! name = "apical"
//! where = { branch = [1, 3, 4] }
//!
//! [[insert]]
//! channel = "HH"        # a library channel (`ruxley channels` lists them),
//! # nmodl = "hh.mod"     # or an NMODL file, relative to this file,
//! # globals = { vhalf = -35.0 }   # with its GLOBAL parameters set
//! where = "all"         # the default
//!
//! [[set]]
//! where = { branch = [1, 2] }
//! radius = 1.0
//! HH_gNa = 0.12
//! HH_gK = "0.036 * exp(-d / 500)"   # a function of path distance d (um), see
//!                                   # [`crate::distance_expr`]
//!
//! [[stimulus]]
//! where = { branch = 0, comp = 0 }
//! step = { delay = 1.0, duration = 45.0, amplitude = 0.5 }   # or series = [...] (nA per step)
//!
//! [[clamp]]
//! where = { branch = 3, loc = 0.5 }
//! step = { delay = 5.0, duration = 10.0, amplitude = -20.0 } # mV
//!
//! [[record]]
//! where = { branch = 0, comp = 0 }
//! state = "v"           # the default; or a channel state (HH_m), current (i_HH),
//!                       # or ion quantity (cai, eca, ica)
//! name = "soma"         # the site label (column v_soma_mV); or column = "v_soma"
//!
//! [[record]]            # a state of every synapse of a type, in columns
//! synapse = "IonotropicSynapse"          # IonotropicSynapse_s_syn<id>
//! state = "IonotropicSynapse_s"
//!
//! [[trainable]]         # for `ruxley grad`: one value per site of the `where`
//! where = { branch = "all" }
//! parameter = "HH_gNa"
//! init = 0.12           # optional; default the mean of the current values
//!
//! [loss]
//! mse = ["soma"]        # recordings compared with the target CSV's columns:
//!                       # the mean squared error over all their samples
//! [[loss.term]]         # and/or weighted terms (the paper's losses)
//! recording = "soma"
//! compare = "windows"   # "mse", "mae", "windows" (windows = 8, mean_scale = 8.0,
//!                       # std_scale = 4.0), "soft_dtw" (gamma = 1.0, time_weight = 1.0)
//!                       # or "shape_dtw" (pool_window = 50, pool_stride = 30, gamma = 0.1)
//! weight = 1.0
//!
//! [gradient]
//! schedule = "nested"   # or "store_all", { nested = [64, 64] }, { uniform = 50 }, { revolve = 40 }
//!
//! [fit]                 # for `ruxley fit`; every key optional
//! optimizer = "lbfgs"   # or "adam" (learning_rate = 0.05)
//! iterations = 100      # per start
//! restarts = 1          # more: starts drawn inside the parameters' ranges (seed = 0)
//! target_loss = 1e-6    # stop a start there
//!
//! [sample]              # for `ruxley sample`
//! noise_sd = 2.0        # mV on every sample of the [loss] recordings
//! chains = 4            # NUTS chains, warmup = 500, draws = 500, seed = 0
//! ```
//!
//! A `where` selects as the views of the API do, applying `cell`, `group`,
//! `branch`, then `comp` or `loc`; each of cell, branch and comp takes an
//! index, a list of indices or "all". Entries apply in file order: all
//! `group`s, then `insert`s, then all `set`s, then stimuli, clamps and recordings. Unknown
//! keys are errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ruxley::cell::{Sel, Selection, View};
use ruxley::loss::{ShapeDtw, SoftDtw, WindowStats};

use crate::distance_expr::DistanceExpr;
use ruxley::morph::Ncomp;
use ruxley::{
    Compare, Model, ModelError, Precision, RunOptions, Schedule, Scheme, SwcImport, Waveform,
};
use serde::Deserialize;

/// Why a model file could not be used.
#[derive(Debug)]
pub enum ModelFileError {
    /// The file could not be read.
    Io(PathBuf, std::io::Error),
    /// The TOML is invalid or has unknown keys.
    Syntax(String),
    /// An entry could not be applied to the model.
    Entry {
        /// Which entry (`[[set]] #2`).
        entry: String,
        /// Why.
        error: ModelError,
    },
    /// Anything else.
    Invalid(String),
}

impl fmt::Display for ModelFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            Self::Syntax(m) | Self::Invalid(m) => write!(f, "{m}"),
            Self::Entry { entry, error } => write!(f, "{entry}: {error}"),
        }
    }
}

impl std::error::Error for ModelFileError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    simulation: Simulation,
    morphology: Morphology,
    #[serde(default)]
    group: Vec<GroupEntry>,
    #[serde(default)]
    insert: Vec<Insert>,
    #[serde(default)]
    set: Vec<BTreeMap<String, toml::Value>>,
    #[serde(default)]
    stimulus: Vec<Drive>,
    #[serde(default)]
    clamp: Vec<Drive>,
    #[serde(default)]
    record: Vec<Record>,
    #[serde(default)]
    connect: Vec<BTreeMap<String, toml::Value>>,
    #[serde(default)]
    trainable: Vec<TrainableEntry>,
    loss: Option<LossSpec>,
    gradient: Option<GradientSpec>,
    #[serde(default)]
    fit: FitSpec,
    sample: Option<SampleSpec>,
}

/// How `ruxley sample` draws the trainables' posterior (the `[sample]`
/// section): Gaussian noise of `noise_sd` on every sample of the `[loss]`
/// recordings, a uniform prior on each parameter's range, NUTS chains.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSpec {
    /// The noise's standard deviation (the recordings' unit, mV).
    pub noise_sd: f64,
    /// Chains, run in parallel.
    #[serde(default = "four")]
    pub chains: usize,
    /// Warm-up iterations per chain (not kept).
    #[serde(default = "five_hundred")]
    pub warmup: usize,
    /// Kept draws per chain.
    #[serde(default = "five_hundred")]
    pub draws: usize,
    /// The seed.
    #[serde(default)]
    pub seed: u64,
}

fn four() -> usize {
    4
}

fn five_hundred() -> usize {
    500
}

/// How `ruxley fit` optimises the trainables (the `[fit]` section): in the
/// unbounded space of the sigmoid onto each parameter's plausible range
/// (`ParamSpec::bounds`; the identity for values without one).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitSpec {
    /// `lbfgs` (the default) or `adam`.
    pub optimizer: String,
    /// The most iterations per start.
    pub iterations: usize,
    /// Adam's learning rate (in the transformed space).
    pub learning_rate: f64,
    /// Starts: the model's values, then `restarts - 1` drawn uniformly
    /// inside the ranges.
    pub restarts: usize,
    /// The seed of the drawn starts.
    pub seed: u64,
    /// Stop a start once its loss is at most this.
    pub target_loss: Option<f64>,
}

impl Default for FitSpec {
    fn default() -> Self {
        Self {
            optimizer: "lbfgs".into(),
            iterations: 100,
            learning_rate: 0.05,
            restarts: 1,
            seed: 0,
            target_loss: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainableEntry {
    #[serde(rename = "where", default)]
    at: Where,
    /// A synapse type: train its synapses' parameter instead of a
    /// compartment one (then `where` does not apply).
    synapse: Option<String>,
    /// With `synapse`: one value per synapse (true) or one shared (false).
    #[serde(default)]
    each: bool,
    parameter: String,
    init: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LossSpec {
    #[serde(default)]
    mse: Vec<String>,
    #[serde(default)]
    term: Vec<LossTermSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LossTermSpec {
    recording: String,
    compare: String,
    #[serde(default = "one")]
    weight: f64,
    windows: Option<usize>,
    mean_scale: Option<f64>,
    std_scale: Option<f64>,
    gamma: Option<f64>,
    time_weight: Option<f64>,
    pool_window: Option<usize>,
    pool_stride: Option<usize>,
}

fn one() -> f64 {
    1.0
}

/// One term of the loss: a recording compared with the target's column of
/// the same name.
#[derive(Debug, Clone, PartialEq)]
pub struct LossTerm {
    /// The recording's name (label or column).
    pub recording: String,
    /// How it is compared.
    pub compare: Compare,
    /// Its weight.
    pub weight: f64,
}

impl LossTermSpec {
    fn term(self, n_samples: usize) -> Result<LossTerm, String> {
        let at = format!("[[loss.term]] `{}`", self.recording);
        let only = |allowed: &[&str]| -> Result<(), String> {
            let given = [
                ("windows", self.windows.is_some()),
                ("mean_scale", self.mean_scale.is_some()),
                ("std_scale", self.std_scale.is_some()),
                ("gamma", self.gamma.is_some()),
                ("time_weight", self.time_weight.is_some()),
                ("pool_window", self.pool_window.is_some()),
                ("pool_stride", self.pool_stride.is_some()),
            ];
            match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
                Some((k, _)) => Err(format!(
                    "{at}: `{k}` does not apply to compare = \"{}\"",
                    self.compare
                )),
                None => Ok(()),
            }
        };
        let positive = |name: &str, x: f64| {
            if x.is_finite() && x > 0.0 {
                Ok(x)
            } else {
                Err(format!("{at}: {name} must be positive and finite, not {x}"))
            }
        };
        let compare = match self.compare.as_str() {
            "mse" => only(&[]).map(|()| Compare::Mse)?,
            "mae" => only(&[]).map(|()| Compare::Mae)?,
            "windows" => {
                only(&["windows", "mean_scale", "std_scale"])?;
                let count = self.windows.unwrap_or(8);
                if count == 0 || count > n_samples {
                    return Err(format!(
                        "{at}: windows = {count} must be between 1 and the {n_samples} samples"
                    ));
                }
                Compare::Windows(WindowStats::equal(
                    n_samples,
                    count,
                    positive("mean_scale", self.mean_scale.unwrap_or(8.0))?,
                    positive("std_scale", self.std_scale.unwrap_or(4.0))?,
                ))
            }
            "soft_dtw" => {
                only(&["gamma", "time_weight"])?;
                let time_weight = self.time_weight.unwrap_or(1.0);
                if !(time_weight.is_finite() && time_weight >= 0.0) {
                    return Err(format!("{at}: time_weight must be finite and at least 0"));
                }
                Compare::SoftDtw(SoftDtw {
                    gamma: positive("gamma", self.gamma.unwrap_or(1.0))?,
                    time_weight,
                })
            }
            "shape_dtw" => {
                only(&["gamma", "pool_window", "pool_stride"])?;
                let (window, stride) = (
                    self.pool_window.unwrap_or(50),
                    self.pool_stride.unwrap_or(30),
                );
                if window == 0 || stride == 0 || window > n_samples {
                    return Err(format!(
                        "{at}: pool_window = {window} and pool_stride = {stride} must be \
                         positive, the window at most the {n_samples} samples"
                    ));
                }
                Compare::ShapeDtw(ShapeDtw {
                    window,
                    stride,
                    gamma: positive("gamma", self.gamma.unwrap_or(0.1))?,
                })
            }
            other => {
                return Err(format!(
                    "{at}: compare = \"{other}\" is not one of mse, mae, windows, soft_dtw, \
                     shape_dtw"
                ));
            }
        };
        if !self.weight.is_finite() {
            return Err(format!("{at}: the weight must be finite"));
        }
        Ok(LossTerm {
            recording: self.recording,
            compare,
            weight: self.weight,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GradientSpec {
    schedule: Option<ScheduleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScheduleSpec {
    Word(String),
    Table(ScheduleTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleTable {
    nested: Option<Vec<usize>>,
    uniform: Option<usize>,
    revolve: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Simulation {
    dt: f64,
    t_max: f64,
    solver: Option<String>,
    celsius: Option<f64>,
    precision: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NcompSpec {
    Uniform(usize),
    PerBranch(Vec<usize>),
    DLambda(DLambda),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DLambda {
    d_lambda: f64,
    frequency_hz: f64,
    cm: f64,
    ra: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Morphology {
    swc: Option<String>,
    asc: Option<String>,
    parents: Option<Vec<i64>>,
    ncomp: NcompSpec,
    max_branch_len: Option<f64>,
    min_radius: Option<f64>,
    unit_um: Option<f64>,
    /// Copies of the cell side by side: a network of identical cells.
    cells: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SelSpec {
    Index(usize),
    List(Vec<usize>),
    Word(String),
}

impl SelSpec {
    fn sel(&self) -> Sel {
        match self {
            Self::Index(i) => Sel::Index(*i),
            Self::List(v) => Sel::List(v.clone()),
            Self::Word(w) => Sel::from(w.as_str()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhereTable {
    cell: Option<SelSpec>,
    group: Option<String>,
    branch: Option<SelSpec>,
    comp: Option<SelSpec>,
    loc: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Where {
    Word(String),
    Table(WhereTable),
}

impl Default for Where {
    fn default() -> Self {
        Self::Word("all".into())
    }
}

impl Where {
    fn select<'m>(&self, model: &'m mut Model) -> Result<View<'m>, ModelError> {
        let t = match self {
            Self::Word(w) if w == "all" => return Ok(model.view()),
            Self::Word(w) => {
                return Err(ModelError::Invalid(format!(
                    "where = \"{w}\": use \"all\" or a table"
                )));
            }
            Self::Table(t) => t,
        };
        let mut s = Selection::new();
        if let Some(c) = &t.cell {
            s = s.cell(c.sel());
        }
        if let Some(g) = &t.group {
            s = s.group(g);
        }
        if let Some(b) = &t.branch {
            s = s.branch(b.sel());
        }
        match (&t.comp, t.loc) {
            (Some(_), Some(_)) => {
                return Err(ModelError::Invalid("give comp or loc, not both".into()));
            }
            (Some(c), None) => s = s.comp(c.sel()),
            (None, Some(x)) => s = s.loc(x),
            (None, None) => {}
        }
        Ok(model.at(&s))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Insert {
    channel: Option<String>,
    nmodl: Option<String>,
    /// GLOBAL parameters of an NMODL file.
    #[serde(default)]
    globals: BTreeMap<String, f64>,
    #[serde(rename = "where", default)]
    at: Where,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    delay: f64,
    duration: f64,
    amplitude: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Drive {
    #[serde(rename = "where", default)]
    at: Where,
    step: Option<Step>,
    series: Option<Vec<f64>>,
}

impl Drive {
    fn waveform(&self) -> Result<Waveform, ModelError> {
        match (&self.step, &self.series) {
            (Some(s), None) => Ok(Waveform::step(s.delay, s.duration, s.amplitude)),
            (None, Some(v)) => Ok(Waveform::Series(v.clone())),
            _ => Err(ModelError::Invalid(
                "give exactly one of `step` and `series`".into(),
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    #[serde(rename = "where", default)]
    at: Where,
    #[serde(default = "default_state")]
    state: String,
    name: Option<String>,
    column: Option<String>,
    /// A synapse type: record `state` of each of its synapses instead (then
    /// `where`, `name` and `column` do not apply).
    synapse: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupEntry {
    name: String,
    #[serde(rename = "where")]
    at: Where,
}

fn default_state() -> String {
    "v".into()
}

/// A model read from a file, with its simulation options.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// The model.
    pub model: Model,
    /// dt, t_max and solver.
    pub options: RunOptions,
    /// The terms of the loss on a target (`mse = [...]` becomes one MSE term
    /// per recording, weighted by one over their number).
    pub loss: Vec<LossTerm>,
    /// The checkpoint schedule of gradients (default: nested, sqrt of the steps).
    pub schedule: Schedule,
    /// How `ruxley fit` optimises.
    pub fit: FitSpec,
    /// How `ruxley sample` samples, if the file says.
    pub sample: Option<SampleSpec>,
}

/// Reads a model file.
pub fn load(path: impl AsRef<Path>) -> Result<ModelSpec, ModelFileError> {
    load_with(path, &[])
}

/// Reads a model file with some of its values replaced: each override is
/// `PATH=VALUE`, PATH dotted keys with array entries by index
/// (`stimulus.0.step.amplitude`, or `stimulus.step.amplitude` where there is
/// one `[[stimulus]]`), VALUE a TOML value (a bare word is a string).
pub fn load_with(
    path: impl AsRef<Path>,
    overrides: &[String],
) -> Result<ModelSpec, ModelFileError> {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).map_err(|e| ModelFileError::Io(path.to_path_buf(), e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_with(&text, base, overrides).map_err(|e| match e {
        ModelFileError::Syntax(m) => ModelFileError::Syntax(format!("{}: {m}", path.display())),
        e => e,
    })
}

/// [`parse`] with overrides (see [`load_with`]).
pub fn parse_with(
    text: &str,
    base: &Path,
    overrides: &[String],
) -> Result<ModelSpec, ModelFileError> {
    if overrides.is_empty() {
        return parse(text, base);
    }
    let syntax = |e: toml::de::Error| ModelFileError::Syntax(e.to_string());
    let mut doc = toml::Value::Table(toml::from_str(text).map_err(syntax)?);
    for o in overrides {
        apply_override(&mut doc, o)
            .map_err(|m| ModelFileError::Invalid(format!("--set {o}: {m}")))?;
    }
    let file: File = doc.try_into().map_err(syntax)?;
    build(file, base)
}

/// Replaces the value at `PATH` of `PATH=VALUE` in `doc`.
fn apply_override(doc: &mut toml::Value, spec: &str) -> Result<(), String> {
    let (path, raw) = spec.split_once('=').ok_or("expected PATH=VALUE")?;
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").expect("parsed"),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let keys: Vec<&str> = path.trim().split('.').collect();
    let mut at = doc;
    for (k, key) in keys.iter().enumerate() {
        // An array of one entry may be passed through without its index.
        if at.is_array() && key.parse::<usize>().is_err() {
            let toml::Value::Array(a) = at else {
                unreachable!("an array")
            };
            if a.len() != 1 {
                return Err(format!(
                    "`{}` has {} entries: give an index",
                    keys[..k].join("."),
                    a.len()
                ));
            }
            at = &mut a[0];
        }
        let last = k + 1 == keys.len();
        at = match at {
            toml::Value::Table(t) => {
                if last {
                    t.insert(key.to_string(), value);
                    return Ok(());
                }
                t.get_mut(*key)
                    .ok_or_else(|| format!("the model file has no `{}`", keys[..=k].join(".")))?
            }
            toml::Value::Array(a) => {
                let i: usize = key.parse().expect("an index");
                let n = a.len();
                let slot = a
                    .get_mut(i)
                    .ok_or_else(|| format!("`{}` has {n} entries", keys[..k].join(".")))?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            _ => return Err(format!("`{}` is not a table", keys[..k].join("."))),
        };
    }
    Err("an empty path".into())
}

fn entry_err(entry: String) -> impl FnOnce(ModelError) -> ModelFileError {
    move |error| ModelFileError::Entry { entry, error }
}

/// Parses model-file text; relative paths are resolved against `base`.
pub fn parse(text: &str, base: &Path) -> Result<ModelSpec, ModelFileError> {
    let file: File = toml::from_str(text).map_err(|e| ModelFileError::Syntax(e.to_string()))?;
    build(file, base)
}

/// The model and settings a parsed file describes.
fn build(file: File, base: &Path) -> Result<ModelSpec, ModelFileError> {
    let m = &file.morphology;
    let ncomp = match &m.ncomp {
        NcompSpec::Uniform(n) => Ncomp::Uniform(*n),
        NcompSpec::PerBranch(v) => Ncomp::PerBranch(v.clone()),
        NcompSpec::DLambda(d) => Ncomp::DLambda {
            d_lambda: d.d_lambda,
            frequency_hz: d.frequency_hz,
            cm: d.cm,
            ra: d.ra,
        },
    };
    let morph_err = entry_err("[morphology]".into());
    let mut import = SwcImport {
        ncomp: ncomp.clone(),
        ..SwcImport::new(1)
    };
    import.trace.max_branch_len = m.max_branch_len;
    import.trace.min_radius = m.min_radius;
    let mut model = match (&m.swc, &m.asc, &m.parents) {
        (Some(swc), None, None) => {
            if let Some(u) = m.unit_um {
                import.read.unit_um = u;
            }
            Model::from_swc_file(base.join(swc), &import).map_err(morph_err)?
        }
        (None, Some(asc), None) => {
            if m.unit_um.is_some() {
                return Err(ModelFileError::Invalid(
                    "[morphology]: unit_um applies to SWC files only (Neurolucida files are in um)"
                        .into(),
                ));
            }
            Model::from_asc_file(base.join(asc), &import).map_err(morph_err)?
        }
        (None, None, Some(parents)) => {
            if m.max_branch_len.is_some() || m.min_radius.is_some() || m.unit_um.is_some() {
                return Err(ModelFileError::Invalid(
                    "[morphology]: max_branch_len, min_radius and unit_um apply to SWC files only"
                        .into(),
                ));
            }
            let parents: Vec<Option<usize>> =
                parents.iter().map(|&p| usize::try_from(p).ok()).collect();
            let ncomp = match ncomp {
                Ncomp::Uniform(n) => vec![n; parents.len()],
                Ncomp::PerBranch(v) => v,
                Ncomp::DLambda { .. } => {
                    return Err(ModelFileError::Invalid(
                        "[morphology]: the d_lambda rule needs an SWC file".into(),
                    ));
                }
            };
            Model::from_branches(&parents, &ncomp).map_err(morph_err)?
        }
        _ => {
            return Err(ModelFileError::Invalid(
                "[morphology]: give exactly one of `swc`, `asc` and `parents`".into(),
            ));
        }
    };
    if let Some(n) = m.cells {
        if n == 0 {
            return Err(ModelFileError::Invalid(
                "[morphology]: cells must be at least 1".into(),
            ));
        }
        model = Model::network(vec![model; n]).map_err(entry_err("[morphology]".into()))?;
    }
    let sim = &file.simulation;
    if let Some(c) = sim.celsius {
        model
            .set_celsius(c)
            .map_err(entry_err("[simulation]".into()))?;
    }
    let scheme = match &sim.solver {
        None => Scheme::BackwardEuler,
        Some(s) => Scheme::parse(s).ok_or_else(|| {
            ModelFileError::Invalid(format!(
                "[simulation]: solver `{s}` is not one of backward_euler, crank_nicolson"
            ))
        })?,
    };
    for (k, g) in file.group.iter().enumerate() {
        let entry = format!("[[group]] #{}", k + 1);
        g.at.select(&mut model)
            .and_then(|v| v.add_to_group(&g.name))
            .map_err(entry_err(entry))?;
    }
    for (k, ins) in file.insert.iter().enumerate() {
        let entry = format!("[[insert]] #{}", k + 1);
        if ins.nmodl.is_none() && !ins.globals.is_empty() {
            return Err(ModelFileError::Invalid(format!(
                "{entry}: `globals` belong to an `nmodl` file"
            )));
        }
        let channel = match (&ins.channel, &ins.nmodl) {
            (Some(name), None) => ruxley::channels::by_name(name).ok_or_else(|| {
                let known: Vec<String> = ruxley::channels::library()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect();
                ModelFileError::Invalid(format!(
                    "{entry}: no channel `{name}` (known: {})",
                    known.join(", ")
                ))
            })?,
            (None, Some(file)) => {
                let bad =
                    |e: ruxley::nmodl::NmodlError| ModelFileError::Invalid(format!("{entry}: {e}"));
                let mut m = ruxley::Nmodl::from_file(base.join(file)).map_err(bad)?;
                for (name, value) in &ins.globals {
                    m.set_global(name, *value).map_err(bad)?;
                }
                Box::new(m)
            }
            _ => {
                return Err(ModelFileError::Invalid(format!(
                    "{entry}: give either `channel` (a library channel) or `nmodl` (a .mod file)"
                )));
            }
        };
        ins.at
            .select(&mut model)
            .and_then(|v| v.insert(channel))
            .map_err(entry_err(entry))?;
    }
    for (k, table) in file.set.iter().enumerate() {
        let entry = format!("[[set]] #{}", k + 1);
        let at: Where = match table.get("where") {
            Some(w) => w
                .clone()
                .try_into()
                .map_err(|e| ModelFileError::Syntax(format!("{entry}: where: {e}")))?,
            None => Where::default(),
        };
        for (name, value) in table.iter().filter(|(n, _)| *n != "where") {
            let view = at.select(&mut model).map_err(entry_err(entry.clone()))?;
            match value {
                toml::Value::Float(x) => view.set(name, *x),
                toml::Value::Integer(i) => view.set(name, *i as f64),
                toml::Value::String(text) => {
                    let f = DistanceExpr::parse(text).map_err(|e| {
                        ModelFileError::Invalid(format!("{entry}: {name} = \"{text}\": {e}"))
                    })?;
                    view.set_by_distance(name, |d| f.eval(d))
                }
                other => {
                    return Err(ModelFileError::Invalid(format!(
                        "{entry}: {name} = {other} is neither a number nor an expression in d"
                    )));
                }
            }
            .map_err(entry_err(entry.clone()))?;
        }
    }
    for (k, table) in file.connect.iter().enumerate() {
        connect(&mut model, table, base, &format!("[[connect]] #{}", k + 1))?;
    }
    for (k, s) in file.stimulus.iter().enumerate() {
        let entry = format!("[[stimulus]] #{}", k + 1);
        let w = s.waveform().map_err(entry_err(entry.clone()))?;
        s.at.select(&mut model)
            .and_then(|v| v.stimulate(w))
            .map_err(entry_err(entry))?;
    }
    for (k, s) in file.clamp.iter().enumerate() {
        let entry = format!("[[clamp]] #{}", k + 1);
        let w = s.waveform().map_err(entry_err(entry.clone()))?;
        s.at.select(&mut model)
            .and_then(|v| v.clamp(w))
            .map_err(entry_err(entry))?;
    }
    for (k, r) in file.record.iter().enumerate() {
        let entry = format!("[[record]] #{}", k + 1);
        let result = match (&r.synapse, &r.name, &r.column) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ModelError::Invalid(
                "synapse recordings are named `<state>_syn<id>`; drop `name` and `column`".into(),
            )),
            (Some(ty), None, None) => model.synapse_type(ty).record(&r.state),
            (None, Some(_), Some(_)) => Err(ModelError::Invalid(
                "give `name` (a site label) or `column` (the trace column), not both".into(),
            )),
            // A label template: one recording per selected compartment.
            (None, Some(name), None) if name.contains('{') => {
                r.at.select(&mut model)
                    .and_then(|v| v.comps())
                    .and_then(|comps| {
                        for c in comps {
                            let (cell, b, k) = model.locate(c);
                            let label = name
                                .replace("{cell}", &cell.to_string())
                                .replace("{branch}", &b.to_string())
                                .replace("{comp}", &k.to_string());
                            model.comp(c).record_as(&r.state, &label)?;
                        }
                        Ok(())
                    })
            }
            (None, name, column) => r.at.select(&mut model).and_then(|v| match (name, column) {
                (Some(name), _) => v.record_as(&r.state, name),
                (None, Some(column)) => v.record_column(&r.state, column),
                (None, None) => v.record(&r.state),
            }),
        };
        result.map_err(entry_err(entry))?;
    }
    let precision = match &sim.precision {
        None => Precision::F64,
        Some(p) => Precision::parse(p).ok_or_else(|| {
            ModelFileError::Invalid(format!(
                "[simulation] precision = \"{p}\": expected \"f64\" or \"f32\""
            ))
        })?,
    };
    let options = RunOptions::new(sim.dt, sim.t_max)
        .with_scheme(scheme)
        .with_precision(precision);
    let grid = options
        .grid()
        .map_err(|e| ModelFileError::Invalid(format!("[simulation]: {e}")))?;
    for (k, t) in file.trainable.iter().enumerate() {
        let entry = format!("[[trainable]] #{}", k + 1);
        match &t.synapse {
            Some(ty) => {
                let view = model.synapse_type(ty);
                let view = if t.each { view.edge("all") } else { view };
                view.make_trainable(&t.parameter, t.init)
            }
            None => {
                t.at.select(&mut model)
                    .and_then(|v| v.make_trainable(&t.parameter, t.init))
            }
        }
        .map_err(entry_err(entry))?;
    }
    let loss = match file.loss {
        None => Vec::new(),
        Some(l) => {
            let weight = 1.0 / l.mse.len().max(1) as f64;
            let mut terms: Vec<LossTerm> = l
                .mse
                .into_iter()
                .map(|recording| LossTerm {
                    recording,
                    compare: Compare::Mse,
                    weight,
                })
                .collect();
            for t in l.term {
                terms.push(t.term(grid.n_samples()).map_err(ModelFileError::Invalid)?);
            }
            terms
        }
    };
    let labels: Vec<&str> = model
        .recordings()
        .iter()
        .flat_map(|r| [Some(r.label.as_str()), r.column.as_deref()])
        .flatten()
        .collect();
    if let Some(missing) = loss
        .iter()
        .map(|t| &t.recording)
        .find(|l| !labels.contains(&l.as_str()))
    {
        return Err(ModelFileError::Invalid(format!(
            "[loss]: no recording named `{missing}` (recorded: {})",
            labels.join(", ")
        )));
    }
    let schedule = match file.gradient.and_then(|g| g.schedule) {
        None => Schedule::sqrt(grid.n_steps()),
        Some(ScheduleSpec::Word(w)) => match w.as_str() {
            "store_all" => Schedule::StoreAll,
            "sqrt" | "nested" => Schedule::sqrt(grid.n_steps()),
            other => {
                return Err(ModelFileError::Invalid(format!(
                    "[gradient]: schedule `{other}` is not store_all, nested, or a table {{ nested = [..] }}, {{ uniform = k }}, {{ revolve = slots }}"
                )));
            }
        },
        Some(ScheduleSpec::Table(t)) => match (t.nested, t.uniform, t.revolve) {
            (Some(l), None, None) => Schedule::Nested(l),
            (None, Some(k), None) => Schedule::Uniform(k),
            (None, None, Some(s)) => Schedule::Revolve(s),
            _ => {
                return Err(ModelFileError::Invalid(
                    "[gradient]: give one of nested, uniform, revolve".into(),
                ));
            }
        },
    };
    if !["lbfgs", "adam"].contains(&file.fit.optimizer.as_str()) {
        return Err(ModelFileError::Invalid(format!(
            "[fit]: optimizer `{}` is not lbfgs or adam",
            file.fit.optimizer
        )));
    }
    if let Some(s) = &file.sample
        && !(s.noise_sd > 0.0 && s.noise_sd.is_finite() && s.chains > 0 && s.draws > 0)
    {
        return Err(ModelFileError::Invalid(
            "[sample]: noise_sd must be positive, chains and draws at least 1".into(),
        ));
    }
    if file.fit.restarts == 0 {
        return Err(ModelFileError::Invalid(
            "[fit]: restarts must be at least 1".into(),
        ));
    }
    Ok(ModelSpec {
        model,
        options,
        loss,
        schedule,
        fit: file.fit,
        sample: file.sample,
    })
}

/// Reads the (pre_cell, post_cell) pairs of a CSV file.
fn read_pairs(path: &Path) -> Result<Vec<(usize, usize)>, String> {
    #[derive(Deserialize)]
    struct Pair {
        pre_cell: usize,
        post_cell: usize,
    }
    Ok(read_rows::<Pair>(path)?
        .into_iter()
        .map(|p| (p.pre_cell, p.post_cell))
        .collect())
}

/// The rows of a CSV file with a header, each read into `T` by column
/// name (other columns are ignored); errors name the file and the line.
pub fn read_rows<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    reader
        .deserialize()
        .map(|row| row.map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}

/// Applies one `[[connect]]` entry: `synapse`, `pre` and `post` cells
/// (default all), `rule` = "full" (default), { sparse = p, seed = s } or
/// { pairs_csv = "file" } (columns pre_cell, post_cell; `pre` and `post`
/// do not apply), and values of the synapse's parameters, `threshold` or
/// `delay` for the new synapses. Cells connect at their first compartments;
/// `pre` and `post` given as `where` tables (`{ cell = 0, group = "soma",
/// branch = 1, loc = 1.0 }`) select compartments instead, and the full rule
/// joins every selected pre compartment to every selected post one.
fn connect(
    model: &mut Model,
    table: &BTreeMap<String, toml::Value>,
    base: &Path,
    entry: &str,
) -> Result<(), ModelFileError> {
    let invalid = |m: String| ModelFileError::Invalid(format!("{entry}: {m}"));
    let failed = |error: ModelError| ModelFileError::Entry {
        entry: entry.to_string(),
        error,
    };
    let name = table
        .get("synapse")
        .and_then(|v| v.as_str())
        .ok_or_else(|| invalid("`synapse` (a synapse type name) is required".into()))?;
    let synapse = ruxley::synapses::by_name(name).ok_or_else(|| {
        let known: Vec<String> = ruxley::synapses::library()
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        invalid(format!("no synapse `{name}` (known: {})", known.join(", ")))
    })?;
    let cells = |key: &str| -> Result<Sel, ModelFileError> {
        match table.get(key) {
            None => Ok(Sel::All),
            Some(v) => v
                .clone()
                .try_into::<SelSpec>()
                .map(|s| s.sel())
                .map_err(|e| invalid(format!("{key}: {e}"))),
        }
    };
    // Compartments, where `pre` and `post` are tables.
    let comps = |model: &mut Model, key: &str| -> Result<Vec<usize>, ModelFileError> {
        let at: Where = table[key]
            .clone()
            .try_into()
            .map_err(|e| invalid(format!("{key}: {e}")))?;
        at.select(model)
            .and_then(|v| v.comps())
            .map_err(|e| invalid(format!("{key}: {e}")))
    };
    let tables = ["pre", "post"].map(|k| matches!(table.get(k), Some(toml::Value::Table(_))));
    if tables.iter().any(|&t| t) {
        if tables != [true, true] {
            return Err(invalid(
                "give both `pre` and `post` as cells, or both as `where` tables".into(),
            ));
        }
        if !matches!(table.get("rule"), None | Some(toml::Value::String(_))) {
            return Err(invalid(
                "compartments given by `where` tables connect by the full rule only".into(),
            ));
        }
        let (pre, post) = (comps(model, "pre")?, comps(model, "post")?);
        let pairs: Vec<(usize, usize)> = pre
            .iter()
            .flat_map(|&a| post.iter().map(move |&b| (a, b)))
            .collect();
        let range = model.connect_pairs(&pairs, synapse).map_err(failed)?;
        return set_synapse_values(model, table, range, entry);
    }
    let (pre, post) = (cells("pre")?, cells("post")?);
    let range = match table.get("rule") {
        None => model.fully_connect(pre, post, synapse),
        Some(toml::Value::String(s)) if s == "full" => model.fully_connect(pre, post, synapse),
        Some(toml::Value::Table(t)) => {
            if let Some(p) = t.get("sparse") {
                let p = p
                    .as_float()
                    .ok_or_else(|| invalid("sparse must be a probability".into()))?;
                let seed = t.get("seed").and_then(|s| s.as_integer()).unwrap_or(0) as u64;
                model.sparse_connect(pre, post, synapse, p, seed)
            } else if let Some(f) = t.get("pairs_csv").and_then(|f| f.as_str()) {
                let pairs = read_pairs(&base.join(f)).map_err(&invalid)?;
                let n = model.n_cells();
                if let Some(&(a, b)) = pairs.iter().find(|(a, b)| *a >= n || *b >= n) {
                    return Err(invalid(format!(
                        "pair ({a}, {b}) names a cell beyond the {n} cells"
                    )));
                }
                let comps: Vec<(usize, usize)> = pairs
                    .iter()
                    .map(|&(a, b)| (model.root_comp(a), model.root_comp(b)))
                    .collect();
                model.connect_pairs(&comps, synapse)
            } else {
                return Err(invalid(
                    "rule: give { sparse = p, seed = s } or { pairs_csv = \"file\" }".into(),
                ));
            }
        }
        Some(other) => {
            return Err(invalid(format!(
                "rule = {other} is not \"full\" or a table"
            )));
        }
    }
    .map_err(failed)?;
    set_synapse_values(model, table, range, entry)
}

/// Sets the values a `[[connect]]` entry gives (every key but `synapse`,
/// `pre`, `post` and `rule`) on its new synapses `range`.
fn set_synapse_values(
    model: &mut Model,
    table: &BTreeMap<String, toml::Value>,
    range: std::ops::Range<usize>,
    entry: &str,
) -> Result<(), ModelFileError> {
    for (key, value) in table {
        if ["synapse", "pre", "post", "rule"].contains(&key.as_str()) {
            continue;
        }
        let x = match value {
            toml::Value::Float(x) => *x,
            toml::Value::Integer(i) => *i as f64,
            other => {
                return Err(ModelFileError::Invalid(format!(
                    "{entry}: {key} = {other} is not a number"
                )));
            }
        };
        let positions: Vec<usize> = range.clone().collect();
        model
            .synapses()
            .edge(positions)
            .set(key, x)
            .map_err(|error| ModelFileError::Entry {
                entry: entry.to_string(),
                error,
            })?;
    }
    Ok(())
}
