//! Work spread over the ranks of an MPI job (`mpirun -np N ...`, with the
//! `mpi` feature), or done by one process: the same calls either way, so
//! that results do not depend on the number of ranks.
//!
//! A program calls [`initialize`] once at the start of `main` and keeps the
//! guard; [`Ranks::get`] then gives its place in the job. [`Ranks::simulate`]
//! splits a batch's members across the ranks and gathers their traces, bit
//! for bit those of one process.

#[cfg(feature = "mpi")]
use mpi::topology::SimpleCommunicator;
#[cfg(feature = "mpi")]
use mpi::traits::*;

use crate::backend::{Backend, Batch, RunOptions, SimError};
use crate::{Layout, Traces};

/// Keeps MPI running while it lives (with the `mpi` feature); MPI ends
/// when it is dropped.
pub struct Guard {
    #[cfg(feature = "mpi")]
    _universe: Option<mpi::environment::Universe>,
}

/// Starts MPI (with the `mpi` feature; a no-op without): call it once, at
/// the start of `main`, and keep the guard until the end.
pub fn initialize() -> Guard {
    Guard {
        #[cfg(feature = "mpi")]
        _universe: mpi::initialize(),
    }
}

/// This process's place among the ranks of the job.
pub struct Ranks {
    #[cfg(feature = "mpi")]
    world: Option<SimpleCommunicator>,
}

/// What a rank reports of a round of work: its text, or its error.
pub type Report = Result<String, String>;

impl Ranks {
    /// The ranks of this run: the processes of an MPI job once MPI is
    /// initialised (with the `mpi` feature), else this process alone.
    pub fn get() -> Self {
        #[cfg(feature = "mpi")]
        {
            let world = mpi::environment::is_initialized()
                .then(SimpleCommunicator::world)
                .filter(|w| w.size() > 1);
            Self { world }
        }
        #[cfg(not(feature = "mpi"))]
        Self {}
    }

    /// This process alone, whether or not it belongs to an MPI job.
    pub fn alone() -> Self {
        Self {
            #[cfg(feature = "mpi")]
            world: None,
        }
    }

