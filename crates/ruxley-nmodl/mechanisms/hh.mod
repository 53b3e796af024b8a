COMMENT
hh: the Hodgkin-Huxley (1952) squid giant axon sodium, potassium and leak
currents, with the same equations as NEURON's built-in hh mechanism.

Written for Ruxley. Rates in 1/ms, v in mV:
  alpha_m = 0.1 vtrap(-(v + 40), 10)    beta_m = 4 exp(-(v + 65)/18)
  alpha_h = 0.07 exp(-(v + 65)/20)      beta_h = 1/(exp(-(v + 35)/10) + 1)
  alpha_n = 0.01 vtrap(-(v + 55), 10)   beta_n = 0.125 exp(-(v + 65)/80)
with vtrap(x, y) = x/(exp(x/y) - 1), replaced by its first-order expansion
y (1 - x/y/2) where |x/y| < 1e-6. For each gate
  inf = alpha/(alpha + beta),  tau = 1/(q10 (alpha + beta)),
  q10 = 3^((celsius - 6.3)/10)  (1 at 6.3 degC).
Currents: ina = gnabar m^3 h (v - ena), ik = gkbar n^4 (v - ek),
il = gl (v - el) (non-specific leak).
Unlike NEURON's built-in, the rates are never tabulated (no TABLE).
ENDCOMMENT

NEURON {
    SUFFIX hh
    USEION na READ ena WRITE ina
    USEION k READ ek WRITE ik
    NONSPECIFIC_CURRENT il
    RANGE gnabar, gkbar, gl, el, gna, gk
    RANGE minf, hinf, ninf, mtau, htau, ntau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gnabar = 0.12 (S/cm2)
    gkbar = 0.036 (S/cm2)
    gl = 0.0003 (S/cm2)
    el = -54.3 (mV)
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ena (mV)
    ek (mV)
    ina (mA/cm2)
    ik (mA/cm2)
    il (mA/cm2)
    gna (S/cm2)
    gk (S/cm2)
    minf
    hinf
    ninf
    mtau (ms)
    htau (ms)
    ntau (ms)
}

STATE {
    m
    h
    n
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    gna = gnabar*m*m*m*h
    ina = gna*(v - ena)
    gk = gkbar*n*n*n*n
    ik = gk*(v - ek)
    il = gl*(v - el)
}

DERIVATIVE states {
    rates(v)
    m' = (minf - m)/mtau
    h' = (hinf - h)/htau
    n' = (ninf - n)/ntau
}

INITIAL {
    rates(v)
    m = minf
    h = hinf
    n = ninf
}

PROCEDURE rates(v (mV)) {
    LOCAL alpha, beta, sum, q10

    UNITSOFF
    q10 = 3^((celsius - 6.3)/10)

    : m, sodium activation
    alpha = 0.1*vtrap(-(v + 40), 10)
    beta = 4*exp(-(v + 65)/18)
    sum = alpha + beta
    mtau = 1/(q10*sum)
    minf = alpha/sum

    : h, sodium inactivation
    alpha = 0.07*exp(-(v + 65)/20)
    beta = 1/(exp(-(v + 35)/10) + 1)
    sum = alpha + beta
    htau = 1/(q10*sum)
    hinf = alpha/sum

    : n, potassium activation
    alpha = 0.01*vtrap(-(v + 55), 10)
    beta = 0.125*exp(-(v + 65)/80)
    sum = alpha + beta
    ntau = 1/(q10*sum)
    ninf = alpha/sum
    UNITSON
}

FUNCTION vtrap(x, y) {
    : x/(exp(x/y) - 1) without the 0/0 at x = 0
    if (fabs(x/y) < 1e-6) {
        vtrap = y*(1 - x/y/2)
    } else {
        vtrap = x/(exp(x/y) - 1)
    }
}
