//! Trainable parameters: which values a flat vector theta controls.
//!
//! `view.make_trainable(name, init)` creates one trainable value per site of
//! the view (Jaxley's sharing): on a whole cell one shared value, on
//! `branch("all")` one per branch, on `comp(...)` one per compartment, on a
//! group one for the group. Each value is written to every entry it
//! controls, and the gradients of the entries add up to its gradient.

use ruxley_core::TimeGrid;

use crate::error::ModelError;
use crate::model::Model;
use crate::params::Parameters;
use crate::stimulus::{Stimulus, Waveform};
use crate::view::View;

/// A trainable as described on the model (before lowering).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TrainableSpec {
    /// A parameter or initial state, one value per site.
    Param {
        name: String,
        sites: Vec<Vec<usize>>,
        init: Vec<f64>,
    },
    /// The amplitude of a step stimulus, or every value of a series.
    Stimulus { index: usize },
    /// A synapse parameter or initial state, one value per site of synapses.
    Synapse {
        name: String,
        sites: Vec<Vec<usize>>,
        init: Vec<f64>,
    },
}

impl TrainableSpec {
    /// The same trainable in a network where this cell's compartments start
    /// at `comp0`, its stimuli at `stim0` and its synapses at `syn0`.
    pub(crate) fn offset(self, comp0: usize, stim0: usize, syn0: usize) -> Self {
        match self {
            Self::Param { name, sites, init } => Self::Param {
                name,
                sites: sites
                    .into_iter()
                    .map(|s| s.into_iter().map(|c| c + comp0).collect())
                    .collect(),
                init,
            },
            Self::Stimulus { index } => Self::Stimulus {
                index: index + stim0,
            },
            Self::Synapse { name, sites, init } => Self::Synapse {
                name,
                sites: sites
                    .into_iter()
                    .map(|s| s.into_iter().map(|id| id + syn0).collect())
                    .collect(),
                init,
            },
        }
    }
}

/// What one trainable value controls, after lowering.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// These indices of the parameter vector.
    Params(Vec<usize>),
    /// The amplitude of step stimulus `stimulus`.
    StepAmplitude {
        /// Index in the layout's stimuli.
        stimulus: usize,
    },
    /// Value `step` of series stimulus `stimulus`.
    SeriesValue {
        /// Index in the layout's stimuli.
        stimulus: usize,
        /// The step.
        step: usize,
    },
}

/// One trainable value.
#[derive(Debug, Clone, PartialEq)]
pub struct Trainable {
    /// The parameter name (`HH_gNa`), or `stimulus<k>` for stimuli.
    pub name: String,
    /// The `make_trainable` (or `make_stimulus_trainable`) call it comes
    /// from, counting from 0: one name may be made trainable several times.
    pub entry: usize,
    /// Its position among the values of that call (its site, or a step of
    /// a series stimulus).
    pub index: usize,
    /// What it controls.
    pub control: Control,
    /// Its initial value.
    pub init: f64,
}

impl Trainable {
    /// Its name in theta: `HH_gNa[2:0]` is value 0 of the second
    /// `make_trainable` call (entries count from 1, as in model files).
    pub fn label(&self) -> String {
        format!("{}[{}:{}]", self.name, self.entry + 1, self.index)
    }
}

/// All trainable values of a lowered model, in the order of the vector theta.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trainables {
    entries: Vec<Trainable>,
}

impl Trainables {
    pub(crate) fn new(entries: Vec<Trainable>) -> Self {
        Self { entries }
    }

    /// The trainables, in theta order.
    pub fn entries(&self) -> &[Trainable] {
        &self.entries
    }

    /// Their labels ([`Trainable::label`]), in theta order.
    pub fn labels(&self) -> Vec<String> {
        self.entries.iter().map(Trainable::label).collect()
    }

    /// The number of trainable values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing is trainable.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position in theta of the value labelled `label` (see
    /// [`Trainable::label`]), so that theta can be read and written by name.
    pub fn position(&self, label: &str) -> Option<usize> {
        self.entries.iter().position(|t| t.label() == label)
    }

    /// The initial theta.
    pub fn initial(&self) -> Vec<f64> {
        self.entries.iter().map(|t| t.init).collect()
    }

    /// Writes theta into copies of `params` and `stimuli`.
    pub fn apply(
        &self,
        theta: &[f64],
        params: &Parameters,
        stimuli: &[Stimulus],
    ) -> Result<(Parameters, Vec<Stimulus>), ModelError> {
        if theta.len() != self.entries.len() {
            return Err(ModelError::Invalid(format!(
                "theta has {} values for {} trainables",
                theta.len(),
                self.entries.len()
            )));
        }
        let mut p = params.clone();
        let mut s = stimuli.to_vec();
        for (t, &x) in self.entries.iter().zip(theta) {
            if !x.is_finite() {
                return Err(ModelError::InvalidValue {
                    name: t.label(),
                    value: x,
                    reason: "a trainable must be finite",
                });
            }
            match &t.control {
                Control::Params(idx) => idx.iter().for_each(|&i| p.values_mut()[i] = x),
                Control::StepAmplitude { stimulus } => {
                    if let Waveform::Step { amplitude, .. } = &mut s[*stimulus].current {
                        *amplitude = x;
                    }
                }
                Control::SeriesValue { stimulus, step } => {
                    if let Waveform::Series(v) = &mut s[*stimulus].current {
                        v[*step] = x;
                    }
                }
            }
        }
        Ok((p, s))
    }

