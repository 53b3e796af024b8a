//! The NMODL grammar (the subset channel files use), parsed with winnow into
//! the tree of [`crate::ast`]. Every token parser skips the whitespace and
//! comments after it; constructs outside the subset are either read and
//! marked [`Unsupported`] (so that the error names them) or refused here.

use winnow::LocatingSlice;
use winnow::combinator::{alt, cut_err, opt, peek, separated};
use winnow::error::{ContextError, ErrMode, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::stream::{Location, Stream};
use winnow::token::{any, literal, one_of, take_until, take_while};

use crate::ast::{
    BinOp, Block, Body, Callable, Decl, Expr, Module, Name, NeuronStmt, Stmt, UnitConst,
    Unsupported,
};

type In<'a> = LocatingSlice<&'a str>;
type PResult<T> = ModalResult<T>;

/// A syntax error: the byte offset where it was found and what was expected
/// there.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where.
    pub at: usize,
    /// What was expected (or what is wrong).
    pub message: String,
}

/// The deepest nesting of blocks and parentheses read (real files stay
/// below ten; recursion must not overflow the stack).
const MAX_DEPTH: usize = 32;
/// The most operations in one expression.
const MAX_NODES: usize = 512;

thread_local! {
    /// The current nesting, and the operations of the current expression.
    static NESTING: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// Runs `f` one level deeper, refusing beyond [`MAX_DEPTH`]; at the top
/// level a new expression's operation count starts.
fn nested<T>(i: &mut In, f: impl FnOnce(&mut In) -> PResult<T>) -> PResult<T> {
    let (depth, nodes) = NESTING.get();
    if depth == MAX_DEPTH {
        return refuse("nested too deeply (more than 32 levels of blocks or parentheses)");
    }
    NESTING.set((depth + 1, if depth == 0 { 0 } else { nodes }));
    let r = f(i);
    NESTING.set((depth, NESTING.get().1));
    r
}

/// Counts one operation of the current expression.
fn operation() -> PResult<()> {
    let (depth, nodes) = NESTING.get();
    if nodes == MAX_NODES {
        return refuse("expression too large (more than 512 operations)");
    }
    NESTING.set((depth, nodes + 1));
    Ok(())
}

/// Parses a whole file.
pub fn module(source: &str) -> Result<Module, SyntaxError> {
    NESTING.set((0, 0));
    let mut i = LocatingSlice::new(source);
    let parsed = (|i: &mut In| {
        ws(i)?;
        let mut blocks = Vec::new();
        while !i.is_empty() {
            if let Some(b) = block(i)? {
                blocks.push(b);
            }
        }
        Ok(Module { blocks })
    })(&mut i);
    parsed.map_err(|e: ErrMode<ContextError>| {
        let e = e.into_inner().unwrap_or_default();
        SyntaxError {
            at: i.current_token_start(),
            message: describe(&e),
        }
    })
}

/// The message of a parse error: the labels and the expected items.
fn describe(e: &ContextError) -> String {
    let mut labels = Vec::new();
    let mut expected = Vec::new();
    for c in e.context() {
        match c {
            StrContext::Label(l) => labels.push(l.to_string()),
            StrContext::Expected(x) => expected.push(x.to_string()),
            _ => {}
        }
    }
    match (labels.first(), expected.is_empty()) {
        (Some(l), true) => l.clone(),
        (Some(l), false) => format!("{l}: expected {}", expected.join(" or ")),
        (None, false) => format!("expected {}", expected.join(" or ")),
        (None, true) => "unexpected input".into(),
    }
}

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

/// A committed failure with `what` as its message.
fn refuse<T>(what: &'static str) -> PResult<T> {
    let mut e = ContextError::new();
    e.push(StrContext::Label(what));
    Err(ErrMode::Cut(e))
}

/// Skips whitespace, `:` and `?` comments, COMMENT ... ENDCOMMENT and the
/// UNITSOFF / UNITSON switches.
fn ws(i: &mut In) -> PResult<()> {
    loop {
        take_while(0.., char::is_whitespace).parse_next(i)?;
        if i.starts_with(':') || i.starts_with('?') {
            take_while(0.., |c| c != '\n').parse_next(i)?;
        } else if at_word(i, "COMMENT") {
            cut_err((take_until(0.., "ENDCOMMENT"), literal("ENDCOMMENT")))
                .context(expected("ENDCOMMENT"))
                .parse_next(i)?;
        } else if at_word(i, "UNITSOFF") || at_word(i, "UNITSON") {
            ident_raw(i)?;
        } else {
            return Ok(());
        }
    }
}

/// The identifier at the start of the input, without consuming it.
fn peek_word<'a>(i: &In<'a>) -> Option<&'a str> {
    let s: &'a str = i;
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let w = &s[..end];
    (w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')).then_some(w)
}