    /// This process's rank (0 alone).
    pub fn rank(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            return w.rank() as usize;
        }
        0
    }

    /// The number of ranks (1 alone).
    pub fn size(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            return w.size() as usize;
        }
        1
    }

    /// The items of `0..n` this rank takes: those equal to its rank modulo
    /// the number of ranks.
    pub fn share(&self, n: usize) -> Vec<usize> {
        (self.rank()..n).step_by(self.size()).collect()
    }

    /// Rank 0's `x` on every rank.
    pub fn broadcast(&self, x: u64) -> u64 {
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            let mut x = x;
            w.process_at_rank(0).broadcast_into(&mut x);
            return x;
        }
        x
    }

    /// Every rank's report on rank 0, in rank order (errors prefixed with
    /// the rank when there are several); None on the other ranks.
    pub fn gather(&self, mine: Report) -> Option<Vec<Report>> {
        let bytes = mine.map(String::into_bytes);
        let all = self.gather_bytes(bytes)?;
        Some(
            all.into_iter()
                .map(|r| r.map(|b| String::from_utf8_lossy(&b).to_string()))
                .collect(),
        )
    }

    /// [`Ranks::gather`] of bytes.
    pub fn gather_bytes(
        &self,
        mine: Result<Vec<u8>, String>,
    ) -> Option<Vec<Result<Vec<u8>, String>>> {
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            return gather(w, mine);
        }
        Some(vec![mine])
    }

    /// Every rank's text on rank 0, in rank order (None elsewhere), once
    /// every rank has succeeded: an error on any rank is every rank's error
    /// (naming the rank on rank 0).
    pub fn collect(&self, mine: Report) -> Result<Option<Vec<String>>, String> {
        let texts = self.collect_bytes(mine.map(String::into_bytes))?;
        Ok(texts.map(|all| {
            all.iter()
                .map(|b| String::from_utf8_lossy(b).to_string())
                .collect()
        }))
    }

    /// [`Ranks::collect`] of bytes.
    pub fn collect_bytes(
        &self,
        mine: Result<Vec<u8>, String>,
    ) -> Result<Option<Vec<Vec<u8>>>, String> {
        let gathered = self.gather_bytes(mine);
        let error = gathered
            .iter()
            .flatten()
            .find_map(|r| r.as_ref().err().cloned());
        self.verdict(error)?;
        Ok(gathered.map(|all| all.into_iter().flatten().collect()))
    }

    /// Every rank's bytes on every rank, in rank order; an error on any rank
    /// is every rank's error (naming the rank on rank 0).
    pub fn all_gather_bytes(&self, mine: Result<Vec<u8>, String>) -> Result<Vec<Vec<u8>>, String> {
        let parts = self.collect_bytes(mine)?.unwrap_or_default();
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            return Ok(broadcast_parts(w, parts));
        }
        Ok(parts)
    }

    /// Runs `batch` with its members split across the ranks (in contiguous
    /// blocks) and gathers their traces on rank 0, in member order: the
    /// traces one process would compute, bit for bit. None on the other
    /// ranks; an error on any rank is every rank's error (naming the rank).
    pub fn simulate(
        &self,
        backend: &dyn Backend,
        layout: &Layout,
        batch: Batch,
        options: &RunOptions,
    ) -> Result<Option<Vec<Traces>>, SimError> {
        let n = batch.len()?;
        let block = n.div_ceil(self.size());
        let (from, to) = (
            (self.rank() * block).min(n),
            ((self.rank() + 1) * block).min(n),
        );
        let part = |v: usize| if v > 1 { from..to } else { 0..v };
        let mine = if from == to {
            Ok(Vec::new())
        } else {
            let sub = Batch {
                params: &batch.params[part(batch.params.len())],
                stimuli: &batch.stimuli[part(batch.stimuli.len())],
            };
            backend
                .simulate(layout, sub, options)
                .map(|t| t.iter().flat_map(encode_traces).collect())
                .map_err(|e| e.to_string())
        };
        let parts = self.collect_bytes(mine).map_err(SimError::Batch)?;
        Ok(parts.map(|all| all.iter().flat_map(|b| decode_traces(b)).collect()))
    }

    /// Ends a round on every rank: rank 0's `error` (None to go on) becomes
    /// the error of rank 0, and of the others as "stopped".
    pub fn verdict(&self, error: Option<String>) -> Result<(), String> {
        let stop = self.broadcast(u64::from(error.is_some()));
        match (stop, error) {
            (0, _) => Ok(()),
            (_, Some(e)) => Err(e),
            (_, None) => Err("stopped: another rank failed (rank 0 reports it)".into()),
        }
    }
}

/// A trace set as bytes: dt (f64), the number of samples and of names
/// (u64 each), each name's length (u64) and bytes, then the samples (f64).
fn encode_traces(t: &Traces) -> Vec<u8> {
    let mut b = t.dt().to_le_bytes().to_vec();
    b.extend((t.n_samples() as u64).to_le_bytes());
    b.extend((t.names().len() as u64).to_le_bytes());
    for name in t.names() {
        b.extend((name.len() as u64).to_le_bytes());
        b.extend(name.as_bytes());
    }
    for x in t.data() {
        b.extend(x.to_le_bytes());
    }
    b
}

/// Bytes read from the front.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn word(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("eight bytes"))
    }
}

/// The trace sets of [`encode_traces`]'s bytes, one after another.
fn decode_traces(b: &[u8]) -> Vec<Traces> {
    let mut r = Reader(b);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let dt = f64::from_bits(r.word());
        let n = r.word() as usize;
        let names: Vec<String> = (0..r.word())
            .map(|_| {
                let len = r.word() as usize;
                String::from_utf8_lossy(r.take(len)).to_string()
            })
            .collect();
        let mut t = Traces::zeros(names, dt, n);
        for k in 0..t.len() {
            for x in t.trace_mut(k) {
                *x = f64::from_bits(r.word());
            }
        }
        out.push(t);
    }
    out
}

