//! Branch tracing: SWC samples -> unbranched branches, numbered as Jaxley's
//! `read_swc` numbers them, so that `branch(i)` names the same branch in both.
//!
//! The rules, in order:
//! 1. Samples are nodes of an undirected tree; an edge is as long as the
//!    distance between its samples (at least 1e-5 um).
//! 2. A single-point soma (exactly one type-1 sample) becomes a cylinder of
//!    length 2r: a copy of the soma sample is hung off it as a new tip by an
//!    edge of length 2r, and every other edge at the soma gets length 0. Its
//!    neurites start at their own first sample, and they attach at the end of
//!    the soma branch.
//! 3. A soma sample with two or more soma neighbours is a somatic branch
//!    point: its non-somatic neurites likewise start at their first sample.
//! 4. A depth-first walk from the tip with the smallest id (the soma copy, if
//!    any), visiting neighbours in increasing id, cuts the tree into branches:
//!    a branch ends at a tip, at a sample with three or more neighbours, and
//!    where the SWC type changes (types outside `relevant_types` all count as
//!    one). Branches are numbered in the order the walk enters them.
//! 5. With `max_branch_len`, a branch is cut where its cumulative length
//!    passes each multiple of that length.

use std::collections::HashMap;
use std::fmt;

use crate::geometry::Point;
use crate::swc::{SomaKind, Swc};

/// Options of branch tracing.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceOptions {
    /// Cut branches longer than this (um) into pieces at multiples of it.
    pub max_branch_len: Option<f64>,
    /// Raise every sample radius below this value (um) to it. Without it a
    /// radius of zero is an error.
    pub min_radius: Option<f64>,
    /// SWC types whose changes start a new branch; changes among the other
    /// types do not. Jaxley's default is [1, 2, 3, 4].
    pub relevant_types: Vec<i32>,
}

impl Default for TraceOptions {
    fn default() -> Self {
        Self {
            max_branch_len: None,
            min_radius: None,
            relevant_types: vec![1, 2, 3, 4],
        }
    }
}

/// Why a morphology could not be traced or compartmentalised.
#[derive(Debug, Clone, PartialEq)]
pub enum MorphError {
    /// A sample has radius zero and no `min_radius` was given.
    ZeroRadius {
        /// The sample id.
        id: i64,
        /// Its line in the file.
        line: usize,
    },
    /// An option is out of range.
    InvalidOption(String),
    /// A per-branch list has the wrong length or a bad entry.
    InvalidNcomp(String),
    /// A branch's geometry is not finite (coordinates or radii too large).
    Degenerate {
        /// The branch.
        branch: usize,
        /// The first SWC sample of the branch.
        sample: i64,
    },
}

impl fmt::Display for MorphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroRadius { id, line } => write!(
                f,
                "line {line}: sample {id} has radius 0; set min_radius to read this file"
            ),
            Self::InvalidOption(m) | Self::InvalidNcomp(m) => write!(f, "{m}"),
            Self::Degenerate { branch, sample } => write!(
                f,
                "branch {branch} (from sample {sample}) has non-finite geometry: coordinates or radii are too large"
            ),
        }
    }
}

impl std::error::Error for MorphError {}

/// One unbranched branch of a traced morphology.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedBranch {
    /// The parent branch; children attach at the parent's distal end.
    pub parent: Option<usize>,
    /// The SWC type of the branch.
    pub kind: i32,
    /// The polyline (x, y, z, r) that defines the branch's geometry.
    pub points: Vec<Point>,
    /// The branch length along its SWC edges in um.
    pub path_length: f64,
    /// The SWC ids of the samples along the branch, starting with the sample
    /// it shares with its parent (if any).
    pub sample_ids: Vec<i64>,
}

/// A morphology cut into unbranched branches.
#[derive(Debug, Clone, PartialEq)]
pub struct Morphology {
    /// The branches; a parent always precedes its children.
    pub branches: Vec<TracedBranch>,
    /// The soma representation of the source.
    pub soma: SomaKind,
    /// Things the user may want to know (degenerate geometry, clipped radii).
    pub warnings: Vec<String>,
}

