//! `ruxley`: simulate model files and inspect morphologies.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ruxley::grad::value_and_grad;
use ruxley::morph::{Ncomp, SwcOptions, TraceOptions, read_swc, trace};
use ruxley::{Batch, DefaultBackend, Precision, Scheme, TraceFit, Traces};
use ruxley_cli::model_file;

#[derive(Parser)]
#[command(
    name = "ruxley",
    version,
    about = "A differentiable simulator of detailed neurons"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a model file and write its recordings as CSV.
    Simulate {
        /// The model file (TOML).
        model: PathBuf,
        /// Output CSV (standard output if absent).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the end time (ms).
        #[arg(long)]
        t_max: Option<f64>,
        /// Override the time step (ms).
        #[arg(long)]
        dt: Option<f64>,
        /// Override the solver (backward_euler or crank_nicolson).
        #[arg(long)]
        solver: Option<String>,
        /// Override the precision (f64 or f32).
        #[arg(long)]
        precision: Option<String>,
        /// The backend: cpu, cuda or wgpu (the GPU ones need the
        /// `cubecl-cuda` / `cubecl-wgpu` features). Default: the best one
        /// built in whose device is present.
        #[arg(long)]
        backend: Option<String>,
        /// Replace a value of the model file: PATH=VALUE, e.g.
        /// `stimulus.step.amplitude=1.5` or `set.2.radius=0.8` (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Run with the trainables' values of a `ruxley fit` output: its CSV
        /// (or any CSV with columns trainable, name, index and fitted or
        /// value) or its JSON (a path ending in .json).
        #[arg(long, value_name = "CSV|JSON")]
        theta: Option<PathBuf>,
    },
    /// Run a model file once per row of a CSV of parameter values; writes
    /// each run's recordings to OUT/member_<k>.csv and a summary row per run
    /// (spike count, mean, min and max of each recording) to
    /// OUT/summary.csv. A column named like a `[[set]]` key sets that
    /// parameter everywhere; one named after a trainable value
    /// (`HH_gNa[1:0]`) or entry (`HH_gNa[1]`) sets that.
    Sweep {
        /// The model file (TOML).
        model: PathBuf,
        /// CSV of parameter sets: a header of names, one row per run.
        #[arg(long)]
        params: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Runs simulated together (a batch).
        #[arg(long, default_value_t = 64)]
        chunk: usize,
        /// Write only the summary.
        #[arg(long)]
        summary_only: bool,
        /// Continue an interrupted sweep from its summary.
        #[arg(long)]
        resume: bool,
        /// The backend (cpu, cuda or wgpu); default: the best one built in.
        #[arg(long)]
        backend: Option<String>,
        /// Replace a value of the model file: PATH=VALUE (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
    },
    /// Gradient of the model file's loss with respect to its trainables;
    /// writes CSV rows: trainable entry, name, index, value, gradient.
    Grad(#[command(flatten)] Against),
    /// Fit the model file's trainables to target traces (its `[loss]`),
    /// as its `[fit]` section says; writes CSV rows (trainable entry, name,
    /// index, initial and fitted value), or JSON by label
    /// (`[{"label", "value"}]`) for an output path ending in .json.
    Fit {
        #[command(flatten)]
        against: Against,
        /// Keep each start's state in this folder after every iteration
        /// and resume from it when run again (Adam only).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Sample the posterior of the model file's trainables given target
    /// traces (its `[loss]` recordings and `[sample]` section) with NUTS;
    /// writes the draws as CSV (chain, draw, one column per trainable
    /// value) and a diagnostics table to standard error.
    Sample(#[command(flatten)] Against),
    /// List the library's channels with their parameters, states and ions,
    /// or what was read from NMODL files.
    Channels {
        /// NMODL (.mod) files to read instead of the library.
        files: Vec<PathBuf>,
    },
    /// Describe an SWC or Neurolucida (.asc) file: branches, compartments, area, length, soma.
    Info {
        /// The SWC file (or a Neurolucida `.asc` file).
        swc: PathBuf,
        /// Compartments per branch.
        #[arg(long, default_value_t = 1)]
        ncomp: usize,
        /// Split branches longer than this (um).
        #[arg(long)]
        max_branch_len: Option<f64>,
        /// Raise radii below this (um).
        #[arg(long)]
        min_radius: Option<f64>,
        /// Length of one file unit in um (1e-3 for nanometres).
        #[arg(long, default_value_t = 1.0)]
        unit_um: f64,
    },
}

/// A model file with `[[trainable]]` entries and a `[loss]`, the target
/// traces and where the result goes: what `grad`, `fit` and `sample` take.
#[derive(Args)]
struct Against {
    /// The model file (TOML).
    model: PathBuf,
    /// CSV with the target traces or data (columns named as the recordings).
    #[arg(long)]
    target: PathBuf,
    /// Output file (standard output if absent).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace a value of the model file: PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    overrides: Vec<String>,
}

impl Against {
    /// The model file with its overrides applied.
    fn load(&self) -> Result<model_file::ModelSpec, Box<dyn std::error::Error>> {
        Ok(model_file::load_with(&self.model, &self.overrides)?)
    }
}

/// The command line's changes to a simulation.
struct RunArgs {
    t_max: Option<f64>,
    dt: Option<f64>,
    solver: Option<String>,
    precision: Option<String>,
    backend: Option<String>,
    theta: Option<PathBuf>,
}

fn simulate(
    spec: model_file::ModelSpec,
    out: Option<PathBuf>,
    run: RunArgs,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = spec.options;
    if let Some(t) = run.t_max {
        options.t_max = t;
    }
    if let Some(dt) = run.dt {
        options.dt = dt;
    }
    if let Some(s) = run.solver {
        options.scheme = Scheme::parse(&s).ok_or(format!("unknown solver `{s}`"))?;
    }
    if let Some(p) = run.precision {
        options.precision =
            Precision::parse(&p).ok_or(format!("unknown precision `{p}` (expected f64 or f32)"))?;
    }
    let layout = spec.model.build()?;
    if layout.probes().is_empty() {
        return Err("the model records nothing; add a [[record]] entry".into());
    }
    let backend = match run.backend {
        Some(name) => ruxley::backend_by_name(&name)?,
        None => ruxley::default_backend()?,
    };
    let (params, stimuli) = match run.theta {
        Some(path) => {
            let theta = read_theta(&layout, &path)?;
            layout
                .trainables()
                .apply(&theta, layout.parameters(), layout.stimuli())?
        }
        None => (layout.parameters().clone(), layout.stimuli().to_vec()),
    };
    let batch = Batch {
        params: std::slice::from_ref(&params),
        stimuli: std::slice::from_ref(&stimuli),
    };
    let traces = backend.simulate(&layout, batch, &options)?;
    match out {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            traces[0].write_csv(std::io::BufWriter::new(file))?;
        }
        None => traces[0].write_csv(std::io::stdout().lock())?,
    }
    Ok(())
}

fn sweep(
    spec: model_file::ModelSpec,
    params: &std::path::Path,
    backend: Option<String>,
    how: &ruxley_cli::sweep::SweepOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let layout = spec.model.build()?;
    if layout.probes().is_empty() {
        return Err("the model records nothing; add a [[record]] entry".into());
    }
    let backend = match backend {
        Some(name) => ruxley::backend_by_name(&name)?,
        None => ruxley::default_backend()?,
    };
    let sets = ruxley_cli::sweep::Sets::read(params)?;
    let ranks = ruxley::ranks::Ranks::get();
    let ran = ruxley_cli::sweep::run(&ranks, backend.as_ref(), &layout, &spec.options, &sets, how)?;
    if ranks.rank() == 0 {
        eprintln!(
            "{ran} of {} members run on {} rank(s); results in {}",
            sets.rows.len(),
            ranks.size(),
            how.out.display()
        );
    }
    Ok(())
}

fn grad(
    spec: model_file::ModelSpec,
    target: PathBuf,
    out: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let layout = spec.model.build()?;
    let trainables = layout.trainables();
    if trainables.is_empty() {
        return Err("the model has no [[trainable]] entries".into());
    }
    let loss = target_loss(&spec, &layout, &target)?;
    let theta = trainables.initial();
    let g = value_and_grad(
        &DefaultBackend::new(),
        &layout,
        std::slice::from_ref(&theta),
        &spec.options,
        &loss,
        &spec.schedule,
    )?;
    let g = &g[0];
    eprintln!(
        "loss {:.10e}; {} trainables; tape peak {:.1} MB, {} recomputed steps",
        g.loss,
        theta.len(),
        g.tape.peak_bytes as f64 / 1e6,
        g.tape.recomputed_steps
    );
    // `trainable` numbers the [[trainable]] entries from 1, as errors do.
    let mut text = String::from("trainable,name,index,value,gradient\n");
    for ((e, x), d) in trainables.entries().iter().zip(&theta).zip(&g.grad) {
        let line = format!("{},{},{},{x},{d}\n", e.entry + 1, e.name, e.index);
        text.push_str(&line);
    }
    write_out(out, &text)
}

/// Fits the trainables from every start (in parallel) and writes the best
/// start's values.
fn fit(
    spec: model_file::ModelSpec,
    target: PathBuf,
    out: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    use ruxley_optim::{
        Adam, LbfgsOptions, Options, Progress, Transforms, lbfgs, minimize, run_starts,
        uniform_starts,
    };
    let layout = spec.model.build()?;
    let trainables = layout.trainables();
    if trainables.is_empty() {
        return Err("the model has no [[trainable]] entries".into());
    }
    let loss = target_loss(&spec, &layout, &target)?;
    let f = &spec.fit;
    if checkpoint.is_some() && f.optimizer != "adam" {
        return Err("--checkpoint keeps Adam's state; L-BFGS restarts from the start".into());
    }
    let bounds = layout.trainable_bounds();
    let transforms = Transforms::from_bounds(&bounds)?;
    // Starts: the model's values, then draws inside the ranges (kept off
    // their ends, where the sigmoid has no inverse).
    let theta0 = trainables.initial();
    let boxes: Vec<(f64, f64)> = bounds
        .iter()
        .zip(&theta0)
        .map(|(b, &x)| match *b {
            Some((lo, hi)) => (lo + 1e-3 * (hi - lo), hi - 1e-3 * (hi - lo)),
            None => (x, x),
        })
        .collect();
    let mut starts = vec![theta0.clone()];
    starts.extend(uniform_starts(&boxes, f.restarts - 1, f.seed));
    let starts: Vec<Vec<f64>> = starts
        .iter()
        .map(|theta| transforms.inverse(theta))
        .collect::<Result<_, _>>()?;
    if let Some(dir) = &checkpoint {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // Under mpirun each rank takes every size-th start; rank 0 gathers the
    // results and writes what one process would.
    let ranks = ruxley::ranks::Ranks::get();
    let mine = ranks.share(starts.len());
    let my_starts: Vec<Vec<f64>> = mine.iter().map(|&k| starts[k].clone()).collect();
    let backend = DefaultBackend::new();
    let bar = ruxley::progress::bar(my_starts.len() * f.iterations, "fit", ranks.rank() == 0);
    let reports = run_starts(&my_starts, |j, u0| {
        let k = mine[j];
        let mut objective = |u: &[f64]| {
            let theta = transforms.forward(u);
            let g = value_and_grad(
                &backend,
                &layout,
                &[theta],
                &spec.options,
                &loss,
                &spec.schedule,
            )?;
            Ok((g[0].loss, transforms.pull_back(u, &g[0].grad)))
        };
        let mut done = 0;
        let mut progress = |p: &Progress| {
            if p.iteration > done {
                bar.inc((p.iteration - done) as u64);
                done = p.iteration;
            }
            bar.set_message(format!("start {k}: loss {:.4e}", p.loss));
            true
        };
        if f.optimizer == "adam" {
            let options = Options {
                max_iters: f.iterations,
                target_loss: f.target_loss,
                checkpoint: checkpoint.as_ref().map(|d| d.join(format!("start{k}.txt"))),
                ..Options::default()
            };
            let mut adam = Adam::new(f.learning_rate);
            minimize(
                &mut objective,
                u0,
                &mut adam,
                &options,
                &mut [&mut progress],
            )
        } else {
            let options = LbfgsOptions {
                max_iters: f.iterations,
                target_loss: f.target_loss,
                ..LbfgsOptions::default()
            };
            lbfgs(&mut objective, u0, &options, &mut [&mut progress])
        }
    });
    bar.finish_and_clear();
    // Each start as "k,best loss,evaluations,best point...".
    let mine_text = reports.map_err(|e| e.to_string()).map(|reports| {
        let lines: Vec<String> = mine
            .iter()
            .zip(&reports)
            .map(|(k, r)| {
                let x: Vec<String> = r.best_x.iter().map(f64::to_string).collect();
                format!("{k},{},{},{}", r.best_loss, r.evaluations, x.join(","))
            })
            .collect();
        lines.join("\n")
    });
    let Some(texts) = ranks.collect(mine_text)? else {
        return Ok(());
    };
    let mut all: Vec<(usize, f64, usize, Vec<f64>)> = texts
        .iter()
        .flat_map(|t| t.lines())
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            let num = |s: &str| s.parse::<f64>().expect("written above");
            let x = v[3..].iter().map(|s| num(s)).collect();
            let index = v[0].parse().expect("an index");
            (index, num(v[1]), v[2].parse().expect("a count"), x)
        })
        .collect();
    // Best first; ties in start order, as one process orders them.
    all.sort_by_key(|r| r.0);
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (_, best_loss, evaluations, best_x) = &all[0];
    eprintln!(
        "best loss {best_loss:.6e} over {} start(s) ({evaluations} evaluations in the best)",
        all.len(),
    );
    let fitted = transforms.forward(best_x);
    if is_json(out.as_deref()) {
        return write_out(out, &trainables.to_json(&fitted)?);
    }
    let mut text = String::from("trainable,name,index,initial,fitted\n");
    for ((e, x0), x) in trainables.entries().iter().zip(&theta0).zip(&fitted) {
        let line = format!("{},{},{},{x0},{x}\n", e.entry + 1, e.name, e.index);
        text.push_str(&line);
    }
    write_out(out, &text)
}

