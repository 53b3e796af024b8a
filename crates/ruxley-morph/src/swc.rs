//! A strict SWC reader.
//!
//! An SWC file lists one sample per line: `id type x y z radius parent`,
//! whitespace separated. `#` starts a comment (also after a sample), blank lines
//! and CRLF line ends are accepted. Ids may come in any order, with gaps, and
//! parents may be listed after their children. The reader rejects, with the
//! line number, anything it cannot interpret unambiguously: a wrong column
//! count, a non-number, a non-integer id, a negative or non-finite radius, a
//! duplicate id, a missing parent, several roots, no root, or a cycle.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One SWC sample, in micrometres after unit conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct SwcSample {
    /// The sample id as written in the file.
    pub id: i64,
    /// The SWC structure type (1 soma, 2 axon, 3 basal, 4 apical, other: custom).
    pub kind: i32,
    /// Position in um.
    pub xyz: [f64; 3],
    /// Radius in um.
    pub radius: f64,
    /// The parent id, or `None` for the root.
    pub parent: Option<i64>,
    /// 1-based line number in the file.
    pub line: usize,
}

/// A parsed and validated SWC file: exactly one tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Swc {
    samples: Vec<SwcSample>,
    parent_index: Vec<Option<usize>>,
    root: usize,
}

/// Options of the SWC reader.
#[derive(Debug, Clone, PartialEq)]
pub struct SwcOptions {
    /// The length of one file unit in um: 1.0 for files in um (the standard),
    /// 1e-3 for files in nm (FlyWire exports).
    pub unit_um: f64,
}

impl Default for SwcOptions {
    fn default() -> Self {
        Self { unit_um: 1.0 }
    }
}

/// Why an SWC file could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum SwcError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// A line is not a valid sample.
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Two samples share an id.
    DuplicateId {
        /// The id.
        id: i64,
        /// Line of the first occurrence.
        first_line: usize,
        /// Line of the second occurrence.
        line: usize,
    },
    /// A sample names a parent id that no sample has.
    MissingParent {
        /// The sample.
        id: i64,
        /// The parent it names.
        parent: i64,
        /// Its line.
        line: usize,
    },
    /// More than one sample has parent -1: the file holds several trees.
    MultipleRoots {
        /// Line of the first root.
        first_line: usize,
        /// Line of the second root.
        line: usize,
    },
    /// The parent links form a cycle, so there is no root.
    Cycle {
        /// A sample on the cycle.
        id: i64,
        /// Its line.
        line: usize,
    },
    /// The file contains no samples.
    Empty,
    /// The unit option is not a positive finite number.
    InvalidUnit(f64),
}

impl fmt::Display for SwcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "cannot read {}: {message}", path.display()),
            Self::Syntax { line, message } => write!(f, "line {line}: {message}"),
            Self::DuplicateId {
                id,
                first_line,
                line,
            } => {
                write!(
                    f,
                    "line {line}: id {id} is already used on line {first_line}"
                )
            }
            Self::MissingParent { id, parent, line } => {
                write!(
                    f,
                    "line {line}: sample {id} names parent {parent}, which does not exist"
                )
            }
            Self::MultipleRoots { first_line, line } => write!(
                f,
                "line {line}: a second root (parent -1; the first is on line {first_line}); \
                 an SWC file must describe one tree"
            ),
            Self::Cycle { id, line } => {
                write!(
                    f,
                    "line {line}: sample {id} lies on a cycle of parent links"
                )
            }
            Self::Empty => write!(f, "the file contains no samples"),
            Self::InvalidUnit(u) => write!(f, "unit_um = {u} must be positive and finite"),
        }
    }
}

impl std::error::Error for SwcError {}

fn syntax(line: usize, message: impl Into<String>) -> SwcError {
    SwcError::Syntax {
        line,
        message: message.into(),
    }
}

fn parse_id(token: &str, what: &str, line: usize) -> Result<i64, SwcError> {
    if let Ok(v) = token.parse::<i64>() {
        return Ok(v);
    }
    // Some writers print integral ids as floats ("12.0").
    match token.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(v as i64),
        _ => Err(syntax(line, format!("{what} `{token}` is not an integer"))),
    }
}

fn parse_number(token: &str, what: &str, line: usize) -> Result<f64, SwcError> {
    match token.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(syntax(line, format!("{what} `{token}` is not finite"))),
        Err(_) => Err(syntax(line, format!("{what} `{token}` is not a number"))),
    }
}

