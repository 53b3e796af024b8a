//! The semantics of imported mechanisms, checked on their graphs against
//! closed forms, and the errors of bad files.

use proptest::prelude::*;
use ruxley_channels::{CALCIUM, Channel, ChannelIr, IonVar};

use crate::{Nmodl, NmodlError};

const DT: f64 = 0.025;

/// A mechanism `m` with the given blocks after a NEURON block of
/// `neuron` statements.
fn src(neuron: &str, rest: &str) -> String {
    format!("NEURON {{\n SUFFIX m\n {neuron}\n}}\n{rest}")
}

fn read(neuron: &str, rest: &str) -> Result<Nmodl, NmodlError> {
    Nmodl::from_source("m.mod", &src(neuron, rest))
}

fn ir(m: &Nmodl) -> ChannelIr {
    m.ir(DT, 6.3)
}

/// A one-state mechanism: RANGE a, tau; STATE x; x' = `rhs` by `method`.
fn one_state(method: &str, rhs: &str) -> ChannelIr {
    let m = read(
        "RANGE a, tau",
        &format!(
            "PARAMETER {{ a = 2 tau = 3 }}\nSTATE {{ x }}\n\
             BREAKPOINT {{ SOLVE s METHOD {method} }}\nDERIVATIVE s {{ x' = {rhs} }}"
        ),
    )
    .unwrap();
    ir(&m)
}

