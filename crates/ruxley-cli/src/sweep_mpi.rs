//! Sweeps across MPI ranks: chunks of members dealt round-robin, each rank
//! writing its members' trace files, rank 0 the summary in member order, so
//! that the files do not depend on the number of ranks. A failure on any
//! rank (an error or a panic) stops every rank after the round it happened
//! in, with an error naming the rank and the member.

use mpi::Count;
use mpi::datatype::PartitionMut;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use ruxley::{Backend, Layout, RunOptions};

use crate::sweep::{ChunkResult, Sets, Summary, Sweep, SweepError, SweepOptions};

/// Runs the sweep on every rank of `world` (every rank calls this with the
/// same arguments); returns the number of members run.
pub fn run(
    world: &SimpleCommunicator,
    backend: &dyn Backend,
    layout: &Layout,
    options: &RunOptions,
    sets: &Sets,
    how: &SweepOptions,
) -> Result<usize, SweepError> {
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let root = world.process_at_rank(0);
    // Rank 0 reads (or starts) the summary and tells the others where to
    // begin; u64::MAX means it could not.
    let sweep = Sweep::new(backend, layout, options, sets, how);
    let mut summary: Option<Summary> = None;
    let mut start: u64 = 0;
    let mut first_error = None;
    if rank == 0 {
        let plan = match &sweep {
            Ok(sw) => sw.plan(),
            Err(e) => Err(SweepError::from(e.to_string())),
        };
        match plan {
            Ok((_, s)) => {
                start = s.done as u64;
                summary = Some(s);
            }
            Err(e) => {
                start = u64::MAX;
                first_error = Some(e);
            }
        }
    }
    root.broadcast_into(&mut start);
    if start == u64::MAX {
        return Err(first_error.unwrap_or_else(stopped));
    }
    let sweep = sweep?;
    let step = how.chunk.max(1);
    let chunks: Vec<(usize, usize)> = (start as usize..sets.rows.len())
        .step_by(step)
        .map(|s| (s, (s + step).min(sets.rows.len())))
        .collect();
    let mut ran = 0;
    for round in chunks.chunks(size) {
        let mine = round.get(rank).map(|&(s, e)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sweep.chunk(s, e)))
                .unwrap_or_else(|p| {
                    let what = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(SweepError::from(format!(
                        "members {s}..{e} panicked: {what}"
                    )))
                })
        });
        let message = encode(rank, mine);
        let mut go = 1u8;
        if rank == 0 {
            let all = gather(world, &message);
            let summary = summary.as_mut().expect("rank 0 holds the summary");
            for m in all {
                match decode(&m) {
                    Some(Ok(chunk)) => {
                        ran += chunk.lines.len();
                        summary.append(&chunk)?;
                    }
                    Some(Err(e)) => {
                        first_error = Some(e);
                        go = 0;
                        break;
                    }
                    None => {}
                }
            }
        } else {
            root.gather_into(&(message.len() as Count));
            root.gather_varcount_into(&message[..]);
            ran += round.iter().map(|(s, e)| e - s).sum::<usize>();
        }
        root.broadcast_into(&mut go);
        if go == 0 {
            return Err(first_error.unwrap_or_else(stopped));
        }
    }
    Ok(ran)
}

fn stopped() -> SweepError {
    SweepError::from("stopped: another rank failed (rank 0 reports it)".to_string())
}

/// A rank's report of a round: `N` (no chunk), `E<error>`, or
/// `O<header>\n<lines>`.
fn encode(rank: usize, r: Option<Result<ChunkResult, SweepError>>) -> Vec<u8> {
    match r {
        None => b"N".to_vec(),
        Some(Err(e)) => format!("Erank {rank}: {e}").into_bytes(),
        Some(Ok(c)) => {
            let mut s = format!("O{}", c.header);
            for l in &c.lines {
                s.push('\n');
                s += l;
            }
            s.into_bytes()
        }
    }
}

fn decode(m: &[u8]) -> Option<Result<ChunkResult, SweepError>> {
    let text = String::from_utf8_lossy(m);
    let (kind, rest) = text.split_at(1);
    match kind {
        "E" => Some(Err(SweepError::from(rest.to_string()))),
        "O" => {
            let mut parts = rest.split('\n');
            let header = parts.next().unwrap_or_default().to_string();
            Some(Ok(ChunkResult {
                header,
                lines: parts.map(str::to_string).collect(),
            }))
        }
        _ => None,
    }
}

/// Every rank's message, in rank order, on rank 0.
fn gather(world: &SimpleCommunicator, mine: &[u8]) -> Vec<Vec<u8>> {
    let root = world.process_at_rank(0);
    let mut counts = vec![0 as Count; world.size() as usize];
    root.gather_into_root(&(mine.len() as Count), &mut counts[..]);
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
        root.gather_varcount_into_root(mine, &mut partition);
    }
    counts
        .iter()
        .zip(&displs)
        .map(|(&c, &d)| buf[d as usize..(d + c) as usize].to_vec())
        .collect()
}
