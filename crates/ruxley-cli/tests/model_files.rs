//! The shipped model files reproduce the anchors; bad files give clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use ruxley::{Backend, Batch, DefaultBackend};
use ruxley_cli::model_file::{self, ModelFileError};
use ruxley_conformance::reference::{Table, data_path, max_abs_diff, nan_max};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models")
}

fn deviation(model: &str, reference: &str) -> f64 {
    let spec = model_file::load(models_dir().join(model)).unwrap();
    let layout = spec.model.build().unwrap();
    let traces = DefaultBackend::new()
        .simulate(&layout, Batch::single(), &spec.options)
        .unwrap();
    let want = Table::read(data_path(&format!("reference/anchors/traces/{reference}"))).unwrap();
    // Every reference column is recorded (the W6 reference holds 14 of 50 cells).
    for n in &want.names[1..] {
        assert!(traces[0].names().contains(n), "no column {n}");
    }
    want.names[1..]
        .iter()
        .map(|n| max_abs_diff(traces[0].get(n).unwrap(), want.column(n).unwrap()))
        .fold(0.0, nan_max)
}

#[test]
fn w1_w2_w3_model_files_reproduce_the_references() {
    assert!(deviation("w1.toml", "w1_nrn_bwd_notable.csv") < 1e-6);
    assert!(deviation("w2.toml", "w2_nrn_bwd_notable.csv") < 1e-6);
    assert!(deviation("w3.toml", "w3_jaxley_f64.csv") < 1e-6);
}

#[test]
fn the_l5pc_model_file_reproduces_neuron() {
    let spec = model_file::load(models_dir().join("l5pc_w2.toml")).unwrap();
    let layout = spec.model.build().unwrap();
    let traces = DefaultBackend::new()
        .simulate(&layout, Batch::single(), &spec.options)
        .unwrap();
    let want = Table::read(data_path("reference/l5pc/nrn_L5PC_W2.csv")).unwrap();
    // Every reference column but the stimulus is recorded under its name.
    let names: Vec<&String> = want.names[1..]
        .iter()
        .filter(|n| *n != "i_stim_nA")
        .collect();
    assert_eq!(traces[0].names().iter().collect::<Vec<_>>(), names);
    for n in names
        .iter()
        .filter(|n| n.starts_with("v_") || !n.contains('.'))
    {
        let d = max_abs_diff(traces[0].get(n).unwrap(), want.column(n).unwrap());
        let tol = if n.starts_with("v_") { 1e-6 } else { 1e-9 };
        assert!(d < tol, "{n}: {d:e}");
    }
}