/// The state after one step from x = 0.5 at a = 2, tau = 3.
fn step(ir: &ChannelIr) -> f64 {
    ir.advance.eval(&[-65.0, 2.0, 3.0, 0.5])[0]
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn cnexp_is_the_exact_step_of_a_linear_equation() {
    let want = 2.0 + (0.5 - 2.0) * (-DT / 3.0f64).exp();
    let got = step(&one_state("cnexp", "(a - x)/tau"));
    assert!(close(got, want, 1e-15), "{got} {want}");
    // Without its state the equation is a constant rate: x + dt a.
    let got = step(&one_state("cnexp", "a"));
    assert!(close(got, 0.5 + DT * 2.0, 1e-15), "{got}");
    // The checker sees a step off by dt^2.
    assert!(!close(
        step(&one_state("cnexp", "(a - x)/tau")),
        want + DT * DT,
        1e-15
    ));
}

#[test]
fn derivimplicit_is_backward_euler_and_euler_is_forward() {
    let got = step(&one_state("derivimplicit", "(a - x)/tau"));
    let want = (0.5 + DT * 2.0 / 3.0) / (1.0 + DT / 3.0);
    assert!(close(got, want, 1e-15), "{got} {want}");
    // Nonlinear: y = x - dt y^2 (Newton's method from x).
    let got = step(&one_state("derivimplicit", "-x*x"));
    let want = (-1.0 + (1.0 + 4.0 * DT * 0.5f64).sqrt()) / (2.0 * DT);
    assert!(close(got, want, 1e-14), "{got} {want}");
    let got = step(&one_state("euler", "(a - x)/tau"));
    assert!(close(got, 0.5 + DT * (2.0 - 0.5) / 3.0, 1e-15), "{got}");
}

#[test]
fn initial_breakpoint_and_the_slope_of_the_current() {
    let m = read(
        "NONSPECIFIC_CURRENT i\n RANGE g, e",
        "PARAMETER { g = 0.001 (S/cm2) e = -70 (mV) x0 = 0.25 }\n\
         STATE { x }\nASSIGNED { v (mV) i (mA/cm2) }\n\
         INITIAL { x = x + 1 }\n\
         BREAKPOINT { i = g*x*(v - e)*(v - e) }",
    )
    .unwrap();
    let ir = ir(&m);
    // x starts at the GLOBAL x0.
    assert_eq!(ir.init.eval(&[-65.0, 0.001, -70.0, 0.0])[0], 1.25);
    let [i, di] = ir.current.eval(&[-60.0, 0.002, -70.0, 0.5])[..] else {
        unreachable!()
    };
    assert!(close(i, 0.002 * 0.5 * 100.0, 1e-15), "{i}");
    // NEURON's forward difference over 0.001 mV: 2 g x (v - e) + g x 0.001.
    assert!(close(di, 0.002 * 0.5 * (20.0 + 0.001), 1e-9), "{di}");
    assert_eq!(m.params().len(), 2);
    assert_eq!(m.globals(), &[("x0".to_string(), 0.25)]);
}

#[test]
fn branches_on_the_voltage_select_per_point() {
    let m = read(
        "NONSPECIFIC_CURRENT i",
        "ASSIGNED { i }\nBREAKPOINT {\n\
           if (v < -50 && !(v == -70)) { i = 1 } else if (v >= 0 || v != v) { i = 2 } else { i = 3 }\n\
         }",
    )
    .unwrap();
    let i = |v: f64| ir(&m).current.eval(&[v])[0];
    assert_eq!(
        [i(-60.0), i(-70.0), i(10.0), i(-20.0)],
        [1.0, 3.0, 2.0, 3.0]
    );
}

#[test]
fn functions_procedures_and_globals() {
    let m = read(
        "NONSPECIFIC_CURRENT i\n RANGE g\n GLOBAL k",
        "PARAMETER { g = 1 k = 2 }\nASSIGNED { i s }\n\
         FUNCTION sq(x) { LOCAL y\n y = x\n sq = y*y }\n\
         FUNCTION fact(n) { if (n <= 1) { fact = 1 } else { fact = n*fact(n - 1) } }\n\
         PROCEDURE set(u) { s = sq(u) + k }\n\
         BREAKPOINT { set(v) i = g*s + fact(4) + 10^2 + pow(2, 3) + log10(1000) + fabs(-1) + sqrt(4) + exp(0) + log(1) + tanh(0) }",
    )
    .unwrap();
    let i = |m: &Nmodl| m.ir(DT, 6.3).current.eval(&[3.0, 0.5])[0];
    let rest = 24.0 + 100.0 + 8.0 + 3.0 + 1.0 + 2.0 + 1.0;
    assert!(close(i(&m), 0.5 * (9.0 + 2.0) + rest, 1e-15), "{}", i(&m));
    let mut m2 = m.clone();
    m2.set_global("k", 4.0).unwrap();
    assert!(close(i(&m2), 0.5 * (9.0 + 4.0) + rest, 1e-15));
    assert!(
        m2.set_global("g", 1.0)
            .unwrap_err()
            .to_string()
            .contains("no GLOBAL")
    );
    assert!(m2.set_global("k", f64::NAN).is_err());
}

#[test]
fn units_constants_names_and_bounds() {
    let m = read(
        "RANGE gbar\n USEION ca READ eca WRITE ica",
        "UNITS { (mV) = (millivolt) F = (faraday) (kilocoulombs) R = (k-mole) (joule/degC) PI = (pi) (1) }\n\
         PARAMETER { gbar = 0.1 (S/cm2) <0, 1> }\nASSIGNED { ica (mA/cm2) eca (mV) }\n\
         BREAKPOINT { ica = gbar*(v - eca)*F*R*PI }",
    )
    .unwrap();
    assert_eq!(m.name(), "m");
    assert_eq!(m.params()[0].name, "gbar");
    assert_eq!(m.params()[0].bounds, (0.0, 1.0));
    assert_eq!(m.inputs(), &[IonVar::Reversal(CALCIUM)]);
    assert_eq!(m.ion(), Some(CALCIUM));
    let i = ir(&m).current.eval(&[10.0, 1.0, 0.0])[0];
    let want = 10.0 * 96.48533212331001 * 8.31446261815324 * std::f64::consts::PI;
    assert!(close(i, want, 1e-14), "{i} {want}");
    let m = m.with_bounds("gbar", 0.0, 0.5).unwrap();
    assert_eq!(m.params()[0].bounds, (0.0, 0.5));
    assert!(m.clone().with_bounds("gbar", 1.0, 0.5).is_err());
    assert!(m.with_bounds("nope", 0.0, 1.0).is_err());
}

#[test]
fn a_pool_owns_its_concentration_as_state_zero() {
    let m = read(
        "USEION ca READ ica WRITE cai\n RANGE decay",
        "PARAMETER { decay = 80 }\nSTATE { other cai (mM) }\n\
         BREAKPOINT { SOLVE s METHOD cnexp }\n\
         DERIVATIVE s { cai' = -ica - cai/decay other' = 0 }",
    )
    .unwrap();
    assert_eq!(m.pool(), Some(CALCIUM));
    assert_eq!(m.states()[0].name, "cai");
    assert_eq!(m.states()[0].default, CALCIUM.default_inside);
    assert_eq!(m.inputs(), &[IonVar::Current(CALCIUM)]);
}

#[test]
fn kinetic_schemes_take_backward_euler_steps_and_start_at_neurons_steady_state() {
    // A <-> B (kf, kb) with A + B = 1: linear, so one Newton step is exact.
    let m = read(
        "RANGE kf, kb",
        "PARAMETER { kf = 0.3 kb = 0.1 }\nSTATE { A B }\n\
         INITIAL { SOLVE k STEADYSTATE sparse }\n\
         BREAKPOINT { SOLVE k METHOD sparse }\n\
         KINETIC k { ~ A <-> B (kf, kb) CONSERVE A + B = 1 }",
    )
    .unwrap();
    let ir = ir(&m);
    let (kf, kb) = (0.3, 0.1);
    // Backward Euler: A' = A + dt (-kf A' + kb B'), A' + B' = A + B.
    let (a, b) = (0.8, 0.2);
    let a1 = (a + DT * kb * (a + b)) / (1.0 + DT * (kf + kb));
    let got = ir.advance.eval(&[-65.0, kf, kb, a, b]);
    assert!(
        close(got[0], a1, 1e-15) && close(got[1], a + b - a1, 1e-15),
        "{got:?}"
    );
    // The steady state is one step of 1e9 ms from the start (A = B = 0),
    // as NEURON takes it: kb/(kf + kb) to about 1e-9.
    let s = ir.init.eval(&[-65.0, kf, kb, 0.0, 0.0]);
    let big = 1e9;
    let exact_step = big * kb / (1.0 + big * (kf + kb));
    assert!(close(s[0], exact_step, 1e-15), "{s:?}");
    assert!((s[0] - kb / (kf + kb)).abs() < 1e-8, "{s:?}");
    // Second order: 2 A <-> D, A + 2 D = 1, solved by Newton's method.
    let m = read(
        "",
        "STATE { A D }\nBREAKPOINT { SOLVE k METHOD sparse }\n\
         KINETIC k { ~ 2A <-> D (2, 1) CONSERVE A + 2D = 1 }",
    )
    .unwrap();
    let got = m.ir(DT, 6.3).advance.eval(&[-65.0, 0.6, 0.2]);
    // The step's residuals vanish: D' - D = dt (2 A'^2 - D'), and A' + 2 D'
    // is conserved.
    let (ya, yd) = (got[0], got[1]);
    let r = 2.0 * ya * ya - yd;
    assert!(
        (yd - 0.2 - DT * r).abs() < 1e-15 && (ya + 2.0 * yd - 1.0).abs() < 1e-15,
        "{got:?}"
    );
}

/// The error of reading `neuron` + `rest`, as text.
fn error(neuron: &str, rest: &str) -> String {
    read(neuron, rest).unwrap_err().to_string()
}

#[test]
fn bad_files_are_refused_with_the_place_and_the_reason() {
    // Lines: 1 NEURON, 2 SUFFIX, 3 `neuron`, 4 }, 5.. `rest`.
    let cases: &[(&str, &str, &str)] = &[
        ("", "BREAKPOINT { a = }", "m.mod:5:18: expected"),
        ("", "FOO { }", "m.mod:5:1: unknown block"),
        ("", "COMMENT never closed", "ENDCOMMENT"),
        ("", "BREAKPOINT {\n i = 1", "m.mod:6:7: expected `}`"),
        (
            "",
            "VERBATIM\n x; \nENDVERBATIM",
            "m.mod:5:1: VERBATIM (C code) is not supported",
        ),
        (
            "",
            "KINETIC k { ~ a <-> b (1, 1) }",
            "m.mod:5:15: species `a` is not a STATE",
        ),
        (
            "",
            "STATE { a b }\nBREAKPOINT { SOLVE k METHOD cnexp }\nKINETIC k { ~ a <-> b (1, 1) }",
            "KINETIC `k` is solved by METHOD sparse",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "STATE { a b }\nASSIGNED { i }\nBREAKPOINT { ~ a <-> b (1, 1) i = a }",
            "m.mod:7:16: a reaction outside a KINETIC block",
        ),
        (
            "",
            "STATE { a }\nINITIAL { SOLVE d STEADYSTATE derivimplicit }\nDERIVATIVE d { a' = -a }",
            "only KINETIC blocks (METHOD sparse) are solved to a steady state",
        ),
        (
            "",
            "STATE { a b }\nBREAKPOINT { SOLVE k METHOD sparse }\nKINETIC k { ~ a <-> b (1, 1) a' = 1 }",
            "`a'` inside a KINETIC block is not supported",
        ),
        ("POINT_PROCESS p", "", "m.mod:3:16: `p` is a POINT_PROCESS"),
        (
            "USEION h READ eh",
            "",
            "m.mod:3:9: ion `h` is not one of na, k, ca",
        ),
        ("USEION na READ nao", "", "reading `nao` is not supported"),
        ("USEION ca READ ica", "", "only supported in pools"),
        (
            "USEION ca WRITE cai",
            "",
            "`cai` is written but is not a STATE",
        ),
        ("USEION k WRITE ek", "", "writing `ek` is not supported"),
        ("POINTER p", "", "m.mod:3:2: POINTER is not supported"),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nBREAKPOINT { i = q }",
            "m.mod:6:18: `q` is not declared",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i s }\nBREAKPOINT { i = s }",
            "m.mod:6:18: `s` is read before it is set",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nBREAKPOINT { i = t }",
            "time `t` is not available",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nBREAKPOINT { i = diam }",
            "`diam` is not available",
        ),
        (
            "NONSPECIFIC_CURRENT i\n RANGE g",
            "PARAMETER { g }\nASSIGNED { i }\nBREAKPOINT { g = 1 i = g }",
            "`g` is a RANGE parameter and cannot be assigned",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nBREAKPOINT { i = exp(1, 2) }",
            "`exp` takes 1 argument(s)",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nBREAKPOINT { i = sin(1) }",
            "no FUNCTION or PROCEDURE named `sin`",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nFUNCTION f(x) { f = f(x) }\nBREAKPOINT { i = f(1) }",
            "calls nest deeper",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nFUNCTION f(x) { }\nBREAKPOINT { i = f(1) }",
            "m.mod:6:10: FUNCTION `f` does not set its value",
        ),
        (
            "NONSPECIFIC_CURRENT i",
            "ASSIGNED { i }\nFUNCTION f(x) { f = x }\nBREAKPOINT { i = f(1, 2) }",
            "`f` takes 1 argument(s), not 2",
        ),
        (
            "",
            "STATE { x }\nINITIAL { x' = 1 }",
            "m.mod:6:11: `x'` outside a DERIVATIVE block",
        ),
        (
            "",
            "STATE { x }\nBREAKPOINT { SOLVE s }\nDERIVATIVE s { x' = 1 }",
            "SOLVE needs a METHOD",
        ),
        (
            "",
            "STATE { x }\nBREAKPOINT { SOLVE s METHOD sparse }\nDERIVATIVE s { x' = 1 }",
            "METHOD sparse is not supported",
        ),
        (
            "",
            "BREAKPOINT { SOLVE nowhere METHOD cnexp }",
            "no DERIVATIVE or KINETIC block of that name",
        ),
        ("", "STATE { x }\nBREAKPOINT { x ~ 1 }", "expected"),
        (
            "",
            "PARAMETER { a[3] }",
            "m.mod:5:14: array variables are not supported",
        ),
        (
            "",
            "BREAKPOINT { while (1) { } }",
            "loops, kinetic and event statements are not supported",
        ),
    ];
    for (neuron, rest, want) in cases {
        let e = error(neuron, rest);
        assert!(
            e.contains(want),
            "{neuron} / {rest}:\n  got  {e}\n  want {want}"
        );
    }
    let e = Nmodl::from_source("x.mod", "PARAMETER { a = 1 }").unwrap_err();
    assert_eq!(e.to_string(), "x.mod: no SUFFIX in the NEURON block");
    let e = Nmodl::from_file("/no/such/file.mod").unwrap_err();
    assert!(
        e.to_string().starts_with("cannot read /no/such/file.mod"),
        "{e}"
    );
}