fn at_word(i: &In, w: &str) -> bool {
    peek_word(i) == Some(w)
}

fn ident_raw<'a>(i: &mut In<'a>) -> PResult<&'a str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .parse_next(i)
}

/// An identifier.
fn name(i: &mut In) -> PResult<Name> {
    let at = i.current_token_start();
    let s = ident_raw.context(expected("a name")).parse_next(i)?;
    ws(i)?;
    Ok(Name {
        name: s.to_string(),
        at,
    })
}

/// The keyword `w`.
fn kw<'a>(w: &'static str) -> impl Parser<In<'a>, (), ErrMode<ContextError>> {
    move |i: &mut In<'a>| {
        ident_raw
            .verify(|s: &str| s == w)
            .context(StrContext::Expected(StrContextValue::StringLiteral(w)))
            .parse_next(i)?;
        ws(i)
    }
}

/// The symbol `s`.
fn sym<'a>(s: &'static str) -> impl Parser<In<'a>, (), ErrMode<ContextError>> {
    move |i: &mut In<'a>| {
        literal(s)
            .context(StrContext::Expected(StrContextValue::StringLiteral(s)))
            .parse_next(i)?;
        ws(i)
    }
}

/// One or more decimal digits.
fn digits<'a>(i: &mut In<'a>) -> PResult<&'a str> {
    take_while(1.., |c: char| c.is_ascii_digit()).parse_next(i)
}

/// An unsigned number literal.
fn number(i: &mut In) -> PResult<f64> {
    let s = (
        alt((
            (
                digits,
                opt(('.', take_while(0.., |c: char| c.is_ascii_digit()))),
            )
                .void(),
            ('.', digits).void(),
        )),
        opt((one_of(['e', 'E']), opt(one_of(['+', '-'])), digits)),
    )
        .take()
        .context(expected("a number"))
        .parse_next(i)?;
    ws(i)?;
    Ok(s.parse().expect("the literal's grammar is Rust's"))
}

/// A number with an optional sign.
fn signed(i: &mut In) -> PResult<f64> {
    let sign = opt(alt((sym("-").value(-1.0), sym("+").value(1.0)))).parse_next(i)?;
    Ok(sign.unwrap_or(1.0) * number(i)?)
}

/// A unit in parentheses, `(mA/cm2)`: its text.
fn units(i: &mut In) -> PResult<String> {
    let u = (
        '(',
        take_while(0.., |c: char| {
            c.is_ascii_alphanumeric() || " \t/*._-+^".contains(c)
        }),
        ')',
    )
        .map(|(_, u, _): (char, &str, char)| u.trim().to_string())
        .parse_next(i)?;
    ws(i)?;
    Ok(u)
}

/// A unit written after a number in an expression: as [`units`], but only
/// where its text is a unit (names a unit or divides), so that `2 (x)` is
/// not taken for one.
fn expr_units(i: &mut In) -> PResult<()> {
    units
        .verify(|u: &String| u.contains(|c: char| c.is_ascii_alphabetic() || c == '/'))
        .void()
        .parse_next(i)
}

/// Names separated by commas (or by whitespace alone, as NEURON allows).
fn names(i: &mut In) -> PResult<Vec<Name>> {
    let mut v = vec![name(i)?];
    loop {
        if opt(sym(",")).parse_next(i)?.is_some() {
            v.push(cut_err(name).parse_next(i)?);
        } else {
            return Ok(v);
        }
    }
}

