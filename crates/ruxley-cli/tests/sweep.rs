//! `ruxley sweep`: each member's traces are those of the model run alone
//! with its values; the output does not depend on how members are batched;
//! an interrupted sweep resumes with nothing lost or done twice; bad sets
//! are named.

use std::path::{Path, PathBuf};

use ruxley::ranks::Ranks;
use ruxley::{Backend, Batch, DefaultBackend};
use ruxley_cli::model_file;
use ruxley_cli::sweep::{Sets, SweepOptions, run};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ruxley_sweep_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// W1 with HH_gNa and HH_gK swept over five members.
fn w1_sets() -> Sets {
    Sets {
        columns: vec!["HH_gNa".into(), "HH_gK".into()],
        rows: (0..5)
            .map(|k| vec![0.08 + 0.02 * k as f64, 0.036 * (1.0 + 0.1 * k as f64)])
            .collect(),
    }
}

fn sweep(model: &str, sets: &Sets, out: &Path, chunk: usize, resume: bool) -> usize {
    let spec = model_file::load(models().join(model)).unwrap();
    let layout = spec.model.build().unwrap();
    let how = SweepOptions {
        out: out.to_path_buf(),
        chunk,
        summary_only: false,
        resume,
    };
    run(
        &Ranks::get(),
        &DefaultBackend::new(),
        &layout,
        &spec.options,
        sets,
        &how,
    )
    .unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn each_member_is_the_model_run_alone_whatever_the_batching() {
    let sets = w1_sets();
    let (a, b) = (tmp("a"), tmp("b"));
    assert_eq!(sweep("w1.toml", &sets, &a, 2, false), 5);
    assert_eq!(sweep("w1.toml", &sets, &b, 5, false), 5);
    for k in 0..5 {
        let name = format!("member_{k:06}.csv");
        assert_eq!(read(&a.join(&name)), read(&b.join(&name)), "{name}");
        // The same run alone, with the values set in the model.
        let mut spec = model_file::load(models().join("w1.toml")).unwrap();
        spec.model.set("HH_gNa", sets.rows[k][0]).unwrap();
        spec.model.set("HH_gK", sets.rows[k][1]).unwrap();
        let alone = DefaultBackend::new()
            .simulate(&spec.model.build().unwrap(), Batch::single(), &spec.options)
            .unwrap();
        let mut csv = Vec::new();
        alone[0].write_csv(&mut csv).unwrap();
        assert_eq!(
            read(&a.join(&name)),
            String::from_utf8(csv).unwrap(),
            "{name}"
        );
    }
    let summary = read(&a.join("summary.csv"));
    assert_eq!(summary, read(&b.join("summary.csv")));
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(
        lines[0].starts_with("member,HH_gNa,HH_gK,v_soma_mV_spikes,v_soma_mV_mean,v_soma_mV_min")
    );
    // Every member spikes once in W1's 20 ms, higher with more sodium.
    let column = |j: usize| -> Vec<f64> {
        lines[1..]
            .iter()
            .map(|l| l.split(',').nth(j).unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(column(3), vec![1.0; 5]);
    let peaks = column(6);
    assert!(peaks.windows(2).all(|w| w[1] > w[0]), "{peaks:?}");
    for d in [a, b] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn an_interrupted_sweep_resumes_with_nothing_lost_or_done_twice() {
    let sets = w1_sets();
    let (full, cut) = (tmp("full"), tmp("cut"));
    sweep("w1.toml", &sets, &full, 2, false);
    sweep("w1.toml", &sets, &cut, 2, false);
    // Killed while writing member 3: its summary line is partial, members
    // 3 and 4 have no trace file.
    let summary = read(&cut.join("summary.csv"));
    let keep: usize = summary.lines().take(4).map(|l| l.len() + 1).sum();
    std::fs::write(cut.join("summary.csv"), &summary[..keep + 7]).unwrap();
    for k in [3, 4] {
        std::fs::remove_file(cut.join(format!("member_{k:06}.csv"))).unwrap();
    }
    assert_eq!(sweep("w1.toml", &sets, &cut, 2, true), 2);
    for f in ["summary.csv", "member_000003.csv", "member_000004.csv"] {
        assert_eq!(read(&full.join(f)), read(&cut.join(f)), "{f}");
    }
    // Resuming a finished sweep runs nothing; another sweep's folder is
    // refused.
    assert_eq!(sweep("w1.toml", &sets, &cut, 2, true), 0);
    let other = Sets {
        columns: vec!["HH_gK".into()],
        rows: vec![vec![0.03]],
    };
    let spec = model_file::load(models().join("w1.toml")).unwrap();
    let layout = spec.model.build().unwrap();
    let how = SweepOptions {
        out: cut.clone(),
        chunk: 1,
        summary_only: true,
        resume: true,
    };
    let e = run(
        &Ranks::get(),
        &DefaultBackend::new(),
        &layout,
        &spec.options,
        &other,
        &how,
    )
    .unwrap_err();
    assert!(e.to_string().contains("sweep of other columns"), "{e}");
    // A header whose columns only begin with this sweep's is another's.
    let prefix = Sets {
        columns: vec!["HH_gK".into()],
        rows: vec![vec![0.03]],
    };
    let how_prefix = SweepOptions {
        out: cut.clone(),
        chunk: 1,
        summary_only: true,
        resume: true,
    };
    std::fs::write(cut.join("summary.csv"), "member,HH_gKx,v_soma_mV_spikes\n").unwrap();
    let e = run(
        &Ranks::get(),
        &DefaultBackend::new(),
        &layout,
        &spec.options,
        &prefix,
        &how_prefix,
    )
    .unwrap_err();
    assert!(e.to_string().contains("sweep of other columns"), "{e}");
    for d in [full, cut] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn trainable_columns_set_their_values() {
    // w2_grad.toml makes HH_gNa, HH_gK and HH_gLeak trainable per branch.
    let sets = Sets {
        columns: vec!["HH_gNa[1]".into(), "HH_gK[2:0]".into()],
        rows: vec![vec![0.1, 0.03], vec![0.14, 0.04]],
    };
    let out = tmp("trainable");
    sweep("w2_grad.toml", &sets, &out, 2, false);
    let spec = model_file::load(models().join("w2_grad.toml")).unwrap();
    let layout = spec.model.build().unwrap();
    let t = layout.trainables();
    for (k, row) in sets.rows.iter().enumerate() {
        let mut theta = t.initial();
        for (j, e) in t.entries().iter().enumerate() {
            if e.name == "HH_gNa" {
                theta[j] = row[0];
            }
        }
        theta[t.position("HH_gK[2:0]").unwrap()] = row[1];
        let alone =
            ruxley::grad::simulate(&DefaultBackend::new(), &layout, &[theta], &spec.options)
                .unwrap();
        let mut csv = Vec::new();
        alone[0].write_csv(&mut csv).unwrap();
        let file = out.join(format!("member_{k:06}.csv"));
        assert_eq!(read(&file), String::from_utf8(csv).unwrap());
    }
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn bad_sets_are_named() {
    let spec = model_file::load(models().join("w2_grad.toml")).unwrap();
    let layout = spec.model.build().unwrap();
    let out = tmp("bad");
    let how = SweepOptions {
        out: out.clone(),
        chunk: 4,
        summary_only: true,
        resume: false,
    };
    let e = |columns: &[&str], row: Vec<f64>| {
        let sets = Sets {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: vec![vec![0.1; columns.len()], row],
        };
        run(
            &Ranks::get(),
            &DefaultBackend::new(),
            &layout,
            &spec.options,
            &sets,
            &how,
        )
        .unwrap_err()
        .to_string()
    };
    let m = e(&["HH_gNaa"], vec![0.1]);
    assert!(m.contains("column `HH_gNaa` is neither"), "{m}");
    let m = e(&["HH_gNa"], vec![0.1]);
    assert!(m.contains("names a trainable parameter"), "{m}");
    // A negative radius in the second row is refused, naming the member.
    let m = e(&["radius"], vec![-1.0]);
    assert!(m.contains("member 1 (row 2)"), "{m}");
    // A CSV with NaN, or a short row.
    let csv = out.with_extension("csv");
    std::fs::write(&csv, "HH_gK,radius\n0.03,1\nNaN,1\n").unwrap();
    let m = Sets::read(&csv).unwrap_err().to_string();
    assert!(m.contains("row 2: `HH_gK` is NaN"), "{m}");
    std::fs::write(&csv, "HH_gK,radius\n0.03\n").unwrap();
    let m = Sets::read(&csv).unwrap_err().to_string();
    assert!(m.contains("row 1 has 1 values for 2 columns"), "{m}");
    std::fs::remove_file(csv).unwrap();
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn the_command_runs_a_sweep_from_files() {
    let out = tmp("cli");
    let csv = out.with_extension("csv");
    std::fs::write(&csv, "HH_gNa\n0.1\n0.12\n").unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_ruxley"))
        .args(["sweep", models().join("w1.toml").to_str().unwrap()])
        .args([
            "--params",
            csv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .arg("--summary-only")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("2 of 2 members run"), "{stderr}");
    assert_eq!(read(&out.join("summary.csv")).lines().count(), 3);
    assert!(!out.join("member_000000.csv").exists());
    std::fs::remove_file(csv).unwrap();
    std::fs::remove_dir_all(out).unwrap();
}