/// A valid mechanism exercising most of the grammar (the seed of the
/// property test's mutations).
const SEED: &str = include_str!("../mechanisms/hh.mod");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Reading never panics, whatever the text: arbitrary strings and
    /// valid files with a span deleted or replaced.
    #[test]
    fn reading_never_panics(
        junk in "\\PC{0,200}",
        cut in 0usize..SEED.len(),
        len in 0usize..40,
        insert in "[{}()=':<>!&|^*/+,.0-9a-z \n-]{0,6}",
    ) {
        let _ = Nmodl::from_source("junk.mod", &junk);
        let (a, b) = (cut, (cut + len).min(SEED.len()));
        if SEED.is_char_boundary(a) && SEED.is_char_boundary(b) {
            let mutated = format!("{}{insert}{}", &SEED[..a], &SEED[b..]);
            let _ = Nmodl::from_source("mutated.mod", &mutated);
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [10, 20_000] {
        let open = "(".repeat(depth);
        let close = ")".repeat(depth);
        let e = read(
            "NONSPECIFIC_CURRENT i",
            &format!("ASSIGNED {{ i }}\nBREAKPOINT {{ i = {open}1{close} }}"),
        );
        let blocks = "if (v < 0) { ".repeat(depth) + &"}".repeat(depth);
        let f = read("", &format!("BREAKPOINT {{ {blocks} }}"));
        if depth == 10 {
            assert!(e.is_ok() && f.is_ok(), "{e:?}");
        } else {
            assert!(e.unwrap_err().to_string().contains("nested too deeply"));
            assert!(f.unwrap_err().to_string().contains("nested too deeply"));
        }
    }
    let long = vec!["v"; 600].join(" + ");
    let e = read(
        "NONSPECIFIC_CURRENT i",
        &format!("ASSIGNED {{ i }}\nBREAKPOINT {{ i = {long} }}"),
    );
    assert!(e.unwrap_err().to_string().contains("expression too large"));
    let minus = "-".repeat(20_000);
    let e = read(
        "NONSPECIFIC_CURRENT i",
        &format!("ASSIGNED {{ i }}\nBREAKPOINT {{ i = {minus}v }}"),
    );
    assert!(e.unwrap_err().to_string().contains("expression too large"));
}
