//! A checked NMODL density mechanism and its [`Channel`] implementation.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use ruxley_channels::ir::Args;
use ruxley_channels::{
    CALCIUM, Channel, ChannelIr, Ion, IonVar, POTASSIUM, ParamSpec, SODIUM, StateSpec,
};
use ruxley_core::Real;
use ruxley_ir::Expr as Node;

use crate::ast::{Block, Callable, Decl, Module, Name, NeuronStmt, Stmt, UnitConst};
use crate::error::NmodlError;
use crate::eval::{Callables, EvalError, Interp, Method, Val};

/// The step of NEURON's forward-difference slope of the current (mV).
const SLOPE_DV: f64 = 0.001;

/// Faraday's constant (C/mol), as NEURON 9's units database gives it.
const FARADAY: f64 = ruxley_channels::ion::FARADAY;
/// The molar gas constant (J/(mol K)).
const GAS_CONSTANT: f64 = ruxley_channels::ion::GAS_CONSTANT;

/// A density mechanism read from an NMODL file: a [`Channel`] whose
/// parameters are the file's RANGE PARAMETERs and whose states are its
/// STATEs, named `<SUFFIX>_<name>`. GLOBAL parameters (and PARAMETERs not
/// declared RANGE) are constants of the mechanism, set with
/// [`Nmodl::set_global`] before it is inserted.
#[derive(Debug, Clone)]
pub struct Nmodl {
    file: Arc<File>,
    params: Vec<ParamSpec>,
    states: Vec<StateSpec>,
    inputs: Vec<IonVar>,
    /// The input names, in [`Nmodl::inputs`] order.
    input_names: Vec<String>,
    /// The state names in the file, in [`Channel::states`] order.
    state_names: Vec<String>,
    /// The initial value of each state before INITIAL runs.
    state_start: Vec<f64>,
    /// The current variables (ion currents written, nonspecific currents).
    currents: Vec<String>,
    ion: Option<Ion>,
    pool: Option<Ion>,
    globals: Vec<(String, f64)>,
}

/// The parsed file and what is looked up in it.
#[derive(Debug)]
struct File {
    path: String,
    source: String,
    module: Module,
    suffix: String,
    read_only: HashMap<String, &'static str>,
    /// Every ASSIGNED variable (and LOCALs at file level: none).
    assigned: Vec<String>,
    /// The SOLVEd DERIVATIVE block and its method, if any.
    solve: Option<(String, Method)>,
}

impl File {
    fn error(&self, at: usize, message: impl Into<String>) -> NmodlError {
        NmodlError::at(&self.path, &self.source, at, message.into())
    }

    fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.module.blocks.iter()
    }

    fn callables(&self) -> Callables<'_> {
        let mut c = Callables::default();
        for b in self.blocks() {
            match b {
                Block::Function(f) => {
                    c.functions.insert(f.name.name.as_str(), f);
                }
                Block::Procedure(p) => {
                    c.procedures.insert(p.name.name.as_str(), p);
                }
                Block::Kinetic(k) => {
                    c.kinetics.insert(k.name.name.as_str(), k);
                }
                _ => {}
            }
        }
        c
    }

    fn derivative(&self, name: &str) -> Option<&Callable> {
        self.blocks().find_map(|b| match b {
            Block::Derivative(d) | Block::Kinetic(d) if d.name.name == name => Some(d),
            _ => None,
        })
    }

    fn body(&self, initial: bool) -> Option<&Vec<Stmt>> {
        self.blocks().find_map(|b| match b {
            Block::Initial(s) if initial => Some(s),
            Block::Breakpoint(s) if !initial => Some(s),
            _ => None,
        })
    }
}

/// What the graphs of one step are recorded for: the file's callables,
/// the step (ms) and the temperature (degC).
struct Step<'m> {
    calls: Callables<'m>,
    dt: f64,
    celsius: f64,
}

/// Interns a name, so that repeated loads of a file do not leak memory.
fn intern(s: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let set = names.get_or_insert_with(HashSet::new);
    if let Some(&n) = set.get(s) {
        return n;
    }
    let n: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(n);
    n
}

