//! Reverse-mode sweeps over a sequence of steps x_{k+1} = F_k(x_k), under a
//! checkpoint schedule that trades memory for recomputation.
//!
//! A [`Reversible`] system provides the step and its vector-Jacobian product.
//! [`forward`] runs the steps once, shows every state to an observer (which
//! records the traces a loss needs) and keeps the checkpoints the
//! [`Schedule`] asks for; [`reverse`] then pulls a cotangent from the last
//! state back to the first, recomputing states from checkpoints as needed,
//! and calls a `seed` function at every sample so that a loss can add its
//! cotangent there. Every schedule calls `reverse` on exactly the same states
//! in the same order, so gradients are identical under all of them.
//!
//! This crate knows nothing of neurons: it is tested on toy systems alone.

#![warn(missing_docs)]

use std::fmt;

/// A sequence of steps with their vector-Jacobian products.
pub trait Reversible {
    /// The state between steps.
    type State: Clone;
    /// The cotangent of a state.
    type Cotangent;
    /// Advances `state` by step `k` (from sample k to sample k + 1).
    fn forward(&mut self, k: usize, state: &mut Self::State);
    /// Replaces `cot`, the cotangent of the state after step `k`, by the
    /// cotangent of the state before it (`before`), accumulating whatever
    /// else (parameter cotangents) the system tracks. `after` is the state
    /// after the step when the schedule has it at hand (the system may use
    /// it instead of recomputing the step; results must not depend on it).
    fn reverse(
        &mut self,
        k: usize,
        before: &Self::State,
        after: Option<&Self::State>,
        cot: &mut Self::Cotangent,
    );
    /// The memory one stored state takes, in bytes.
    fn state_bytes(&self, state: &Self::State) -> usize;
}

/// Which states to keep during the forward sweep and how to recover the
/// others during the reverse sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Keep every state: no recomputation, memory linear in the steps.
    StoreAll,
    /// Keep every k-th state; recompute each segment of k once.
    Uniform(usize),
    /// Jaxley's nested checkpointing: with lengths [l1, l2, ..., lm], keep
    /// every (l2 ... lm)-th state, within each such segment every
    /// (l3 ... lm)-th, and so on; the innermost segments of lm are stored
    /// whole. Memory about ceil(n / (l2...lm)) + l2 + ... + lm states, m - 1
    /// recomputations of every step.
    Nested(Vec<usize>),
    /// Binomial checkpointing (Griewank's Revolve) with this many stored
    /// states (the initial state included): with s free states, every step
    /// is recomputed at most t times, t the smallest with C(s + t, s) >= n.
    Revolve(usize),
}

impl Schedule {
    /// Two-level nested checkpointing with segments of about sqrt(n).
    pub fn sqrt(n: usize) -> Self {
        let l = (n as f64).sqrt().ceil().max(1.0) as usize;
        Self::Nested(vec![n.div_ceil(l).max(1), l])
    }

    fn validate(&self) -> Result<(), TapeError> {
        match self {
            Self::StoreAll => Ok(()),
            Self::Uniform(0) => Err(TapeError(
                "Uniform(0): segments need at least one step".into(),
            )),
            Self::Uniform(_) => Ok(()),
            Self::Nested(l) if l.is_empty() || l.contains(&0) => Err(TapeError(format!(
                "Nested({l:?}): lengths must be positive and at least one"
            ))),
            Self::Nested(_) => Ok(()),
            Self::Revolve(0) => Err(TapeError(
                "Revolve(0): at least the initial state is stored".into(),
            )),
            Self::Revolve(_) => Ok(()),
        }
    }
}

/// An invalid schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapeError(pub String);

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "checkpoint schedule: {}", self.0)
    }
}

impl std::error::Error for TapeError {}

/// What a sweep cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Steps of the forward sweep.
    pub forward_steps: usize,
    /// Steps computed again during the reverse sweep.
    pub recomputed_steps: usize,
    /// Steps reversed.
    pub reversed_steps: usize,
    /// The most states stored at once (checkpoints and segment buffers).
    pub peak_states: usize,
    /// Their memory in bytes.
    pub peak_bytes: usize,
}

/// Stored states, reusing buffers so that sweeps allocate only while the
/// number of live states grows past its previous peak.
struct Pool<S> {
    free: Vec<S>,
    live: usize,
    peak: usize,
}

impl<S: Clone> Pool<S> {
    fn new() -> Self {
        Self {
            free: Vec::new(),
            live: 0,
            peak: 0,
        }
    }

    fn copy_of(&mut self, src: &S) -> S {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        match self.free.pop() {
            Some(mut s) => {
                s.clone_from(src);
                s
            }
            None => src.clone(),
        }
    }

