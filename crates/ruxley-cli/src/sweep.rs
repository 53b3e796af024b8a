//! Parameter sweeps: a model file run once per row of a CSV of parameter
//! values (`ruxley sweep`), each run's traces written to a file of its own
//! and a summary row per run, resumable after an interruption.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use ruxley::{Backend, Batch, Layout, Parameters, RunOptions, Traces};

use ruxley::ranks::Ranks;

/// What a sweep column sets.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A parameter, everywhere it exists (as a `[[set]]` key without `where`).
    Param(String),
    /// Trainable values, by position in theta.
    Theta(Vec<usize>),
}

/// A sweep's failure: what and where.
#[derive(Debug)]
pub struct SweepError(String);

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SweepError {}

impl From<String> for SweepError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, SweepError> {
    Err(SweepError(message.into()))
}

/// The parameter sets: one member per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Sets {
    /// The column names.
    pub columns: Vec<String>,
    /// The values, one row per member.
    pub rows: Vec<Vec<f64>>,
}

impl Sets {
    /// Reads a CSV: a header of names, then rows of numbers.
    pub fn read(path: &Path) -> Result<Self, SweepError> {
        let text = std::fs::read_to_string(path)
            .or_else(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let Some(header) = lines.next() else {
            return fail(format!("{}: no header line", path.display()));
        };
        let columns: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
        let mut rows = Vec::new();
        for (k, line) in lines.enumerate() {
            let row = line
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<Vec<f64>, _>>()
                .or_else(|e| fail(format!("{}: row {}: {e}", path.display(), k + 1)))?;
            if row.len() != columns.len() {
                return fail(format!(
                    "{}: row {} has {} values for {} columns",
                    path.display(),
                    k + 1,
                    row.len(),
                    columns.len()
                ));
            }
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                return fail(format!(
                    "{}: row {}: `{}` is {}",
                    path.display(),
                    k + 1,
                    columns[j],
                    row[j]
                ));
            }
            rows.push(row);
        }
        Ok(Self { columns, rows })
    }
}

/// How a sweep runs and where it writes.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The output folder: `member_<k>.csv` per member (unless
    /// `summary_only`) and `summary.csv`.
    pub out: PathBuf,
    /// Members simulated together in one batch.
    pub chunk: usize,
    /// Write only the summary.
    pub summary_only: bool,
    /// Continue a sweep whose summary holds its first rows already.
    pub resume: bool,
}

/// A sweep being run: the model, the sets and where results go.
pub struct Sweep<'a> {
    backend: &'a dyn Backend,
    layout: &'a Layout,
    options: &'a RunOptions,
    sets: &'a Sets,
    how: &'a SweepOptions,
    targets: Vec<Target>,
}

/// The results of a chunk of members: the summary's header (from their
/// recordings) and one summary line per member.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkResult {
    /// The summary header.
    pub header: String,
    /// The summary lines, in member order.
    pub lines: Vec<String>,
}

impl<'a> Sweep<'a> {
    /// Checks the columns against the model and creates the output folder.
    pub fn new(
        backend: &'a dyn Backend,
        layout: &'a Layout,
        options: &'a RunOptions,
        sets: &'a Sets,
        how: &'a SweepOptions,
    ) -> Result<Self, SweepError> {
        let targets = sets
            .columns
            .iter()
            .map(|c| target(layout, c))
            .collect::<Result<Vec<_>, _>>()?;
        std::fs::create_dir_all(&how.out)
            .or_else(|e| fail(format!("cannot create {}: {e}", how.out.display())))?;
        Ok(Self {
            backend,
            layout,
            options,
            sets,
            how,
            targets,
        })
    }

    /// Runs members `start..end`, writes their trace files and returns
    /// their summary lines.
    pub fn chunk(&self, start: usize, end: usize) -> Result<ChunkResult, SweepError> {
        let mut params = Vec::with_capacity(end - start);
        let mut stimuli = Vec::with_capacity(end - start);
        for (k, row) in self.sets.rows[start..end].iter().enumerate() {
            let (p, s) = member(self.layout, &self.targets, row)
                .or_else(|e| fail(format!("member {} (row {}): {e}", start + k, start + k + 1)))?;
            params.push(p);
            stimuli.push(s);
        }
        let batch = Batch {
            params: &params,
            stimuli: &stimuli,
        };
        let traces = match self.backend.simulate(self.layout, batch, self.options) {
            Ok(t) => t,
            Err(e) => return Err(self.culprit(&params, &stimuli, start, e)),
        };
        let mut lines = Vec::with_capacity(traces.len());
        for (k, t) in traces.iter().enumerate() {
            let m = start + k;
            if let Some((name, at)) = first_non_finite(t) {
                return fail(format!(
                    "member {m} (row {}): `{name}` is not finite from sample {at} on",
                    m + 1
                ));
            }
            if !self.how.summary_only {
                let path = self.how.out.join(format!("member_{m:06}.csv"));
                let file = std::fs::File::create(&path)
                    .or_else(|e| fail(format!("cannot create {}: {e}", path.display())))?;
                t.write_csv(std::io::BufWriter::new(file))
                    .or_else(|e| fail(format!("{}: {e}", path.display())))?;
            }
            lines.push(summary_row(m, &self.sets.rows[m], t, self.options.dt));
        }
        Ok(ChunkResult {
            header: summary_header(self.sets, &traces[0]),
            lines,
        })
    }

