//! Losses with their gradients, on plain slices: independent of the
//! simulator, each returns its value and its gradient with respect to the
//! first argument (the simulated trace, the parameters, the logits).
//!
//! | loss | use |
//! |---|---|
//! | [`mse`], [`mae`] | pointwise fits |
//! | [`WindowStats`] | the paper's summary statistics of voltage (mean and s.d. in windows) |
//! | [`dtw`], [`SoftDtw`] | traces with shifted spikes (the paper's cost c = \|x_i - y_j\| + \|i - j\|); its divergence on [`max_pool`]ed traces |
//! | [`smoothness`] | the prior lambda sum_b (g_b - g_parent(b))^2 over a tree |
//! | [`cross_entropy`], [`Readout`], [`ClassLoss`] | classification from logits read from voltages |
//! | [`soft_spike_count`] | a differentiable count of upward threshold crossings |
//!
//! On the traces of a simulation, [`TraceFit`] sums these comparisons of
//! named traces with targets and gives the gradient with respect to every
//! recorded sample ([`TraceLoss`]), which is what a backend's
//! `value_and_grad` needs.

#![warn(missing_docs)]

use std::ops::Range;

mod readout;
mod trace_fit;

pub use readout::{ClassLoss, Readout, Reduce};
pub use trace_fit::{Compare, LossError, TraceFit, TraceLoss};

/// Mean squared error (1/N) sum (x - y)^2 and its gradient in x.
pub fn mse(x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
    assert_eq!(x.len(), y.len(), "mse: lengths differ");
    let n = x.len().max(1) as f64;
    let value = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / n;
    (
        value,
        x.iter().zip(y).map(|(a, b)| 2.0 * (a - b) / n).collect(),
    )
}

/// Mean absolute error (1/N) sum |x - y| and its (sub)gradient in x (0 where x = y).
pub fn mae(x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
    assert_eq!(x.len(), y.len(), "mae: lengths differ");
    let n = x.len().max(1) as f64;
    let value = x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / n;
    (
        value,
        x.iter().zip(y).map(|(a, b)| sign(a - b) / n).collect(),
    )
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Summary statistics of a trace: its mean and standard deviation in each
/// time window, compared by mean absolute error after dividing the means by
/// `mean_scale` and the deviations by `std_scale` (the paper uses 8 and 4 mV).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStats {
    /// Sample ranges of the windows.
    pub windows: Vec<Range<usize>>,
    /// Scale of the means (mV).
    pub mean_scale: f64,
    /// Scale of the standard deviations (mV).
    pub std_scale: f64,
}

impl WindowStats {
    /// `count` equal windows over `n` samples.
    pub fn equal(n: usize, count: usize, mean_scale: f64, std_scale: f64) -> Self {
        let windows = (0..count)
            .map(|k| k * n / count..(k + 1) * n / count)
            .collect();
        Self {
            windows,
            mean_scale,
            std_scale,
        }
    }

    /// The statistics (mean, s.d.) of each window of `x`.
    pub fn stats(&self, x: &[f64]) -> Vec<(f64, f64)> {
        self.windows
            .iter()
            .map(|w| {
                let s = &x[w.clone()];
                let n = s.len() as f64;
                let mean = s.iter().sum::<f64>() / n;
                let var = s.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                (mean, var.sqrt())
            })
            .collect()
    }

    /// Per window, |mean(x) - mean(y)| / mean_scale and |sd(x) - sd(y)| /
    /// std_scale: the 2W terms whose mean is the loss (the objectives of a
    /// multi-objective fit).
    pub fn errors(&self, x: &[f64], y: &[f64]) -> Vec<f64> {
        self.stats(x)
            .iter()
            .zip(self.stats(y))
            .flat_map(|(&(mx, dx), (my, dy))| {
                [
                    (mx - my).abs() / self.mean_scale,
                    (dx - dy).abs() / self.std_scale,
                ]
            })
            .collect()
    }

    /// The loss between the statistics of `x` and `y` (averaged over the 2W
    /// statistics) and its gradient in x.
    pub fn value_and_grad(&self, x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
        let (sx, sy) = (self.stats(x), self.stats(y));
        let count = (2 * self.windows.len()).max(1) as f64;
        let mut value = 0.0;
        let mut grad = vec![0.0; x.len()];
        for ((w, &(mx, dx)), &(my, dy)) in self.windows.iter().zip(&sx).zip(&sy) {
            value += ((mx - my).abs() / self.mean_scale + (dx - dy).abs() / self.std_scale) / count;
            let n = w.len() as f64;
            let gm = sign(mx - my) / self.mean_scale / count;
            let gd = sign(dx - dy) / self.std_scale / count;
            for i in w.clone() {
                // d mean / d x_i = 1/n; d sd / d x_i = (x_i - mean) / (n sd).
                let dsd = if dx > 0.0 {
                    (x[i] - mx) / (n * dx)
                } else {
                    0.0
                };
                grad[i] += gm / n + gd * dsd;
            }
        }
        (value, grad)
    }
}