/// Rank 0's `parts` on every rank: their lengths, then their bytes.
#[cfg(feature = "mpi")]
fn broadcast_parts(w: &SimpleCommunicator, parts: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let root = w.process_at_rank(0);
    let mut lens: Vec<u64> = vec![0; w.size() as usize];
    for (l, p) in lens.iter_mut().zip(&parts) {
        *l = p.len() as u64;
    }
    root.broadcast_into(&mut lens[..]);
    let mut all: Vec<u8> = parts.concat();
    all.resize(lens.iter().sum::<u64>() as usize, 0);
    root.broadcast_into(&mut all[..]);
    let mut rest = &all[..];
    lens.iter()
        .map(|&l| {
            let (head, tail) = rest.split_at(l as usize);
            rest = tail;
            head.to_vec()
        })
        .collect()
}

/// [`Ranks::gather_bytes`] over MPI: each report as bytes (`O` and the
/// bytes, or `E` and the error), gathered with their lengths.
#[cfg(feature = "mpi")]
fn gather(
    w: &SimpleCommunicator,
    mine: Result<Vec<u8>, String>,
) -> Option<Vec<Result<Vec<u8>, String>>> {
    use mpi::Count;
    use mpi::datatype::PartitionMut;
    let bytes = match mine {
        Ok(b) => [b"O".to_vec(), b].concat(),
        Err(e) => format!("Erank {}: {e}", w.rank()).into_bytes(),
    };
    let root = w.process_at_rank(0);
    if w.rank() != 0 {
        root.gather_into(&(bytes.len() as Count));
        root.gather_varcount_into(&bytes[..]);
        return None;
    }
    let mut counts = vec![0 as Count; w.size() as usize];
    root.gather_into_root(&(bytes.len() as Count), &mut counts[..]);
    let displs: Vec<Count> = counts
        .iter()
        .scan(0, |acc, &c| {
            let d = *acc;
            *acc += c;
            Some(d)
        })
        .collect();
    let mut buf = vec![0u8; counts.iter().sum::<Count>() as usize];
    {
        let mut partition = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
        root.gather_varcount_into_root(&bytes[..], &mut partition);
    }
    let reports = counts
        .iter()
        .zip(&displs)
        .map(|(&c, &d)| {
            let m = &buf[d as usize..(d + c) as usize];
            match m.split_first() {
                Some((b'O', rest)) => Ok(rest.to_vec()),
                _ => Err(String::from_utf8_lossy(m.get(1..).unwrap_or_default()).to_string()),
            }
        })
        .collect();
    Some(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_sets_survive_their_byte_form() {
        let mut a = Traces::zeros(vec!["v,soma".into(), String::new()], 0.025, 3);
        a.trace_mut(0).copy_from_slice(&[-65.0, f64::NAN, 1e-300]);
        a.trace_mut(1).copy_from_slice(&[0.0, -0.0, f64::INFINITY]);
        let b = Traces::zeros(vec![], 0.1, 5);
        let bytes = [encode_traces(&a), encode_traces(&b)].concat();
        let back = decode_traces(&bytes);
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].names(), a.names());
        assert_eq!(back[1].names(), b.names());
        assert_eq!((back[1].dt(), back[1].n_samples()), (0.1, 5));
        let bits = |t: &Traces| t.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back[0]), bits(&a));
        assert!(decode_traces(&[]).is_empty());
    }

    #[test]
    fn alone_is_rank_zero_of_one() {
        let r = Ranks::alone();
        assert_eq!((r.rank(), r.size()), (0, 1));
        assert_eq!(r.share(3), vec![0, 1, 2]);
        assert_eq!(r.broadcast(7), 7);
        assert_eq!(r.all_gather_bytes(Ok(vec![1, 2])), Ok(vec![vec![1, 2]]));
        assert_eq!(r.verdict(Some("bad".into())), Err("bad".into()));
        assert_eq!(r.verdict(None), Ok(()));
    }
}