fn parse_line(content: &str, line: usize, unit: f64) -> Result<SwcSample, SwcError> {
    let tokens: Vec<&str> = content.split_whitespace().collect();
    if tokens.len() != 7 {
        return Err(syntax(
            line,
            format!(
                "expected 7 columns (id type x y z radius parent), found {}",
                tokens.len()
            ),
        ));
    }
    let id = parse_id(tokens[0], "id", line)?;
    let kind = parse_id(tokens[1], "type", line)?;
    let kind =
        i32::try_from(kind).map_err(|_| syntax(line, format!("type {kind} is out of range")))?;
    let mut xyz = [0.0; 3];
    for (k, name) in ["x", "y", "z"].iter().enumerate() {
        xyz[k] = parse_number(tokens[2 + k], name, line)? * unit;
    }
    let radius = parse_number(tokens[5], "radius", line)? * unit;
    if radius < 0.0 {
        return Err(syntax(line, format!("radius {} is negative", tokens[5])));
    }
    let parent = parse_id(tokens[6], "parent", line)?;
    if parent == id {
        return Err(syntax(line, format!("sample {id} is its own parent")));
    }
    let parent = if parent < 0 {
        if parent != -1 {
            return Err(syntax(
                line,
                format!("parent {parent}: only -1 marks a root"),
            ));
        }
        None
    } else {
        Some(parent)
    };
    Ok(SwcSample {
        id,
        kind,
        xyz,
        radius,
        parent,
        line,
    })
}

/// Parses SWC text. See the module documentation for what is accepted.
pub fn parse_swc(text: &str, options: &SwcOptions) -> Result<Swc, SwcError> {
    let unit = options.unit_um;
    if !(unit.is_finite() && unit > 0.0) {
        return Err(SwcError::InvalidUnit(unit));
    }
    let mut samples = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        samples.push(parse_line(content, k + 1, unit)?);
    }
    Swc::from_samples(samples)
}

/// Reads and parses an SWC file.
pub fn read_swc(path: impl AsRef<Path>, options: &SwcOptions) -> Result<Swc, SwcError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| SwcError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    parse_swc(&text, options)
}

impl Swc {
    /// Validates samples (in any order) as one tree.
    pub fn from_samples(samples: Vec<SwcSample>) -> Result<Self, SwcError> {
        if samples.is_empty() {
            return Err(SwcError::Empty);
        }
        let mut index: HashMap<i64, usize> = HashMap::with_capacity(samples.len());
        for (k, s) in samples.iter().enumerate() {
            if let Some(&first) = index.get(&s.id) {
                return Err(SwcError::DuplicateId {
                    id: s.id,
                    first_line: samples[first].line,
                    line: s.line,
                });
            }
            index.insert(s.id, k);
        }
        let mut root = None;
        let mut parent_index = Vec::with_capacity(samples.len());
        for s in &samples {
            match s.parent {
                None => {
                    if let Some(r) = root {
                        let r: &SwcSample = &samples[r];
                        return Err(SwcError::MultipleRoots {
                            first_line: r.line,
                            line: s.line,
                        });
                    }
                    root = Some(parent_index.len());
                    parent_index.push(None);
                }
                Some(p) => match index.get(&p) {
                    Some(&pk) => parent_index.push(Some(pk)),
                    None => {
                        return Err(SwcError::MissingParent {
                            id: s.id,
                            parent: p,
                            line: s.line,
                        });
                    }
                },
            }
        }
        // Every sample must reach the root: otherwise parent links form a cycle.
        // state: 0 unknown, 1 on the current path, 2 reaches the root.
        let mut state = vec![0u8; samples.len()];
        let mut path = Vec::new();
        for start in 0..samples.len() {
            let mut k = start;
            while state[k] == 0 {
                state[k] = 1;
                path.push(k);
                match parent_index[k] {
                    Some(p) => k = p,
                    None => break,
                }
            }
            if state[k] == 1 && parent_index[k].is_some() {
                let s = &samples[k];
                return Err(SwcError::Cycle {
                    id: s.id,
                    line: s.line,
                });
            }
            for &p in &path {
                state[p] = 2;
            }
            path.clear();
        }
        let Some(root) = root else {
            let s = &samples[0];
            return Err(SwcError::Cycle {
                id: s.id,
                line: s.line,
            });
        };
        Ok(Self {
            samples,
            parent_index,
            root,
        })
    }

    /// The samples in file order.
    pub fn samples(&self) -> &[SwcSample] {
        &self.samples
    }

    /// The position of sample k's parent in [`Swc::samples`], `None` for the root.
    pub fn parent_of(&self, k: usize) -> Option<usize> {
        self.parent_index[k]
    }

    /// The position of the root in [`Swc::samples`].
    pub fn root(&self) -> usize {
        self.root
    }

    /// The soma representation of this file.
    pub fn soma_kind(&self) -> SomaKind {
        let soma: Vec<usize> = (0..self.samples.len())
            .filter(|&k| self.samples[k].kind == 1)
            .collect();
        match soma.len() {
            0 => SomaKind::None,
            1 => SomaKind::SinglePoint,
            3 => {
                // NeuroMorpho: a centre sample with the two others as its children.
                let is_centre = |c: usize| {
                    soma.iter()
                        .filter(|&&k| k != c)
                        .all(|&k| self.parent_index[k] == Some(c))
                };
                if soma.iter().any(|&c| is_centre(c)) {
                    SomaKind::ThreePoint
                } else {
                    SomaKind::MultiPoint(3)
                }
            }
            n => SomaKind::MultiPoint(n),
        }
    }
}

