//! Training a model on a data set of inputs with class labels (the paper's
//! task-trained cells and networks): minibatches of stimulus sets through
//! the batched simulator, the cross-entropy of a [`Readout`], any optimiser
//! in an unbounded space (theta = transforms(u)), and an epoch loop with a
//! metrics CSV, a progress bar and checkpoints from which a killed run
//! resumes with the same result.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use ruxley_cell::Stimulus;
use ruxley_loss::{ClassLoss, LossError, Readout};
use ruxley_optim::{LrSchedule, Optimizer, Transforms, clip_norm};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Batch, RunOptions, Schedule};
use crate::ranks::Ranks;
use crate::{Error, Layout, Parameters, SimError, Traces};

/// One input of a data set: the stimuli of a run (replacing the model's)
/// and the class the run should be read as.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The stimuli.
    pub stimuli: Vec<Stimulus>,
    /// The class, below the readout's number of classes.
    pub label: usize,
}

/// The readout's verdict on a set of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The mean cross-entropy.
    pub loss: f64,
    /// The number of samples whose predicted class is their label.
    pub correct: usize,
    /// Each sample's logits.
    pub logits: Vec<Vec<f64>>,
}

/// The parameters of theta and each sample's stimuli with theta written in.
fn members(
    layout: &Layout,
    theta: &[f64],
    samples: &[Sample],
) -> Result<(Parameters, Vec<Vec<Stimulus>>), Error> {
    if samples.is_empty() {
        return Err(Error::Model(crate::ModelError::Invalid(
            "a data set needs at least one sample".into(),
        )));
    }
    let mut params = None;
    let mut stimuli = Vec::with_capacity(samples.len());
    for s in samples {
        let (p, s) = layout
            .trainables()
            .apply(theta, layout.parameters(), &s.stimuli)?;
        params.get_or_insert(p);
        stimuli.push(s);
    }
    Ok((params.expect("one sample at least"), stimuli))
}

fn loss_error(e: LossError) -> Error {
    Error::Sim(SimError::Input(e.to_string()))
}

fn score(readout: &Readout, losses: Vec<f64>, logits: Vec<Vec<f64>>, labels: &[usize]) -> Scores {
    let n = labels.len() as f64;
    let correct = logits
        .iter()
        .zip(labels)
        .filter(|(l, y)| readout.predict(l) == **y)
        .count();
    Scores {
        loss: losses.iter().sum::<f64>() / n,
        correct,
        logits,
    }
}

impl Scores {
    /// The fraction of samples whose predicted class is their label.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.logits.len() as f64
    }
}

/// Runs every sample with trainables `theta`: one batched run, each member
/// with its sample's stimuli.
pub fn simulate(
    backend: &dyn Backend,
    layout: &Layout,
    theta: &[f64],
    samples: &[Sample],
    options: &RunOptions,
) -> Result<Vec<Traces>, Error> {
    let (params, stimuli) = members(layout, theta, samples)?;
    let batch = Batch {
        params: std::slice::from_ref(&params),
        stimuli: &stimuli,
    };
    Ok(backend.simulate(layout, batch, options)?)
}

/// Runs every sample with trainables `theta` and scores the runs.
pub fn evaluate(
    backend: &dyn Backend,
    layout: &Layout,
    theta: &[f64],
    samples: &[Sample],
    options: &RunOptions,
    readout: &Readout,
) -> Result<Scores, Error> {
    let runs = simulate(backend, layout, theta, samples, options)?;
    let mut losses = Vec::with_capacity(runs.len());
    let mut logits = Vec::with_capacity(runs.len());
    for (traces, s) in runs.iter().zip(samples) {
        let (l, z) = readout.loss(traces, s.label).map_err(loss_error)?;
        losses.push(l);
        logits.push(z);
    }
    let labels: Vec<usize> = samples.iter().map(|s| s.label).collect();
    Ok(score(readout, losses, logits, &labels))
}

