//! A Neurolucida ASCII (`.asc`) reader.
//!
//! A Neurolucida file is a sequence of parenthesised objects. The reader
//! keeps what a simulation needs and skips the rest:
//!
//! - the soma: every object marked `(CellBody)` is a contour; the soma
//!   becomes one sample at the contours' centroid whose radius is the mean
//!   distance of the contour points from it (the soma radius NeuroM and
//!   MorphIO report for contours). As a one-point soma it is simulated as a
//!   cylinder of length 2r and radius r, the area of the sphere.
//! - the trees: objects marked `(Dendrite)` (SWC type 3), `(Apical)` (4) or
//!   `(Axon)` (2). A point is `(x y z d ...)`, d the diameter; a fork is a
//!   parenthesised group of branches separated by `|`, each starting at the
//!   last point before the group.
//! - skipped: colours, names, markers (`(Dot ...)`, `(Cross ...)` and other
//!   objects that start with a word), spines (`<( ... )>`), ending words
//!   (`Normal`, `Incomplete`, ...), `;` comments, and top-level objects that
//!   are neither a cell body nor a tree (image coordinates, section
//!   contours).
//!
//! The result is an [`Swc`] (soma sample first, then each tree depth first,
//! ids from 1, each sample's `line` its line in the `.asc` file), so
//! everything downstream treats it as a reconstruction read from SWC.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::swc::{Swc, SwcError, SwcSample};

/// Why a Neurolucida file could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum AscError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// The text is not a well-formed Neurolucida file.
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file holds no tree and no cell body.
    Empty,
    /// Several trees (or a tree that starts with a fork) and no cell body
    /// to join them.
    NoSoma {
        /// The number of separate trees.
        trees: usize,
    },
    /// The samples do not form a tree (a reader bug if it ever happens).
    Tree(SwcError),
}

impl fmt::Display for AscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "cannot read {}: {message}", path.display()),
            Self::Syntax { line, message } => write!(f, "line {line}: {message}"),
            Self::Empty => write!(f, "the file holds no (CellBody) and no tree"),
            Self::NoSoma { trees } => {
                write!(f, "{trees} trees and no (CellBody) contour to join them at")
            }
            Self::Tree(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AscError {}

fn syntax(line: usize, message: impl Into<String>) -> AscError {
    AscError::Syntax {
        line,
        message: message.into(),
    }
}

/// A parsed S-expression item with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    List(Vec<Item>, usize),
    Word(String, usize),
    Text,
    Bar(usize),
}

/// Reads the whole text into top-level items.
fn parse_items(text: &str) -> Result<Vec<Item>, AscError> {
    let mut stack: Vec<(Vec<Item>, usize, char)> = vec![(Vec::new(), 0, ' ')];
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            ';' => while chars.next_if(|&c| c != '\n').is_some() {},
            '(' | '<' => stack.push((Vec::new(), line, c)),
            ')' | '>' => {
                let open = if c == ')' { '(' } else { '<' };
                let Some((items, start, kind)) = stack.pop().filter(|_| !stack.is_empty()) else {
                    return Err(syntax(line, format!("`{c}` closes nothing")));
                };
                if kind != open {
                    return Err(syntax(
                        line,
                        format!("`{c}` closes the `{kind}` opened on line {start}"),
                    ));
                }
                // Spines (`<...>`) are dropped with their contents.
                if kind == '(' {
                    let parent = &mut stack.last_mut().expect("the file level stays").0;
                    parent.push(Item::List(items, start));
                }
            }
            '|' => stack.last_mut().expect("non-empty").0.push(Item::Bar(line)),
            '"' => {
                let start = line;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\n') => line += 1,
                        Some(_) => {}
                        None => return Err(syntax(start, "a string is never closed")),
                    }
                }
                stack.last_mut().expect("non-empty").0.push(Item::Text);
            }
            c if c.is_whitespace() || c == ',' => {}
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "()<>|;\",".contains(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                stack
                    .last_mut()
                    .expect("non-empty")
                    .0
                    .push(Item::Word(word, line));
            }
        }
    }
    if stack.len() > 1 {
        let (_, start, kind) = stack.pop().expect("checked");
        return Err(syntax(
            start,
            format!("the `{kind}` opened here is never closed"),
        ));
    }
    Ok(stack.pop().expect("the file level").0)
}

/// The largest coordinate or diameter accepted (um): 10 m, beyond any
/// reconstruction, and far from overflow in the soma's distances.
const MAX_UM: f64 = 1e7;

/// A point `(x y z d ...)`: x, y, z, radius and line.
type Point = ([f64; 3], f64, usize);

fn number(item: &Item) -> Option<f64> {
    match item {
        Item::Word(w, _) => w.parse().ok(),
        _ => None,
    }
}