/// The log-likelihood of theta: Gaussian noise of `sd` on each of the
/// `samples` values the mean squared error averages over.
struct Likelihood<'a> {
    layout: &'a ruxley::Layout,
    spec: &'a model_file::ModelSpec,
    loss: &'a TraceFit,
    samples: f64,
    sd: f64,
}

impl ruxley_hmc::LogDensity for Likelihood<'_> {
    fn dim(&self) -> usize {
        self.layout.trainables().len()
    }

    fn logp_and_grad(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let backend = ruxley::cpu::CpuBackend::sequential();
        let thetas = [theta.to_vec()];
        let opts = (&self.spec.options, &self.spec.schedule);
        match value_and_grad(&backend, self.layout, &thetas, opts.0, self.loss, opts.1) {
            Ok(g) => {
                // log L = -N mse / (2 sd^2).
                let scale = -self.samples / (2.0 * self.sd * self.sd);
                for (d, g) in grad.iter_mut().zip(&g[0].grad) {
                    *d = scale * g;
                }
                scale * g[0].loss
            }
            // An unstable run lies outside the support.
            Err(_) => f64::NEG_INFINITY,
        }
    }
}

/// Samples the posterior with NUTS chains from the model's values.
fn sample(
    spec: model_file::ModelSpec,
    target: PathBuf,
    out: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    use ruxley_hmc::diagnostics::{ess_bulk, split_rhat};
    use ruxley_hmc::{Settings, Transformed, sample_these_chains};
    let s = spec
        .sample
        .clone()
        .ok_or("the model has no [sample] section (noise_sd = ...)")?;
    let layout = spec.model.build()?;
    let trainables = layout.trainables();
    if trainables.is_empty() {
        return Err("the model has no [[trainable]] entries".into());
    }
    let weight = 1.0 / spec.loss.len().max(1) as f64;
    if spec
        .loss
        .iter()
        .any(|t| t.compare != ruxley::Compare::Mse || t.weight != weight)
    {
        return Err("[sample] needs a Gaussian likelihood: a [loss] of `mse = [...]` only".into());
    }
    let loss = target_loss(&spec, &layout, &target)?;
    let bounds = layout.trainable_bounds();
    let names = trainables.labels();
    if let Some(k) = bounds.iter().position(Option::is_none) {
        return Err(format!(
            "{} has no range for a uniform prior (only channel and synapse parameters do)",
            names[k]
        )
        .into());
    }
    let n = spec.options.grid()?.n_samples() * spec.loss.len();
    let likelihood = Likelihood {
        layout: &layout,
        spec: &spec,
        loss: &loss,
        samples: n as f64,
        sd: s.noise_sd,
    };
    let transforms = ruxley_optim::Transforms::from_bounds(&bounds)?;
    let target = Transformed {
        inner: &likelihood,
        transforms: transforms.clone(),
    };
    let u0 = transforms.inverse(&trainables.initial())?;
    let settings = Settings {
        warmup: s.warmup,
        samples: s.draws,
        ..Settings::default()
    };
    // Under mpirun each rank runs every size-th chain (the same draws as in
    // one process); rank 0 gathers them and writes what one process would.
    let ranks = ruxley::ranks::Ranks::get();
    let mine = ranks.share(s.chains);
    let bar = ruxley::progress::bar(
        mine.len() * (s.warmup + s.draws),
        "sample",
        ranks.rank() == 0,
    );
    let chains = sample_these_chains(&target, &u0, 0.1, &mine, &settings, s.seed, &|| bar.inc(1));
    bar.finish_and_clear();
    // Each chain as a line "#k,divergences", then a line per draw.
    let mine_text = chains.map_err(|e| e.to_string()).map(|chains| {
        let mut t = String::new();
        for (k, c) in mine.iter().zip(&chains) {
            t += &format!("#{k},{}\n", c.divergences());
            for u in &c.draws {
                let x: Vec<String> = transforms.forward(u).iter().map(f64::to_string).collect();
                t += &x.join(",");
                t.push('\n');
            }
        }
        t
    });
    let Some(texts) = ranks.collect(mine_text)? else {
        return Ok(());
    };
    let mut gathered: Vec<(usize, usize, Vec<Vec<f64>>)> = Vec::new();
    for line in texts.iter().flat_map(|t| t.lines()) {
        let nums = |l: &str| -> Vec<f64> {
            l.split(',')
                .map(|x| x.parse().expect("written above"))
                .collect()
        };
        match line.strip_prefix('#') {
            Some(h) => {
                let v = nums(h);
                gathered.push((v[0] as usize, v[1] as usize, Vec::new()));
            }
            None => gathered.last_mut().expect("a chain").2.push(nums(line)),
        }
    }
    gathered.sort_by_key(|c| c.0);
    let divergences: usize = gathered.iter().map(|c| c.1).sum();
    eprintln!(
        "{} chains x {} draws, {divergences} divergences",
        gathered.len(),
        s.draws
    );
    eprintln!(
        "{:<28} {:>12} {:>12} {:>7} {:>8}",
        "trainable", "mean", "sd", "R-hat", "bulk ESS"
    );
    let draws: Vec<Vec<Vec<f64>>> = gathered.into_iter().map(|c| c.2).collect();
    for (k, name) in names.iter().enumerate() {
        let cols: Vec<Vec<f64>> = draws
            .iter()
            .map(|c| c.iter().map(|x| x[k]).collect())
            .collect();
        let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let all: Vec<f64> = cols.concat();
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (all.len() as f64 - 1.0);
        eprintln!(
            "{name:<28} {mean:>12.5e} {:>12.3e} {:>7.3} {:>8.0}",
            var.sqrt(),
            split_rhat(&refs),
            ess_bulk(&refs)
        );
    }
    let mut text = format!("chain,draw,{}\n", names.join(","));
    for (c, chain) in draws.iter().enumerate() {
        for (d, x) in chain.iter().enumerate() {
            let values: Vec<String> = x.iter().map(f64::to_string).collect();
            text.push_str(&format!("{c},{d},{}\n", values.join(",")));
        }
    }
    write_out(out, &text)
}

