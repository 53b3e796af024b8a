//! `Ranks::simulate` under `mpirun -np 2` and `-np 3`: a batch split across
//! the ranks gives, on rank 0, bit for bit the traces of one process, and a
//! bad member is every rank's error, naming the rank. Needs the `mpi`
//! feature and OpenMPI's `mpirun`; the test runs this test binary's
//! `split_batch_under_mpirun` under mpirun.

#![cfg(feature = "mpi")]

use std::process::Command;

use ruxley::cpu::CpuBackend;
use ruxley::ranks::Ranks;
use ruxley::{Backend, Batch};

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
    }
}