/// The paper's alignment cost of sample i of x and sample j of y.
#[inline]
fn cost(x: &[f64], y: &[f64], i: usize, j: usize, time_weight: f64) -> f64 {
    (x[i] - y[j]).abs() + time_weight * (i as f64 - j as f64).abs()
}

/// Dynamic time warping distance with cost |x_i - y_j| + w |i - j|.
pub fn dtw(x: &[f64], y: &[f64], time_weight: f64) -> f64 {
    let m = y.len();
    let mut prev = vec![f64::INFINITY; m + 1];
    let mut row = vec![f64::INFINITY; m + 1];
    prev[0] = 0.0;
    for i in 0..x.len() {
        row[0] = f64::INFINITY;
        for j in 0..m {
            row[j + 1] = cost(x, y, i, j, time_weight) + prev[j + 1].min(row[j]).min(prev[j]);
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[m]
}

/// Soft-DTW (Cuturi and Blondel 2017) with the paper's cost
/// |x_i - y_j| + w |i - j|: the hard minimum over alignments replaced by
/// -gamma log sum exp(-./gamma). As gamma -> 0 it tends to [`dtw`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftDtw {
    /// Smoothing (> 0), in the units of the cost.
    pub gamma: f64,
    /// Weight w of the time-warp term (1 in the paper).
    pub time_weight: f64,
}

impl SoftDtw {
    fn softmin(&self, a: f64, b: f64, c: f64) -> f64 {
        let m = a.min(b).min(c);
        if m.is_infinite() {
            return m;
        }
        let g = self.gamma;
        m - g * ((-(a - m) / g).exp() + (-(b - m) / g).exp() + (-(c - m) / g).exp()).ln()
    }

    /// The cumulative cost matrix R, (N + 2) x (M + 2) row-major.
    fn forward(&self, x: &[f64], y: &[f64]) -> Vec<f64> {
        let (n, m) = (x.len(), y.len());
        let w = m + 2;
        let mut r = vec![f64::INFINITY; (n + 2) * w];
        r[0] = 0.0;
        for i in 1..=n {
            for j in 1..=m {
                let s = self.softmin(r[(i - 1) * w + j], r[i * w + j - 1], r[(i - 1) * w + j - 1]);
                r[i * w + j] = cost(x, y, i - 1, j - 1, self.time_weight) + s;
            }
        }
        r
    }

    /// The soft-DTW value.
    pub fn value(&self, x: &[f64], y: &[f64]) -> f64 {
        let r = self.forward(x, y);
        r[x.len() * (y.len() + 2) + y.len()]
    }

    /// The value and its gradient in x. Time O(NM); memory one (N+2)(M+2)
    /// matrix, with the alignment expectations kept two rows at a time.
    pub fn value_and_grad(&self, x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
        let (n, m) = (x.len(), y.len());
        let w = m + 2;
        let mut r = self.forward(x, y);
        let value = r[n * w + m];
        // Boundary of the backward recursion (Cuturi and Blondel, alg. 2).
        for j in 0..w {
            r[(n + 1) * w + j] = f64::NEG_INFINITY;
        }
        for i in 0..n + 2 {
            r[i * w + m + 1] = f64::NEG_INFINITY;
        }
        r[(n + 1) * w + m + 1] = value;
        let c = |i: usize, j: usize| {
            if i >= 1 && i <= n && j >= 1 && j <= m {
                cost(x, y, i - 1, j - 1, self.time_weight)
            } else {
                0.0
            }
        };
        let g = self.gamma;
        let mut next = vec![0.0; w]; // E at row i + 1
        let mut row = vec![0.0; w];
        next[m + 1] = 1.0;
        let mut grad = vec![0.0; n];
        for i in (1..=n).rev() {
            row[m + 1] = 0.0;
            for j in (1..=m).rev() {
                let rij = r[i * w + j];
                let a = ((r[(i + 1) * w + j] - rij - c(i + 1, j)) / g).exp();
                let b = ((r[i * w + j + 1] - rij - c(i, j + 1)) / g).exp();
                let d = ((r[(i + 1) * w + j + 1] - rij - c(i + 1, j + 1)) / g).exp();
                let e = next[j] * a + row[j + 1] * b + next[j + 1] * d;
                row[j] = e;
                grad[i - 1] += e * sign(x[i - 1] - y[j - 1]);
            }
            if i == n {
                row[m + 1] = 0.0;
            }
            std::mem::swap(&mut next, &mut row);
            next[m + 1] = 0.0;
        }
        (value, grad)
    }

    /// The soft-DTW divergence D(x, y) - D(x, x)/2 - D(y, y)/2 (Blondel et
    /// al. 2021), which is 0 at x = y where D itself is not, and its
    /// gradient in x. The cost is symmetric, so the gradient of D(x, x) is
    /// twice that in its first argument. The paper's fits to recordings use
    /// it on max-pooled, normalised traces ([`max_pool`]).
    pub fn divergence_and_grad(&self, x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
        let (xy, mut grad) = self.value_and_grad(x, y);
        let (xx, gxx) = self.value_and_grad(x, x);
        let yy = self.value(y, y);
        for (g, h) in grad.iter_mut().zip(gxx) {
            *g -= h;
        }
        (xy - 0.5 * (xx + yy), grad)
    }
}

/// Max pooling: the index of the largest sample in each window
/// `k * stride .. k * stride + window` that fits in `n` samples (the first
/// index on ties). The pooled trace is `x[i]` for these indices, and its
/// gradient flows back to them alone.
///
/// ```
/// let x = [0.0, 3.0, 1.0, 5.0, 2.0, 2.0, 0.0];
/// assert_eq!(ruxley_loss::max_pool(&x, 3, 2), vec![1, 3, 4]);
/// ```
pub fn max_pool(x: &[f64], window: usize, stride: usize) -> Vec<usize> {
    assert!(
        window > 0 && stride > 0,
        "max_pool needs a window and a stride"
    );
    (0..)
        .map(|k| k * stride)
        .take_while(|&start| start + window <= x.len())
        .map(|start| {
            (start..start + window).fold(start, |best, i| if x[i] > x[best] { i } else { best })
        })
        .collect()
}

/// The paper's loss for fits to recordings: both traces max-pooled
/// ([`max_pool`]), scaled so that the pooled target spans [0, 1], and
/// compared by the soft-DTW divergence ([`SoftDtw::divergence_and_grad`])
/// with a time weight of 1 / (pooled length). Pooling keeps each spike's
/// peak while shrinking the O(N M) alignment by stride^2. A flat target is
/// not scaled; traces shorter than a window compare as equal (0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapeDtw {
    /// Pooling window (samples).
    pub window: usize,
    /// Pooling stride (samples).
    pub stride: usize,
    /// Smoothing of the soft minimum, in units of the target's range.
    pub gamma: f64,
}

