//! The flat, named parameter vector of a lowered model.

use std::ops::Range;
use std::sync::Arc;

use crate::error::ModelError;

/// What a block of parameter values controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Specific capacitance per compartment (uF/cm2).
    Capacitance,
    /// Axial resistivity per compartment (ohm cm).
    AxialResistivity,
    /// Initial voltage per compartment (mV).
    InitialVoltage,
    /// Radius per compartment (um); shapes cylindrical compartments only.
    Radius,
    /// Length per compartment (um); shapes cylindrical compartments only.
    Length,
    /// Parameter `param` of mechanism `mech`, per row of the mechanism.
    ChannelParam {
        /// Mechanism index in the layout.
        mech: usize,
        /// Parameter index in the channel's spec.
        param: usize,
    },
    /// Initial value of state `state` of mechanism `mech` (NaN: steady state).
    ChannelState {
        /// Mechanism index in the layout.
        mech: usize,
        /// State index in the channel's spec.
        state: usize,
    },
    /// Parameter `param` of synapse group `group`, per synapse.
    SynapseParam {
        /// Synapse group index in the layout.
        group: usize,
        /// Parameter index in the synapse's spec.
        param: usize,
    },
    /// Initial value of state `state` of synapse group `group` (NaN: the
    /// synapse's own initial state).
    SynapseState {
        /// Synapse group index in the layout.
        group: usize,
        /// State index in the synapse's spec.
        state: usize,
    },
}

/// A named block of the parameter vector: one value per compartment it
/// applies to (per synapse for synapse blocks).
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The name as used by `set` (`capacitance`, `HH_gNa`, `HH_m`, ...).
    pub name: String,
    /// What it controls.
    pub target: Target,
    /// The global compartment of each value (the synapse index for
    /// synapse blocks).
    pub comps: Vec<usize>,
    /// Where the values sit in the vector.
    pub range: Range<usize>,
}

/// The structure of a parameter vector: its named blocks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamLayout {
    blocks: Vec<Block>,
    len: usize,
}

impl ParamLayout {
    /// Appends a block; returns its range.
    pub(crate) fn push(&mut self, name: String, target: Target, comps: Vec<usize>) -> Range<usize> {
        let range = self.len..self.len + comps.len();
        self.len = range.end;
        self.blocks.push(Block {
            name,
            target,
            comps,
            range: range.clone(),
        });
        range
    }

    /// All blocks, in vector order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The blocks of this name (several for a shared parameter such as `eK`).
    pub fn find(&self, name: &str) -> impl Iterator<Item = &Block> {
        self.blocks.iter().filter(move |b| b.name == name)
    }

    /// The total number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty vector.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The distinct block names.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.blocks.iter().map(|b| b.name.clone()).collect();
        names.dedup();
        names
    }
}

/// A full set of parameter values for a lowered model. Clone it and change
/// values to run a batch of parameter sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters {
    layout: Arc<ParamLayout>,
    values: Vec<f64>,
}

impl Parameters {
    pub(crate) fn new(layout: Arc<ParamLayout>, values: Vec<f64>) -> Self {
        debug_assert_eq!(layout.len(), values.len());
        Self { layout, values }
    }

    /// The structure of this vector.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// True when both vectors have the same structure.
    pub fn same_layout(&self, other: &Parameters) -> bool {
        Arc::ptr_eq(&self.layout, &other.layout) || self.layout == other.layout
    }

    /// All values, in block order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// All values, mutable.
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// Sets every value of every block named `name`.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), ModelError> {
        let ranges: Vec<Range<usize>> = self.layout.find(name).map(|b| b.range.clone()).collect();
        if ranges.is_empty() {
            return Err(ModelError::UnknownName {
                name: name.into(),
                known: self.layout.names(),
            });
        }
        for r in ranges {
            self.values[r].fill(value);
        }
        Ok(())
    }

    /// Sets the value of `name` at global compartment `comp`.
    pub fn set_at(&mut self, name: &str, comp: usize, value: f64) -> Result<(), ModelError> {
        let mut hit = false;
        for b in self.layout.find(name) {
            if let Ok(k) = b.comps.binary_search(&comp) {
                self.values[b.range.start + k] = value;
                hit = true;
            }
        }
        if hit {
            Ok(())
        } else {
            Err(ModelError::UnknownName {
                name: format!("{name} at compartment {comp}"),
                known: self.layout.names(),
            })
        }
    }

    /// The values of the first block named `name`.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.layout
            .find(name)
            .next()
            .map(|b| &self.values[b.range.clone()])
    }

    /// The values of one block.
    pub fn block(&self, block: &Block) -> &[f64] {
        &self.values[block.range.clone()]
    }
}