fn parse_err(text: &str) -> String {
    match model_file::parse(text, Path::new(".")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str =
    "[simulation]\ndt = 0.025\nt_max = 1.0\n[morphology]\nparents = [-1, 0]\nncomp = 2\n";

#[test]
fn errors_name_the_entry_and_the_problem() {
    let e = parse_err(
        "[simulation]\ndt = 0.025\nt_max = 1.0\ndtt = 3\n[morphology]\nparents=[-1]\nncomp=1\n",
    );
    assert!(e.contains("dtt"), "{e}");
    let e = parse_err(&format!("{HEAD}[[insert]]\nchannel = \"HX\"\n"));
    assert!(
        e.contains("[[insert]] #1") && e.contains("HX") && e.contains("HH"),
        "{e}"
    );
    let e = parse_err(&format!(
        "{HEAD}[[insert]]\nchannel = \"HH\"\n[[set]]\nHH_gNx = 0.1\n"
    ));
    assert!(
        e.contains("[[set]] #1") && e.contains("HH_gNx") && e.contains("HH_gNa"),
        "{e}"
    );
    let e = parse_err(&format!(
        "{HEAD}[[set]]\nwhere = {{ branch = 7 }}\nradius = 1.0\n"
    ));
    assert!(e.contains("branch index 7"), "{e}");
    let e = parse_err(&format!(
        "{HEAD}[[record]]\nwhere = {{ branch = 0, comp = 0 }}\nstate = \"HH_m\"\n"
    ));
    assert!(e.contains("[[record]] #1") && e.contains("HH_m"), "{e}");
    let e = parse_err("[simulation]\ndt = -1\nt_max = 1.0\n[morphology]\nparents=[-1]\nncomp=1\n");
    assert!(e.contains("dt"), "{e}");
    let e = parse_err(&format!(
        "{HEAD}[[stimulus]]\nstep = {{ delay = 1, duration = 1, amplitude = 1 }}\nseries = [1.0]\n"
    ));
    assert!(e.contains("exactly one"), "{e}");
    match model_file::load("/nonexistent/model.toml") {
        Err(ModelFileError::Io(..)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn swc_paths_are_relative_to_the_model_file_and_missing_files_are_named() {
    let e = parse_err(
        "[simulation]\ndt=0.025\nt_max=1\n[morphology]\nswc = \"missing.swc\"\nncomp = 1\n",
    );
    assert!(e.contains("missing.swc"), "{e}");
}

#[test]
fn the_binary_simulates_and_describes() {
    let exe = env!("CARGO_BIN_EXE_ruxley");
    let out = std::env::temp_dir().join(format!("ruxley_w1_{}.csv", std::process::id()));
    let status = Command::new(exe)
        .args([
            "simulate",
            models_dir().join("w1.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with("time_ms,v_soma_mV\n"));
    assert_eq!(csv.lines().count(), 802);
    std::fs::remove_file(out).ok();

    let swc = data_path("morphologies/morph_ca1_n120_single_point_soma.swc");
    let info = Command::new(exe)
        .args(["info", swc.to_str().unwrap(), "--ncomp", "8"])
        .output()
        .unwrap();
    let text = String::from_utf8(info.stdout).unwrap();
    assert!(text.contains("branches      154"), "{text}");
    assert!(text.contains("compartments  1232"), "{text}");
    assert!(text.contains("total area    32596.55 um2"), "{text}");
    assert!(text.contains("total length  11872.38 um"), "{text}");
    assert!(text.contains("single point"), "{text}");

    let bad = Command::new(exe)
        .args(["info", "/nonexistent.swc"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8(bad.stderr)
            .unwrap()
            .contains("/nonexistent.swc")
    );
}

fn run_cli(args: &[&str]) -> String {
    run_cli_both(args).0
}

/// Runs the binary, which must succeed; its standard output and error.
fn run_cli_both(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ruxley"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn tmp(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("ruxley_{}_{name}", std::process::id()))
        .display()
        .to_string()
}

#[test]
fn ruxley_grad_reproduces_w4_on_w2() {
    let m = |f: &str| models_dir().join(f).display().to_string();
    let target = tmp("w2_target.csv");
    run_cli(&["simulate", &m("w2_w4_target.toml"), "--out", &target]);
    // The target model reproduces Jaxley's W4 target trace.
    let ours = ruxley::Traces::read_csv(&target).unwrap();
    let jaxley = Table::read(data_path(
        "reference/anchors/traces/w4_w2_target_jaxley_f64.csv",
    ))
    .unwrap();
    assert!(
        max_abs_diff(
            ours.get("v_soma_mV").unwrap(),
            jaxley.column("v_soma_mV").unwrap()
        ) < 1e-6
    );
    let csv = run_cli(&["grad", &m("w2_grad.toml"), "--target", &target]);
    let reference =
        Table::read(data_path("reference/anchors/gradients/w4_grad_w2_f64.csv")).unwrap();
    let mut rows = 0;
    assert_eq!(
        csv.lines().next(),
        Some("trainable,name,index,value,gradient")
    );
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (name, index, grad): (&str, usize, f64) =
            (f[1], f[2].parse().unwrap(), f[4].parse().unwrap());
        let want = reference
            .column(&format!("dL_d{}", name.trim_start_matches("HH_")))
            .unwrap()[index];
        assert!(
            (grad - want).abs() < 1e-5 * want.abs(),
            "{name}[{index}]: {grad} vs Jaxley {want}"
        );
        rows += 1;
    }
    assert_eq!(rows, 93);
    std::fs::remove_file(target).ok();
}

#[test]
fn grad_rows_say_which_entry_of_a_parameter_trained_twice_they_belong_to() {
    // W2's gNa trainable twice: on the soma, and on the first two dendrites.
    let w2 = std::fs::read_to_string(models_dir().join("w2_grad.toml")).unwrap();
    let (head, tail) = w2.split_once("[[trainable]]").unwrap();
    let (_, tail) = tail.split_once("[loss]").unwrap();
    let model = format!(
        "{head}[[trainable]]\nwhere = {{ branch = 0 }}\nparameter = \"HH_gNa\"\n\n\
         [[trainable]]\nwhere = {{ branch = [1, 2] }}\nparameter = \"HH_gNa\"\n\n[loss]{tail}"
    );
    let file = tmp("w2_twice.toml");
    std::fs::write(&file, model).unwrap();
    let target = tmp("w2_twice_target.csv");
    let m = models_dir().join("w2_w4_target.toml").display().to_string();
    run_cli(&["simulate", &m, "--out", &target]);
    let csv = run_cli(&["grad", &file, "--target", &target]);
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let keys: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
    assert_eq!(
        keys,
        [
            ("1", "HH_gNa", "0"),
            ("2", "HH_gNa", "0"),
            ("2", "HH_gNa", "1")
        ]
    );
    // Each row is its branch's gNa derivative in W4 (Jaxley's, all 93
    // trainable): soma, branch 1, branch 2.
    let reference =
        Table::read(data_path("reference/anchors/gradients/w4_grad_w2_f64.csv")).unwrap();
    let want = reference.column("dL_dgNa").unwrap();
    for (row, branch) in rows.iter().zip([0, 1, 2]) {
        let got: f64 = row[4].parse().unwrap();
        assert!(
            (got - want[branch]).abs() < 1e-5 * want[branch].abs(),
            "branch {branch}: {got} vs {}",
            want[branch]
        );
    }
    std::fs::remove_file(file).ok();
    std::fs::remove_file(target).ok();
}

/// The loss of `theta` on `layout`, from a forward run of the default backend.
fn loss_of(
    layout: &ruxley::Layout,
    options: &ruxley::RunOptions,
    loss: &dyn ruxley::TraceLoss,
    theta: &[f64],
) -> f64 {
    let traces = ruxley::grad::simulate(&DefaultBackend::new(), layout, &[theta.to_vec()], options)
        .unwrap()
        .remove(0);
    let mut g = traces.zeros_like();
    loss.value_and_grad(0, &traces, &mut g).unwrap()
}

/// `ruxley grad` on `model` against `target_model`'s trace, compared with
/// central differences of the loss in the trainables `ks`; returns the
/// number of gradient rows.
fn grad_agrees_with_finite_differences(
    model: &str,
    target_model: &str,
    column: &str,
    ks: &[usize],
) -> usize {
    let m = |f: &str| models_dir().join(f).display().to_string();
    let target = tmp(&format!("{model}_target.csv"));
    run_cli(&["simulate", &m(target_model), "--out", &target]);
    let csv = run_cli(&["grad", &m(model), "--target", &target]);
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let spec = model_file::load(models_dir().join(model)).unwrap();
    let layout = spec.model.build().unwrap();
    let t = ruxley::Traces::read_csv(&target).unwrap();
    let loss = ruxley::TraceFit::mse(vec![(column.into(), t.get(column).unwrap().to_vec())]);
    for &k in ks {
        let at = |dx: f64| {
            let mut theta = layout.trainables().initial();
            theta[k] += dx;
            loss_of(&layout, &spec.options, &loss, &theta)
        };
        let h = 1e-4 * layout.trainables().initial()[k];
        let fd = (at(h) - at(-h)) / (2.0 * h);
        let got: f64 = rows[k][4].parse().unwrap();
        assert!(
            (got - fd).abs() < 1e-4 * fd.abs(),
            "{}[{}]: {got} vs {fd}",
            rows[k][1],
            rows[k][2]
        );
    }
    std::fs::remove_file(target).ok();
    rows.len()
}

#[test]
fn ruxley_grad_on_w3_agrees_with_finite_differences() {
    // Soma gNa and a dendritic gK.
    let rows = grad_agrees_with_finite_differences(
        "w3_grad.toml",
        "w3_w4_target.toml",
        "v_soma_mV",
        &[0, 154 + 60],
    );
    assert_eq!(rows, 462);
}

#[test]
fn w6_model_files_reproduce_jaxley_and_give_synapse_gradients() {
    assert!(deviation("w6.toml", "w6_jaxley_f64.csv") < 1e-6);
    // Synapses onto cell 0 (73: 16 -> 0), and upstream of it.
    let rows = grad_agrees_with_finite_differences(
        "w6_grad.toml",
        "w6_target.toml",
        "v_cell0_mV",
        &[73, 2, 152],
    );
    assert_eq!(rows, 243);
}

#[test]
fn model_files_record_synapse_states() {
    let w6 = std::fs::read_to_string(models_dir().join("w6.toml")).unwrap();
    let entry = "[[record]]\nsynapse = \"IonotropicSynapse\"\nstate = \"IonotropicSynapse_s\"\n";
    let spec = model_file::parse(&format!("{w6}\n{entry}"), &models_dir()).unwrap();
    let layout = spec.model.build().unwrap();
    let traces = DefaultBackend::new()
        .simulate(&layout, Batch::single(), &spec.options)
        .unwrap()
        .remove(0);
    let states: Vec<&String> = traces
        .names()
        .iter()
        .filter(|n| n.starts_with("IonotropicSynapse_s_syn"))
        .collect();
    assert_eq!(states.len(), 243);
    // Jaxley's initial state, then open fractions in (0, 1).
    for n in states {
        let s = traces.get(n).unwrap();
        assert_eq!(s[0], 0.0, "{n}");
        assert!(s[1..].iter().all(|&x| x > 0.0 && x < 1.0), "{n}");
    }
    let err = |text: String| match model_file::parse(&text, &models_dir()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    };
    let e = err(format!("{w6}\n{entry}name = \"s\"\n"));
    assert!(e.contains("[[record]] #2") && e.contains("syn<id>"), "{e}");
    let e = err(format!(
        "{w6}\n[[record]]\nsynapse = \"IonotropicSynapse\"\nstate = \"s\"\n"
    ));
    assert!(e.contains("IonotropicSynapse_s"), "{e}");
}

/// Upward crossings of 0 mV (ms).
fn spikes(v: &[f64], dt: f64) -> Vec<f64> {
    v.windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(k, w)| (k as f64 + w[0] / (w[0] - w[1])) * dt)
        .collect()
}

#[test]
fn precision_is_chosen_in_the_model_file_or_on_the_command_line() {
    // In f32, W2 keeps NEURON's spikes to within 0.1 ms (measured 0.005).
    let out = tmp("w2_f32.csv");
    run_cli(&[
        "simulate",
        models_dir().join("w2.toml").to_str().unwrap(),
        "--precision",
        "f32",
        "--out",
        &out,
    ]);
    let ours = Table::read(&out).unwrap();
    let want = Table::read(data_path("reference/anchors/traces/w2_nrn_bwd_notable.csv")).unwrap();
    let v = ours.column("v_soma_mV").unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    let (a, b) = (
        spikes(v, 0.025),
        spikes(want.column("v_soma_mV").unwrap(), 0.025),
    );
    assert_eq!(a.len(), b.len());
    assert!(max_abs_diff(&a, &b) < 0.1, "{a:?} vs {b:?}");
    // The f32 run is not the f64 run.
    assert!(max_abs_diff(v, want.column("v_soma_mV").unwrap()) > 1e-6);
    std::fs::remove_file(out).ok();

    let spec = model_file::parse(
        &HEAD.replace("t_max = 1.0\n", "t_max = 1.0\nprecision = \"f32\"\n"),
        Path::new("."),
    )
    .unwrap();
    assert_eq!(spec.options.precision, ruxley::Precision::F32);
    let e = parse_err(&HEAD.replace("t_max = 1.0\n", "t_max = 1.0\nprecision = \"f16\"\n"));
    assert!(
        e.contains("precision") && e.contains("f16") && e.contains("f32"),
        "{e}"
    );
    let e = Command::new(env!("CARGO_BIN_EXE_ruxley"))
        .args([
            "simulate",
            models_dir().join("w1.toml").to_str().unwrap(),
            "--precision",
            "half",
        ])
        .output()
        .unwrap();
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("half"));
}

#[test]
fn the_backend_is_chosen_by_name_and_a_missing_one_is_explained() {
    let w1 = models_dir().join("w1.toml");
    let w1 = w1.to_str().unwrap();
    let (by_name, by_default) = (tmp("w1_cpu.csv"), tmp("w1_default.csv"));
    run_cli(&["simulate", w1, "--backend", "cpu", "--out", &by_name]);
    run_cli(&["simulate", w1, "--out", &by_default]);
    let a = Table::read(&by_name).unwrap();
    let want = Table::read(data_path("reference/anchors/traces/w1_nrn_bwd_notable.csv")).unwrap();
    let v = a.column("v_soma_mV").unwrap();
    assert!(max_abs_diff(v, want.column("v_soma_mV").unwrap()) < 2e-9);
    if !cfg!(any(feature = "cubecl-cuda", feature = "cubecl-wgpu")) {
        // Without GPU features the default is the CPU backend: the same run.
        let b = Table::read(&by_default).unwrap();
        assert_eq!(max_abs_diff(v, b.column("v_soma_mV").unwrap()), 0.0);
    }
    for file in [by_name, by_default] {
        std::fs::remove_file(file).ok();
    }

    let fails = |name: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_ruxley"))
            .args(["simulate", w1, "--backend", name])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = fails("tpu");
    assert!(e.contains("tpu") && e.contains("cpu, cuda or wgpu"), "{e}");
    if !cfg!(feature = "cubecl-cuda") {
        let e = fails("cuda");
        assert!(e.contains("cubecl-cuda"), "{e}");
    }
}

#[test]
fn connect_joins_compartments_chosen_by_where_tables() {
    let model = |connect: &str| {
        format!(
            "[simulation]\ndt = 0.025\nt_max = 1.0\n\n\
             [morphology]\nparents = [-1, 0, 0]\nncomp = 2\ncells = 3\n\n\
             [[insert]]\nchannel = \"HH\"\n\n\
             [[group]]\nname = \"tips\"\nwhere = {{ branch = [1, 2] }}\n\n\
             [[connect]]\nsynapse = \"IonotropicSynapse\"\n{connect}\n"
        )
    };
    let text = model(
        "pre = { cell = 0, branch = 1, loc = 1.0 }\n\
         post = { cell = [1, 2], group = \"tips\", branch = 0, comp = 0 }\n\
         IonotropicSynapse_gS = 0.002",
    );
    let spec = model_file::parse(&text, Path::new(".")).unwrap();
    let m = &spec.model;
    assert_eq!(m.n_synapses(), 2);
    for (id, post_cell) in [(0, 1), (1, 2)] {
        let (a, b) = m.synapse_ends(id).unwrap();
        // cell, branch, compartment: the end of cell 0's branch 1, and the
        // first compartment of the first tip branch of cells 1 and 2.
        assert_eq!(m.locate(a), (0, 1, 1));
        assert_eq!(m.locate(b), (post_cell, 1, 0));
    }
    let layout = m.build().unwrap();
    assert_eq!(
        layout.parameters().get("IonotropicSynapse_gS").unwrap(),
        [0.002; 2]
    );
    // Cells on one side and compartments on the other, or a sparse rule
    // for compartments, are refused with a reason.
    for (connect, why) in [
        ("pre = 0\npost = { cell = 1, comp = 0 }", "both"),
        (
            "pre = { cell = 0, comp = 0 }\npost = { cell = 1, comp = 0 }\nrule = { sparse = 0.5 }",
            "full rule",
        ),
    ] {
        match model_file::parse(&model(connect), Path::new(".")) {
            Err(e) => assert!(e.to_string().contains(why), "{e}"),
            Ok(_) => panic!("{connect} was accepted"),
        }
    }
}

#[test]
fn values_are_overridden_from_the_command_line() {
    let text = "[simulation]\ndt = 0.025\nt_max = 2.0\n\n\
                [morphology]\nparents = [-1, 0]\nncomp = 2\n\n\
                [[insert]]\nchannel = \"HH\"\n\n\
                [[set]]\nradius = 1.0\n\n[[set]]\nwhere = { branch = 1 }\nradius = 0.5\n\n\
                [[stimulus]]\nwhere = { branch = 0, comp = 0 }\n\
                step = { delay = 0.5, duration = 1.0, amplitude = 0.1 }\n\n\
                [[record]]\nwhere = { branch = 0, comp = 0 }\n";
    let with = |o: &[&str]| {
        let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
        model_file::parse_with(text, Path::new("."), &o)
    };
    let spec = with(&[
        "stimulus.step.amplitude=1.5",
        "set.1.radius=0.25",
        "simulation.t_max=3",
    ])
    .unwrap();
    assert_eq!(spec.options.t_max, 3.0);
    let layout = spec.model.build().unwrap();
    match &layout.stimuli()[0].current {
        ruxley::Waveform::Step { amplitude, .. } => assert_eq!(*amplitude, 1.5),
        other => panic!("{other:?}"),
    }
    let radius = layout.parameters().get("radius").unwrap();
    assert_eq!(radius, [1.0, 1.0, 0.25, 0.25]);
    // The same through the command line: 1 ms instead of 2 gives 41 rows.
    let file = tmp("overrides.toml");
    std::fs::write(&file, text).unwrap();
    let csv = run_cli(&["simulate", &file, "--set", "simulation.t_max=1.0"]);
    assert_eq!(csv.lines().count(), 1 + 41);
    std::fs::remove_file(file).ok();
    // Clear errors: a path that is not there, an ambiguous array, an index
    // beyond it, a value of the wrong type.
    for (o, why) in [
        ("stimulus.step.amplitud=1", "amplitud"),
        ("nothing.x=1", "no `nothing`"),
        ("set.radius=2", "2 entries: give an index"),
        ("set.5.radius=2", "2 entries"),
        ("stimulus.step.amplitude=loud", "amplitude"),
        ("simulation.t_max", "PATH=VALUE"),
    ] {
        match with(&[o]) {
            Err(e) => assert!(e.to_string().contains(why), "{o}: {e}"),
            Ok(_) => panic!("{o} was accepted"),
        }
    }
}

/// A three-branch HH cell with per-branch gNa and gK trainable, its soma
/// recorded and fitted in MSE; `extra` is appended (a `[fit]` section).
fn fit_model(extra: &str) -> String {
    format!(
        "[simulation]\ndt = 0.025\nt_max = 12.0\n\n\
         [morphology]\nparents = [-1, 0, 0]\nncomp = 2\n\n\
         [[insert]]\nchannel = \"HH\"\n\n\
         [[set]]\nlength = 20.0\nradius = 2.0\naxial_resistivity = 100.0\nv = -65.0\n\n\
         [[stimulus]]\nwhere = {{ branch = 0, comp = 0 }}\n\
         step = {{ delay = 1.0, duration = 10.0, amplitude = 0.1 }}\n\n\
         [[record]]\nwhere = {{ branch = 0, comp = 0 }}\nname = \"soma\"\n\n\
         [[record]]\nwhere = {{ branch = 2, comp = 1 }}\nname = \"tip\"\n\n\
         [[trainable]]\nwhere = {{ branch = \"all\" }}\nparameter = \"HH_gNa\"\n\n\
         [loss]\nmse = [\"soma\", \"tip\"]\n\n{extra}"
    )
}

#[test]
fn ruxley_fit_recovers_conductances_and_resumes_adam_exactly() {
    let model = tmp("fit.toml");
    std::fs::write(
        &model,
        fit_model("[fit]\niterations = 40\ntarget_loss = 1e-12\n"),
    )
    .unwrap();
    // The target: gNa 0.13 / 0.11 / 0.125 on the three branches.
    let target = tmp("fit_target.csv");
    // Per-branch values through three [[set]] entries appended to the file.
    let truth = [0.13, 0.11, 0.125];
    let mut target_text = fit_model("");
    for (b, g) in truth.iter().enumerate() {
        target_text.push_str(&format!(
            "\n[[set]]\nwhere = {{ branch = {b} }}\nHH_gNa = {g}\n"
        ));
    }
    let target_model = tmp("fit_target.toml");
    std::fs::write(&target_model, target_text).unwrap();
    run_cli(&["simulate", &target_model, "--out", &target]);
    let csv = run_cli(&["fit", &model, "--target", &target]);
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        csv.lines().next(),
        Some("trainable,name,index,initial,fitted")
    );
    assert_eq!(rows.len(), 3);
    for (row, want) in rows.iter().zip(truth) {
        let got: f64 = row[4].parse().unwrap();
        assert!((got - want).abs() < 1e-4 * want, "{row:?} vs {want}");
    }
    // The fitted values run the model back onto the target.
    let fitted = tmp("fitted.csv");
    std::fs::write(&fitted, &csv).unwrap();
    let rerun = tmp("fit_rerun.csv");
    run_cli(&["simulate", &model, "--theta", &fitted, "--out", &rerun]);
    // The same fit saved as JSON, by label, runs the model to the same trace.
    let fitted_json = tmp("fitted.json");
    run_cli(&["fit", &model, "--target", &target, "--out", &fitted_json]);
    let json = std::fs::read_to_string(&fitted_json).unwrap();
    assert!(json.contains("\"label\": \"HH_gNa[1:2]\""), "{json}");
    let from_json = run_cli(&["simulate", &model, "--theta", &fitted_json]);
    assert_eq!(from_json, std::fs::read_to_string(&rerun).unwrap());
    std::fs::remove_file(&fitted_json).ok();
    let (rerun_csv, rerun) = (rerun.clone(), Table::read(&rerun).unwrap());
    std::fs::remove_file(rerun_csv).ok();
    let want = Table::read(&target).unwrap();
    let d = max_abs_diff(
        rerun.column("v_soma_mV").unwrap(),
        want.column("v_soma_mV").unwrap(),
    );
    assert!(d < 1e-2, "{d} mV");
    // A theta file that misses a value is refused, naming it.
    let short: String = csv.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&fitted, short).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ruxley"))
        .args(["simulate", &model, "--theta", &fitted])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("no value for HH_gNa[1:2]"),
        "{e}"
    );
    std::fs::remove_file(&fitted).ok();
    // Adam with a checkpoint: 6 iterations, then 12 from the checkpoint,
    // equals 12 in one go, bit for bit.
    let adam = |iters: usize| {
        fit_model(&format!(
            "[fit]\noptimizer = \"adam\"\niterations = {iters}\n"
        ))
    };
    let dir = tmp("fit_ckpt");
    std::fs::write(&model, adam(6)).unwrap();
    run_cli(&["fit", &model, "--target", &target, "--checkpoint", &dir]);
    std::fs::write(&model, adam(12)).unwrap();
    let resumed = run_cli(&["fit", &model, "--target", &target, "--checkpoint", &dir]);
    let whole = run_cli(&["fit", &model, "--target", &target]);
    assert_eq!(resumed, whole);
    assert_ne!(whole, csv, "Adam moved less far than L-BFGS");
    for f in [&model, &target, &target_model] {
        std::fs::remove_file(f).ok();
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ruxley_sample_draws_a_posterior_around_the_truth() {
    let text = "[simulation]\ndt = 0.025\nt_max = 6.0\n\n\
                [morphology]\nparents = [-1]\nncomp = 1\n\n\
                [[insert]]\nchannel = \"HH\"\n\n\
                [[set]]\nlength = 20.0\nradius = 10.0\nv = -65.0\n\n\
                [[stimulus]]\nwhere = { comp = 0 }\n\
                step = { delay = 1.0, duration = 5.0, amplitude = 0.2 }\n\n\
                [[record]]\nwhere = { comp = 0 }\nname = \"soma\"\n\n\
                [[trainable]]\nparameter = \"HH_gNa\"\n\n\
                [[trainable]]\nparameter = \"HH_gK\"\n\n\
                [loss]\nmse = [\"soma\"]\n\n\
                [sample]\nnoise_sd = 1.0\nchains = 2\nwarmup = 150\ndraws = 150\nseed = 3\n";
    let model = tmp("sample.toml");
    std::fs::write(&model, text).unwrap();
    let data = tmp("sample_data.csv");
    run_cli(&["simulate", &model, "--out", &data]);
    let (csv, table) = run_cli_both(&["sample", &model, "--target", &data]);
    assert_eq!(
        csv.lines().next(),
        Some("chain,draw,HH_gNa[1:0],HH_gK[2:0]")
    );
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 300);
    // The data is the model's own trace: the posterior sits on the truth.
    for (k, truth) in [(2, 0.12), (3, 0.036)] {
        let x: Vec<f64> = rows.iter().map(|r| r[k]).collect();
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        assert!(
            (mean - truth).abs() < 4.0 * sd && sd < 0.05 * truth,
            "{k}: {mean} +- {sd} vs {truth}\n{table}"
        );
    }
    assert!(
        table.contains("R-hat") && table.contains("HH_gNa[1:0]"),
        "{table}"
    );
    std::fs::remove_file(model).ok();
    std::fs::remove_file(data).ok();
}

#[test]
fn a_broken_pairs_file_names_itself_and_the_line() {
    let dir = std::env::temp_dir().join(format!("ruxley_pairs_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pairs.csv"), "pre_cell,post_cell\n0,1\n1,x\n").unwrap();
    let text = "[simulation]\ndt = 0.025\nt_max = 1.0\n\n\
                [morphology]\nparents = [-1]\nncomp = 1\ncells = 2\n\n\
                [[connect]]\nsynapse = \"IonotropicSynapse\"\n\
                rule = { pairs_csv = \"pairs.csv\" }\n";
    match model_file::parse(text, &dir) {
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("pairs.csv") && e.contains("line: 3"), "{e}");
        }
        Ok(_) => panic!("a broken pairs file was accepted"),
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn loss_terms_of_the_model_file_give_the_library_loss_and_its_gradient() {
    use ruxley::loss::{SoftDtw, WindowStats};
    use ruxley::{Compare, TraceFit};
    let loss_section = "[loss]\nmse = [\"soma\"]\n\n\
         [[loss.term]]\nrecording = \"tip\"\ncompare = \"windows\"\nwindows = 6\nmean_scale = 5.0\nweight = 2.0\n\n\
         [[loss.term]]\nrecording = \"soma\"\ncompare = \"soft_dtw\"\ngamma = 2.0\nweight = 1e-3\n\n\
         [[loss.term]]\nrecording = \"tip\"\ncompare = \"mae\"\n";
    let text = fit_model("").replace("[loss]\nmse = [\"soma\", \"tip\"]\n", loss_section);
    let model = tmp("loss_terms.toml");
    std::fs::write(&model, &text).unwrap();
    let target = tmp("loss_terms_target.csv");
    run_cli(&[
        "simulate",
        &model,
        "--set",
        "stimulus.step.amplitude=0.12",
        "--out",
        &target,
    ]);
    let (stdout, report) = run_cli_both(&["grad", &model, "--target", &target]);
    let cli_loss: f64 = report
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.trim_end_matches(';').parse().ok())
        .unwrap_or(f64::NAN);
    let rows: Vec<f64> = stdout
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    // The same loss built with the library, term by term.
    let spec = model_file::load(&model).unwrap();
    let layout = spec.model.build().unwrap();
    let t = ruxley::Traces::read_csv(&target).unwrap();
    let column = |n: &str| t.get(n).unwrap().to_vec();
    let n = t.n_samples();
    let loss = TraceFit::new()
        .term("v_soma_mV", column("v_soma_mV"), Compare::Mse, 1.0)
        .term(
            "v_tip_mV",
            column("v_tip_mV"),
            Compare::Windows(WindowStats::equal(n, 6, 5.0, 4.0)),
            2.0,
        )
        .term(
            "v_soma_mV",
            column("v_soma_mV"),
            Compare::SoftDtw(SoftDtw {
                gamma: 2.0,
                time_weight: 1.0,
            }),
            1e-3,
        )
        .term("v_tip_mV", column("v_tip_mV"), Compare::Mae, 1.0);
    let at = |theta: &[f64]| loss_of(&layout, &spec.options, &loss, theta);
    let theta = layout.trainables().initial();
    let want = at(&theta);
    assert!(want > 0.0, "the target differs from the model");
    // The CLI prints the loss to 11 significant digits (measured 8.7e-12
    // relative; rounding allows 5e-11).
    assert!(
        (cli_loss - want).abs() <= 1e-10 * want,
        "{cli_loss} vs {want}\n{report}"
    );
    assert_eq!(rows.len(), theta.len());
    for (k, got) in rows.iter().enumerate() {
        let h = 1e-4 * theta[k];
        let shifted = |d: f64| {
            let mut x = theta.clone();
            x[k] += d;
            at(&x)
        };
        let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
        // Measured 5.1e-9 relative.
        assert!(
            (got - fd).abs() <= 5e-8 * fd.abs(),
            "gNa of branch {k}: {got} vs {fd}"
        );
    }
    // A non-Gaussian loss cannot be sampled; bad terms are named.
    std::fs::write(&model, format!("{text}\n[sample]\nnoise_sd = 1.0\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ruxley"))
        .args(["sample", &model, "--target", &target])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("Gaussian likelihood"),
        "{e}"
    );
    for (bad, why) in [
        (
            "compare = \"windows\"\ngamma = 1.0",
            "`gamma` does not apply",
        ),
        (
            "compare = \"l3\"",
            "not one of mse, mae, windows, soft_dtw, shape_dtw",
        ),
        (
            "compare = \"shape_dtw\"\npool_stride = 0",
            "pool_stride = 0 must be",
        ),
        (
            "compare = \"shape_dtw\"\ntime_weight = 1.0",
            "`time_weight` does not apply",
        ),
        (
            "compare = \"windows\"\nwindows = 0",
            "windows = 0 must be between 1",
        ),
        (
            "compare = \"soft_dtw\"\ngamma = -1.0",
            "gamma must be positive",
        ),
    ] {
        let e = parse_err(&fit_model(&format!(
            "[[loss.term]]\nrecording = \"soma\"\n{bad}\n"
        )));
        assert!(
            e.contains("[[loss.term]] `soma`") && e.contains(why),
            "{bad}: {e}"
        );
    }
    std::fs::remove_file(model).ok();
    std::fs::remove_file(target).ok();
}

#[test]
fn shape_dtw_terms_parse_with_their_defaults() {
    use ruxley::Compare;
    use ruxley::loss::ShapeDtw;
    let spec = model_file::parse(
        &fit_model(
            "[[loss.term]]\nrecording = \"soma\"\ncompare = \"shape_dtw\"\npool_window = 20\n",
        ),
        Path::new("."),
    )
    .unwrap();
    let term = spec.loss.last().unwrap();
    assert_eq!(
        term.compare,
        Compare::ShapeDtw(ShapeDtw {
            window: 20,
            stride: 30,
            gamma: 0.1
        })
    );
}

#[test]
fn set_takes_functions_of_path_distance() {
    let text = format!(
        "{HEAD}[[insert]]\nchannel = \"HH\"\n\n\
         [[set]]\nlength = 40.0\n\n\
         [[set]]\nwhere = {{ branch = 1 }}\nHH_gK = \"0.036 * (1 + step(d - 50) * d / 100)\"\n"
    );
    let spec = model_file::parse(&text, Path::new(".")).unwrap();
    let gk = spec.model.values("HH_gK").unwrap();
    // Root branch: 2 compartments of 40 um; branch 1 starts at the root's end.
    let d: Vec<f64> = (0..4).map(|c| spec.model.path_distance(c)).collect();
    assert_eq!(d, [20.0, 20.0, 60.0, 100.0]);
    assert_eq!(
        gk,
        [
            Some(0.036),
            Some(0.036),
            Some(0.036 * 1.6),
            Some(0.036 * 2.0)
        ]
    );
    for (value, why) in [
        ("\"0.036 * exp(d\"", "column 14: expected `)`"),
        ("\"log(d - 1000)\"", "must be finite"),
        ("[1.0]", "neither a number nor an expression"),
    ] {
        let e = parse_err(&format!(
            "{HEAD}[[insert]]\nchannel = \"HH\"\n\n[[set]]\nHH_gK = {value}\n"
        ));
        assert!(e.contains("[[set]] #1") && e.contains(why), "{value}: {e}");
    }
}

#[test]
fn neurolucida_files_are_read_like_their_swc_conversions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/morphologies");
    let asc = root.join("bluepyopt/examples_l5pc_morphology/C060114A7.asc");
    let swc = root.join("jaxley/tests_swc_files/morph_l5pc_with_axon.swc");
    let describe = |f: &Path| {
        let text = run_cli(&[
            "info",
            &f.display().to_string(),
            "--ncomp",
            "4",
            "--max-branch-len",
            "300",
        ]);
        let line = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .unwrap_or_default()
                .to_string()
        };
        (line("branches"), line("  by type"), line("compartments"))
    };
    // The L5PC original and the MorphIO conversion Jaxley ships.
    assert_eq!(describe(&asc), describe(&swc));
    assert!(describe(&asc).0.ends_with(" 338"), "{:?}", describe(&asc));
    let text = format!(
        "[simulation]\ndt = 0.025\nt_max = 1.0\n\n\
         [morphology]\nasc = \"{}\"\nncomp = 1\nmax_branch_len = 300.0\n",
        asc.display()
    );
    let spec = model_file::parse(&text, Path::new(".")).unwrap();
    assert_eq!(spec.model.n_branches(), 338);
    let e = parse_err(&text.replace("max_branch_len = 300.0", "unit_um = 1e-3"));
    assert!(e.contains("unit_um applies to SWC files only"), "{e}");
    let e = parse_err(&text.replace("C060114A7.asc", "missing.asc"));
    assert!(e.contains("missing.asc"), "{e}");
}

