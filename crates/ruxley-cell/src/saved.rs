//! Saving and loading values as JSON: a lowered model's full parameter
//! vector, and theta (the trainable values) by label. A file is checked
//! against the model it is loaded into, and any difference is an error
//! naming it.
//!
//! ```
//! # use ruxley_cell::Model;
//! # use ruxley_channels::Hh;
//! let mut cell = Model::from_branches(&[None, Some(0)], &[2, 2])?;
//! cell.insert(Hh::new())?;
//! cell.branch("all").make_trainable("HH_gNa", None)?;
//! let layout = cell.build()?;
//! let fitted = vec![0.10, 0.14];
//! let text = layout.trainables().to_json(&fitted)?;
//! assert_eq!(layout.trainables().from_json(&text)?, fitted);
//! let mut fitted_params = layout.parameters().clone();
//! fitted_params.set("HH_gK", 0.03)?;
//! let loaded = layout.parameters().from_json(&fitted_params.to_json()?)?;
//! assert_eq!(loaded.get("HH_gK"), Some(&[0.03; 4][..]));
//! # Ok::<(), ruxley_cell::ModelError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::params::{Parameters, Target};
use crate::trainable::Trainables;

/// One block of a saved parameter vector; `null` stands for NaN (a state
/// left at its steady state).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedBlock {
    name: String,
    comps: Vec<usize>,
    values: Vec<Option<f64>>,
}

/// One saved trainable value.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedValue {
    label: String,
    value: f64,
}

fn invalid(what: impl Into<String>) -> ModelError {
    ModelError::Invalid(what.into())
}

impl Parameters {
    /// The values as JSON: one object per block (`name`, `comps`,
    /// `values`; an initial state left at its steady state, NaN, written as
    /// `null`). An infinite value is an error naming its block.
    pub fn to_json(&self) -> Result<String, ModelError> {
        let mut blocks = Vec::new();
        for b in self.layout().blocks() {
            let values = self.block(b);
            if let Some(x) = values.iter().find(|x| x.is_infinite()) {
                return Err(invalid(format!("`{}` holds {x}", b.name)));
            }
            blocks.push(SavedBlock {
                name: b.name.clone(),
                comps: b.comps.clone(),
                values: values.iter().map(|x| x.is_finite().then_some(*x)).collect(),
            });
        }
        Ok(serde_json::to_string_pretty(&blocks).expect("plain data serialises"))
    }

    /// Values saved by [`Parameters::to_json`], checked against the
    /// structure of `self` (the same blocks, in order, on the same
    /// compartments); the result has that structure.
    pub fn from_json(&self, text: &str) -> Result<Parameters, ModelError> {
        let blocks: Vec<SavedBlock> =
            serde_json::from_str(text).map_err(|e| invalid(format!("saved parameters: {e}")))?;
        let mine = self.layout().blocks();
        if blocks.len() != mine.len() {
            return Err(invalid(format!(
                "saved parameters hold {} blocks, this model has {}",
                blocks.len(),
                mine.len()
            )));
        }
        let mut out = self.clone();
        for (saved, block) in blocks.iter().zip(mine) {
            if saved.name != block.name || saved.comps != block.comps {
                return Err(invalid(format!(
                    "saved block `{}` ({} values) does not match this model's `{}` ({} values)",
                    saved.name,
                    saved.comps.len(),
                    block.name,
                    block.comps.len()
                )));
            }
            if saved.values.len() != saved.comps.len() {
                return Err(invalid(format!(
                    "saved block `{}` has {} values for {} compartments",
                    saved.name,
                    saved.values.len(),
                    saved.comps.len()
                )));
            }
            let state = matches!(
                block.target,
                Target::ChannelState { .. } | Target::SynapseState { .. }
            );
            if !state && saved.values.iter().any(Option::is_none) {
                return Err(invalid(format!(
                    "saved block `{}` holds null, which only initial states may (for their steady state)",
                    saved.name
                )));
            }
            let values = saved.values.iter().map(|x| x.unwrap_or(f64::NAN));
            for (slot, x) in out.values_mut()[block.range.clone()].iter_mut().zip(values) {
                *slot = x;
            }
        }
        Ok(out)
    }
}

impl Trainables {
    /// `theta` as JSON, each value with its label ([`crate::Trainable::label`]).
    pub fn to_json(&self, theta: &[f64]) -> Result<String, ModelError> {
        if theta.len() != self.len() {
            return Err(invalid(format!(
                "theta has {} values for {} trainables",
                theta.len(),
                self.len()
            )));
        }
        if let Some(k) = theta.iter().position(|x| !x.is_finite()) {
            return Err(invalid(format!(
                "{} = {} is not finite",
                self.entries()[k].label(),
                theta[k]
            )));
        }
        let values: Vec<SavedValue> = self
            .entries()
            .iter()
            .zip(theta)
            .map(|(t, &value)| SavedValue {
                label: t.label(),
                value,
            })
            .collect();
        Ok(serde_json::to_string_pretty(&values).expect("plain data serialises"))
    }