/// The point a list holds, if it starts with a number.
fn point(items: &[Item], line: usize) -> Result<Option<Point>, AscError> {
    if items.first().and_then(number).is_none() {
        return Ok(None);
    }
    let values: Vec<f64> = items.iter().map_while(number).collect();
    if values.len() < 4 {
        return Err(syntax(line, "a point needs x, y, z and a diameter"));
    }
    if values[..4].iter().any(|v| v.is_nan() || v.abs() > MAX_UM) || values[3] < 0.0 {
        return Err(syntax(
            line,
            format!(
                "a point's coordinates and diameter must be finite, at most {MAX_UM:e} um, and the diameter non-negative"
            ),
        ));
    }
    Ok(Some((
        [values[0], values[1], values[2]],
        values[3] / 2.0,
        line,
    )))
}

/// True if `items` holds the marker `(word)`.
fn has_marker(items: &[Item], word: &str) -> bool {
    items.iter().any(|i| match i {
        Item::List(inner, _) => matches!(inner.as_slice(), [Item::Word(w, _)] if w == word),
        _ => false,
    })
}

/// A section: its points, then the branches of the fork that ends it.
#[derive(Debug, Default)]
struct Section {
    points: Vec<Point>,
    children: Vec<Section>,
}

fn section(items: &[Item]) -> Result<Section, AscError> {
    let mut s = Section::default();
    for item in items {
        match item {
            Item::List(inner, line) => {
                if let Some(p) = point(inner, *line)? {
                    if !s.children.is_empty() {
                        return Err(syntax(*line, "a point after a fork"));
                    }
                    s.points.push(p);
                } else if matches!(inner.first(), Some(Item::List(..))) {
                    for branch in inner.split(|i| matches!(i, Item::Bar(_))) {
                        s.children.push(section(branch)?);
                    }
                }
                // Lists that start with a word or a string (colours,
                // names, markers) carry nothing for the simulation.
            }
            Item::Bar(line) => {
                return Err(syntax(*line, "`|` outside a fork"));
            }
            Item::Word(..) | Item::Text => {}
        }
    }
    Ok(s)
}

/// Parses a Neurolucida ASCII text (lengths in um).
pub fn parse_asc(text: &str) -> Result<Swc, AscError> {
    let mut contour: Vec<Point> = Vec::new();
    let mut soma_line = 0;
    let mut trees: Vec<(i32, Section)> = Vec::new();
    for item in parse_items(text)? {
        let Item::List(items, line) = item else {
            continue;
        };
        if has_marker(&items, "CellBody") {
            if contour.is_empty() {
                soma_line = line;
            }
            for i in &items {
                if let Item::List(inner, l) = i
                    && let Some(p) = point(inner, *l)?
                {
                    contour.push(p);
                }
            }
            continue;
        }
        let kind = [("Axon", 2), ("Dendrite", 3), ("Apical", 4)]
            .into_iter()
            .find(|(w, _)| has_marker(&items, w));
        if let Some((_, kind)) = kind {
            trees.push((kind, section(&items)?));
        }
    }
    if contour.is_empty() && trees.is_empty() {
        return Err(AscError::Empty);
    }
    if contour.is_empty() && trees.len() > 1 {
        return Err(AscError::NoSoma { trees: trees.len() });
    }
    let mut samples = Vec::new();
    let soma = (!contour.is_empty()).then(|| {
        let n = contour.len() as f64;
        let mut centre = [0.0; 3];
        for (xyz, _, _) in &contour {
            for (c, x) in centre.iter_mut().zip(xyz) {
                *c += x / n;
            }
        }
        let dist = |p: &[f64; 3]| {
            p.iter()
                .zip(&centre)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        };
        let mut radius = contour.iter().map(|(p, _, _)| dist(p)).sum::<f64>() / n;
        if radius == 0.0 {
            // A contour of one point: its own diameter.
            radius = contour.iter().map(|(_, r, _)| *r).fold(0.0, f64::max);
        }
        samples.push(SwcSample {
            id: 1,
            kind: 1,
            xyz: centre,
            radius,
            parent: None,
            line: soma_line,
        });
        1
    });
    for (kind, tree) in &trees {
        emit(tree, *kind, soma, &mut samples);
    }
    if samples.is_empty() {
        return Err(AscError::Empty);
    }
    let roots = samples.iter().filter(|s| s.parent.is_none()).count();
    if roots > 1 {
        return Err(AscError::NoSoma { trees: roots });
    }
    Swc::from_samples(samples).map_err(AscError::Tree)
}

/// Appends a section's points (and its subtrees), the first attached to
/// `parent`.
fn emit(s: &Section, kind: i32, parent: Option<i64>, samples: &mut Vec<SwcSample>) {
    let mut last = parent;
    for &(xyz, radius, line) in &s.points {
        let id = samples.len() as i64 + 1;
        samples.push(SwcSample {
            id,
            kind,
            xyz,
            radius,
            parent: last,
            line,
        });
        last = Some(id);
    }
    for child in &s.children {
        emit(child, kind, last, samples);
    }
}