    /// The error of the first member of a failed batch (from `start`) that
    /// fails alone, or the batch's error.
    fn culprit(
        &self,
        params: &[Parameters],
        stimuli: &[Vec<ruxley::cell::Stimulus>],
        start: usize,
        batch_error: ruxley::backend::SimError,
    ) -> SweepError {
        for (k, (p, s)) in params.iter().zip(stimuli).enumerate() {
            let one = Batch {
                params: std::slice::from_ref(p),
                stimuli: std::slice::from_ref(s),
            };
            if let Err(e) = self.backend.simulate(self.layout, one, self.options) {
                return SweepError(format!("member {} (row {}): {e}", start + k, start + k + 1));
            }
        }
        SweepError(format!("members from {start}: {batch_error}"))
    }
}

/// The summary file, appended to in member order.
pub struct Summary {
    file: std::fs::File,
    path: PathBuf,
    /// Members already in it.
    pub done: usize,
    header_written: bool,
}

impl Summary {
    /// Opens (or, unless resuming, starts) the summary at `path`.
    pub fn open(path: &Path, sets: &Sets, resume: bool) -> Result<Self, SweepError> {
        let previous = if resume {
            completed_rows(path, sets)?
        } else {
            None
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .or_else(|e| fail(format!("cannot open {}: {e}", path.display())))?;
        if previous.is_none() {
            file.set_len(0)
                .or_else(|e| fail(format!("{}: {e}", path.display())))?;
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            done: previous.unwrap_or(0),
            header_written: previous.is_some(),
        })
    }

    /// Appends a chunk's lines (and the header, the first time).
    pub fn append(&mut self, chunk: &ChunkResult) -> Result<(), SweepError> {
        let io = |e: std::io::Error| SweepError(format!("{}: {e}", self.path.display()));
        let mut text = String::new();
        if !self.header_written {
            text += &chunk.header;
            text.push('\n');
        }
        for l in &chunk.lines {
            text += l;
            text.push('\n');
        }
        self.file.write_all(text.as_bytes()).map_err(io)?;
        self.file.flush().map_err(io)?;
        self.header_written = true;
        self.done += chunk.lines.len();
        Ok(())
    }
}

/// Runs `layout` once per row of `sets` and writes the results, on every
/// rank of `ranks` (each rank calls this with the same arguments): chunks
/// of members are dealt to the ranks in turn, each rank writes its members'
/// trace files and rank 0 the summary, in member order, so that the files
/// do not depend on the number of ranks. A failure on any rank (an error or
/// a panic) stops every rank after its round, with an error naming the
/// member (and the rank). Returns, on rank 0, the number of members run
/// (fewer than the rows when resuming).
pub fn run(
    ranks: &Ranks,
    backend: &dyn Backend,
    layout: &Layout,
    options: &RunOptions,
    sets: &Sets,
    how: &SweepOptions,
) -> Result<usize, SweepError> {
    let sweep = Sweep::new(backend, layout, options, sets, how)?;
    // Rank 0 reads (or starts) the summary; every rank learns where to begin.
    let mut summary = None;
    let mut error = None;
    if ranks.rank() == 0 {
        match Summary::open(&how.out.join("summary.csv"), sets, how.resume) {
            Ok(s) => summary = Some(s),
            Err(e) => error = Some(e.to_string()),
        }
    }
    ranks.verdict(error).map_err(SweepError)?;
    let done = ranks.broadcast(summary.as_ref().map_or(0, |s| s.done as u64)) as usize;
    let step = how.chunk.max(1);
    let chunks: Vec<(usize, usize)> = (done..sets.rows.len())
        .step_by(step)
        .map(|s| (s, (s + step).min(sets.rows.len())))
        .collect();
    let mut ran = 0;
    for round in chunks.chunks(ranks.size()) {
        let mine = match round.get(ranks.rank()) {
            None => Ok(String::new()),
            Some(&(start, end)) => {
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    sweep.chunk(start, end)
                }));
                match run {
                    Ok(Ok(c)) => Ok(c.encode()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(p) => Err(format!(
                        "members {start}..{end} panicked: {}",
                        panic_text(&p)
                    )),
                }
            }
        };
        let mut error = None;
        if let Some(all) = ranks.gather(mine) {
            let summary = summary.as_mut().expect("rank 0 holds the summary");
            for report in all {
                let appended = match report {
                    Ok(t) if t.is_empty() => Ok(0),
                    Ok(t) => {
                        let c = ChunkResult::decode(&t);
                        summary
                            .append(&c)
                            .map(|()| c.lines.len())
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e),
                };
                match appended {
                    Ok(n) => ran += n,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
        }
        ranks.verdict(error).map_err(SweepError)?;
    }
    Ok(ran)
}

