//! Running a mechanism's statements over any [`Real`]: on [`ruxley_ir::Expr`]
//! this records the expression graphs the backends compile; on dual numbers
//! it gives the derivative that cnexp and derivimplicit need.
//!
//! Values known when the graph is built (numbers, GLOBAL parameters,
//! `celsius`, `dt`) are computed at once in f64, as NEURON's compiled C code
//! computes them ([`Val`]); a branch on such a value takes one side only.
//! Branches on run-time values run both sides and select per compartment.

use std::collections::HashMap;

use ruxley_core::Real;

use crate::ast::{BinOp, Body, Callable, Expr, Name, Stmt};

/// An error while running statements: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// Byte offset in the source.
    pub at: usize,
    /// What went wrong.
    pub message: String,
}

type Result<T> = std::result::Result<T, EvalError>;

fn err<T>(at: usize, message: String) -> Result<T> {
    Err(EvalError { at, message })
}

use crate::kinetic::{Reaction, Scheme};
use crate::tangent::Tan;
use crate::value::Branch;
pub use crate::value::Val;
use Val::{Known, Run};

/// How a SOLVE integrates a DERIVATIVE block over one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// NEURON's `cnexp`: the exact step of x' = a + b x with a and b at the
    /// start of the step.
    Cnexp,
    /// NEURON's `derivimplicit`: the backward Euler step, solved by Newton's
    /// method.
    Derivimplicit,
    /// Forward Euler.
    Euler,
    /// NEURON's `sparse` for KINETIC blocks: the backward Euler step of the
    /// scheme, by Newton's method.
    Sparse,
}

/// Newton iterations of a derivimplicit step (one is exact for equations
/// linear in their state; more refine nonlinear ones).
const NEWTON: usize = 3;

/// A number the statements run on: `Expr` (recording graphs) integrates
/// `x' = f` with derivatives from tangents over itself; tangents, which
/// only evaluate expressions, refuse to.
pub trait Scalar: Real + PartialEq {
    /// The value of state `n` (now `x`) after one step of `n' = e`.
    fn integrate<'m>(
        run: &mut Interp<'m, Self>,
        n: &Name,
        e: &'m Expr,
        x: Val<Self>,
        method: Method,
    ) -> Result<Val<Self>>;
}

impl Scalar for ruxley_ir::Expr {
    fn integrate<'m>(
        run: &mut Interp<'m, Self>,
        n: &Name,
        e: &'m Expr,
        x: Val<Self>,
        method: Method,
    ) -> Result<Val<Self>> {
        run.integrate(n, e, x, method)
    }
}

impl<T: Real + PartialEq> Scalar for Tan<T> {
    fn integrate<'m>(
        _: &mut Interp<'m, Self>,
        n: &Name,
        _: &'m Expr,
        _: Val<Self>,
        _: Method,
    ) -> Result<Val<Self>> {
        err(
            n.at,
            format!("`{}'` inside a FUNCTION called from a derivative", n.name),
        )
    }
}

/// The deepest chain of FUNCTION / PROCEDURE calls.
const MAX_DEPTH: usize = 64;

/// The callables of a mechanism, by name.
#[derive(Debug, Default)]
pub struct Callables<'m> {
    /// FUNCTION blocks.
    pub functions: HashMap<&'m str, &'m Callable>,
    /// PROCEDURE blocks.
    pub procedures: HashMap<&'m str, &'m Callable>,
    /// KINETIC blocks.
    pub kinetics: HashMap<&'m str, &'m Callable>,
}

/// Names that look like variables of the simulator but are not available.
const UNAVAILABLE: [(&str, &str); 3] = [
    ("t", "time `t` is not available to mechanisms"),
    (
        "area",
        "`area` is not available (point processes are not supported)",
    ),
    ("diam", "`diam` is not available to mechanisms"),
];