/// The deviation of a shipped model file with its `channel = "HH"` replaced
/// by `nmodl = FILE` from a reference.
fn nmodl_deviation(model: &str, file: &str, reference: &str) -> f64 {
    let text = std::fs::read_to_string(models_dir().join(model)).unwrap();
    let text = text.replace("channel = \"HH\"", &format!("nmodl = \"{file}\""));
    let spec = model_file::parse(&text, &models_dir()).unwrap();
    let layout = spec.model.build().unwrap();
    let traces = DefaultBackend::new()
        .simulate(&layout, Batch::single(), &spec.options)
        .unwrap();
    let want = Table::read(data_path(&format!("reference/anchors/traces/{reference}"))).unwrap();
    want.names[1..]
        .iter()
        .map(|n| match traces[0].get(n) {
            Some(got) => max_abs_diff(got, want.column(n).unwrap()),
            None => f64::INFINITY,
        })
        .fold(0.0, nan_max)
}

#[test]
fn hh_read_from_an_nmodl_file_reproduces_neurons_hh() {
    let hh = "../../crates/ruxley-nmodl/mechanisms/hh.mod";
    let w1 = nmodl_deviation("w1.toml", hh, "w1_nrn_bwd_notable.csv");
    let w2 = nmodl_deviation("w2.toml", hh, "w2_nrn_bwd_notable.csv");
    eprintln!("hh.mod vs NEURON's hh: W1 {w1:.2e} mV, W2 {w2:.2e} mV");
    // Measured: W1 5.1e-11 mV, W2 4.8e-9 mV.
    assert!(w1 < 5e-10 && w2 < 5e-8, "W1 {w1:e}, W2 {w2:e}");
    // The checker sees a changed mechanism: gnabar 0.12 -> 0.1201.
    let source = std::fs::read_to_string(models_dir().join(hh)).unwrap();
    let changed = std::env::temp_dir().join(format!("ruxley-hh-{}.mod", std::process::id()));
    std::fs::write(
        &changed,
        source.replacen("0.12 (S/cm2)", "0.1201 (S/cm2)", 1),
    )
    .unwrap();
    let off = nmodl_deviation(
        "w2.toml",
        changed.to_str().unwrap(),
        "w2_nrn_bwd_notable.csv",
    );
    std::fs::remove_file(&changed).unwrap();
    assert!(off > 1e-3, "{off:e}");
}