/// Skips a balanced `{ ... }` group.
fn skip_braces(i: &mut In) -> PResult<()> {
    cut_err(sym("{")).parse_next(i)?;
    let mut depth = 1;
    while depth > 0 {
        match cut_err(any.context(expected("`}`"))).parse_next(i)? {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
    }
    ws(i)
}

/// One top-level block (None for blocks with no bearing on the model).
fn block(i: &mut In) -> PResult<Option<Block>> {
    let at = i.current_token_start();
    let Some(word) = peek_word(i) else {
        return cut_err(ident_raw)
            .context(expected("a block such as NEURON, PARAMETER or BREAKPOINT"))
            .map(|_| None)
            .parse_next(i);
    };
    let unsupported = |what: &str| {
        Block::Unsupported(Unsupported {
            what: what.to_string(),
            at,
        })
    };
    let start = i.checkpoint();
    ident_raw(i)?;
    ws(i)?;
    let b = match word {
        "TITLE" => {
            take_while(0.., |c| c != '\n').parse_next(i)?;
            ws(i)?;
            return Ok(None);
        }
        "INDEPENDENT" => {
            skip_braces(i)?;
            return Ok(None);
        }
        "NEURON" => Block::Neuron(braced(i, neuron_stmt)?),
        "UNITS" => Block::Units(braced(i, unit_def)?.into_iter().flatten().collect()),
        "PARAMETER" => Block::Parameter(braced(i, decl)?),
        "ASSIGNED" => Block::Assigned(braced(i, decl)?),
        "STATE" => Block::State(braced(i, decl)?),
        "CONSTANT" => Block::Constant(braced(i, decl)?),
        "DEFINE" => {
            let d = Decl {
                name: cut_err(name).parse_next(i)?,
                value: Some(cut_err(signed).parse_next(i)?),
                unit: None,
                limits: None,
            };
            Block::Constant(vec![d])
        }
        "INITIAL" => Block::Initial(body(i)?),
        "BREAKPOINT" => Block::Breakpoint(body(i)?),
        "DERIVATIVE" => Block::Derivative(Callable {
            name: cut_err(name).parse_next(i)?,
            args: vec![],
            body: body(i)?,
        }),
        "PROCEDURE" | "FUNCTION" => {
            let c = callable(i)?;
            if word == "PROCEDURE" {
                Block::Procedure(c)
            } else {
                Block::Function(c)
            }
        }
        "VERBATIM" => {
            skip_verbatim(i)?;
            unsupported("VERBATIM (C code)")
        }
        "KINETIC" => Block::Kinetic(Callable {
            name: cut_err(name).parse_next(i)?,
            args: vec![],
            body: body(i)?,
        }),
        "NET_RECEIVE" | "LINEAR" | "NONLINEAR" | "DISCRETE" | "PARTIAL" | "BEFORE" | "AFTER"
        | "CONSTRUCTOR" | "DESTRUCTOR" | "FUNCTION_TABLE" | "LOCAL" => {
            take_while(0.., |c| c != '{' && c != '\n').parse_next(i)?;
            ws(i)?;
            if i.starts_with('{') {
                skip_braces(i)?;
            }
            unsupported(&format!("{word} block"))
        }
        _ => {
            i.reset(&start);
            return refuse(
                "unknown block: expected NEURON, UNITS, PARAMETER, ASSIGNED, STATE, INITIAL, BREAKPOINT, DERIVATIVE, PROCEDURE or FUNCTION",
            );
        }
    };
    Ok(Some(b))
}

/// `{ item* }`.
fn braced<T>(i: &mut In, mut item: impl FnMut(&mut In) -> PResult<T>) -> PResult<Vec<T>> {
    cut_err(sym("{")).parse_next(i)?;
    let mut v = Vec::new();
    loop {
        if opt(sym("}")).parse_next(i)?.is_some() {
            return Ok(v);
        }
        if i.is_empty() {
            cut_err(sym("}")).parse_next(i)?;
        }
        v.push(cut_err(|i: &mut In| item(i)).parse_next(i)?);
    }
}

/// Skips VERBATIM ... ENDVERBATIM (the keyword already read).
fn skip_verbatim(i: &mut In) -> PResult<()> {
    cut_err((take_until(0.., "ENDVERBATIM"), literal("ENDVERBATIM")))
        .context(expected("ENDVERBATIM"))
        .parse_next(i)?;
    ws(i)
}

fn neuron_stmt(i: &mut In) -> PResult<NeuronStmt> {
    let word = name(i)?;
    Ok(match word.name.as_str() {
        "SUFFIX" => NeuronStmt::Suffix(cut_err(name).parse_next(i)?),
        "POINT_PROCESS" | "ARTIFICIAL_CELL" => {
            NeuronStmt::PointProcess(cut_err(name).parse_next(i)?)
        }
        "USEION" => {
            let ion = cut_err(name).parse_next(i)?;
            let read = opt((kw("READ"), cut_err(names)))
                .parse_next(i)?
                .map_or(vec![], |x| x.1);
            let write = opt((kw("WRITE"), cut_err(names)))
                .parse_next(i)?
                .map_or(vec![], |x| x.1);
            let valence = opt((kw("VALENCE"), cut_err(signed)))
                .parse_next(i)?
                .map(|x| x.1);
            NeuronStmt::UseIon {
                ion,
                read,
                write,
                valence,
            }
        }
        "NONSPECIFIC_CURRENT" => NeuronStmt::Nonspecific(cut_err(names).parse_next(i)?),
        "RANGE" => NeuronStmt::Range(cut_err(names).parse_next(i)?),
        "GLOBAL" => NeuronStmt::Global(cut_err(names).parse_next(i)?),
        "THREADSAFE" => {
            // THREADSAFE may name variables; a keyword on the next line
            // must not be taken for one.
            let mut v = Vec::new();
            while let Some(w) = peek_word(i) {
                if w.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    break;
                }
                v.push(name(i)?);
                opt(sym(",")).parse_next(i)?;
            }
            NeuronStmt::Other(word, v)
        }
        "POINTER" | "BBCOREPOINTER" | "EXTERNAL" | "ELECTRODE_CURRENT" | "REPRESENTS" => {
            let v = cut_err(names).parse_next(i)?;
            NeuronStmt::Other(word, v)
        }
        _ => {
            return refuse(
                "unknown NEURON statement: expected SUFFIX, POINT_PROCESS, USEION, NONSPECIFIC_CURRENT, RANGE, GLOBAL or THREADSAFE",
            );
        }
    })
}