/// Runs every sample with trainables `theta`, scores the runs and returns the
/// gradient of the mean cross-entropy with respect to theta (in the order of
/// [`Layout::trainables`]).
pub fn value_and_grad(
    backend: &dyn Backend,
    layout: &Layout,
    theta: &[f64],
    samples: &[Sample],
    options: &RunOptions,
    readout: &Readout,
    schedule: &Schedule,
) -> Result<(Scores, Vec<f64>), Error> {
    let ranks = Ranks::alone();
    value_and_grad_on(
        &ranks, backend, layout, theta, samples, options, readout, schedule,
    )
}

/// [`value_and_grad`] with the samples split across `ranks` (contiguous
/// blocks): every rank returns the whole result, bit for bit that of one
/// process (the members' gradients are summed in sample order). Every rank
/// calls it with the same arguments.
#[allow(clippy::too_many_arguments)]
pub fn value_and_grad_on(
    ranks: &Ranks,
    backend: &dyn Backend,
    layout: &Layout,
    theta: &[f64],
    samples: &[Sample],
    options: &RunOptions,
    readout: &Readout,
    schedule: &Schedule,
) -> Result<(Scores, Vec<f64>), Error> {
    if samples.is_empty() {
        // Refused alike on every rank, before any exchange.
        return members(layout, theta, samples).map(|_| unreachable!("no samples"));
    }
    let n = samples.len();
    let block = n.div_ceil(ranks.size());
    let (from, to) = (
        (ranks.rank() * block).min(n),
        ((ranks.rank() + 1) * block).min(n),
    );
    // Each member as f64s: its loss, its gradient in theta, its logits.
    let mine = (|| -> Result<Vec<u8>, Error> {
        if from == to {
            return Ok(Vec::new());
        }
        let part = &samples[from..to];
        let (params, stimuli) = members(layout, theta, part)?;
        let loss = ClassLoss {
            readout: readout.clone(),
            labels: part.iter().map(|s| s.label).collect(),
        };
        let batch = Batch {
            params: std::slice::from_ref(&params),
            stimuli: &stimuli,
        };
        let runs = backend.value_and_grad(layout, batch, options, &loss, schedule)?;
        let grid = options.grid()?;
        let mut bytes = Vec::new();
        for (run, s) in runs.iter().zip(&stimuli) {
            let g = layout
                .trainables()
                .gather(&run.params, &run.stimuli, &grid, s);
            let z = readout.logits(&run.traces).map_err(loss_error)?;
            let values = std::iter::once(run.loss).chain(g).chain(z);
            bytes.extend(values.flat_map(f64::to_le_bytes));
        }
        Ok(bytes)
    })()
    .map_err(|e| e.to_string());
    let parts = ranks
        .all_gather_bytes(mine)
        .map_err(|e| Error::Sim(SimError::Batch(e)))?;
    let values: Vec<f64> = parts
        .concat()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("eight bytes")))
        .collect();
    let width = values.len() / n.max(1);
    let mut grad = vec![0.0; theta.len()];
    let mut losses = Vec::with_capacity(n);
    let mut logits = Vec::with_capacity(n);
    for member in values.chunks_exact(width.max(1)) {
        losses.push(member[0]);
        let g = &member[1..1 + theta.len()];
        grad.iter_mut().zip(g).for_each(|(a, b)| *a += b / n as f64);
        logits.push(member[1 + theta.len()..].to_vec());
    }
    let labels: Vec<usize> = samples.iter().map(|s| s.label).collect();
    Ok((score(readout, losses, logits, &labels), grad))
}

/// What is trained on what.
#[derive(Debug, Clone)]
pub struct Task<'a> {
    /// The model; its trainables are theta.
    pub layout: &'a Layout,
    /// The run of each sample.
    pub run: RunOptions,
    /// How a run is read as a class.
    pub readout: Readout,
    /// theta = transforms.forward(u); the optimiser moves u.
    pub transforms: Transforms,
    /// The samples trained on.
    pub train: &'a [Sample],
    /// The samples scored after every epoch.
    pub test: &'a [Sample],
}