/// The message of a panic.
fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

impl ChunkResult {
    /// As text: the header, then the lines, one per line.
    fn encode(&self) -> String {
        std::iter::once(self.header.as_str())
            .chain(self.lines.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// From [`ChunkResult::encode`]'s text.
    fn decode(text: &str) -> Self {
        let mut parts = text.split('\n').map(str::to_string);
        Self {
            header: parts.next().unwrap_or_default(),
            lines: parts.collect(),
        }
    }
}

/// What column `name` sets: a trainable value (`HH_gNa[1:0]`), all values
/// of a trainable entry (`HH_gNa[1]`), or a parameter everywhere.
fn target(layout: &Layout, name: &str) -> Result<Target, SweepError> {
    let t = layout.trainables();
    if let Some(k) = t.position(name) {
        return Ok(Target::Theta(vec![k]));
    }
    let entry: Vec<usize> = t
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| format!("{}[{}]", e.name, e.entry + 1) == name)
        .map(|(k, _)| k)
        .collect();
    if !entry.is_empty() {
        return Ok(Target::Theta(entry));
    }
    if t.entries().iter().any(|e| e.name == name) {
        return fail(format!(
            "column `{name}` names a trainable parameter: name its values (`{name}[1]` or `{name}[1:0]`)"
        ));
    }
    if layout.parameters().get(name).is_some() {
        return Ok(Target::Param(name.to_string()));
    }
    fail(format!(
        "column `{name}` is neither a parameter of the model nor one of its trainables ({})",
        t.labels().join(", ")
    ))
}

/// One member's parameters and stimuli.
fn member(
    layout: &Layout,
    targets: &[Target],
    row: &[f64],
) -> Result<(Parameters, Vec<ruxley::cell::Stimulus>), ruxley::ModelError> {
    let mut params = layout.parameters().clone();
    let mut theta = layout.trainables().initial();
    for (t, &x) in targets.iter().zip(row) {
        match t {
            Target::Param(name) => params.set(name, x)?,
            Target::Theta(ks) => ks.iter().for_each(|&k| theta[k] = x),
        }
    }
    layout.trainables().apply(&theta, &params, layout.stimuli())
}

/// The first trace and sample that is not finite.
fn first_non_finite(t: &Traces) -> Option<(String, usize)> {
    t.names().iter().enumerate().find_map(|(k, name)| {
        let at = t.trace(k).iter().position(|x| !x.is_finite())?;
        Some((name.clone(), at))
    })
}

/// member, the swept values, then per trace its spike count (upward
/// crossings of 0), mean, minimum and maximum.
fn summary_header(sets: &Sets, t: &Traces) -> String {
    let mut h = vec!["member".to_string()];
    h.extend(sets.columns.iter().cloned());
    for n in t.names() {
        h.extend(["spikes", "mean", "min", "max"].map(|s| format!("{n}_{s}")));
    }
    h.join(",")
}

fn summary_row(m: usize, values: &[f64], t: &Traces, dt: f64) -> String {
    let mut r = vec![m.to_string()];
    r.extend(values.iter().map(|x| format!("{x:e}")));
    for k in 0..t.names().len() {
        let x = t.trace(k);
        let spikes = ruxley::analysis::spike_times(x, dt, 0.0).len();
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let (lo, hi) = x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        r.push(spikes.to_string());
        r.extend([mean, lo, hi].map(|v| format!("{v:e}")));
    }
    r.join(",")
}

/// The members a previous run completed, from its summary: None if it has
/// no header yet, else the number of complete rows, which must be members
/// 0, 1, ... of `sets`. A partial last line, from an interruption, is cut.
fn completed_rows(path: &Path, sets: &Sets) -> Result<Option<usize>, SweepError> {
    let raw = match std::fs::read_to_string(path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
    };
    let complete = &raw[..raw.rfind('\n').map_or(0, |k| k + 1)];
    let lines: Vec<&str> = complete.lines().collect();
    let header = format!("member,{}", sets.columns.join(","));
    if let Some(h) = lines.first()
        && *h != header
        && !h.starts_with(&format!("{header},"))
    {
        return fail(format!(
            "{}: written by a sweep of other columns; remove it to start again",
            path.display()
        ));
    }
    for (k, line) in lines.iter().skip(1).enumerate() {
        let member: Option<usize> = line.split(',').next().and_then(|m| m.parse().ok());
        if member != Some(k) || k >= sets.rows.len() {
            return fail(format!(
                "{}: line {} is not member {k} of this sweep; remove it to start again",
                path.display(),
                k + 2
            ));
        }
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(complete.len() as u64))
        .or_else(|e| fail(format!("{}: {e}", path.display())))?;
    Ok(lines.len().checked_sub(1))
}