/// One run of statements: the mechanism's variables, the local scopes of the
/// innermost call, and the step.
#[derive(Debug, Clone)]
pub struct Interp<'m, R> {
    calls: &'m Callables<'m>,
    /// Every declared variable; None until set.
    pub globals: HashMap<&'m str, Option<Val<R>>>,
    /// Names that may not be assigned, with what they are.
    read_only: &'m HashMap<String, &'static str>,
    frames: Vec<HashMap<&'m str, Option<Val<R>>>>,
    depth: usize,
    method: Option<Method>,
    /// The scheme of the KINETIC block being run.
    kinetic: Option<Scheme<'m, R>>,
    dt: f64,
}

impl<'m, R: Scalar> Interp<'m, R> {
    /// A run with the given variables.
    pub fn new(
        calls: &'m Callables<'m>,
        globals: HashMap<&'m str, Option<Val<R>>>,
        read_only: &'m HashMap<String, &'static str>,
        dt: f64,
    ) -> Self {
        Self {
            calls,
            globals,
            read_only,
            frames: vec![HashMap::new()],
            depth: 0,
            method: None,
            kinetic: None,
            dt,
        }
    }

    /// The value of a variable.
    pub fn read(&self, n: &Name) -> Result<Val<R>> {
        let slot = self
            .frames
            .iter()
            .rev()
            .find_map(|f| f.get(n.name.as_str()))
            .or_else(|| self.globals.get(n.name.as_str()));
        match slot {
            Some(Some(v)) => Ok(*v),
            Some(None) => err(n.at, format!("`{}` is read before it is set", n.name)),
            None => match UNAVAILABLE.iter().find(|u| u.0 == n.name) {
                Some((_, why)) => err(n.at, why.to_string()),
                None => err(n.at, format!("`{}` is not declared", n.name)),
            },
        }
    }

    fn write(&mut self, n: &Name, v: Val<R>) -> Result<()> {
        for f in self.frames.iter_mut().rev() {
            if let Some(slot) = f.get_mut(n.name.as_str()) {
                *slot = Some(v);
                return Ok(());
            }
        }
        if let Some(what) = self.read_only.get(&n.name) {
            return err(
                n.at,
                format!("`{}` is {what} and cannot be assigned", n.name),
            );
        }
        match self.globals.get_mut(n.name.as_str()) {
            Some(slot) => {
                *slot = Some(v);
                Ok(())
            }
            None => err(n.at, format!("`{}` is not declared", n.name)),
        }
    }

