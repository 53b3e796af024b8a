//! Training on a data set: the minibatch gradient equals finite differences
//! of the mean cross-entropy, training lowers the loss, a run stopped and
//! resumed from its checkpoint ends where an uninterrupted one does, and bad
//! input is refused with errors that say where.

use ruxley::Schedule;
use ruxley::cpu::CpuBackend;
use ruxley::loss::{Readout, Reduce};
use ruxley::optim::{Adam, Transforms};
use ruxley::prelude::*;
use ruxley::train::{Sample, Task, TrainError, TrainOptions, evaluate, train, value_and_grad};
use ruxley_conformance::fdcheck::worst_deviation;

/// Soma and two dendrites (2 compartments each) with HH, a step into each
/// dendrite's tip and four trainables.
fn cell() -> ruxley::Layout {
    let mut m = Model::from_branches(&[None, Some(0), Some(0)], &[2, 2, 2]).unwrap();
    m.insert(Hh::new()).unwrap();
    m.set("radius", 1.0).unwrap();
    m.set("length", 50.0).unwrap();
    m.set("axial_resistivity", 100.0).unwrap();
    m.set("v", -65.0).unwrap();
    m.branch(1)
        .comp(1)
        .stimulate(Waveform::step(1.0, 8.0, 0.0))
        .unwrap();
    m.branch(2)
        .comp(1)
        .stimulate(Waveform::step(1.0, 8.0, 0.0))
        .unwrap();
    m.branch(0).comp(0).record_as("v", "soma").unwrap();
    m.branch(0).make_trainable("HH_gNa", None).unwrap();
    m.branch(1).make_trainable("HH_gK", None).unwrap();
    m.branch(2).make_trainable("radius", None).unwrap();
    m.make_trainable("axial_resistivity", None).unwrap();
    m.build().unwrap()
}

/// Label 1 where the summed input is above 0.08 nA (the initial cell
/// spikes from about 0.045 nA).
fn samples(layout: &ruxley::Layout, amplitudes: &[(f64, f64)]) -> Vec<Sample> {
    amplitudes
        .iter()
        .map(|&(a, b)| {
            let mut stimuli = layout.stimuli().to_vec();
            for (s, amp) in stimuli.iter_mut().zip([a, b]) {
                s.current = Waveform::step(1.0, 8.0, amp);
            }
            Sample {
                stimuli,
                label: usize::from(a + b > 0.08),
            }
        })
        .collect()
}

fn readout() -> Readout {
    Readout {
        traces: vec!["v_soma_mV".into()],
        window: (1.0, 10.0),
        reduce: Reduce::SoftMax { tau: 2.0 },
        offset: -20.0,
        scale: 10.0,
    }
}

fn grid(n: usize) -> Vec<(f64, f64)> {
    (0..n * n)
        .map(|k| {
            (
                0.04 * (k / n) as f64 / n as f64,
                0.04 * (k % n) as f64 / n as f64,
            )
        })
        .collect()
}

#[test]
fn the_minibatch_gradient_equals_finite_differences_of_the_mean_loss() {
    let layout = cell();
    let options = RunOptions::new(0.025, 10.0);
    let data = samples(&layout, &[(0.0, 0.01), (0.04, 0.03), (0.02, 0.0)]);
    let backend = CpuBackend::new();
    let theta = layout.trainables().initial();
    let loss = |theta: &[f64]| {
        evaluate(&backend, &layout, theta, &data, &options, &readout())
            .unwrap()
            .loss
    };
    let (scores, grad) = value_and_grad(
        &backend,
        &layout,
        &theta,
        &data,
        &options,
        &readout(),
        &Schedule::StoreAll,
    )
    .unwrap();
    assert_eq!(scores.loss, loss(&theta));
    assert!(grad.iter().all(|g| *g != 0.0), "{grad:?}");
    let worst = worst_deviation(&loss, &theta, &grad, 1e-4, 0.0);
    eprintln!("worst relative deviation {worst:e}");
    // Achieved: 1.8e-9.
    assert!(worst <= 2e-8, "{worst}");
}

#[test]
fn scores_count_the_samples_read_as_their_label() {
    let layout = cell();
    let options = RunOptions::new(0.025, 10.0);
    let data = samples(&layout, &[(0.0, 0.0), (0.5, 0.5)]);
    let s = evaluate(
        &CpuBackend::new(),
        &layout,
        &layout.trainables().initial(),
        &data,
        &options,
        &readout(),
    )
    .unwrap();
    // No input stays at rest (logit near (-65 + 20) / 10); a strong input spikes.
    assert!(
        s.logits[0][0] < -3.0 && s.logits[1][0] > 1.0,
        "{:?}",
        s.logits
    );
    assert_eq!((s.correct, s.accuracy()), (2, 1.0));
    let flipped: Vec<Sample> = data
        .into_iter()
        .map(|s| Sample {
            label: 1 - s.label,
            ..s
        })
        .collect();
    let f = evaluate(
        &CpuBackend::new(),
        &layout,
        &layout.trainables().initial(),
        &flipped,
        &options,
        &readout(),
    )
    .unwrap();
    assert_eq!(f.correct, 0);
    assert!(f.loss > s.loss + 3.0, "{} vs {}", f.loss, s.loss);
}

fn task<'a>(layout: &'a ruxley::Layout, train: &'a [Sample], test: &'a [Sample]) -> Task<'a> {
    Task {
        layout,
        run: RunOptions::new(0.025, 10.0),
        readout: readout(),
        transforms: Transforms::sigmoid_boxes(&[
            (0.05, 0.25),
            (0.01, 0.1),
            (0.2, 3.0),
            (20.0, 500.0),
        ])
        .unwrap(),
        train,
        test,
    }
}