/// Reads and parses a Neurolucida ASCII file.
pub fn read_asc(path: impl AsRef<Path>) -> Result<Swc, AscError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| AscError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse_asc(&String::from_utf8_lossy(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CELL: &str = "; a comment (with parentheses)\n\
        (ImageCoords)\n\
        (\"CellBody\"\n  (Color RGB (255, 255, 128))\n  (CellBody)\n\
          (-5 0 0 0) (0 -5 0 0) (5 0 0 0) (0 5 0 0)\n)\n\
        ( (Color Yellow)\n  (Axon)\n\
          (5 0 0 1) ; Root\n\
          (10 0 0 1)\n\
          (Dot (Name \"Marker 1\") (7 7 7 1))\n\
          (\n\
            (20 0 0 0.5) <(21 1 0 0.2)> (30 0 0 0.5) Normal\n\
          |\n\
            (10 10 0 0.4) ( (10 20 0 0.3) | (15 15 0 0.3) )\n\
          )\n\
        )\n\
        ( (Dendrite) (0 -5 0 2) (0 -9 0 2) Incomplete )\n";

    #[test]
    fn soma_trees_and_forks_become_samples() {
        let swc = parse_asc(CELL).unwrap();
        let s = swc.samples();
        let got: Vec<(i32, [f64; 3], f64, Option<i64>)> = s
            .iter()
            .map(|x| (x.kind, x.xyz, x.radius, x.parent))
            .collect();
        assert_eq!(
            got,
            vec![
                // The contour's centroid, its points 5 um away.
                (1, [0.0, 0.0, 0.0], 5.0, None),
                (2, [5.0, 0.0, 0.0], 0.5, Some(1)),
                (2, [10.0, 0.0, 0.0], 0.5, Some(2)),
                // First branch of the fork (the spine and the marker skipped).
                (2, [20.0, 0.0, 0.0], 0.25, Some(3)),
                (2, [30.0, 0.0, 0.0], 0.25, Some(4)),
                // Second branch, itself forking.
                (2, [10.0, 10.0, 0.0], 0.2, Some(3)),
                (2, [10.0, 20.0, 0.0], 0.15, Some(6)),
                (2, [15.0, 15.0, 0.0], 0.15, Some(6)),
                // The dendrite, attached at the soma.
                (3, [0.0, -5.0, 0.0], 1.0, Some(1)),
                (3, [0.0, -9.0, 0.0], 1.0, Some(9)),
            ]
        );
        assert_eq!(s[0].line, 3);
        assert_eq!(s[9].line, 19);
        assert_eq!(swc.soma_kind(), crate::SomaKind::SinglePoint);
    }

    #[test]
    fn crlf_and_the_s1_tags_of_hay_s_files_are_read() {
        let text = "(\"CellBody\"\r\n (CellBody)\r\n ( 1 0 0 0.26 S1)  ;  3, 1\r\n ( -1 0 0 0.26 S1)\r\n)\r\n\
                    ( (Apical)\r\n ( 0 1 0 2 S1)\r\n)\r\n";
        let swc = parse_asc(text).unwrap();
        let s = swc.samples();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].radius, s[1].kind, s[1].line), (1.0, 4, 7));
    }

    #[test]
    fn broken_files_are_errors_naming_the_line() {
        for (text, want) in [
            (
                "((CellBody) (0 0 0 1)",
                "line 1: the `(` opened here is never closed",
            ),
            ("( (Axon) (0 0 0 1) )\n)", "line 2: `)` closes nothing"),
            (
                "( (Axon)\n (0 0 1) )",
                "line 2: a point needs x, y, z and a diameter",
            ),
            (
                "( (Axon)\n (0 0 0 -1) )",
                "line 2: a point's coordinates and diameter must be finite",
            ),
            (
                "( (Axon) (0 0 0 1) ( (1 0 0 1) ) \n(2 0 0 1) )",
                "line 2: a point after a fork",
            ),
            (
                "( (Axon) (0 0 0 1) | (1 0 0 1) )",
                "line 1: `|` outside a fork",
            ),
            (
                "( (Axon) <(0 0 0 1) )",
                "`)` closes the `<` opened on line 1",
            ),
            ("(\"CellBody\n", "line 1: a string is never closed"),
            ("(ImageCoords)", "no (CellBody) and no tree"),
            (
                "( (Axon) (0 0 0 1) ) ( (Dendrite) (1 0 0 1) )",
                "2 trees and no (CellBody)",
            ),
            (
                "( (Axon) ( (0 0 0 1) | (1 0 0 1) ) )",
                "2 trees and no (CellBody)",
            ),
            ("( (Axon) )", "no (CellBody) and no tree"),
            (
                "( (Axon)\n (1e200 0 0 1) )",
                "line 2: a point's coordinates and diameter must be finite",
            ),
        ] {
            let e = parse_asc(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
