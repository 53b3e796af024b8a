//! `mpirun -np N ruxley sweep`: the output folder is byte for byte that of
//! one process, for 2 and 3 ranks (an uneven split); a failing member stops
//! every rank with an error naming the rank and the member, without a hang.
//! Needs the `mpi` feature and OpenMPI's `mpirun`.

#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ruxley_mpi_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `ruxley sweep` of W2 on `sets` into `out`, on `ranks` processes.
fn sweep(ranks: usize, sets: &Path, out: &Path) -> Output {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/w2.toml");
    let (model, sets, out) = (
        model.to_str().unwrap(),
        sets.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    ruxley(
        ranks,
        &[
            "sweep", model, "--chunk", "2", "--params", sets, "--out", out,
        ],
    )
}

/// The files of a folder, by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn any_number_of_ranks_writes_the_same_files() {
    let sets = tmp("sets.csv");
    let rows: Vec<String> = (0..7)
        .map(|k| format!("{},{}", 0.08 + 0.01 * k as f64, 0.03 + 0.002 * k as f64))
        .collect();
    std::fs::write(&sets, format!("HH_gNa,HH_gK\n{}\n", rows.join("\n"))).unwrap();
    let one = tmp("one");
    let out = sweep(1, &sets, &one);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = files(&one);
    assert_eq!(reference.len(), 8);
    for ranks in [2, 3] {
        let dir = tmp(&format!("np{ranks}"));
        let out = sweep(ranks, &sets, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("7 of 7 members run on {ranks} rank(s)")),
            "{stderr}"
        );
        assert!(files(&dir) == reference, "{ranks} ranks wrote other files");
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::remove_dir_all(one).unwrap();
    std::fs::remove_file(sets).unwrap();
}

#[test]
fn a_failing_member_stops_every_rank_naming_rank_and_member() {
    let sets = tmp("bad.csv");
    std::fs::write(&sets, "radius\n1\n1\n1\n-1\n1\n").unwrap();
    let dir = tmp("bad");
    let out = sweep(2, &sets, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("rank 1: member 3 (row 4): radius = -1"),
        "{stderr}"
    );
    // Chunks of two: rank 0 ran members 0-1, rank 1 members 2-3 and
    // failed. The summary keeps the chunks before the failing one (members
    // 0-1), from which a fixed rerun with --resume continues.
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 3, "{summary}");
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_file(sets).unwrap();
}

/// `ruxley ARGS` on `ranks` processes (1: no mpirun); its output.
fn ruxley(ranks: usize, args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_ruxley");
    let mut c = if ranks == 1 {
        Command::new(exe)
    } else {
        let mut c = Command::new("mpirun");
        c.args(["--oversubscribe", "-np", &ranks.to_string(), exe]);
        c
    };
    c.args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("runs")
}

#[test]
fn fit_restarts_and_nuts_chains_spread_over_ranks_give_one_process_result() {
    // One HH compartment, gNa trainable within its bounds, five starts of
    // ten Adam steps each, fitted to a trace made with gNa 0.1.
    let model = |extra: &str| {
        format!(
            "[simulation]\ndt = 0.025\nt_max = 12.0\n\n[morphology]\nparents = [-1]\nncomp = 1\n\n\
             [[insert]]\nchannel = \"HH\"\n\n\
             [[set]]\nlength = 20.0\nradius = 10.0\nv = -65.0\n{extra}\n\
             [[stimulus]]\nwhere = {{ branch = 0, comp = 0 }}\n\
             step = {{ delay = 1.0, duration = 10.0, amplitude = 0.1 }}\n\n\
             [[record]]\nwhere = {{ branch = 0, comp = 0 }}\nname = \"soma\"\n\n\
             [[trainable]]\nparameter = \"HH_gNa\"\n\n\
             [loss]\nmse = [\"soma\"]\n\n\
             [fit]\niterations = 10\nrestarts = 5\nseed = 3\n\n\
             [sample]\nnoise_sd = 1.0\nchains = 3\nwarmup = 20\ndraws = 10\nseed = 5\n"
        )
    };
    let (fit, truth, target) = (tmp("fit.toml"), tmp("truth.toml"), tmp("target.csv"));
    std::fs::write(&fit, model("")).unwrap();
    std::fs::write(&truth, model("HH_gNa = 0.1\n")).unwrap();
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let made = ruxley(1, &["simulate", &s(&truth), "--out", &s(&target)]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let args = ["fit", &s(&fit), "--target", &s(&target)];
    let one = ruxley(1, &args);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(String::from_utf8_lossy(&one.stderr).contains("over 5 start(s)"));
    for ranks in [2, 3] {
        let many = ruxley(ranks, &args);
        let stderr = String::from_utf8_lossy(&many.stderr);
        assert!(many.status.success(), "{stderr}");
        assert_eq!(many.stdout, one.stdout, "{ranks} ranks");
        assert!(stderr.contains("over 5 start(s)"), "{stderr}");
    }
    // NUTS chains: every rank runs every size-th chain; rank 0 writes the
    // draws and diagnostics of one process.
    let args = ["sample", &s(&fit), "--target", &s(&target)];
    let one = ruxley(1, &args);
    let one_err = String::from_utf8_lossy(&one.stderr).to_string();
    assert!(one.status.success(), "{one_err}");
    assert_eq!(
        String::from_utf8_lossy(&one.stdout).lines().count(),
        1 + 3 * 10
    );
    for ranks in [2, 3] {
        let many = ruxley(ranks, &args);
        let stderr = String::from_utf8_lossy(&many.stderr);
        assert!(many.status.success(), "{stderr}");
        assert_eq!(many.stdout, one.stdout, "{ranks} ranks");
        let table = |e: &str| {
            e.lines()
                .filter(|l| l.starts_with("HH_gNa"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(table(&stderr), table(&one_err), "{ranks} ranks");
    }
    for p in [fit, truth, target] {
        std::fs::remove_file(p).unwrap();
    }
}