/// The tree of samples, with the single-point-soma tip added.
struct Tree {
    key: Vec<i64>,
    kind: Vec<i32>,
    point: Vec<Point>,
    id: Vec<Option<i64>>,
    /// Neighbours and edge lengths, sorted by neighbour key.
    adj: Vec<Vec<(usize, f64)>>,
    /// Direction of the SWC file: parent of each node.
    parent: Vec<Option<usize>>,
    /// Nodes whose sample is not part of the branches that start at them.
    detached: Vec<bool>,
}

impl Tree {
    fn set_len(&mut self, a: usize, b: usize, len: f64) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(e) = self.adj[x].iter_mut().find(|e| e.0 == y) {
                e.1 = len;
            }
        }
    }

    fn degree(&self, n: usize) -> usize {
        self.adj[n].len()
    }

    fn len(&self, a: usize, b: usize) -> f64 {
        self.adj[a].iter().find(|e| e.0 == b).map_or(0.0, |e| e.1)
    }
}

fn build_tree(swc: &Swc, min_radius: Option<f64>) -> Result<(Tree, Vec<String>), MorphError> {
    let samples = swc.samples();
    let n = samples.len();
    let mut warnings = Vec::new();
    let mut clipped = 0usize;
    let mut point = Vec::with_capacity(n + 1);
    for s in samples {
        let mut r = s.radius;
        match min_radius {
            Some(m) if r < m => {
                r = m;
                clipped += 1;
            }
            None if r <= 0.0 => {
                return Err(MorphError::ZeroRadius {
                    id: s.id,
                    line: s.line,
                });
            }
            _ => {}
        }
        point.push([s.xyz[0], s.xyz[1], s.xyz[2], r]);
    }
    if clipped > 0 {
        warnings.push(format!("{clipped} sample radii raised to min_radius"));
    }
    let mut tree = Tree {
        key: samples.iter().map(|s| s.id).collect(),
        kind: samples.iter().map(|s| s.kind).collect(),
        point,
        id: samples.iter().map(|s| Some(s.id)).collect(),
        adj: vec![Vec::new(); n],
        parent: (0..n).map(|k| swc.parent_of(k)).collect(),
        detached: vec![false; n],
    };
    for c in 0..n {
        if let Some(p) = tree.parent[c] {
            let len = distance(&tree.point[c], &tree.point[p]).max(1e-5);
            tree.adj[c].push((p, len));
            tree.adj[p].push((c, len));
        }
    }
    let soma: Vec<usize> = (0..n).filter(|&k| tree.kind[k] == 1).collect();
    if let [s] = soma[..] {
        // Rule 2: the single-point soma becomes a cylinder of length 2r.
        for (m, _) in tree.adj[s].clone() {
            tree.set_len(s, m, 0.0);
        }
        let tip = n;
        tree.key.push(i64::MIN);
        tree.kind.push(1);
        tree.point.push(tree.point[s]);
        tree.id.push(None);
        let len = 2.0 * tree.point[s][3];
        tree.adj.push(vec![(s, len)]);
        tree.adj[s].push((tip, len));
        tree.parent.push(None);
        tree.detached.push(true);
        tree.detached[s] = true;
    } else {
        // Rule 3: somatic branch points.
        for &s in &soma {
            let somatic = tree.adj[s].iter().filter(|e| tree.kind[e.0] == 1).count();
            if somatic > 1 {
                let others: Vec<usize> = tree.adj[s]
                    .iter()
                    .map(|e| e.0)
                    .filter(|&m| tree.kind[m] != 1)
                    .collect();
                for m in others {
                    tree.detached[s] = true;
                    tree.set_len(s, m, 0.0);
                }
            }
        }
    }
    let keys = tree.key.clone();
    for a in &mut tree.adj {
        a.sort_by_key(|e| keys[e.0]);
    }
    Ok((tree, warnings))
}

fn distance(a: &Point, b: &Point) -> f64 {
    ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2) + (b[2] - a[2]).powi(2)).sqrt()
}

/// A branch as a list of traversed edges (from, to).
type EdgeList = Vec<(usize, usize)>;

