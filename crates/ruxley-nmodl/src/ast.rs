//! The syntax tree of an NMODL file. Positions are byte offsets into the
//! source (see [`crate::NmodlError`] for how they are reported).

/// A whole file: its blocks in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// The top-level blocks.
    pub blocks: Vec<Block>,
}

/// A top-level block.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The NEURON block's statements.
    Neuron(Vec<NeuronStmt>),
    /// The UNITS block's named constants (unit aliases are dropped).
    Units(Vec<UnitConst>),
    /// PARAMETER declarations.
    Parameter(Vec<Decl>),
    /// ASSIGNED declarations.
    Assigned(Vec<Decl>),
    /// STATE declarations.
    State(Vec<Decl>),
    /// CONSTANT declarations.
    Constant(Vec<Decl>),
    /// INITIAL.
    Initial(Body),
    /// BREAKPOINT.
    Breakpoint(Body),
    /// DERIVATIVE `name`.
    Derivative(Callable),
    /// KINETIC `name`.
    Kinetic(Callable),
    /// PROCEDURE `name(args)`.
    Procedure(Callable),
    /// FUNCTION `name(args)`.
    Function(Callable),
    /// A block read but not supported (KINETIC, NET_RECEIVE, VERBATIM, ...).
    Unsupported(Unsupported),
}

/// Something read but not supported, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsupported {
    /// What it is (`VERBATIM`).
    pub what: String,
    /// Where it starts.
    pub at: usize,
}

/// A statement of the NEURON block.
#[derive(Debug, Clone, PartialEq)]
pub enum NeuronStmt {
    /// `SUFFIX name`.
    Suffix(Name),
    /// `POINT_PROCESS name` (or `ARTIFICIAL_CELL name`).
    PointProcess(Name),
    /// `USEION ion READ ... WRITE ... VALENCE z`.
    UseIon {
        /// The ion.
        ion: Name,
        /// The names read.
        read: Vec<Name>,
        /// The names written.
        write: Vec<Name>,
        /// The declared valence.
        valence: Option<f64>,
    },
    /// `NONSPECIFIC_CURRENT names`.
    Nonspecific(Vec<Name>),
    /// `RANGE names`.
    Range(Vec<Name>),
    /// `GLOBAL names`.
    Global(Vec<Name>),
    /// A statement with no bearing on the math (`THREADSAFE`, ...), or one
    /// that is refused later (`POINTER`, `ELECTRODE_CURRENT`, ...).
    Other(Name, Vec<Name>),
}

/// An identifier and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// The identifier.
    pub name: String,
    /// Where it is.
    pub at: usize,
}

/// `NAME = (unit) (unit)`: a physical constant from the units database.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitConst {
    /// The constant's name.
    pub name: Name,
    /// The unit it is read from (`faraday`).
    pub from: String,
    /// The unit it is expressed in (`coulombs`).
    pub to: String,
}

/// A declaration in PARAMETER, ASSIGNED, STATE or CONSTANT.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    /// The name.
    pub name: Name,
    /// The value given.
    pub value: Option<f64>,
    /// The unit given.
    pub unit: Option<String>,
    /// The limits `<lo, hi>` given.
    pub limits: Option<(f64, f64)>,
}

/// A DERIVATIVE block, PROCEDURE or FUNCTION.
#[derive(Debug, Clone, PartialEq)]
pub struct Callable {
    /// Its name.
    pub name: Name,
    /// Its arguments.
    pub args: Vec<Name>,
    /// Its body.
    pub body: Body,
}

/// A sequence of statements.
pub type Body = Vec<Stmt>;

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `LOCAL names`.
    Local(Vec<Name>),
    /// `name = value`.
    Assign(Name, Expr),
    /// `name' = value`.
    Derivative(Name, Expr),
    /// A procedure called as a statement.
    Call(Name, Vec<Expr>),
    /// `if (cond) { ... } else { ... }` (`else if` nests in `otherwise`).
    If {
        /// The condition.
        cond: Expr,
        /// The statements run where it holds.
        then: Body,
        /// The statements run elsewhere.
        otherwise: Body,
    },
    /// `SOLVE block METHOD method`, or `SOLVE block STEADYSTATE method`.
    Solve {
        /// The block solved.
        block: Name,
        /// The method named.
        method: Option<Name>,
        /// True for STEADYSTATE.
        steady: bool,
    },
    /// A reaction `~ lhs <-> rhs (forward, backward)`, or `~ x << (flux)`
    /// (`rhs` empty, `forward` the flux into `lhs`).
    Reaction {
        /// The species on the left with their coefficients.
        lhs: Vec<(f64, Name)>,
        /// The species on the right with their coefficients.
        rhs: Vec<(f64, Name)>,
        /// The forward rate (or the flux).
        forward: Expr,
        /// The backward rate (None for a flux).
        backward: Option<Expr>,
    },
    /// `CONSERVE sum = total`.
    Conserve {
        /// The terms of the sum: coefficient and species.
        terms: Vec<(f64, Name)>,
        /// The total.
        total: Expr,
    },
    /// `TABLE ...`: accepted; the functions are computed exactly.
    Table,
    /// A nested `{ ... }` block.
    Block(Body),
    /// A statement read but not supported.
    Unsupported(Unsupported),
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number (units after it dropped).
    Num(f64),
    /// A variable.
    Var(Name),
    /// A function call.
    Call(Name, Vec<Expr>),
    /// `-a`.
    Neg(Box<Expr>),
    /// `!a`.
    Not(Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `^`.
    Pow,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `&&`.
    And,
    /// `||`.
    Or,
}