/// One UNITS entry: an alias `(mV) = (millivolt)` (None) or a constant
/// `FARADAY = (faraday) (coulombs)`.
fn unit_def(i: &mut In) -> PResult<Option<UnitConst>> {
    if i.starts_with('(') {
        units(i)?;
        cut_err((sym("="), units)).parse_next(i)?;
        return Ok(None);
    }
    let n = name(i)?;
    cut_err(sym("=")).parse_next(i)?;
    let from = cut_err(units.context(expected("a unit in parentheses"))).parse_next(i)?;
    let to = opt(units).parse_next(i)?.unwrap_or_default();
    Ok(Some(UnitConst { name: n, from, to }))
}

/// A declaration: `name [= value] [(unit)] [<lo, hi>] [FROM a TO b]`.
fn decl(i: &mut In) -> PResult<Decl> {
    let n = name(i)?;
    if i.starts_with('[') {
        return refuse("array variables are not supported");
    }
    let value = opt((sym("="), cut_err(signed))).parse_next(i)?.map(|x| x.1);
    let unit = opt(units).parse_next(i)?;
    let limits = opt((sym("<"), cut_err((signed, sym(","), signed, sym(">")))))
        .parse_next(i)?
        .map(|(_, (lo, _, hi, _))| (lo, hi));
    opt((kw("FROM"), cut_err((signed, kw("TO"), signed)))).parse_next(i)?;
    Ok(Decl {
        name: n,
        value,
        unit,
        limits,
    })
}