fn cut_into_branches(tree: &Tree, relevant: &[i32]) -> Vec<(EdgeList, i32)> {
    let n = tree.key.len();
    let root = (0..n)
        .filter(|&k| tree.degree(k) < 2)
        .min_by_key(|&k| tree.key[k])
        .unwrap_or(0);
    let same_type = |a: usize, b: usize| {
        let (ka, kb) = (tree.kind[a], tree.kind[b]);
        (!relevant.contains(&ka) && !relevant.contains(&kb)) || ka == kb
    };
    let mut branches: Vec<(EdgeList, i32)> = Vec::new();
    let mut current: EdgeList = Vec::new();
    let mut visited = vec![false; n];
    visited[root] = true;
    // Depth-first walk yielding tree edges in preorder.
    let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
    while let Some(top) = stack.last_mut() {
        let (i, next) = *top;
        if next >= tree.adj[i].len() {
            stack.pop();
            continue;
        }
        top.1 += 1;
        let j = tree.adj[i][next].0;
        if visited[j] {
            continue;
        }
        visited[j] = true;
        stack.push((j, 0));
        current.push((i, j));
        let kind_i = tree.kind[i];
        if tree.degree(j) < 2 {
            if same_type(i, j) {
                branches.push((std::mem::take(&mut current), kind_i));
            } else {
                let last = current.pop().into_iter().collect();
                branches.push((std::mem::take(&mut current), kind_i));
                branches.push((last, tree.kind[j]));
            }
        } else if tree.degree(j) > 2 {
            branches.push((std::mem::take(&mut current), kind_i));
        } else if !same_type(i, j) {
            if tree.parent[i] == Some(j) {
                // Walking against the file's direction: the edge ends the branch.
                branches.push((std::mem::take(&mut current), kind_i));
            } else {
                let last = current.pop().into_iter().collect();
                branches.push((std::mem::replace(&mut current, last), kind_i));
            }
        }
    }
    branches.retain(|b| !b.0.is_empty());
    branches
}

fn split_long(tree: &Tree, branches: Vec<(EdgeList, i32)>, max_len: f64) -> Vec<(EdgeList, i32)> {
    let mut out = Vec::with_capacity(branches.len());
    for (edges, kind) in branches {
        let mut cum = 0.0;
        let mut group = f64::NAN;
        for (i, j) in edges {
            cum += tree.len(i, j);
            let g = (cum / max_len).floor();
            if g != group {
                out.push((Vec::new(), kind));
                group = g;
            }
            if let Some(last) = out.last_mut() {
                last.0.push((i, j));
            }
        }
    }
    out
}

