//! `Ranks::simulate` under `mpirun -np 2` and `-np 3`: a batch split across
//! the ranks gives, on rank 0, bit for bit the traces of one process, and a
//! bad member is every rank's error, naming the rank. A minibatch gradient
//! split across the ranks is one process's on every rank, and training
//! under mpirun ends at one process's parameters, bit for bit. Needs the `mpi`
//! feature and OpenMPI's `mpirun`; the test runs this test binary's
//! `split_batch_under_mpirun` under mpirun.

#![cfg(feature = "mpi")]

use std::process::Command;

use ruxley::cpu::CpuBackend;
use ruxley::loss::{Readout, Reduce};
use ruxley::optim::{Adam, Transforms};
use ruxley::prelude::*;
use ruxley::ranks::Ranks;
use ruxley::train::{Sample, Task, TrainOptions, train, value_and_grad, value_and_grad_on};
use ruxley::{Backend, Batch, Schedule};

/// Set in the environment of the processes mpirun starts.
const CHILD: &str = "RUXLEY_MPI_CHILD";

#[test]
#[ignore = "run under mpirun by split_batches_equal_one_process"]
fn split_batch_under_mpirun() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let _mpi = ruxley::ranks::initialize();
    let ranks = Ranks::get();
    let w = ruxley_conformance::workloads::w2().unwrap();
    let layout = w.model.build().unwrap();
    let params: Vec<_> = (0..5)
        .map(|k| {
            let mut p = layout.parameters().clone();
            p.set("HH_gNa", 0.1 + 0.01 * k as f64).unwrap();
            p
        })
        .collect();
    let cpu = CpuBackend::new();
    let got = ranks
        .simulate(&cpu, &layout, Batch::params(&params), &w.options)
        .unwrap();
    if ranks.rank() == 0 {
        let got = got.expect("rank 0 holds the traces");
        let want = cpu
            .simulate(&layout, Batch::params(&params), &w.options)
            .unwrap();
        assert_eq!(got.len(), 5);
        for (a, b) in got.iter().zip(&want) {
            assert_eq!(a.names(), b.names());
            let bits =
                |t: &ruxley::Traces| t.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(bits(a) == bits(b), "traces differ from one process's");
        }
    } else {
        assert!(got.is_none());
    }
    // The last member is invalid: every rank fails; rank 0 names the rank.
    let mut bad = params.clone();
    bad[4].set("radius", -1.0).unwrap();
    let e = ranks
        .simulate(&cpu, &layout, Batch::params(&bad), &w.options)
        .unwrap_err()
        .to_string();
    if ranks.rank() == 0 {
        let last = ranks.size() - 1;
        assert!(
            e.contains(&format!("rank {last}:")) && e.contains("radius"),
            "{e}"
        );
        println!("RANKS_OK {}", ranks.size());
    } else {
        assert!(e.contains("stopped"), "{e}");
    }
    // A minibatch gradient split across the ranks is every rank's, bit for
    // bit one process's; training steps in lockstep.
    let (layout, samples) = task();
    let theta = layout.trainables().initial();
    let run = RunOptions::new(0.025, 10.0);
    let schedule = Schedule::StoreAll;
    let split = value_and_grad_on(
        &ranks,
        &cpu,
        &layout,
        &theta,
        &samples,
        &run,
        &readout(),
        &schedule,
    )
    .unwrap();
    let alone =
        value_and_grad(&cpu, &layout, &theta, &samples, &run, &readout(), &schedule).unwrap();
    assert_eq!(split.0.loss.to_bits(), alone.0.loss.to_bits());
    assert!(
        split
            .1
            .iter()
            .zip(&alone.1)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    println!("TRAIN_U {}", trained_u(&layout, &samples));
}

/// A compartment with HH whose gNa and gK are trainable, read out by the
/// soft maximum of its voltage; seven samples of step currents, labelled by
/// whether they exceed 0.05 nA.
fn task() -> (ruxley::Layout, Vec<Sample>) {
    let mut m = Model::compartment();
    m.set("length", 20.0).unwrap();
    m.set("radius", 10.0).unwrap();
    m.insert(Hh::new()).unwrap();
    m.set("v", -65.0).unwrap();
    m.comp(0).stimulate(Waveform::step(1.0, 8.0, 0.0)).unwrap();
    m.comp(0).record_as("v", "soma").unwrap();
    m.make_trainable("HH_gNa", None).unwrap();
    m.make_trainable("HH_gK", None).unwrap();
    let layout = m.build().unwrap();
    let samples = (0..7)
        .map(|k| {
            let amp = 0.015 * k as f64;
            let mut stimuli = layout.stimuli().to_vec();
            stimuli[0].current = Waveform::step(1.0, 8.0, amp);
            Sample {
                stimuli,
                label: usize::from(amp > 0.05),
            }
        })
        .collect();
    (layout, samples)
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

/// u after two epochs of minibatches of three, as bit patterns.
fn trained_u(layout: &ruxley::Layout, samples: &[Sample]) -> String {
    let transforms = Transforms::from_bounds(&layout.trainable_bounds()).unwrap();
    let task = Task {
        layout,
        run: RunOptions::new(0.025, 10.0),
        readout: readout(),
        transforms: transforms.clone(),
        train: samples,
        test: samples,
    };
    let u0 = transforms.inverse(&layout.trainables().initial()).unwrap();
    let options = TrainOptions {
        epochs: 2,
        batch_size: 3,
        ..TrainOptions::default()
    };
    let r = train(
        &CpuBackend::new(),
        &task,
        &u0,
        &mut Adam::new(0.05),
        &options,
    )
    .unwrap();
    r.u.iter()
        .map(|x| format!("{:016x}", x.to_bits()))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn split_batches_equal_one_process() {
    let me = std::env::current_exe().unwrap();
    for np in [2, 3] {
        let out = Command::new("mpirun")
            .args(["--oversubscribe", "-np", &np.to_string()])
            .arg(&me)
            .args([
                "--exact",
                "split_batch_under_mpirun",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .output()
            .expect("mpirun runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(&format!("RANKS_OK {np}")), "{stdout}");
        // Every rank's trained u is the one of a process alone.
        let (layout, samples) = task();
        let alone = format!("TRAIN_U {}", trained_u(&layout, &samples));
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("TRAIN_U"))
            .collect();
        assert_eq!(lines.len(), np, "{stdout}");
        assert!(lines.iter().all(|l| *l == alone), "{lines:?} vs {alone}");
    }
}