/// The ion of a USEION statement.
fn ion_named(n: &Name) -> Option<Ion> {
    [SODIUM, POTASSIUM, CALCIUM]
        .into_iter()
        .find(|i| i.name == n.name)
}

/// The value of a UNITS constant such as `FARADAY = (faraday) (coulombs)`.
fn unit_constant(u: &UnitConst) -> Option<f64> {
    let to = u.to.as_str();
    match u.from.as_str() {
        "faraday" => match to {
            "" | "coulomb" | "coulombs" | "coul" | "C" => Some(FARADAY),
            "kilocoulomb" | "kilocoulombs" | "kC" => Some(FARADAY / 1e3),
            _ => None,
        },
        "k-mole" => (to.is_empty() || to.starts_with("joule") || to.starts_with("J/"))
            .then_some(GAS_CONSTANT),
        "pi" => Some(std::f64::consts::PI),
        _ => None,
    }
}

impl Nmodl {
    /// Reads and checks the mechanism in `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, NmodlError> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| NmodlError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_source(&path.display().to_string(), &source)
    }

    /// Reads and checks the mechanism in `source`; `path` names it in
    /// errors.
    pub fn from_source(path: &str, source: &str) -> Result<Self, NmodlError> {
        let module = crate::parse::module(source)
            .map_err(|e| NmodlError::at(path, source, e.at, e.message))?;
        build(path, source, module)
    }

    /// The SUFFIX.
    pub fn suffix(&self) -> &str {
        &self.file.suffix
    }

    /// The file it was read from.
    pub fn path(&self) -> &str {
        &self.file.path
    }

    /// The GLOBAL parameters with their values.
    pub fn globals(&self) -> &[(String, f64)] {
        &self.globals
    }

    /// The current variables the mechanism writes (ion currents and
    /// nonspecific currents), summed into its membrane current.
    pub fn currents(&self) -> &[String] {
        &self.currents
    }

    /// Sets a GLOBAL parameter (named as in the file).
    pub fn set_global(&mut self, name: &str, value: f64) -> Result<(), NmodlError> {
        if !value.is_finite() {
            return Err(NmodlError::Invalid(format!(
                "{}: GLOBAL `{name}` set to {value}",
                self.file.path
            )));
        }
        match self.globals.iter_mut().find(|g| g.0 == name) {
            Some(g) => {
                g.1 = value;
                Ok(())
            }
            None => Err(NmodlError::Invalid(format!(
                "{}: no GLOBAL parameter `{name}` (GLOBALs: {})",
                self.file.path,
                self.globals
                    .iter()
                    .map(|g| g.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Sets the bounds of a RANGE parameter (named as in the file), which
    /// fitting maps onto the real line; the file's limits `<lo, hi>` are the
    /// default, and no bounds where it gives none.
    pub fn with_bounds(mut self, name: &str, lo: f64, hi: f64) -> Result<Self, NmodlError> {
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            return Err(NmodlError::Invalid(format!(
                "{}: bounds of `{name}` must satisfy lo < hi (got {lo}, {hi})",
                self.file.path
            )));
        }
        let p = self
            .params
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                NmodlError::Invalid(format!("{}: no RANGE parameter `{name}`", self.file.path))
            })?;
        p.bounds = (lo, hi);
        Ok(self)
    }

    /// The graphs for step `dt` and `celsius`, or the first error met
    /// while recording them.
    fn try_ir(&self, dt: f64, celsius: f64) -> Result<ChannelIr, NmodlError> {
        let dims = (self.params.len(), self.states.len(), self.inputs.len());
        let at = Step {
            calls: self.file.callables(),
            dt,
            celsius,
        };
        let error: RefCell<Option<EvalError>> = RefCell::new(None);
        let keep = |r: Result<Vec<Node>, EvalError>, n: usize| {
            r.unwrap_or_else(|e| {
                error.borrow_mut().get_or_insert(e);
                vec![Node::cst(0.0); n]
            })
        };
        let ns = self.states.len();
        let ir = ChannelIr::trace(
            dims,
            |a| keep(self.init(&at, &a), ns),
            |a| keep(self.advance(&at, &a), ns),
            |a| {
                let r = keep(self.current(&at, &a), 2);
                [r[0], r[1]]
            },
            None,
        );
        match error.into_inner() {
            Some(e) => Err(self.file.error(e.at, e.message)),
            None => Ok(ir),
        }
    }

    /// The variables of a run: builtins, constants, parameters, inputs,
    /// and the states (at `states`, or their starting values).
    fn interp<'m>(&'m self, at: &'m Step<'m>, a: &Args, v: Node, states: bool) -> Interp<'m, Node> {
        let mut g: HashMap<&'m str, Option<Val<Node>>> = HashMap::new();
        for n in &self.file.assigned {
            g.insert(n.as_str(), None);
        }
        for (n, x) in &self.globals {
            g.insert(n.as_str(), Some(Val::Known(*x)));
        }
        for (p, x) in self.params.iter().zip(&a.params) {
            g.insert(p.name, Some(Val::Run(*x)));
        }
        for (n, x) in self.input_names.iter().zip(&a.inputs) {
            g.insert(n.as_str(), Some(Val::Run(*x)));
        }
        for (k, n) in self.state_names.iter().enumerate() {
            let x = if states {
                Val::Run(a.states[k])
            } else {
                Val::Known(self.state_start[k])
            };
            g.insert(n.as_str(), Some(x));
        }
        g.insert("v", Some(Val::Run(v)));
        g.insert("celsius", Some(Val::Known(at.celsius)));
        g.insert("dt", Some(Val::Known(at.dt)));
        Interp::new(&at.calls, g, &self.file.read_only, at.dt)
    }

    fn outputs(&self, run: &Interp<'_, Node>, names: &[String]) -> Result<Vec<Node>, EvalError> {
        names
            .iter()
            .map(|n| {
                run.read(&Name {
                    name: n.clone(),
                    at: 0,
                })
                .map(Val::run)
            })
            .collect()
    }

    fn init<'m>(&'m self, at: &'m Step<'m>, a: &Args) -> Result<Vec<Node>, EvalError> {
        let mut run = self.interp(at, a, a.v, false);
        if let Some(body) = self.file.body(true) {
            run.exec(body)?;
        }
        self.outputs(&run, &self.state_names)
    }

    fn advance<'m>(&'m self, at: &'m Step<'m>, a: &Args) -> Result<Vec<Node>, EvalError> {
        let mut run = self.interp(at, a, a.v, true);
        if let Some((block, method)) = &self.file.solve {
            let d = self.file.derivative(block).expect("checked when read");
            if *method == Method::Sparse {
                run.solve_kinetic(d, false)?;
            } else {
                run.solve(d, *method)?;
            }
        }
        self.outputs(&run, &self.state_names)
    }

    fn current<'m>(&'m self, at: &'m Step<'m>, a: &Args) -> Result<Vec<Node>, EvalError> {
        if self.pool.is_some() || self.currents.is_empty() {
            return Ok(vec![Node::cst(0.0); 2]);
        }
        let total = |v: Node| -> Result<Node, EvalError> {
            let mut run = self.interp(at, a, v, true);
            if let Some(body) = self.file.body(false) {
                run.exec(body)?;
            }
            let i = self.outputs(&run, &self.currents)?;
            Ok(i.into_iter().reduce(|x, y| x + y).expect("a current"))
        };
        let i0 = total(a.v)?;
        let i1 = total(a.v + SLOPE_DV)?;
        Ok(vec![i0, (i1 - i0) / SLOPE_DV])
    }
}