    fn release(&mut self, s: S) {
        self.live -= 1;
        self.free.push(s);
    }
}

/// The checkpoints of a forward sweep.
pub struct Tape<S> {
    schedule: Schedule,
    n: usize,
    /// (sample index, state) in increasing order.
    checkpoints: Vec<(usize, S)>,
    /// The final state (all schedules but Revolve).
    last: Option<S>,
    pool: Pool<S>,
    bytes_per_state: usize,
    forward_steps: usize,
}

impl<S> fmt::Debug for Tape<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tape")
            .field("schedule", &self.schedule)
            .field("steps", &self.n)
            .field("checkpoints", &self.checkpoints.len())
            .finish()
    }
}

/// Segment length of the top level of a schedule (states kept every this many steps).
fn top_stride(schedule: &Schedule, n: usize) -> usize {
    match schedule {
        Schedule::StoreAll => 1,
        Schedule::Uniform(k) => *k,
        Schedule::Nested(l) => l[1..].iter().product::<usize>().max(1),
        Schedule::Revolve(_) => n.max(1),
    }
}

/// Runs `n` steps from `x0`, calling `observe(k, state)` at every sample
/// k = 0..=n, and keeps the checkpoints of `schedule`.
pub fn forward<R: Reversible>(
    sys: &mut R,
    x0: &R::State,
    n: usize,
    schedule: &Schedule,
    mut observe: impl FnMut(usize, &R::State),
) -> Result<Tape<R::State>, TapeError> {
    schedule.validate()?;
    let stride = top_stride(schedule, n);
    let mut pool = Pool::new();
    let mut checkpoints = Vec::new();
    let mut x = x0.clone();
    observe(0, &x);
    for k in 0..n {
        if k % stride == 0 {
            checkpoints.push((k, pool.copy_of(&x)));
        }
        sys.forward(k, &mut x);
        observe(k + 1, &x);
    }
    if n == 0 {
        checkpoints.push((0, pool.copy_of(&x)));
    }
    let bytes_per_state = sys.state_bytes(&x);
    // Revolve keeps only what its memory allows; the others keep the final
    // state too, so that the last step is reversed knowing its result.
    let last = match schedule {
        Schedule::Revolve(_) => None,
        _ => Some(pool.copy_of(&x)),
    };
    Ok(Tape {
        schedule: schedule.clone(),
        n,
        checkpoints,
        last,
        pool,
        bytes_per_state,
        forward_steps: n,
    })
}

struct Sweep<'a, R: Reversible, F> {
    sys: &'a mut R,
    seed: F,
    pool: Pool<R::State>,
    stats: Stats,
}