/// Traces an SWC tree into branches (see the module documentation).
pub fn trace(swc: &Swc, options: &TraceOptions) -> Result<Morphology, MorphError> {
    if let Some(m) = options.max_branch_len
        && !(m.is_finite() && m > 0.0)
    {
        return Err(MorphError::InvalidOption(format!(
            "max_branch_len = {m} must be positive and finite"
        )));
    }
    if let Some(r) = options.min_radius
        && !(r.is_finite() && r > 0.0)
    {
        return Err(MorphError::InvalidOption(format!(
            "min_radius = {r} must be positive and finite"
        )));
    }
    let (tree, mut warnings) = build_tree(swc, options.min_radius)?;
    let mut edge_branches = cut_into_branches(&tree, &options.relevant_types);
    if let Some(m) = options.max_branch_len {
        edge_branches = split_long(&tree, edge_branches, m);
    }
    // A branch's parent is the branch that ends at its first node.
    let mut ending_at: HashMap<usize, usize> = HashMap::new();
    let mut branches = Vec::with_capacity(edge_branches.len());
    for (b, (edges, kind)) in edge_branches.iter().enumerate() {
        let first = edges[0].0;
        let parent = if b == 0 {
            None
        } else {
            ending_at.get(&first).copied()
        };
        if b > 0 && parent.is_none() {
            return Err(MorphError::InvalidOption(format!(
                "internal error: branch {b} does not start at the end of another branch"
            )));
        }
        ending_at.insert(edges[edges.len() - 1].1, b);
        let nodes: Vec<usize> = std::iter::once(first)
            .chain(edges.iter().map(|e| e.1))
            .collect();
        let mut points: Vec<Point> = nodes.iter().map(|&k| tree.point[k]).collect();
        // The branch point takes the radius of the branch's own first sample
        // when it belongs to a neighbouring neurite of another type.
        if tree.kind[nodes[0]] != tree.kind[nodes[1]] {
            points[0][3] = points[1][3];
        }
        if tree.detached[first] {
            points.remove(0);
        }
        let path_length: f64 = edges.iter().map(|&(i, j)| tree.len(i, j)).sum();
        branches.push(TracedBranch {
            parent,
            kind: *kind,
            points,
            path_length,
            sample_ids: nodes.iter().filter_map(|&k| tree.id[k]).collect(),
        });
    }
    let degenerate = branches.iter().filter(|b| b.path_length < 1e-8).count();
    if degenerate > 0 {
        warnings.push(format!(
            "{degenerate} branches have zero length; their length is set to 0.1 um"
        ));
    }
    Ok(Morphology {
        branches,
        soma: swc.soma_kind(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swc::{SwcOptions, parse_swc};

    fn traced(text: &str, options: &TraceOptions) -> Morphology {
        trace(&parse_swc(text, &SwcOptions::default()).unwrap(), options).unwrap()
    }

    #[test]
    fn single_point_soma_becomes_a_2r_branch_with_children_at_its_end() {
        let text =
            "1 1 0 0 0 5 -1\n2 3 10 0 0 1 1\n3 3 20 0 0 1 2\n4 4 0 10 0 1 1\n5 4 0 20 0 1 4\n";
        let m = traced(text, &TraceOptions::default());
        assert_eq!(m.soma, SomaKind::SinglePoint);
        assert_eq!(m.branches.len(), 3);
        assert_eq!(m.branches[0].path_length, 10.0);
        assert_eq!(m.branches[0].points, vec![[0.0, 0.0, 0.0, 5.0]]);
        assert_eq!(m.branches[1].parent, Some(0));
        assert_eq!(m.branches[2].parent, Some(0));
        // The neurite starts at its own first sample: the soma point is dropped.
        assert_eq!(m.branches[1].points[0], [10.0, 0.0, 0.0, 1.0]);
        assert_eq!(m.branches[1].path_length, 10.0);
        assert_eq!(m.branches[1].sample_ids, vec![1, 2, 3]);
        assert_eq!(m.branches[2].kind, 4);
    }

    #[test]
    fn type_changes_start_new_branches() {
        // soma chain 1-2, then axon 3-4 off sample 2.
        let text = "1 1 0 0 0 5 -1\n2 1 5 0 0 5 1\n3 2 10 0 0 1 2\n4 2 20 0 0 1 3\n";
        let m = traced(text, &TraceOptions::default());
        assert_eq!(m.branches.len(), 2);
        assert_eq!(m.branches[0].kind, 1);
        assert_eq!(m.branches[1].kind, 2);
        assert_eq!(m.branches[1].parent, Some(0));
        // The axon starts at the soma sample, with the axon's radius.
        assert_eq!(m.branches[1].points[0], [5.0, 0.0, 0.0, 1.0]);
        let ignore_types = TraceOptions {
            relevant_types: vec![],
            ..TraceOptions::default()
        };
        assert_eq!(traced(text, &ignore_types).branches.len(), 1);
    }

    #[test]
    fn max_branch_len_cuts_at_multiples() {
        let text =
            "1 3 0 0 0 1 -1\n2 3 100 0 0 1 1\n3 3 250 0 0 1 2\n4 3 310 0 0 1 3\n5 3 620 0 0 1 4\n";
        let options = TraceOptions {
            max_branch_len: Some(300.0),
            ..TraceOptions::default()
        };
        let m = traced(text, &options);
        let lens: Vec<f64> = m.branches.iter().map(|b| b.path_length).collect();
        assert_eq!(lens, vec![250.0, 60.0, 310.0]);
        assert_eq!(m.branches[2].parent, Some(1));
    }

    #[test]
    fn zero_radius_needs_min_radius() {
        let swc = parse_swc("1 3 0 0 0 0 -1\n2 3 1 0 0 1 1\n", &SwcOptions::default()).unwrap();
        assert_eq!(
            trace(&swc, &TraceOptions::default()),
            Err(MorphError::ZeroRadius { id: 1, line: 1 })
        );
        let options = TraceOptions {
            min_radius: Some(0.1),
            ..TraceOptions::default()
        };
        let m = trace(&swc, &options).unwrap();
        assert_eq!(m.branches[0].points[0][3], 0.1);
    }
}