fn options(dir: &std::path::Path) -> TrainOptions {
    TrainOptions {
        epochs: 2,
        batch_size: 6,
        seed: 7,
        checkpoint: Some(dir.join("train.ckpt")),
        metrics: Some(dir.join("metrics.csv")),
        ..TrainOptions::default()
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ruxley-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn training_lowers_the_loss_and_a_resumed_run_ends_where_an_uninterrupted_one_does() {
    let layout = cell();
    let train_set = samples(&layout, &grid(5));
    let test_set = samples(&layout, &grid(3));
    let task = task(&layout, &train_set, &test_set);
    let u0 = task
        .transforms
        .inverse(&layout.trainables().initial())
        .unwrap();
    let backend = CpuBackend::new();

    let whole = temp_dir("whole");
    let full = train(&backend, &task, &u0, &mut Adam::new(0.2), &options(&whole)).unwrap();
    assert!(full.finished);
    assert_eq!(full.steps, 2 * 5);
    let first = &full.epochs[0];
    let last = full.epochs.last().unwrap();
    assert_eq!(full.epochs.len(), 3);
    assert!(
        // Achieved: test loss 0.557 -> 0.011, training accuracy 0.76 -> 1.
        last.test_loss < 0.2 * first.test_loss && last.train_accuracy > first.train_accuracy,
        "{first:?} -> {last:?}"
    );
    let csv = std::fs::read_to_string(whole.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,steps,train_loss,train_accuracy,test_loss,test_accuracy,seconds"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[3].starts_with(&format!("2,10,{},", last.train_loss)),
        "{}",
        lines[3]
    );

    // Stopped after 3 steps (inside epoch 1), then 4 more (inside epoch 2), then finished.
    let split = temp_dir("split");
    let mut opts = options(&split);
    for (max, finished, steps) in [(3, false, 3), (4, false, 7), (100, true, 10)] {
        opts.max_steps = Some(max);
        let r = train(&backend, &task, &u0, &mut Adam::new(0.2), &opts).unwrap();
        assert_eq!((r.finished, r.steps), (finished, steps));
        if finished {
            assert_eq!(r.u, full.u);
            let strip = |rows: &[ruxley::train::EpochMetrics]| -> Vec<_> {
                rows.iter()
                    .map(|r| {
                        (
                            r.epoch,
                            r.steps,
                            r.train_loss,
                            r.train_accuracy,
                            r.test_loss,
                            r.test_accuracy,
                        )
                    })
                    .collect()
            };
            assert_eq!(strip(&r.epochs), strip(&full.epochs));
        }
    }
    // A different seed does not resume another run's checkpoint.
    opts.seed = 8;
    let e = train(&backend, &task, &u0, &mut Adam::new(0.2), &opts).unwrap_err();
    assert!(
        matches!(e, TrainError::File { .. }) && e.to_string().contains("train.ckpt"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&split);
}

#[test]
fn bad_tasks_and_failed_runs_are_errors_that_say_where() {
    let layout = cell();
    let train_set = samples(&layout, &grid(2));
    let backend = CpuBackend::new();
    let t = task(&layout, &train_set, &train_set);
    let u0 = vec![0.0; 4];
    let plain = TrainOptions::default();
    let err = |t: &Task, u: &[f64], o: &TrainOptions| {
        train(&backend, t, u, &mut Adam::new(0.1), o)
            .unwrap_err()
            .to_string()
    };
    assert!(err(&t, &[0.0; 3], &plain).contains("u0 has 3 values"));
    let empty = Task {
        train: &[],
        ..t.clone()
    };
    assert!(err(&empty, &u0, &plain).contains("samples to train on (0)"));
    let zero = TrainOptions {
        batch_size: 0,
        ..plain.clone()
    };
    assert!(err(&t, &u0, &zero).contains("batch size (0)"));
    // A label the readout cannot have fails the scoring before training.
    let mut bad = train_set.clone();
    bad[1].label = 2;
    let e = err(
        &Task {
            train: &bad,
            ..t.clone()
        },
        &u0,
        &plain,
    );
    assert!(e.contains("epoch 0") && e.contains("label 2"), "{e}");
    // An unstable run names the epoch and minibatch.
    let mut wild = train_set.clone();
    wild[0].stimuli[0].current = Waveform::step(1.0, 8.0, 1e9);
    let e = err(
        &Task {
            test: &train_set,
            train: &wild,
            ..t.clone()
        },
        &u0,
        &plain,
    );
    assert!(e.contains("epoch 0") && e.contains("voltage became"), "{e}");
    let negative = TrainOptions {
        clip_norm: Some(-1.0),
        ..plain.clone()
    };
    assert!(err(&t, &u0, &negative).contains("clip_norm"));
    // A checkpoint edited into an impossible state is refused.
    let dir = temp_dir("edited");
    let path = dir.join("ckpt.json");
    let stopped = TrainOptions {
        checkpoint: Some(path.clone()),
        max_steps: Some(1),
        ..plain.clone()
    };
    train(&backend, &t, &u0, &mut Adam::new(0.1), &stopped).unwrap();
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    saved["epoch"] = serde_json::json!(0);
    std::fs::write(&path, saved.to_string()).unwrap();
    let e = err(&t, &u0, &stopped);
    assert!(e.contains("inconsistent") && e.contains("ckpt.json"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let missing = TrainOptions {
        checkpoint: Some("/nonexistent/dir/ckpt.json".into()),
        ..plain.clone()
    };
    let e = err(&t, &u0, &missing);
    assert!(e.contains("/nonexistent/dir/ckpt.json"), "{e}");
}