    /// The gradient with respect to theta, from the gradients with respect to
    /// every parameter value (`params`) and every stimulus current per step
    /// (`stimuli`) of a run on `grid` with `stimulus_set`.
    pub fn gather(
        &self,
        params: &[f64],
        stimuli: &[Vec<f64>],
        grid: &TimeGrid,
        stimulus_set: &[Stimulus],
    ) -> Vec<f64> {
        self.entries
            .iter()
            .map(|t| match &t.control {
                Control::Params(idx) => idx.iter().map(|&i| params[i]).sum(),
                Control::StepAmplitude { stimulus } => match &stimulus_set[*stimulus].current {
                    Waveform::Step {
                        delay, duration, ..
                    } => grid
                        .steps_in(*delay, delay + duration)
                        .map(|n| stimuli[*stimulus][n])
                        .sum(),
                    Waveform::Series(_) => 0.0,
                },
                Control::SeriesValue { stimulus, step } => {
                    stimuli[*stimulus].get(*step).copied().unwrap_or(0.0)
                }
            })
            .collect()
    }
}

impl Model {
    /// Makes the amplitude of step stimulus `index` (in the order of
    /// [`Model::stimuli`]) trainable, or every value of a series stimulus.
    pub fn make_stimulus_trainable(&mut self, index: usize) -> Result<(), ModelError> {
        if index >= self.stimuli.len() {
            return Err(ModelError::IndexOutOfRange {
                what: "stimulus",
                index,
                len: self.stimuli.len(),
            });
        }
        self.trainables.push(TrainableSpec::Stimulus { index });
        Ok(())
    }

    /// The current value of `name` (a parameter, `v`, or an initial state)
    /// at every compartment, in global order; None where a compartment does
    /// not have it.
    pub fn values(&self, name: &str) -> Result<Vec<Option<f64>>, ModelError> {
        let all: Vec<usize> = (0..self.comps.len()).collect();
        self.values_of(name, &all)
    }

    /// The current value of `name` at each compartment (None where the
    /// compartment does not have it).
    pub(crate) fn values_of(
        &self,
        name: &str,
        comps: &[usize],
    ) -> Result<Vec<Option<f64>>, ModelError> {
        let comp_value = |c: usize| -> Option<f64> {
            let r = &self.comps[c];
            match name {
                "v" => Some(r.v),
                "capacitance" | "cm" => Some(r.cm),
                "axial_resistivity" | "ra" => Some(r.ra),
                "radius" => Some(r.geometry.radius),
                "length" => Some(r.geometry.length),
                _ => None,
            }
        };
        if comp_value(0).is_some() {
            return Ok(comps.iter().map(|&c| comp_value(c)).collect());
        }
        let mut found = false;
        let values = comps
            .iter()
            .map(|&c| {
                self.mechanisms.iter().find_map(|m| {
                    let row = m.row_of(c)?;
                    if let Some(p) = (0..m.params.len()).find(|&p| m.param_name(p) == name) {
                        found = true;
                        return Some(m.params[p][row]);
                    }
                    let s = (0..m.states.len()).find(|&s| m.state_name(s) == name)?;
                    found = true;
                    Some(m.states[s][row])
                })
            })
            .collect();
        if found {
            Ok(values)
        } else {
            Err(ModelError::UnknownName {
                name: name.into(),
                known: crate::view::known_names(self, comps),
            })
        }
    }

    /// Removes every trainable.
    pub fn clear_trainables(&mut self) {
        self.trainables.clear();
    }
}

impl View<'_> {
    /// Makes parameter (or initial state) `name` trainable with one value per
    /// site of this view, starting at `init` or at the mean of the current
    /// values over each site. Training `radius` or `length` turns the
    /// compartments into cylinders (as `set` does).
    pub fn make_trainable(self, name: &str, init: Option<f64>) -> Result<(), ModelError> {
        let sites: Vec<Vec<usize>> = self.sites()?.iter().map(|s| s.comps.clone()).collect();
        let model = self.model;
        let mut kept = Vec::new();
        let mut inits = Vec::new();
        for comps in sites {
            let values = model.values_of(name, &comps)?;
            let comps: Vec<usize> = comps
                .into_iter()
                .zip(&values)
                .filter(|(_, v)| v.is_some())
                .map(|(c, _)| c)
                .collect();
            if comps.is_empty() {
                continue;
            }
            let present: Vec<f64> = values.into_iter().flatten().collect();
            let mean = present.iter().sum::<f64>() / present.len() as f64;
            let x = init.unwrap_or(mean);
            if x.is_nan() {
                return Err(ModelError::Invalid(format!(
                    "{name} starts at its steady state; give make_trainable an initial value"
                )));
            }
            inits.push(x);
            kept.push(comps);
        }
        if kept.is_empty() {
            return Err(ModelError::UnknownName {
                name: name.into(),
                known: Vec::new(),
            });
        }
        for (comps, &x) in kept.iter().zip(&inits) {
            if name == "radius" || name == "length" || init.is_some() {
                let sites = Ok(vec![crate::view::Site {
                    cell: None,
                    branch: None,
                    comps: comps.clone(),
                }]);
                View {
                    model: &mut *model,
                    sites,
                }
                .set(name, x)?;
            }
        }
        model.trainables.push(TrainableSpec::Param {
            name: name.to_string(),
            sites: kept,
            init: inits,
        });
        Ok(())
    }
}