/// How training proceeds.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per optimiser step (the last minibatch of an epoch may be
    /// smaller).
    pub batch_size: usize,
    /// Seeds the order of the samples in each epoch.
    pub seed: u64,
    /// Learning-rate multiplier per optimiser step.
    pub lr_schedule: LrSchedule,
    /// Clip the gradient in u to this norm before each step.
    pub clip_norm: Option<f64>,
    /// Recomputation of the reverse sweep.
    pub schedule: Schedule,
    /// Write the state here after every step and resume from it if it
    /// exists when training starts.
    pub checkpoint: Option<PathBuf>,
    /// Write the metrics of every epoch here (CSV).
    pub metrics: Option<PathBuf>,
    /// Stop after this many optimiser steps in this call (a time-limited
    /// job); a checkpointed run continues where it stopped.
    pub max_steps: Option<usize>,
    /// Draw a progress bar on stderr.
    pub show_progress: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 16,
            seed: 0,
            lr_schedule: LrSchedule::Constant,
            clip_norm: None,
            schedule: Schedule::StoreAll,
            checkpoint: None,
            metrics: None,
            max_steps: None,
            show_progress: false,
        }
    }
}

/// The scores after one epoch (epoch 0: before training).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch.
    pub epoch: usize,
    /// Optimiser steps so far.
    pub steps: usize,
    /// The mean training loss, each sample's taken when its minibatch was
    /// evaluated (epoch 0: at the start).
    pub train_loss: f64,
    /// The training accuracy, likewise.
    pub train_accuracy: f64,
    /// The test set's loss at the end of the epoch.
    pub test_loss: f64,
    /// The test set's accuracy at the end of the epoch.
    pub test_accuracy: f64,
    /// Wall-clock seconds of training so far (resumed runs included).
    pub seconds: f64,
}

/// The result of training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// The trained point in the unbounded space.
    pub u: Vec<f64>,
    /// theta = transforms(u).
    pub theta: Vec<f64>,
    /// The metrics of every completed epoch, from epoch 0.
    pub epochs: Vec<EpochMetrics>,
    /// Optimiser steps in total.
    pub steps: usize,
    /// False when `max_steps` stopped training early.
    pub finished: bool,
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A simulation or its loss failed.
    #[error("epoch {epoch}, minibatch {batch}: {error}")]
    Run {
        /// The epoch (0: the scoring before training).
        epoch: usize,
        /// The minibatch in the epoch; the number of minibatches for the
        /// scoring of the test set after it.
        batch: usize,
        /// The error.
        #[source]
        error: Error,
    },
    /// The loss or its gradient is not finite.
    #[error("epoch {epoch}, minibatch {batch}: the loss or its gradient is not finite")]
    NonFinite {
        /// The epoch.
        epoch: usize,
        /// The minibatch in the epoch.
        batch: usize,
    },
    /// The task or the options are inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read, written or used.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn file_error(path: &Path, reason: impl ToString) -> TrainError {
    TrainError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The resumable state of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved {
    format: String,
    optimizer: String,
    seed: u64,
    batch_size: usize,
    n_train: usize,
    u: Vec<f64>,
    state: Vec<f64>,
    /// The epoch in progress (from 1) and its next minibatch.
    epoch: usize,
    batch: usize,
    steps: usize,
    /// The epoch's sums so far: loss and correct predictions.
    loss_sum: f64,
    correct: usize,
    seconds: f64,
    epochs: Vec<EpochMetrics>,
}

const FORMAT: &str = "ruxley-train checkpoint 1";

impl Saved {
    /// The samples of the epoch in progress visited so far, of `n`.
    fn seen(&self, n: usize) -> usize {
        (self.batch * self.batch_size).min(n)
    }

    fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        let saved: Self = serde_json::from_str(&text).map_err(|e| file_error(path, e))?;
        if saved.format != FORMAT {
            return Err(file_error(
                path,
                "not a training checkpoint of this version",
            ));
        }
        Ok(saved)
    }

    fn store(&self, path: &Path) -> Result<(), TrainError> {
        let text = serde_json::to_string(self).map_err(|e| file_error(path, e))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| file_error(path, e))
    }
}