    /// Runs statements; `x' = f` integrates x by the method of the SOLVE
    /// being run, and is an error outside one.
    pub fn exec(&mut self, body: &'m Body) -> Result<()> {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    /// Runs a DERIVATIVE block by `method`.
    pub fn solve(&mut self, block: &'m Callable, method: Method) -> Result<()> {
        self.method = Some(method);
        let r = self.exec(&block.body);
        self.method = None;
        r
    }

    /// Runs a KINETIC block: one backward Euler step of its scheme, or
    /// (`steady`) its steady state.
    pub fn solve_kinetic(&mut self, block: &'m Callable, steady: bool) -> Result<()> {
        self.kinetic = Some(Scheme::default());
        self.method = Some(Method::Sparse);
        let r = self.exec(&block.body);
        self.method = None;
        let scheme = self.kinetic.take().expect("set above");
        r?;
        let species = scheme.species();
        let name = |s: &str| Name {
            name: s.to_string(),
            at: block.name.at,
        };
        let x = species
            .iter()
            .map(|s| self.read(&name(s)))
            .collect::<Result<Vec<_>>>()?;
        let y = if steady {
            scheme.steady(&species, &x)
        } else {
            scheme.step(&species, &x, self.dt)
        };
        for (s, v) in species.iter().zip(y) {
            self.write(&name(s), v)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &'m Stmt) -> Result<()> {
        match s {
            Stmt::Reaction {
                lhs,
                rhs,
                forward,
                backward,
            } => {
                let at = lhs[0].1.at;
                let forward = self.eval(forward)?;
                let backward = backward.as_ref().map(|b| self.eval(b)).transpose()?;
                let Some(scheme) = self.kinetic.as_mut() else {
                    return err(at, "a reaction outside a KINETIC block being SOLVEd".into());
                };
                let names =
                    |v: &'m [(f64, Name)]| v.iter().map(|(c, n)| (*c, n.name.as_str())).collect();
                scheme.reactions.push(Reaction {
                    lhs: names(lhs),
                    rhs: names(rhs),
                    forward,
                    backward,
                });
            }
            Stmt::Conserve { terms, total } => {
                let total = self.eval(total)?;
                let Some(scheme) = self.kinetic.as_mut() else {
                    return err(
                        terms[0].1.at,
                        "CONSERVE outside a KINETIC block being SOLVEd".into(),
                    );
                };
                let terms = terms.iter().map(|(c, n)| (*c, n.name.as_str())).collect();
                scheme.conserve.push((terms, total));
            }
            Stmt::Solve {
                block,
                method,
                steady: true,
            } => {
                let Some(k) = self.calls.kinetics.get(block.name.as_str()) else {
                    return err(
                        block.at,
                        format!(
                            "SOLVE {} STEADYSTATE: only KINETIC blocks (METHOD sparse) are solved to a steady state",
                            block.name
                        ),
                    );
                };
                if method.as_ref().is_none_or(|m| m.name != "sparse") {
                    return err(
                        block.at,
                        "STEADYSTATE of a KINETIC block needs `sparse`".into(),
                    );
                }
                self.solve_kinetic(k, true)?;
            }
            Stmt::Local(names) => {
                let frame = self.frames.last_mut().expect("a scope is open");
                for n in names {
                    frame.insert(n.name.as_str(), None);
                }
            }
            Stmt::Assign(n, e) => {
                let v = self.eval(e)?;
                self.write(n, v)?;
            }
            Stmt::Derivative(n, e) => {
                let Some(method) = self.method else {
                    return err(
                        n.at,
                        format!("`{}'` outside a DERIVATIVE block that is SOLVEd", n.name),
                    );
                };
                let x = self.read(n)?;
                let next = R::integrate(self, n, e, x, method)?;
                self.write(n, next)?;
            }
            Stmt::Call(n, args) => {
                self.call(n, args)?;
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => match self.branch(cond)? {
                Branch::Known(c) => self.exec(if c { then } else { otherwise })?,
                test => {
                    let mut other = self.clone();
                    self.exec(then)?;
                    other.exec(otherwise)?;
                    self.merge(test, other);
                }
            },
            Stmt::Block(b) => {
                self.frames.push(HashMap::new());
                let r = self.exec(b);
                self.frames.pop();
                r?;
            }
            // A SOLVE is run by the caller in the phase that advances the
            // states; the current phase skips it.
            Stmt::Solve { .. } | Stmt::Table => {}
            Stmt::Unsupported(u) => return err(u.at, format!("{} is not supported", u.what)),
        }
        Ok(())
    }

    /// Joins the two sides of a branch on `c`: `self` ran the side where it
    /// holds, `other` the other.
    fn merge(&mut self, test: Branch<R>, other: Self) {
        let join = |a: &mut HashMap<&'m str, Option<Val<R>>>,
                    b: HashMap<&'m str, Option<Val<R>>>| {
            for (k, y) in b {
                if let Some(x) = a.get_mut(k) {
                    *x = match (*x, y) {
                        (Some(x), Some(y)) => Some(test.select(x, y)),
                        _ => None,
                    };
                }
            }
        };
        join(&mut self.globals, other.globals);
        for (a, b) in self.frames.iter_mut().zip(other.frames) {
            join(a, b);
        }
    }

    /// The value of an expression.
    pub fn eval(&mut self, e: &'m Expr) -> Result<Val<R>> {
        Ok(match e {
            Expr::Num(x) => Known(*x),
            Expr::Var(n) => self.read(n)?,
            Expr::Call(n, args) => self.call(n, args)?,
            Expr::Neg(a) => -self.eval(a)?,
            Expr::Not(_)
            | Expr::Binary(
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne,
                ..,
            ) => self.branch(e)?.value(),
            Expr::Binary(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    BinOp::Pow => a.pow(b),
                    // 1 where both (either) are non-zero.
                    BinOp::And => Branch::truth(a).select(Branch::truth(b).value(), Known(0.0)),
                    _ => Branch::truth(a).select(Known(1.0), Branch::truth(b).value()),
                }
            }
        })
    }

    /// The test of a condition.
    fn branch(&mut self, e: &'m Expr) -> Result<Branch<R>> {
        Ok(match e {
            Expr::Not(a) => self.branch(a)?.not(),
            Expr::Binary(
                op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne),
                a,
                b,
            ) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                match op {
                    BinOp::Lt => Branch::lt(a, b),
                    BinOp::Gt => Branch::lt(b, a),
                    BinOp::Le => Branch::lt(b, a).not(),
                    BinOp::Ge => Branch::lt(a, b).not(),
                    BinOp::Eq => Branch::eq(a, b),
                    _ => Branch::eq(a, b).not(),
                }
            }
            _ => Branch::truth(self.eval(e)?),
        })
    }

    /// Calls a built-in function, a FUNCTION or a PROCEDURE (which returns
    /// 0, as in NEURON).
    fn call(&mut self, n: &Name, args: &'m [Expr]) -> Result<Val<R>> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        if let Some(v) = builtin(&n.name, &vals) {
            return v.ok_or_else(|| EvalError {
                at: n.at,
                message: format!("`{}` takes {} argument(s)", n.name, arity(&n.name)),
            });
        }
        let calls = self.calls;
        let (c, returns) = match (
            calls.functions.get(n.name.as_str()),
            calls.procedures.get(n.name.as_str()),
        ) {
            (Some(f), _) => (*f, true),
            (None, Some(p)) => (*p, false),
            (None, None) => {
                return err(n.at, format!("no FUNCTION or PROCEDURE named `{}`", n.name));
            }
        };
        if c.args.len() != vals.len() {
            return err(
                n.at,
                format!(
                    "`{}` takes {} argument(s), not {}",
                    n.name,
                    c.args.len(),
                    vals.len()
                ),
            );
        }
        if self.depth == MAX_DEPTH {
            return err(
                n.at,
                format!(
                    "calls nest deeper than {MAX_DEPTH} (recursion through `{}`?)",
                    n.name
                ),
            );
        }
        let mut frame: HashMap<&'m str, Option<Val<R>>> = c
            .args
            .iter()
            .zip(vals)
            .map(|(a, v)| (a.name.as_str(), Some(v)))
            .collect();
        if returns {
            frame.insert(c.name.name.as_str(), None);
        }
        let caller = std::mem::replace(&mut self.frames, vec![frame]);
        let method = self.method.take();
        self.depth += 1;
        let r = self.exec(&c.body);
        self.depth -= 1;
        self.method = method;
        let frames = std::mem::replace(&mut self.frames, caller);
        r?;
        if !returns {
            return Ok(Known(0.0));
        }
        match frames[0].get(c.name.name.as_str()) {
            Some(Some(v)) => Ok(*v),
            _ => err(
                c.name.at,
                format!("FUNCTION `{}` does not set its value", c.name.name),
            ),
        }
    }
}