/// `name(args) [(unit)] { ... }` of a PROCEDURE or FUNCTION.
fn callable(i: &mut In) -> PResult<Callable> {
    let n = cut_err(name).parse_next(i)?;
    cut_err(sym("(")).parse_next(i)?;
    let args: Vec<Name> = if opt(sym(")")).parse_next(i)?.is_some() {
        vec![]
    } else {
        let a = cut_err(separated(1.., (name, opt(units)).map(|x| x.0), sym(","))).parse_next(i)?;
        cut_err(sym(")")).parse_next(i)?;
        a
    };
    opt(units).parse_next(i)?;
    Ok(Callable {
        name: n,
        args,
        body: body(i)?,
    })
}

/// `{ statement* }`.
fn body(i: &mut In) -> PResult<Body> {
    nested(i, |i| braced(i, stmt))
}

fn stmt(i: &mut In) -> PResult<Stmt> {
    let at = i.current_token_start();
    if i.starts_with('{') {
        return Ok(Stmt::Block(body(i)?));
    }
    if opt(sym("~")).parse_next(i)?.is_some() {
        return cut_err(reaction).parse_next(i);
    }
    let word = name(i)?;
    let s = match word.name.as_str() {
        "LOCAL" => Stmt::Local(cut_err(names).parse_next(i)?),
        "SOLVE" => {
            let block = cut_err(name).parse_next(i)?;
            let method = opt((kw("METHOD"), cut_err(name)))
                .parse_next(i)?
                .map(|x| x.1);
            match opt((kw("STEADYSTATE"), cut_err(name))).parse_next(i)? {
                Some((_, m)) => Stmt::Solve {
                    block,
                    method: Some(m),
                    steady: true,
                },
                None => Stmt::Solve {
                    block,
                    method,
                    steady: false,
                },
            }
        }
        "TABLE" => {
            cut_err((
                names,
                opt((kw("DEPEND"), names)),
                kw("FROM"),
                expr,
                kw("TO"),
                expr,
                kw("WITH"),
                number,
            ))
            .parse_next(i)?;
            Stmt::Table
        }
        "if" => if_stmt(i)?,
        "VERBATIM" => {
            skip_verbatim(i)?;
            Stmt::Unsupported(Unsupported {
                what: "VERBATIM (C code)".into(),
                at,
            })
        }
        "CONSERVE" => {
            let terms = cut_err(species).parse_next(i)?;
            cut_err(sym("=")).parse_next(i)?;
            Stmt::Conserve {
                terms,
                total: cut_err(expr).parse_next(i)?,
            }
        }
        "while"
        | "for"
        | "FROM"
        | "COMPARTMENT"
        | "LONGITUDINAL_DIFFUSION"
        | "WATCH"
        | "FOR_NETCONS"
        | "MUTEXLOCK"
        | "MUTEXUNLOCK"
        | "NONLINEAR"
        | "LINEAR" => {
            return refuse(
                "unsupported statement: loops, kinetic and event statements are not supported",
            );
        }
        _ => {
            if opt(sym("'")).parse_next(i)?.is_some() {
                cut_err(sym("=")).parse_next(i)?;
                Stmt::Derivative(word, cut_err(expr).parse_next(i)?)
            } else if peek(sym("(")).parse_next(i).is_ok() {
                Stmt::Call(word, call_args(i)?)
            } else {
                (sym("="), peek(not_eq))
                    .context(expected("`=`, `'` or `(` after a name"))
                    .parse_next(i)
                    .map_err(ErrMode::cut)?;
                Stmt::Assign(word, cut_err(expr).parse_next(i)?)
            }
        }
    };
    Ok(s)
}

