//! Values as functions of path distance in model files: `[[set]]` takes
//! `Ih_gbar = "8e-5 * (-0.8696 + 2.087 * exp(0.0031 * d))"`, an arithmetic
//! expression in `d`, the path distance (um) of each compartment from the
//! middle of its cell's root branch.
//!
//! The language: decimal numbers (`1`, `2.5`, `8e-5`), the variable `d`,
//! `+ - * /`, `^` (power, right-associative, binding tighter than unary
//! minus: `-2^2` is -4), parentheses, and the functions `exp`, `log`
//! (natural), `sqrt`, `abs`, `min(a, b)`, `max(a, b)` and `step(x)` (1 where
//! x >= 0, else 0: `step(d - 685) * step(885 - d)` is a hot zone). All
//! arithmetic is in f64.

use std::fmt;

/// A parsed expression in `d`.
#[derive(Debug, Clone, PartialEq)]
pub struct DistanceExpr(Node);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Number(f64),
    Distance,
    Neg(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Exp,
    Log,
    Sqrt,
    Abs,
    Min,
    Max,
    Step,
}

impl Func {
    const ALL: [(&'static str, Func, usize); 7] = [
        ("exp", Func::Exp, 1),
        ("log", Func::Log, 1),
        ("sqrt", Func::Sqrt, 1),
        ("abs", Func::Abs, 1),
        ("min", Func::Min, 2),
        ("max", Func::Max, 2),
        ("step", Func::Step, 1),
    ];
}

/// Where and why an expression does not parse (the column counts
/// characters from 1).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// The character where the problem is, from 1.
    pub column: usize,
    /// What was expected or found.
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.reason)
    }
}

impl std::error::Error for ParseError {}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl DistanceExpr {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut p = Parser {
            chars: text.chars().collect(),
            pos: 0,
            text,
        };
        let node = p.sum()?;
        p.skip_space();
        if p.pos < p.chars.len() {
            return Err(p.error(format!("unexpected `{}`", p.chars[p.pos])));
        }
        Ok(Self(node))
    }

    /// The value at path distance `d` (um).
    pub fn eval(&self, d: f64) -> f64 {
        self.0.eval(d)
    }
}

impl Node {
    fn eval(&self, d: f64) -> f64 {
        match self {
            Self::Number(x) => *x,
            Self::Distance => d,
            Self::Neg(a) => -a.eval(d),
            Self::Binary(op, a, b) => {
                let (a, b) = (a.eval(d), b.eval(d));
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div => a / b,
                    Op::Pow => a.powf(b),
                }
            }
            Self::Call(f, args) => {
                let x = args[0].eval(d);
                match f {
                    Func::Exp => x.exp(),
                    Func::Log => x.ln(),
                    Func::Sqrt => x.sqrt(),
                    Func::Abs => x.abs(),
                    // NaN in, NaN out (f64::min and max would drop it).
                    Func::Min | Func::Max => {
                        let y = args[1].eval(d);
                        if x.is_nan() || y.is_nan() {
                            f64::NAN
                        } else if *f == Func::Min {
                            x.min(y)
                        } else {
                            x.max(y)
                        }
                    }
                    Func::Step => {
                        if x >= 0.0 {
                            1.0
                        } else if x < 0.0 {
                            0.0
                        } else {
                            f64::NAN
                        }
                    }
                }
            }
        }
    }
}