impl<'m, R: Scalar> Interp<'m, R>
where
    Tan<R>: Scalar,
{
    /// The value of state `n` (now `x`) after one step of `n' = e`.
    fn integrate(&mut self, n: &Name, e: &'m Expr, x: Val<R>, method: Method) -> Result<Val<R>> {
        let dt = Known(self.dt);
        match method {
            Method::Sparse => err(
                n.at,
                format!("`{}'` inside a KINETIC block is not supported", n.name),
            ),
            Method::Euler => Ok(x + dt * self.eval(e)?),
            Method::Cnexp => {
                // x + (1 - e^(b dt)) (-f/b): the exact step of x' = f, linear
                // in x with slope b; x + dt f where b = 0.
                let (f, b) = self.slope(n, e, x)?;
                let exact =
                    |f: Val<R>, b: Val<R>| (Known(1.0) - (b * dt).map(f64::exp, R::exp)) * (-f / b);
                let delta = match b {
                    Known(0.0) => dt * f,
                    Known(_) => exact(f, b),
                    b => Branch::eq(b, Known(0.0)).select(dt * f, exact(f, b)),
                };
                Ok(x + delta)
            }
            Method::Derivimplicit => {
                // y = x + dt f(y) by Newton's method from y = x.
                let mut y = x;
                for _ in 0..NEWTON {
                    let saved = self.read(n)?;
                    self.write(n, y)?;
                    let (f, b) = self.slope(n, e, y)?;
                    self.write(n, saved)?;
                    y = y - (y - x - dt * f) / (Known(1.0) - dt * b);
                }
                Ok(y)
            }
        }
    }

    /// e and its derivative in state `n` (whose value is `x`), by running e
    /// on tangents (every other variable held fixed, as NEURON's cnexp
    /// reads the equation).
    fn slope(&self, n: &Name, e: &'m Expr, x: Val<R>) -> Result<(Val<R>, Val<R>)> {
        let lift = |v: Val<R>| match v {
            Known(c) => Known(c),
            Run(r) => Run(Tan::new(r, None)),
            Val::Recip { value, c, x } => Val::Recip {
                value: Tan::new(value, None),
                c,
                x: Tan::new(x, None),
            },
        };
        let lift_all =
            |m: &HashMap<&'m str, Option<Val<R>>>| -> HashMap<&'m str, Option<Val<Tan<R>>>> {
                m.iter().map(|(k, v)| (*k, v.map(lift))).collect()
            };
        let mut d: Interp<'m, Tan<R>> = Interp {
            calls: self.calls,
            globals: lift_all(&self.globals),
            read_only: self.read_only,
            frames: self.frames.iter().map(lift_all).collect(),
            depth: self.depth,
            method: None,
            kinetic: None,
            dt: self.dt,
        };
        d.write(n, Run(Tan::new(x.run(), Some(R::cst(1.0)))))?;
        Ok(match d.eval(e)? {
            Known(c) => (Known(c), Known(0.0)),
            v => {
                let t = v.run();
                (Run(t.re), t.eps.map_or(Known(0.0), Run))
            }
        })
    }
}

/// The built-in functions and how many arguments each takes.
const BUILTINS: [(&str, usize); 7] = [
    ("exp", 1),
    ("log", 1),
    ("log10", 1),
    ("fabs", 1),
    ("sqrt", 1),
    ("tanh", 1),
    ("pow", 2),
];

fn arity(name: &str) -> usize {
    BUILTINS.iter().find(|b| b.0 == name).map_or(0, |b| b.1)
}

/// A built-in function of `args`: None if `name` is none, Some(None) if the
/// number of arguments is wrong.
fn builtin<R: Real>(name: &str, args: &[Val<R>]) -> Option<Option<Val<R>>> {
    let n = arity(name);
    if n == 0 {
        return None;
    }
    if args.len() != n {
        return Some(None);
    }
    let x = args[0];
    Some(Some(match name {
        "exp" => x.map(f64::exp, R::exp),
        "log" => x.map(f64::ln, R::ln),
        "log10" => x.map(f64::log10, |r| r.ln() * (1.0 / std::f64::consts::LN_10)),
        "fabs" => x.map(f64::abs, R::abs),
        "sqrt" => x.map(f64::sqrt, R::sqrt),
        "tanh" => x.map(f64::tanh, R::tanh),
        _ => x.pow(args[1]),
    }))
}
