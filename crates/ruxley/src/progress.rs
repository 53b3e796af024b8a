//! Progress bars for fits and samplers (indicatif), in one style.
//!
//! ```
//! let bar = ruxley::progress::bar(100, "fit", false);
//! for _ in 0..100 {
//!     bar.inc(1);
//! }
//! bar.finish();
//! assert_eq!(bar.position(), 100);
//! ```

pub use indicatif::ProgressBar;
use indicatif::{ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps labelled `prefix`, showing the count, the elapsed
/// time and a message (`set_message`), drawn on stderr if `visible`
/// (indicatif draws nothing when stderr is not a terminal).
pub fn bar(len: usize, prefix: &str, visible: bool) -> ProgressBar {
    let target = if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(prefix.to_string());
    bar
}
