//! The command-line flags of the example programs: `--full` (the paper's
//! scale) and `--name value` pairs, each written into a typed field.
//!
//! ```
//! let args = ["--epochs", "30", "--full"].map(String::from);
//! let flags = example_flags::parse(args, &["--epochs N", "--lr X"]).unwrap();
//! let (mut epochs, mut lr) = (10usize, 0.1);
//! flags.set("--epochs", &mut epochs).unwrap();
//! flags.set("--lr", &mut lr).unwrap();
//! assert_eq!((flags.full, epochs, lr), (true, 30, 0.1));
//! ```

use std::fmt::Display;
use std::str::FromStr;

/// Parsed flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    /// `--full` was given.
    pub full: bool,
    values: Vec<(String, String)>,
}

/// Parses `args` against the accepted flags, each written as its name and a
/// placeholder for its value (`"--epochs N"`); an error names an unknown
/// flag (listing the accepted ones) or a flag without its value.
pub fn parse(args: impl IntoIterator<Item = String>, accepted: &[&str]) -> Result<Flags, String> {
    let names: Vec<&str> = accepted
        .iter()
        .map(|a| a.split_whitespace().next().unwrap_or(a))
        .collect();
    let mut flags = Flags {
        full: false,
        values: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--full" {
            flags.full = true;
        } else if names.contains(&arg.as_str()) {
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            flags.values.push((arg, value));
        } else {
            let mut known = vec!["--full"];
            known.extend(accepted);
            return Err(format!("unknown argument {arg} ({})", known.join(", ")));
        }
    }
    Ok(flags)
}

impl Flags {
    /// Writes the last value given for `name` into `target`, if any; an
    /// error names the flag and the value that does not parse.
    pub fn set<T: FromStr>(&self, name: &str, target: &mut T) -> Result<(), String>
    where
        T::Err: Display,
    {
        if let Some((_, v)) = self.values.iter().rev().find(|(n, _)| n == name) {
            *target = v.parse().map_err(|e| format!("{name} {v}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_land_typed_and_bad_input_is_named() {
        let f = parse(
            args(&["--seed", "3", "--lr", "0.5", "--seed", "4"]),
            &["--seed N", "--lr X"],
        )
        .unwrap();
        assert!(!f.full);
        let (mut seed, mut lr, mut untouched) = (0u64, 0.0f64, 7usize);
        f.set("--seed", &mut seed).unwrap();
        f.set("--lr", &mut lr).unwrap();
        f.set("--steps", &mut untouched).unwrap();
        assert_eq!((seed, lr, untouched), (4, 0.5, 7));
        let e = parse(args(&["--sed", "3"]), &["--seed N"]).unwrap_err();
        assert_eq!(e, "unknown argument --sed (--full, --seed N)");
        assert_eq!(
            parse(args(&["--seed"]), &["--seed N"]).unwrap_err(),
            "--seed needs a value"
        );
        let f = parse(args(&["--seed", "2.5"]), &["--seed N"]).unwrap();
        let e = f.set("--seed", &mut seed).unwrap_err();
        assert!(e.starts_with("--seed 2.5: "), "{e}");
    }
}