/// After `~`: `species <-> species (forward, backward)` or
/// `species << (flux)`.
fn reaction(i: &mut In) -> PResult<Stmt> {
    let lhs = species(i)?;
    if opt(sym("<<")).parse_next(i)?.is_some() {
        let flux = (sym("("), expr, sym(")")).map(|x| x.1).parse_next(i)?;
        return Ok(Stmt::Reaction {
            lhs,
            rhs: vec![],
            forward: flux,
            backward: None,
        });
    }
    sym("<->").parse_next(i)?;
    let rhs = species(i)?;
    let (_, forward, _, backward, _) = (sym("("), expr, sym(","), expr, sym(")")).parse_next(i)?;
    Ok(Stmt::Reaction {
        lhs,
        rhs,
        forward,
        backward: Some(backward),
    })
}

/// `[k] name + [k] name ...`: species with coefficients (1 if none given).
fn species(i: &mut In) -> PResult<Vec<(f64, Name)>> {
    let one = |i: &mut In| -> PResult<(f64, Name)> {
        let k = opt(number).parse_next(i)?.unwrap_or(1.0);
        opt(sym("*")).parse_next(i)?;
        Ok((k, name(i)?))
    };
    let mut v = vec![one(i)?];
    while opt(sym("+")).parse_next(i)?.is_some() {
        v.push(cut_err(one).parse_next(i)?);
    }
    Ok(v)
}

/// Succeeds where the next character is not `=` (after an `=`, so that
/// `==` is not an assignment).
fn not_eq(i: &mut In) -> PResult<()> {
    if i.starts_with('=') {
        return Err(ErrMode::Backtrack(ContextError::new()));
    }
    Ok(())
}

/// `if (cond) body [else (if ... | body)]` after the `if`.
fn if_stmt(i: &mut In) -> PResult<Stmt> {
    nested(i, if_rest)
}

/// [`if_stmt`] within its nesting level.
fn if_rest(i: &mut In) -> PResult<Stmt> {
    let cond = cut_err((sym("("), expr, sym(")")))
        .map(|x| x.1)
        .parse_next(i)?;
    let then = body(i)?;
    let otherwise = if opt(kw("else")).parse_next(i)?.is_some() {
        if opt(kw("if")).parse_next(i)?.is_some() {
            vec![if_stmt(i)?]
        } else {
            body(i)?
        }
    } else {
        vec![]
    };
    Ok(Stmt::If {
        cond,
        then,
        otherwise,
    })
}

/// `(args)` of a call.
fn call_args(i: &mut In) -> PResult<Vec<Expr>> {
    sym("(").parse_next(i)?;
    if opt(sym(")")).parse_next(i)?.is_some() {
        return Ok(vec![]);
    }
    let a = cut_err(separated(1.., expr, sym(","))).parse_next(i)?;
    cut_err(sym(")")).parse_next(i)?;
    Ok(a)
}

/// An expression (lowest precedence: `||`).
pub(crate) fn expr(i: &mut In) -> PResult<Expr> {
    nested(i, |i| binary(i, 0))
}

/// The binary operators by precedence level, lowest first; at each level
/// longer symbols come first.
const LEVELS: [&[(&str, BinOp)]; 6] = [
    &[("||", BinOp::Or)],
    &[("&&", BinOp::And)],
    &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
    &[
        ("<=", BinOp::Le),
        (">=", BinOp::Ge),
        ("<", BinOp::Lt),
        (">", BinOp::Gt),
    ],
    &[("+", BinOp::Add), ("-", BinOp::Sub)],
    &[("*", BinOp::Mul), ("/", BinOp::Div)],
];

/// Left-associative operators of `level` and above.
fn binary(i: &mut In, level: usize) -> PResult<Expr> {
    if level == LEVELS.len() {
        return unary(i);
    }
    let mut lhs = binary(i, level + 1)?;
    'outer: loop {
        for &(s, op) in LEVELS[level] {
            if i.starts_with(s) {
                sym(s).parse_next(i)?;
                let rhs = cut_err(|i: &mut In| binary(i, level + 1)).parse_next(i)?;
                operation()?;
                lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
                continue 'outer;
            }
        }
        return Ok(lhs);
    }
}