impl<R: Reversible, F: FnMut(usize, &mut R::Cotangent)> Sweep<'_, R, F> {
    /// Reverses steps b-1 down to a given the state at a; seeds samples
    /// b-1 down to a+1 (the caller seeds b before and a after).
    fn store_all(
        &mut self,
        a: usize,
        b: usize,
        xa: &R::State,
        xb: Option<&R::State>,
        cot: &mut R::Cotangent,
    ) {
        // states[j] is the state at a + 1 + j.
        let mut states: Vec<R::State> = Vec::with_capacity(b - a - 1);
        for k in a + 1..b {
            let mut x = self.pool.copy_of(states.last().unwrap_or(xa));
            self.sys.forward(k - 1, &mut x);
            self.stats.recomputed_steps += 1;
            states.push(x);
        }
        // The state after the step being reversed, once it has been popped.
        let mut next: Option<R::State> = None;
        for k in (a..b).rev() {
            if k + 1 < b {
                (self.seed)(k + 1, cot);
            }
            let after = if k + 1 == b { xb } else { next.as_ref() };
            match states.pop() {
                Some(x) => {
                    self.sys.reverse(k, &x, after, cot);
                    if let Some(old) = next.replace(x) {
                        self.pool.release(old);
                    }
                }
                None => self.sys.reverse(k, xa, after, cot),
            }
            self.stats.reversed_steps += 1;
        }
        if let Some(old) = next {
            self.pool.release(old);
        }
    }

    /// Nested: reverses [a, b) with the given inner lengths.
    fn nested(
        &mut self,
        a: usize,
        b: usize,
        xa: &R::State,
        xb: Option<&R::State>,
        inner: &[usize],
        cot: &mut R::Cotangent,
    ) {
        if inner.len() <= 1 {
            return self.store_all(a, b, xa, xb, cot);
        }
        let stride = inner[1..].iter().product::<usize>().max(1);
        let last = a + (b - 1 - a) / stride * stride;
        let mut marks = Vec::new();
        let mut x = self.pool.copy_of(xa);
        for k in a..=last {
            if (k - a).is_multiple_of(stride) {
                marks.push((k, self.pool.copy_of(&x)));
            }
            if k < last {
                self.sys.forward(k, &mut x);
                self.stats.recomputed_steps += 1;
            }
        }
        self.pool.release(x);
        let mut end = b;
        let mut next: Option<R::State> = None;
        while let Some((start, xs)) = marks.pop() {
            if end < b {
                (self.seed)(end, cot);
            }
            let after = if end == b { xb } else { next.as_ref() };
            self.nested(start, end, &xs, after, &inner[1..], cot);
            if let Some(old) = next.replace(xs) {
                self.pool.release(old);
            }
            end = start;
        }
        if let Some(old) = next {
            self.pool.release(old);
        }
    }

    /// Binomial: reverses [a, b) with `free` more states storable.
    fn revolve(&mut self, a: usize, b: usize, xa: &R::State, free: usize, cot: &mut R::Cotangent) {
        let len = b - a;
        if len == 1 {
            self.sys.reverse(a, xa, None, cot);
            self.stats.reversed_steps += 1;
            return;
        }
        if free == 0 {
            // No room: recompute every state from a.
            let mut x = self.pool.copy_of(xa);
            for k in (a..b).rev() {
                if k + 1 < b {
                    (self.seed)(k + 1, cot);
                }
                x.clone_from(xa);
                for j in a..k {
                    self.sys.forward(j, &mut x);
                    self.stats.recomputed_steps += 1;
                }
                self.sys.reverse(k, &x, None, cot);
                self.stats.reversed_steps += 1;
            }
            self.pool.release(x);
            return;
        }
        let mut t = 1;
        while binomial(free + t, free) < len as u128 {
            t += 1;
        }
        let left = binomial(free + t - 1, free).min(len as u128 - 1).max(1) as usize;
        let m = a + left;
        let mut xm = self.pool.copy_of(xa);
        for k in a..m {
            self.sys.forward(k, &mut xm);
            self.stats.recomputed_steps += 1;
        }
        self.revolve(m, b, &xm, free - 1, cot);
        self.pool.release(xm);
        (self.seed)(m, cot);
        self.revolve(a, m, xa, free, cot);
    }
}

/// C(n, k), saturating.
fn binomial(n: usize, k: usize) -> u128 {
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for i in 0..k {
        r = r.saturating_mul((n - i) as u128) / (i as u128 + 1);
    }
    r
}

/// Pulls `cot` (the caller's zero cotangent) from the last sample back to the
/// first: `seed(k, cot)` is called for k = n, n-1, ..., 0 in that order,
/// each just before the steps that end at sample k are reversed, so that a
/// loss can add its cotangent at every sample.
pub fn reverse<R: Reversible>(
    sys: &mut R,
    tape: Tape<R::State>,
    mut seed: impl FnMut(usize, &mut R::Cotangent),
    cot: &mut R::Cotangent,
) -> Stats {
    let Tape {
        schedule,
        n,
        mut checkpoints,
        last,
        pool,
        bytes_per_state,
        forward_steps,
    } = tape;
    let kept = checkpoints.len();
    seed(n, cot);
    let mut sweep = Sweep {
        sys,
        seed: &mut seed,
        pool,
        stats: Stats {
            forward_steps,
            ..Stats::default()
        },
    };
    if n > 0 {
        match &schedule {
            Schedule::Revolve(slots) => {
                let (_, x0) = checkpoints.pop().expect("the initial state is kept");
                sweep.revolve(0, n, &x0, slots - 1, cot);
                sweep.pool.release(x0);
            }
            _ => {
                let inner: &[usize] = match &schedule {
                    Schedule::Nested(l) => &l[1..],
                    _ => &[],
                };
                let mut end = n;
                let mut next = last;
                while let Some((start, xs)) = checkpoints.pop() {
                    if end < n {
                        (sweep.seed)(end, cot);
                    }
                    if inner.is_empty() {
                        sweep.store_all(start, end, &xs, next.as_ref(), cot);
                    } else {
                        sweep.nested(start, end, &xs, next.as_ref(), inner, cot);
                    }
                    if let Some(old) = next.replace(xs) {
                        sweep.pool.release(old);
                    }
                    end = start;
                }
                if let Some(old) = next {
                    sweep.pool.release(old);
                }
            }
        }
    }
    if n > 0 {
        (sweep.seed)(0, cot);
    }
    let mut stats = sweep.stats;
    stats.peak_states = sweep.pool.peak.max(kept);
    stats.peak_bytes = stats.peak_states * bytes_per_state;
    stats
}

#[cfg(test)]
mod tests;
