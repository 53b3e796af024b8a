//! Work spread over the ranks of an MPI job (`mpirun -np N ruxley ...`,
//! with the `mpi` feature), or done by one process: the same calls either
//! way, so that every command gives the same files whatever the number of
//! ranks.

#[cfg(feature = "mpi")]
use mpi::topology::SimpleCommunicator;
#[cfg(feature = "mpi")]
use mpi::traits::*;

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
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            return gather(w, mine);
        }
        Some(vec![mine])
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

/// [`Ranks::gather`] over MPI: each report as bytes (`O` text or `E`
/// error), gathered with their lengths.
#[cfg(feature = "mpi")]
fn gather(w: &SimpleCommunicator, mine: Report) -> Option<Vec<Report>> {
    use mpi::Count;
    use mpi::datatype::PartitionMut;
    let bytes = match mine {
        Ok(t) => format!("O{t}"),
        Err(e) => format!("Erank {}: {e}", w.rank()),
    }
    .into_bytes();
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
            let text = String::from_utf8_lossy(&buf[d as usize..(d + c) as usize]).to_string();
            match text.split_at(1) {
                ("O", t) => Ok(t.to_string()),
                (_, e) => Err(e.to_string()),
            }
        })
        .collect();
    Some(reports)
}