/// `-a`, `+a`, `!a`, or a power.
fn unary(i: &mut In) -> PResult<Expr> {
    operation()?;
    if opt(sym("-")).parse_next(i)?.is_some() {
        return Ok(Expr::Neg(Box::new(cut_err(unary).parse_next(i)?)));
    }
    if opt(sym("+")).parse_next(i)?.is_some() {
        return cut_err(unary).parse_next(i);
    }
    if i.starts_with('!') && !i.starts_with("!=") {
        sym("!").parse_next(i)?;
        return Ok(Expr::Not(Box::new(cut_err(unary).parse_next(i)?)));
    }
    let base = primary(i)?;
    if opt(sym("^")).parse_next(i)?.is_some() {
        let exponent = cut_err(unary).parse_next(i)?;
        return Ok(Expr::Binary(BinOp::Pow, Box::new(base), Box::new(exponent)));
    }
    Ok(base)
}

/// A number (with an optional unit), a call, a variable or a parenthesised
/// expression.
fn primary(i: &mut In) -> PResult<Expr> {
    if i.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        let x = number(i)?;
        opt(expr_units).parse_next(i)?;
        return Ok(Expr::Num(x));
    }
    if opt(sym("(")).parse_next(i)?.is_some() {
        let e = cut_err(expr).parse_next(i)?;
        cut_err(sym(")")).parse_next(i)?;
        return Ok(e);
    }
    let n = name.context(expected("an expression")).parse_next(i)?;
    if i.starts_with('(') {
        return Ok(Expr::Call(n, call_args(i)?));
    }
    Ok(Expr::Var(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_expr(s: &str) -> Expr {
        let mut i = LocatingSlice::new(s);
        let e = expr(&mut i).unwrap();
        assert!(i.is_empty(), "left: {:?}", &*i);
        e
    }

    fn var(s: &str, at: usize) -> Expr {
        Expr::Var(Name { name: s.into(), at })
    }

    #[test]
    fn precedence_and_associativity() {
        use BinOp::*;
        let b = |op, x, y| Expr::Binary(op, Box::new(x), Box::new(y));
        // a - b - c = (a - b) - c; -a^2 = -(a^2); a < b && !c.
        assert_eq!(
            parse_expr("a - b - c"),
            b(Sub, b(Sub, var("a", 0), var("b", 4)), var("c", 8))
        );
        assert_eq!(
            parse_expr("-a^2"),
            Expr::Neg(Box::new(b(Pow, var("a", 1), Expr::Num(2.0))))
        );
        assert_eq!(
            parse_expr("a*b+c/d"),
            b(
                Add,
                b(Mul, var("a", 0), var("b", 2)),
                b(Div, var("c", 4), var("d", 6))
            )
        );
        assert_eq!(
            parse_expr("a < b && !c"),
            b(
                And,
                b(Lt, var("a", 0), var("b", 4)),
                Expr::Not(Box::new(var("c", 10)))
            )
        );
        assert_eq!(
            parse_expr("2^-1"),
            b(Pow, Expr::Num(2.0), Expr::Neg(Box::new(Expr::Num(1.0))))
        );
    }

    #[test]
    fn numbers_take_units_but_calls_and_groups_are_not_units() {
        assert_eq!(parse_expr("1e-3 (mV)"), Expr::Num(1e-3));
        assert_eq!(parse_expr(".5"), Expr::Num(0.5));
        assert!(matches!(parse_expr("f(2)"), Expr::Call(..)));
        assert!(matches!(parse_expr("(2)*x"), Expr::Binary(BinOp::Mul, ..)));
    }

    #[test]
    fn errors_point_at_the_offending_text() {
        let e = module("NEURON { SUFFIX x }\nBREAKPOINT { a = }").unwrap_err();
        assert_eq!(e.at, 37);
        assert!(e.message.contains("expected"), "{}", e.message);
        let e = module("NEURON { SUFFIX x }\nFOO { }").unwrap_err();
        assert!(e.message.contains("unknown block"), "{}", e.message);
        let e = module("COMMENT never closed").unwrap_err();
        assert!(e.message.contains("ENDCOMMENT"), "{}", e.message);
    }
}