/// How the soma is represented in an SWC file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SomaKind {
    /// No type-1 sample.
    None,
    /// One type-1 sample: a sphere, modelled as a cylinder of length 2r and
    /// radius r (same area).
    SinglePoint,
    /// NeuroMorpho's three samples: a centre and two points at +-r.
    ThreePoint,
    /// A chain or tree of this many type-1 samples (contour or cylinders).
    MultiPoint(usize),
}

impl fmt::Display for SomaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => write!(f, "none"),
            Self::SinglePoint => write!(f, "single point (sphere as a 2r cylinder)"),
            Self::ThreePoint => write!(f, "three points (NeuroMorpho)"),
            Self::MultiPoint(n) => write!(f, "{n} points (contour or cylinders)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Swc, SwcError> {
        parse_swc(text, &SwcOptions::default())
    }

    #[test]
    fn reads_comments_crlf_blank_lines_and_unsorted_ids() {
        let text =
            "# header\r\n\r\n5 3 1 0 0 0.5 2 # inline\r\n  2 1 0 0 0 3 -1\r\n\t9 3 2 0 0 0.5 5\r\n";
        let swc = parse(text).unwrap();
        assert_eq!(swc.samples().len(), 3);
        assert_eq!(swc.root(), 1);
        assert_eq!(swc.parent_of(0), Some(1));
        assert_eq!(swc.parent_of(2), Some(0));
        assert_eq!(swc.samples()[0].line, 3);
        assert_eq!(swc.soma_kind(), SomaKind::SinglePoint);
    }

    #[test]
    fn unit_option_scales_positions_and_radii() {
        let swc = parse_swc("1 1 1000 0 0 500 -1\n", &SwcOptions { unit_um: 1e-3 }).unwrap();
        assert_eq!(swc.samples()[0].xyz, [1.0, 0.0, 0.0]);
        assert_eq!(swc.samples()[0].radius, 0.5);
    }

    #[test]
    fn structural_errors_name_their_lines() {
        assert_eq!(
            parse("1 1 0 0 0 1 -1\n1 3 0 0 0 1 -1\n"),
            Err(SwcError::DuplicateId {
                id: 1,
                first_line: 1,
                line: 2
            })
        );
        assert_eq!(
            parse("1 1 0 0 0 1 -1\n2 3 0 0 0 1 7\n"),
            Err(SwcError::MissingParent {
                id: 2,
                parent: 7,
                line: 2
            })
        );
        assert_eq!(
            parse("1 1 0 0 0 1 -1\n2 3 0 0 0 1 -1\n"),
            Err(SwcError::MultipleRoots {
                first_line: 1,
                line: 2
            })
        );
        assert!(matches!(
            parse("1 1 0 0 0 1 -1\n2 3 0 0 0 1 3\n3 3 0 0 0 1 2\n"),
            Err(SwcError::Cycle { .. })
        ));
        assert!(matches!(
            parse("1 3 0 0 0 1 2\n2 3 0 0 0 1 1\n"),
            Err(SwcError::Cycle { .. })
        ));
        assert_eq!(parse("# nothing\n\n"), Err(SwcError::Empty));
    }

    #[test]
    fn syntax_errors_name_their_lines() {
        let bad = [
            "1 1 0 0 0 1\n",
            "1 1 0 0 0 1 -1 7\n",
            "1 1 zero 0 0 1 -1\n",
            "1 1 0 0 0 -1 -1\n",
            "1 1 0 0 nan 1 -1\n",
            "1.5 1 0 0 0 1 -1\n",
            "1 1 0 0 0 1 1\n",
            "1 1 0 0 0 1 -2\n",
        ];
        for text in bad {
            match parse(text) {
                Err(SwcError::Syntax { line: 1, .. }) => {}
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn float_ids_with_integral_values_are_accepted() {
        let swc = parse("1.0 1 0 0 0 1 -1.0\n2.0 3 1 0 0 1 1.0\n").unwrap();
        assert_eq!(swc.samples()[1].parent, Some(1));
    }

    #[test]
    fn detects_the_neuromorpho_three_point_soma() {
        let text = "1 1 0 0 0 5 -1\n2 1 0 -5 0 5 1\n3 1 0 5 0 5 1\n4 3 5 0 0 1 1\n";
        assert_eq!(parse(text).unwrap().soma_kind(), SomaKind::ThreePoint);
        let chain = "1 1 0 0 0 5 -1\n2 1 0 -5 0 5 1\n3 1 0 5 0 5 2\n";
        assert_eq!(parse(chain).unwrap().soma_kind(), SomaKind::MultiPoint(3));
    }
}