/// Writes the metrics of every epoch as CSV.
fn write_metrics(path: &Path, rows: &[EpochMetrics]) -> Result<(), TrainError> {
    let mut out =
        String::from("epoch,steps,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{:.3}\n",
            r.epoch,
            r.steps,
            r.train_loss,
            r.train_accuracy,
            r.test_loss,
            r.test_accuracy,
            r.seconds
        ));
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(out.as_bytes()))
        .map_err(|e| file_error(path, e))
}

/// The order of the training samples in `epoch`: a shuffle seeded by the
/// seed and the epoch, so that a resumed run draws the same minibatches.
fn order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// Trains `task` from `u0` with `optimizer`: each epoch visits the training
/// samples in a seeded random order in minibatches, takes one optimiser step
/// per minibatch on the mean cross-entropy, and scores the test set.
pub fn train(
    backend: &dyn Backend,
    task: &Task,
    u0: &[f64],
    optimizer: &mut dyn Optimizer,
    options: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    let n_theta = task.layout.trainables().len();
    if u0.len() != n_theta || task.transforms.0.len() != n_theta {
        return Err(TrainError::Invalid(format!(
            "u0 has {} values and the transforms {} for {n_theta} trainables",
            u0.len(),
            task.transforms.0.len()
        )));
    }
    if options
        .clip_norm
        .is_some_and(|c| !(c.is_finite() && c > 0.0))
    {
        return Err(TrainError::Invalid(format!(
            "clip_norm must be positive and finite, not {:?}",
            options.clip_norm
        )));
    }
    if task.train.is_empty() || task.test.is_empty() || options.batch_size == 0 {
        return Err(TrainError::Invalid(format!(
            "training needs samples to train on ({}) and to test ({}) and a positive batch size ({})",
            task.train.len(),
            task.test.len(),
            options.batch_size
        )));
    }
    let n_batches = task.train.len().div_ceil(options.batch_size);
    let run_error = |epoch, batch| {
        move |error| TrainError::Run {
            epoch,
            batch,
            error,
        }
    };
    let scores = |u: &[f64], samples: &[Sample]| {
        evaluate(
            backend,
            task.layout,
            &task.transforms.forward(u),
            samples,
            &task.run,
            &task.readout,
        )
    };
    let mut saved = match &options.checkpoint {
        Some(path) if path.exists() => {
            let s = Saved::load(path)?;
            let expected = (
                optimizer.name(),
                options.seed,
                options.batch_size,
                task.train.len(),
                n_theta,
            );
            let found = (
                s.optimizer.as_str(),
                s.seed,
                s.batch_size,
                s.n_train,
                s.u.len(),
            );
            if found != expected {
                return Err(file_error(
                    path,
                    format!(
                        "holds a run of (optimiser, seed, batch size, samples, trainables) = {found:?}, not {expected:?}"
                    ),
                ));
            }
            if s.epoch == 0 || s.batch > n_batches || s.u.iter().any(|u| !u.is_finite()) {
                return Err(file_error(
                    path,
                    format!(
                        "is inconsistent (epoch {}, minibatch {} of {n_batches}, or a non-finite u)",
                        s.epoch, s.batch
                    ),
                ));
            }
            optimizer
                .set_state(&s.state)
                .map_err(|e| file_error(path, e))?;
            s
        }
        _ => {
            let start = Instant::now();
            let train0 = scores(u0, task.train).map_err(run_error(0, 0))?;
            let test0 = scores(u0, task.test).map_err(run_error(0, 0))?;
            let seconds = start.elapsed().as_secs_f64();
            let fresh = Saved {
                format: FORMAT.into(),
                optimizer: optimizer.name().into(),
                seed: options.seed,
                batch_size: options.batch_size,
                n_train: task.train.len(),
                u: u0.to_vec(),
                state: optimizer.state(),
                epoch: 1,
                batch: 0,
                steps: 0,
                loss_sum: 0.0,
                correct: 0,
                seconds,
                epochs: vec![EpochMetrics {
                    epoch: 0,
                    steps: 0,
                    train_loss: train0.loss,
                    train_accuracy: train0.accuracy(),
                    test_loss: test0.loss,
                    test_accuracy: test0.accuracy(),
                    seconds,
                }],
            };
            if let Some(path) = options
                .metrics
                .as_ref()
                .filter(|_| Ranks::get().rank() == 0)
            {
                write_metrics(path, &fresh.epochs)?;
            }
            fresh
        }
    };
    // Under an MPI job every minibatch is split across the ranks, which step
    // in lockstep; rank 0 alone writes the files and shows progress.
    let ranks = Ranks::get();
    let lead = ranks.rank() == 0;
    let bar = crate::progress::bar(
        options.epochs * n_batches,
        "train",
        options.show_progress && lead,
    );
    bar.set_position(
        ((saved.epoch - 1) * n_batches + saved.batch).min(options.epochs * n_batches) as u64,
    );
    let resumed_at = saved.seconds;
    let clock = Instant::now();
    let mut steps_here = 0;
    while saved.epoch <= options.epochs {
        let epoch = saved.epoch;
        let order = order(options.seed, epoch, task.train.len());
        while saved.batch < n_batches {
            if options.max_steps.is_some_and(|m| steps_here >= m) {
                bar.abandon();
                return Ok(report(task, saved, false));
            }
            let b = saved.batch;
            let picked: Vec<Sample> = order[b * options.batch_size..]
                .iter()
                .take(options.batch_size)
                .map(|&k| task.train[k].clone())
                .collect();
            let theta = task.transforms.forward(&saved.u);
            let (s, grad) = value_and_grad_on(
                &ranks,
                backend,
                task.layout,
                &theta,
                &picked,
                &task.run,
                &task.readout,
                &options.schedule,
            )
            .map_err(run_error(epoch, b))?;
            let mut grad_u = task.transforms.pull_back(&saved.u, &grad);
            if !s.loss.is_finite() || grad_u.iter().any(|g| !g.is_finite()) {
                return Err(TrainError::NonFinite { epoch, batch: b });
            }
            if let Some(c) = options.clip_norm {
                clip_norm(&mut grad_u, c);
            }
            optimizer.step(
                &mut saved.u,
                &grad_u,
                s.loss,
                options.lr_schedule.factor(saved.steps),
            );
            saved.steps += 1;
            steps_here += 1;
            saved.loss_sum += s.loss * picked.len() as f64;
            saved.correct += s.correct;
            saved.batch += 1;
            saved.state = optimizer.state();
            saved.seconds = resumed_at + clock.elapsed().as_secs_f64();
            let seen = saved.seen(task.train.len()) as f64;
            bar.inc(1);
            bar.set_message(format!(
                "epoch {epoch} loss {:.4} acc {:.1}%",
                saved.loss_sum / seen,
                100.0 * saved.correct as f64 / seen
            ));
            if let Some(path) = options.checkpoint.as_ref().filter(|_| lead) {
                saved.store(path)?;
            }
        }
        let test = scores(&saved.u, task.test).map_err(run_error(epoch, n_batches))?;
        saved.seconds = resumed_at + clock.elapsed().as_secs_f64();
        let seen = task.train.len() as f64;
        saved.epochs.push(EpochMetrics {
            epoch,
            steps: saved.steps,
            train_loss: saved.loss_sum / seen,
            train_accuracy: saved.correct as f64 / seen,
            test_loss: test.loss,
            test_accuracy: test.accuracy(),
            seconds: saved.seconds,
        });
        saved.epoch += 1;
        saved.batch = 0;
        saved.loss_sum = 0.0;
        saved.correct = 0;
        if let Some(path) = options.metrics.as_ref().filter(|_| lead) {
            write_metrics(path, &saved.epochs)?;
        }
        if let Some(path) = options.checkpoint.as_ref().filter(|_| lead) {
            saved.store(path)?;
        }
    }
    bar.finish();
    Ok(report(task, saved, true))
}

fn report(task: &Task, saved: Saved, finished: bool) -> TrainReport {
    TrainReport {
        theta: task.transforms.forward(&saved.u),
        u: saved.u,
        epochs: saved.epochs,
        steps: saved.steps,
        finished,
    }
}