#[test]
fn an_insert_names_a_channel_or_an_nmodl_file_and_bad_files_are_named() {
    let text = std::fs::read_to_string(models_dir().join("w1.toml")).unwrap();
    let both = text.replace("channel = \"HH\"", "channel = \"HH\"\nnmodl = \"hh.mod\"");
    let e = model_file::parse(&both, &models_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("either `channel`") && e.contains("[[insert]] #1"),
        "{e}"
    );
    let globals = text.replace(
        "channel = \"HH\"",
        "channel = \"HH\"\nglobals = { q = 1.0 }",
    );
    let e = model_file::parse(&globals, &models_dir())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`globals` belong to an `nmodl` file"), "{e}");
    let hh = "nmodl = \"../../crates/ruxley-nmodl/mechanisms/hh.mod\"";
    let bad_global = text.replace(
        "channel = \"HH\"",
        &format!("{hh}\nglobals = {{ q10 = 2.0 }}"),
    );
    let e = model_file::parse(&bad_global, &models_dir())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no GLOBAL parameter `q10`"), "{e}");
    let missing = text.replace("channel = \"HH\"", "nmodl = \"no_such.mod\"");
    let e = model_file::parse(&missing, &models_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no_such.mod") && e.contains("cannot read"),
        "{e}"
    );
}

#[test]
fn channels_lists_what_an_nmodl_file_declares() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ruxley-nmodl/mechanisms");
    let pool = dir.join("CaDynamics_E2.mod");
    let out = run_cli(&["channels", pool.to_str().unwrap()]);
    for want in [
        "CaDynamics_E2_gamma = 0.05",
        "CaDynamics_E2_decay = 80 ms",
        "states      CaDynamics_E2_cai",
        "pool of     cai",
        "reads       ica",
        "globals     FARADAY = 96485.33212331001",
    ] {
        assert!(out.contains(want), "{want} not in\n{out}");
    }
    let e = Command::new(env!("CARGO_BIN_EXE_ruxley"))
        .args(["channels", "/no/such.mod"])
        .output()
        .unwrap();
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("cannot read /no/such.mod"));
}