impl Parser<'_> {
    fn error(&self, reason: String) -> ParseError {
        ParseError {
            column: self.pos + 1,
            reason,
        }
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    /// The next non-space character, not consumed.
    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.pos).copied()
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            let found = self.found();
            Err(self.error(format!("expected `{c}`, found {found}")))
        }
    }

    fn found(&mut self) -> String {
        match self.peek() {
            Some(c) => format!("`{c}`"),
            None => "the end".into(),
        }
    }

    fn sum(&mut self) -> Result<Node, ParseError> {
        let mut left = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.pos += 1;
            let right = self.product()?;
            let op = if op == '+' { Op::Add } else { Op::Sub };
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Node, ParseError> {
        let mut left = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.peek() {
            self.pos += 1;
            let right = self.unary()?;
            let op = if op == '*' { Op::Mul } else { Op::Div };
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        match self.peek() {
            Some('-') => {
                self.pos += 1;
                Ok(Node::Neg(Box::new(self.unary()?)))
            }
            Some('+') => {
                self.pos += 1;
                self.unary()
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<Node, ParseError> {
        let base = self.atom()?;
        if self.peek() == Some('^') {
            self.pos += 1;
            let exponent = self.unary()?;
            return Ok(Node::Binary(Op::Pow, Box::new(base), Box::new(exponent)));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Node, ParseError> {
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                let inner = self.sum()?;
                self.expect(')')?;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.name(),
            _ => {
                let found = self.found();
                Err(self.error(format!(
                    "expected a number, `d`, a function or `(`, found {found}"
                )))
            }
        }
    }

    fn number(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            while p.chars.get(p.pos).is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
            }
        };
        digits(self);
        if self.chars.get(self.pos) == Some(&'.') {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.chars.get(self.pos), Some('e' | 'E')) {
            let mark = self.pos;
            self.pos += 1;
            if matches!(self.chars.get(self.pos), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.chars.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                digits(self);
            } else {
                self.pos = mark;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse().map(Node::Number).map_err(|_| ParseError {
            column: start + 1,
            reason: format!("`{text}` is not a number"),
        })
    }

    fn name(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if name == "d" {
            return Ok(Node::Distance);
        }
        let Some(&(_, func, arity)) = Func::ALL.iter().find(|(n, _, _)| *n == name) else {
            return Err(ParseError {
                column: start + 1,
                reason: format!(
                    "unknown name `{name}` in `{}` (the variable is d; functions: exp, log, sqrt, abs, min, max, step)",
                    self.text
                ),
            });
        };
        self.expect('(')?;
        let mut args = vec![self.sum()?];
        while self.peek() == Some(',') {
            self.pos += 1;
            args.push(self.sum()?);
        }
        self.expect(')')?;
        if args.len() != arity {
            return Err(ParseError {
                column: start + 1,
                reason: format!("{name} takes {arity} argument(s), not {}", args.len()),
            });
        }
        Ok(Node::Call(func, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, d: f64) -> f64 {
        DistanceExpr::parse(text).unwrap().eval(d)
    }

    #[test]
    fn arithmetic_follows_the_usual_precedence() {
        assert_eq!(at("1 + 2 * 3", 0.0), 7.0);
        assert_eq!(at("(1 + 2) * 3", 0.0), 9.0);
        assert_eq!(at("8 / 4 / 2", 0.0), 1.0);
        assert_eq!(at("10 - 4 - 3", 0.0), 3.0);
        assert_eq!(at("2 ^ 3 ^ 2", 0.0), 512.0);
        assert_eq!(at("-2 ^ 2", 0.0), -4.0);
        assert_eq!(at("2 ^ -1", 0.0), 0.5);
        assert_eq!(at("1/2", 0.0), 0.5);
        assert_eq!(at("2.5e-1 + .5 + 1E1", 0.0), 10.75);
        assert_eq!(at("-d + +3", 4.0), -1.0);
    }

    #[test]
    fn functions_of_distance_give_the_l5pc_profiles() {
        // Hay et al.'s apical Ih density.
        let ih = "8e-5 * (-0.8696 + 2.087 * exp(0.0031 * d))";
        for d in [0.0f64, 100.0, 1000.0] {
            let want = 8e-5 * (-0.8696 + 2.087 * (0.0031 * d).exp());
            assert_eq!(at(ih, d), want);
        }
        let hot = "1e-4 * (1 + 99 * step(d - 685) * step(885 - d))";
        assert_eq!(at(hot, 684.9), 1e-4);
        assert_eq!(at(hot, 700.0), 1e-2);
        assert_eq!(at(hot, 885.1), 1e-4);
        assert_eq!(
            at("min(d, 3) + max(d, 3) + abs(-d) + sqrt(d) + log(d)", 4.0),
            3.0 + 4.0 + 4.0 + 2.0 + 4f64.ln()
        );
        assert!(at("step(log(-d))", 1.0).is_nan());
        assert!(at("min(log(d - 100), 1)", 1.0).is_nan());
        assert!(at("max(1, sqrt(-d))", 1.0).is_nan());
    }

    #[test]
    fn errors_give_the_column_and_what_was_expected() {
        for (text, column, why) in [
            ("1 +", 4, "expected a number"),
            ("(1 + 2", 7, "expected `)`"),
            ("2 * x", 5, "unknown name `x`"),
            ("exp(1, 2)", 1, "exp takes 1 argument"),
            ("min(1)", 1, "min takes 2 argument"),
            ("1 2", 3, "unexpected `2`"),
            ("exp 1", 5, "expected `(`"),
            ("", 1, "found the end"),
            ("1..2", 3, "unexpected `.`"),
            (". + 1", 1, "`.` is not a number"),
        ] {
            let e = DistanceExpr::parse(text).unwrap_err();
            assert!(
                e.column == column && e.reason.contains(why),
                "{text:?}: {e}"
            );
        }
    }
}