/// True for a path ending in `.json`.
fn is_json(path: Option<&std::path::Path>) -> bool {
    path.and_then(|p| p.extension())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Theta from a CSV with columns trainable, name, index and `fitted` (or
/// `value`), one row per trainable value of `layout` in any order, or from
/// the JSON that `ruxley fit --out fitted.json` writes.
fn read_theta(
    layout: &ruxley::Layout,
    path: &std::path::Path,
) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    if is_json(Some(path)) {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return Ok(layout
            .trainables()
            .from_json(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?);
    }
    #[derive(serde::Deserialize)]
    struct Row {
        trainable: usize,
        name: String,
        index: usize,
        #[serde(alias = "value")]
        fitted: f64,
    }
    let entries = layout.trainables().entries();
    let mut theta = vec![f64::NAN; entries.len()];
    for r in model_file::read_rows::<Row>(path)? {
        let j = entries
            .iter()
            .position(|e| e.entry + 1 == r.trainable && e.index == r.index && e.name == r.name)
            .ok_or_else(|| {
                format!(
                    "{}: the model has no trainable {}[{}:{}]",
                    path.display(),
                    r.name,
                    r.trainable,
                    r.index
                )
            })?;
        theta[j] = r.fitted;
    }
    if let Some(j) = theta.iter().position(|x| x.is_nan()) {
        return Err(format!("{}: no value for {}", path.display(), entries[j].label()).into());
    }
    Ok(theta)
}

/// Writes `text` to the file `out`, or to standard output.
fn write_out(out: Option<PathBuf>, text: &str) -> Result<(), Box<dyn std::error::Error>> {
    match out {
        Some(path) => std::fs::write(&path, text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

/// The model file's `[loss]`: its recordings compared with the columns of
/// the same names in the CSV file `target`.
fn target_loss(
    spec: &model_file::ModelSpec,
    layout: &ruxley::Layout,
    target: &std::path::Path,
) -> Result<TraceFit, Box<dyn std::error::Error>> {
    if spec.loss.is_empty() {
        return Err("the model has no [loss] (mse = [recording names], or [[loss.term]])".into());
    }
    let target = Traces::read_csv(target)?;
    let n = spec.options.grid()?.n_samples();
    let mut loss = TraceFit::new();
    for term in &spec.loss {
        let label = &term.recording;
        let probe = layout
            .probes()
            .iter()
            .find(|p| &p.label == label || p.column.as_ref() == Some(label))
            .ok_or("loss names a missing recording")?;
        let column = probe.column_name();
        let values = target.get(&column).ok_or_else(|| {
            format!(
                "the target has no column {column} (it has {})",
                target.names().join(", ")
            )
        })?;
        if values.len() != n {
            return Err(format!(
                "target column {column} has {} samples, the simulation {n}",
                values.len()
            )
            .into());
        }
        loss = loss.term(&column, values.to_vec(), term.compare.clone(), term.weight);
    }
    Ok(loss)
}

fn info(
    swc: PathBuf,
    ncomp: usize,
    max_branch_len: Option<f64>,
    min_radius: Option<f64>,
    unit_um: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let asc = swc
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("asc"));
    let file = if asc {
        if unit_um != 1.0 {
            return Err("--unit-um applies to SWC files only (Neurolucida files are in um)".into());
        }
        ruxley::morph::read_asc(&swc)?
    } else {
        read_swc(&swc, &SwcOptions { unit_um })?
    };
    let options = TraceOptions {
        max_branch_len,
        min_radius,
        ..TraceOptions::default()
    };
    let morph = trace(&file, &options)?;
    let branches = morph.discretize(&Ncomp::Uniform(ncomp))?;
    let comps = branches.iter().map(|b| b.comps.len()).sum::<usize>();
    let area: f64 = branches.iter().flat_map(|b| &b.comps).map(|c| c.area).sum();
    let length: f64 = branches
        .iter()
        .flat_map(|b| &b.comps)
        .map(|c| c.length)
        .sum();
    let mut kinds = std::collections::BTreeMap::new();
    for b in &branches {
        *kinds
            .entry(ruxley::cell::group_name(b.kind.unwrap_or(0)))
            .or_insert(0usize) += 1;
    }
    let mut o = std::io::stdout().lock();
    writeln!(o, "file          {}", swc.display())?;
    writeln!(o, "samples       {}", file.samples().len())?;
    writeln!(o, "soma          {}", morph.soma)?;
    writeln!(o, "branches      {}", branches.len())?;
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(o, "  by type     {}", kinds.join(", "))?;
    writeln!(o, "compartments  {comps} (ncomp {ncomp})")?;
    writeln!(o, "total area    {area:.2} um2")?;
    writeln!(o, "total length  {length:.2} um")?;
    writeln!(
        o,
        "convention    single-point somata become a cylinder of length 2r; children attach at the end of their parent branch (Jaxley)"
    )?;
    for w in &morph.warnings {
        writeln!(o, "warning       {w}")?;
    }
    Ok(())
}

fn channels(files: &[PathBuf]) -> Result<(), Box<dyn std::error::Error>> {
    let mut o = std::io::stdout().lock();
    if files.is_empty() {
        for c in ruxley::channels::library() {
            describe(&mut o, c.as_ref())?;
        }
    }
    for f in files {
        let m = ruxley::Nmodl::from_file(f)?;
        describe(&mut o, &m)?;
        let globals: Vec<String> = m
            .globals()
            .iter()
            .map(|(n, x)| format!("{n} = {x}"))
            .collect();
        if !globals.is_empty() {
            writeln!(o, "  globals     {}", globals.join(", "))?;
        }
        if !m.currents().is_empty() {
            writeln!(o, "  currents    {}", m.currents().join(", "))?;
        }
    }
    Ok(())
}

/// A channel's parameters, states and ions.
fn describe(o: &mut impl Write, c: &dyn ruxley::channels::Channel) -> std::io::Result<()> {
    {
        writeln!(o, "{}", c.name())?;
        let params: Vec<String> = c
            .params()
            .iter()
            .map(|p| {
                let name = if p.shared {
                    p.name.to_string()
                } else {
                    format!("{}_{}", c.name(), p.name)
                };
                format!("{name} = {} {}", p.default, p.unit)
            })
            .collect();
        writeln!(o, "  parameters  {}", params.join(", "))?;
        if !c.states().is_empty() {
            let states: Vec<String> = c
                .states()
                .iter()
                .map(|s| format!("{}_{}", c.name(), s.name))
                .collect();
            writeln!(o, "  states      {}", states.join(", "))?;
        }
        if let Some(ion) = c.ion() {
            writeln!(o, "  carries     {}", ion.current)?;
        }
        if let Some(ion) = c.pool() {
            writeln!(
                o,
                "  pool of     {} (sets {} by Nernst)",
                ion.inside, ion.reversal
            )?;
        }
        let reads: Vec<&str> = c
            .inputs()
            .iter()
            .map(|i| match i {
                ruxley::channels::IonVar::Reversal(ion) => ion.reversal,
                ruxley::channels::IonVar::Inside(ion) => ion.inside,
                ruxley::channels::IonVar::Current(ion) => ion.current,
            })
            .collect();
        if !reads.is_empty() {
            writeln!(o, "  reads       {}", reads.join(", "))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Under mpirun, sweeps, fit restarts and NUTS chains are spread over
    // the ranks (`ruxley::ranks`); MPI ends when this is dropped.
    let _mpi = ruxley::ranks::initialize();
    let result = match cli.command {
        Command::Simulate {
            model,
            out,
            t_max,
            dt,
            solver,
            precision,
            backend,
            overrides,
            theta,
        } => model_file::load_with(&model, &overrides)
            .map_err(Into::into)
            .and_then(|spec| {
                let run = RunArgs {
                    t_max,
                    dt,
                    solver,
                    precision,
                    backend,
                    theta,
                };
                simulate(spec, out, run)
            }),
        Command::Sweep {
            model,
            params,
            out,
            chunk,
            summary_only,
            resume,
            backend,
            overrides,
        } => model_file::load_with(&model, &overrides)
            .map_err(Into::into)
            .and_then(|spec| {
                let how = ruxley_cli::sweep::SweepOptions {
                    out,
                    chunk,
                    summary_only,
                    resume,
                };
                sweep(spec, &params, backend, &how)
            }),
        Command::Grad(a) => a.load().and_then(|spec| grad(spec, a.target, a.out)),
        Command::Fit {
            against: a,
            checkpoint,
        } => a
            .load()
            .and_then(|spec| fit(spec, a.target, a.out, checkpoint)),
        Command::Sample(a) => a.load().and_then(|spec| sample(spec, a.target, a.out)),
        Command::Channels { files } => channels(&files),
        Command::Info {
            swc,
            ncomp,
            max_branch_len,
            min_radius,
            unit_um,
        } => info(swc, ncomp, max_branch_len, min_radius, unit_um),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