/// The species named in the reactions and CONSERVE statements of `body`.
fn species_of(body: &[Stmt]) -> Vec<&Name> {
    let mut v = Vec::new();
    for s in body {
        match s {
            Stmt::Reaction { lhs, rhs, .. } => v.extend(lhs.iter().chain(rhs).map(|t| &t.1)),
            Stmt::Conserve { terms, .. } => v.extend(terms.iter().map(|t| &t.1)),
            Stmt::If {
                then, otherwise, ..
            } => {
                v.extend(species_of(then));
                v.extend(species_of(otherwise));
            }
            Stmt::Block(b) => v.extend(species_of(b)),
            _ => {}
        }
    }
    v
}

/// Checks a parsed file and builds its mechanism.
fn build(path: &str, source: &str, module: Module) -> Result<Nmodl, NmodlError> {
    let fail = |at: usize, m: String| NmodlError::at(path, source, at, m);
    let mut suffix = None;
    let (mut range, mut global) = (HashSet::new(), HashSet::new());
    let mut uses: Vec<(Ion, &Name, &[Name], &[Name])> = Vec::new();
    let mut nonspecific = Vec::new();
    let (mut params, mut assigned, mut states, mut consts) = (vec![], vec![], vec![], vec![]);
    for b in &module.blocks {
        match b {
            Block::Neuron(stmts) => {
                for s in stmts {
                    match s {
                        NeuronStmt::Suffix(n) => suffix = Some(n.clone()),
                        NeuronStmt::PointProcess(n) => {
                            return Err(fail(
                                n.at,
                                format!(
                                    "`{}` is a POINT_PROCESS: only density mechanisms (SUFFIX) are supported",
                                    n.name
                                ),
                            ));
                        }
                        NeuronStmt::UseIon {
                            ion,
                            read,
                            write,
                            valence,
                        } => {
                            let i = ion_named(ion).ok_or_else(|| {
                                fail(
                                    ion.at,
                                    format!("ion `{}` is not one of na, k, ca", ion.name),
                                )
                            })?;
                            if valence.is_some_and(|z| z != i.valence) {
                                return Err(fail(
                                    ion.at,
                                    format!(
                                        "ion `{}` has valence {}, not {valence:?}",
                                        i.name, i.valence
                                    ),
                                ));
                            }
                            uses.push((i, ion, read, write));
                        }
                        NeuronStmt::Nonspecific(n) => nonspecific.extend(n.iter().cloned()),
                        NeuronStmt::Range(n) => range.extend(n.iter().map(|n| n.name.clone())),
                        NeuronStmt::Global(n) => global.extend(n.iter().map(|n| n.name.clone())),
                        NeuronStmt::Other(w, _) if w.name == "THREADSAFE" => {}
                        NeuronStmt::Other(w, _) => {
                            return Err(fail(w.at, format!("{} is not supported", w.name)));
                        }
                    }
                }
            }
            Block::Units(u) => {
                for c in u {
                    let x = unit_constant(c).ok_or_else(|| {
                        fail(
                            c.name.at,
                            format!(
                                "unit constant ({}) ({}) is not known (known: faraday, k-mole, pi)",
                                c.from, c.to
                            ),
                        )
                    })?;
                    consts.push((c.name.name.clone(), x));
                }
            }
            Block::Parameter(d) => params.extend(d.iter().cloned()),
            Block::Assigned(d) => assigned.extend(d.iter().cloned()),
            Block::State(d) => states.extend(d.iter().cloned()),
            Block::Constant(d) => {
                for c in d {
                    let x = c.value.ok_or_else(|| {
                        fail(
                            c.name.at,
                            format!("CONSTANT `{}` has no value", c.name.name),
                        )
                    })?;
                    consts.push((c.name.name.clone(), x));
                }
            }
            Block::Unsupported(u) => {
                return Err(fail(u.at, format!("{} is not supported", u.what)));
            }
            _ => {}
        }
    }
    let suffix = suffix
        .ok_or_else(|| NmodlError::Invalid(format!("{path}: no SUFFIX in the NEURON block")))?;

    // Ion variables: what is read comes in as inputs, what is written is a
    // current (or, for a pool, the concentration state).
    let state_set: HashSet<&str> = states.iter().map(|d| d.name.name.as_str()).collect();
    let (mut inputs, mut input_names) = (vec![], vec![]);
    let (mut ion_currents, mut pool) = (vec![], None);
    let mut ion_names = HashSet::new();
    for &(ion, _, _, write) in &uses {
        for w in write {
            let n = w.name.as_str();
            if n == ion.current {
                ion_currents.push((ion, w.name.clone()));
            } else if n == ion.inside && state_set.contains(n) {
                pool = Some((ion, w.name.clone()));
            } else if n == ion.inside {
                return Err(fail(
                    w.at,
                    format!(
                        "`{n}` is written but is not a STATE: concentrations are written by pools, whose STATE is the concentration"
                    ),
                ));
            } else {
                return Err(fail(
                    w.at,
                    format!(
                        "writing `{n}` is not supported (a mechanism writes the ion's current `{}` or, as a pool, `{}`)",
                        ion.current, ion.inside
                    ),
                ));
            }
            ion_names.insert(n.to_string());
        }
    }
    if pool.is_some() && (!ion_currents.is_empty() || !nonspecific.is_empty()) {
        return Err(NmodlError::Invalid(format!(
            "{path}: a mechanism that writes a concentration may not also write a current"
        )));
    }
    for &(ion, _, read, _) in &uses {
        for r in read {
            let n = r.name.as_str();
            let var = if n == ion.reversal {
                IonVar::Reversal(ion)
            } else if n == ion.inside {
                IonVar::Inside(ion)
            } else if n == ion.current && pool.is_some() {
                IonVar::Current(ion)
            } else if n == ion.current {
                return Err(fail(
                    r.at,
                    format!(
                        "reading `{n}` is only supported in pools (mechanisms that write `{}`)",
                        ion.inside
                    ),
                ));
            } else {
                return Err(fail(
                    r.at,
                    format!(
                        "reading `{n}` is not supported (read `{}`, `{}` or, in a pool, `{}`)",
                        ion.reversal, ion.inside, ion.current
                    ),
                ));
            };
            if ion_names.contains(n) && !matches!(var, IonVar::Inside(_)) {
                continue;
            }
            if pool.as_ref().is_some_and(|(_, p)| p == n) {
                continue;
            }
            inputs.push(var);
            input_names.push(n.to_string());
            ion_names.insert(n.to_string());
        }
    }

    // Names and what may be assigned.
    let builtin = |n: &str| matches!(n, "v" | "celsius" | "dt");
    let mut read_only: HashMap<String, &'static str> = HashMap::new();
    for n in &input_names {
        read_only.insert(n.clone(), "an ion variable the mechanism reads");
    }
    read_only.insert("celsius".into(), "the temperature");
    read_only.insert("dt".into(), "the time step");
    let (mut specs, mut globals) = (vec![], vec![]);
    for p in &params {
        let n = p.name.name.as_str();
        if builtin(n) || ion_names.contains(n) {
            continue;
        }
        if range.contains(n) && !global.contains(n) {
            let bounds = p.limits.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
            specs.push(ParamSpec::new(
                intern(n),
                intern(p.unit.as_deref().unwrap_or("1")),
                p.value.unwrap_or(0.0),
                bounds,
            ));
            read_only.insert(n.to_string(), "a RANGE parameter");
        } else {
            globals.push((n.to_string(), p.value.unwrap_or(0.0)));
            read_only.insert(n.to_string(), "a GLOBAL parameter");
        }
    }
    for (n, _) in &consts {
        read_only.insert(n.clone(), "a constant");
    }
    globals.extend(consts);

    // States: a pool's concentration first.
    let mut state_decls: Vec<&Decl> = states.iter().collect();
    if let Some((_, p)) = &pool {
        state_decls.sort_by_key(|d| d.name.name != *p);
    }
    let start = |d: &Decl| {
        if let Some((ion, p)) = &pool
            && *p == d.name.name
        {
            return ion.default_inside;
        }
        let x0 = format!("{}0", d.name.name);
        globals.iter().find(|g| g.0 == x0).map_or(0.0, |g| g.1)
    };
    let state_start: Vec<f64> = state_decls.iter().map(|d| start(d)).collect();
    let state_specs = state_decls
        .iter()
        .zip(&state_start)
        .map(|(d, &x)| StateSpec {
            name: intern(&d.name.name),
            unit: intern(d.unit.as_deref().unwrap_or("1")),
            default: x,
        })
        .collect();
    let mut assigned_names: Vec<String> = assigned
        .iter()
        .map(|d| d.name.name.clone())
        .filter(|n| !builtin(n) && !input_names.contains(n))
        .collect();
    for (_, n) in &ion_currents {
        if !assigned_names.contains(n) {
            assigned_names.push(n.clone());
        }
    }
    for n in &nonspecific {
        if !assigned_names.contains(&n.name) {
            assigned_names.push(n.name.clone());
        }
    }

    // The SOLVE of BREAKPOINT.
    let breakpoint = module.blocks.iter().find_map(|b| match b {
        Block::Breakpoint(s) => Some(s),
        _ => None,
    });
    let mut solve = None;
    for s in breakpoint.into_iter().flatten() {
        if let Stmt::Solve {
            block,
            method,
            steady,
        } = s
        {
            let kinetic = module
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Kinetic(d) if d.name.name == block.name));
            let derivative = module
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Derivative(d) if d.name.name == block.name));
            if !kinetic && !derivative {
                return Err(fail(
                    block.at,
                    format!(
                        "SOLVE `{}`: no DERIVATIVE or KINETIC block of that name",
                        block.name
                    ),
                ));
            }
            if *steady {
                return Err(fail(
                    block.at,
                    "STEADYSTATE in BREAKPOINT (it belongs in INITIAL)".into(),
                ));
            }
            let at = method.as_ref().map_or(block.at, |m| m.at);
            let m = match (kinetic, method.as_ref().map(|m| m.name.as_str())) {
                (true, Some("sparse")) => Method::Sparse,
                (true, _) => {
                    return Err(fail(
                        at,
                        format!("KINETIC `{}` is solved by METHOD sparse", block.name),
                    ));
                }
                (false, Some("cnexp")) => Method::Cnexp,
                (false, Some("derivimplicit")) => Method::Derivimplicit,
                (false, Some("euler")) => Method::Euler,
                (false, Some(other)) => {
                    return Err(fail(
                        at,
                        format!("METHOD {other} is not supported (cnexp, derivimplicit, euler)"),
                    ));
                }
                (false, None) => {
                    return Err(fail(
                        block.at,
                        "SOLVE needs a METHOD (cnexp, derivimplicit or euler)".into(),
                    ));
                }
            };
            if solve.replace((block.name.clone(), m)).is_some() {
                return Err(fail(block.at, "more than one SOLVE in BREAKPOINT".into()));
            }
        }
    }

    // The species of kinetic schemes are states.
    for b in &module.blocks {
        if let Block::Kinetic(k) = b {
            for n in species_of(&k.body) {
                if !state_set.contains(n.name.as_str()) {
                    return Err(fail(n.at, format!("species `{}` is not a STATE", n.name)));
                }
            }
        }
    }

    let mut currents: Vec<String> = ion_currents.iter().map(|c| c.1.clone()).collect();
    currents.extend(nonspecific.iter().map(|n| n.name.clone()));
    let ion = match (ion_currents.as_slice(), nonspecific.is_empty()) {
        ([(ion, _)], true) => Some(*ion),
        _ => None,
    };
    let file = File {
        path: path.to_string(),
        source: source.to_string(),
        module,
        suffix: suffix.name.clone(),
        read_only,
        assigned: assigned_names,
        solve,
    };
    let mech = Nmodl {
        params: specs,
        states: state_specs,
        inputs,
        input_names,
        state_names: state_decls.iter().map(|d| d.name.name.clone()).collect(),
        state_start,
        currents,
        ion,
        pool: pool.map(|p| p.0),
        globals,
        file: Arc::new(file),
    };
    // Every phase is recorded once now, so that errors in the math are found
    // when the file is read (at two temperatures, for branches on celsius).
    for celsius in [6.3, 37.0] {
        mech.try_ir(0.025, celsius)?;
    }
    Ok(mech)
}

impl Channel for Nmodl {
    fn name(&self) -> &str {
        &self.file.suffix
    }
    fn params(&self) -> &[ParamSpec] {
        &self.params
    }
    fn states(&self) -> &[StateSpec] {
        &self.states
    }
    fn ion(&self) -> Option<Ion> {
        self.ion
    }
    fn inputs(&self) -> &[IonVar] {
        &self.inputs
    }
    fn pool(&self) -> Option<Ion> {
        self.pool
    }
    fn ir(&self, dt: f64, celsius: f64) -> ChannelIr {
        self.try_ir(dt, celsius)
            .unwrap_or_else(|e| panic!("{e} (at dt {dt} ms, {celsius} degC)"))
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}