impl ShapeDtw {
    /// The value and its gradient in x.
    pub fn value_and_grad(&self, x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
        let (ix, iy) = (
            max_pool(x, self.window, self.stride),
            max_pool(y, self.window, self.stride),
        );
        let (lo, hi) = iy
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                (lo.min(y[i]), hi.max(y[i]))
            });
        // A flat target leaves the traces unscaled.
        let scale = if hi > lo { (hi - lo).recip() } else { 1.0 };
        let px: Vec<f64> = ix.iter().map(|&i| (x[i] - lo) * scale).collect();
        let py: Vec<f64> = iy.iter().map(|&i| (y[i] - lo) * scale).collect();
        let dtw = SoftDtw {
            gamma: self.gamma,
            time_weight: (py.len() as f64).recip(),
        };
        let (value, gp) = dtw.divergence_and_grad(&px, &py);
        let mut grad = vec![0.0; x.len()];
        for (&i, g) in ix.iter().zip(gp) {
            grad[i] += g * scale;
        }
        (value, grad)
    }
}

/// The smoothness prior lambda sum_b (g_b - g_parent(b))^2 over a tree given
/// by `parents` (`None` for roots), and its gradient in g.
pub fn smoothness(g: &[f64], parents: &[Option<usize>], lambda: f64) -> (f64, Vec<f64>) {
    assert_eq!(g.len(), parents.len(), "smoothness: one parent per value");
    let mut value = 0.0;
    let mut grad = vec![0.0; g.len()];
    for (b, p) in parents.iter().enumerate() {
        if let Some(p) = *p {
            let d = g[b] - g[p];
            value += lambda * d * d;
            grad[b] += 2.0 * lambda * d;
            grad[p] -= 2.0 * lambda * d;
        }
    }
    (value, grad)
}

/// Cross-entropy -log softmax(logits)\[label\] and its gradient in the logits
/// (softmax - one-hot), computed stably.
pub fn cross_entropy(logits: &[f64], label: usize) -> (f64, Vec<f64>) {
    assert!(label < logits.len(), "cross_entropy: label out of range");
    let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = logits.iter().map(|l| (l - m).exp()).sum();
    let log_z = m + z.ln();
    let grad = logits
        .iter()
        .enumerate()
        .map(|(k, l)| (l - log_z).exp() - if k == label { 1.0 } else { 0.0 })
        .collect();
    (log_z - logits[label], grad)
}

/// A differentiable count of upward crossings of `threshold`:
/// sum_t s(k (v_t - theta)) s(k (theta - v_{t-1})), s the logistic function
/// and k = 1 / width. It tends to the number of crossings as width -> 0.
pub fn soft_spike_count(v: &[f64], threshold: f64, width: f64) -> (f64, Vec<f64>) {
    let s = |z: f64| 1.0 / (1.0 + (-z).exp());
    let k = 1.0 / width;
    let mut value = 0.0;
    let mut grad = vec![0.0; v.len()];
    for t in 1..v.len() {
        let a = s(k * (v[t] - threshold));
        let b = s(k * (threshold - v[t - 1]));
        value += a * b;
        grad[t] += k * a * (1.0 - a) * b;
        grad[t - 1] -= k * b * (1.0 - b) * a;
    }
    (value, grad)
}

#[cfg(test)]
mod tests;