    /// Theta saved by [`Trainables::to_json`], in this model's order: every
    /// label must be one of this model's, and every trainable must be there.
    pub fn from_json(&self, text: &str) -> Result<Vec<f64>, ModelError> {
        let values: Vec<SavedValue> =
            serde_json::from_str(text).map_err(|e| invalid(format!("saved theta: {e}")))?;
        // One label per trainable, looked up by hash: a network may have
        // 10^5 of them.
        let index: std::collections::HashMap<String, usize> = self
            .entries()
            .iter()
            .enumerate()
            .map(|(k, t)| (t.label(), k))
            .collect();
        let mut theta = vec![None; self.len()];
        for v in &values {
            let k = *index
                .get(&v.label)
                .ok_or_else(|| invalid(format!("saved theta: this model has no `{}`", v.label)))?;
            if theta[k].replace(v.value).is_some() {
                return Err(invalid(format!("saved theta: `{}` appears twice", v.label)));
            }
        }
        theta
            .iter()
            .zip(self.entries())
            .map(|(x, t)| x.ok_or_else(|| invalid(format!("saved theta lacks `{}`", t.label()))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::Model;
    use ruxley_channels::Hh;

    fn layout() -> crate::Layout {
        let mut m = Model::from_branches(&[None, Some(0), Some(0)], &[2, 3, 1]).unwrap();
        m.insert(Hh::new()).unwrap();
        m.branch(1).comp(2).set("HH_m", 0.3).unwrap();
        m.branch("all").make_trainable("HH_gK", None).unwrap();
        m.make_trainable("axial_resistivity", Some(80.0)).unwrap();
        m.build().unwrap()
    }

    #[test]
    fn parameters_round_trip_with_their_nan_states() {
        let lay = layout();
        let mut p = lay.parameters().clone();
        p.set_at("HH_gNa", 3, 0.2).unwrap();
        let text = p.to_json().unwrap();
        assert!(text.contains("null"), "steady states are saved as null");
        let back = lay.parameters().from_json(&text).unwrap();
        // NaN != NaN: compare the bits.
        let bits =
            |q: &crate::Parameters| q.values().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&p));
    }

    #[test]
    fn a_file_of_another_model_is_refused() {
        let lay = layout();
        let text = lay.parameters().to_json().unwrap();
        let mut other = Model::from_branches(&[None, Some(0)], &[2, 3]).unwrap();
        other.insert(Hh::new()).unwrap();
        let e = other
            .build()
            .unwrap()
            .parameters()
            .from_json(&text)
            .unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        let e = lay.parameters().from_json("[{\"name\": 1}]").unwrap_err();
        assert!(e.to_string().contains("saved parameters"), "{e}");
        let e = lay
            .parameters()
            .from_json(&text.replacen("\"name\"", "\"nom\"", 1))
            .unwrap_err();
        assert!(e.to_string().contains("saved parameters"), "{e}");
        // null stands for a steady state only.
        let gk = text.find("\"HH_gK\"").unwrap();
        let null_gk = format!("{}{}", &text[..gk], text[gk..].replacen("0.036", "null", 1));
        let e = lay.parameters().from_json(&null_gk).unwrap_err();
        assert!(e.to_string().contains("`HH_gK` holds null"), "{e}");
        let mut inf = lay.parameters().clone();
        inf.values_mut()[0] = f64::INFINITY;
        assert!(
            inf.to_json()
                .unwrap_err()
                .to_string()
                .contains("capacitance")
        );
    }

    #[test]
    fn theta_is_saved_by_label_and_checked() {
        let lay = layout();
        let t = lay.trainables();
        let theta: Vec<f64> = (0..t.len()).map(|k| 0.01 * (k + 1) as f64).collect();
        let text = t.to_json(&theta).unwrap();
        assert!(text.contains("HH_gK[1:2]") && text.contains("axial_resistivity[2:0]"));
        assert_eq!(t.from_json(&text).unwrap(), theta);
        // Order in the file does not matter; labels do.
        let mut values: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        values.reverse();
        assert_eq!(
            t.from_json(&serde_json::to_string(&values).unwrap())
                .unwrap(),
            theta
        );
        for (bad, why) in [
            (
                text.replace("HH_gK[1:2]", "HH_gK[1:7]"),
                "has no `HH_gK[1:7]`",
            ),
            (
                text.replace("HH_gK[1:2]", "HH_gK[1:1]"),
                "`HH_gK[1:1]` appears twice",
            ),
            (
                serde_json::to_string(&values[1..]).unwrap(),
                "lacks `axial_resistivity[2:0]`",
            ),
        ] {
            let e = t.from_json(&bad).unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
        assert!(t.to_json(&theta[1..]).is_err());
        let mut nan = theta.clone();
        nan[0] = f64::NAN;
        assert!(
            t.to_json(&nan)
                .unwrap_err()
                .to_string()
                .contains("HH_gK[1:0]")
        );
    }
}
