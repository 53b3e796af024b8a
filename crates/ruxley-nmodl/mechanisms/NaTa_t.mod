COMMENT
NaTa_t: fast inactivating (transient) sodium current, after Colbert & Pan
(2002), as used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
With x = v + 38 and y = v + 66 (v after the guards below):
  alpha_m = 0.182 x/(1 - exp(-x/6))     beta_m = 0.124 x/(exp(x/6) - 1)
  alpha_h = 0.015 y/(exp(y/6) - 1)      beta_h = 0.015 y/(1 - exp(-y/6))
  inf = alpha/(alpha + beta),  tau = (1/(alpha + beta))/qt
The temperature factor qt = 2.3^((34 - 21)/10) is fixed for 34 degC; it does
not follow celsius.
Guards: v exactly equal to -38 is moved by +1e-4 mV (that shifted value is
also used for h); then a value exactly equal to -66 is moved by +1e-4 mV.
Current: ina = gNaTa_tbar m^3 h (v - ena).
ENDCOMMENT

NEURON {
    SUFFIX NaTa_t
    USEION na READ ena WRITE ina
    RANGE gNaTa_tbar, gNaTa_t, mInf, mTau, hInf, hTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gNaTa_tbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
    gNaTa_t (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE {
    m
    h
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    gNaTa_t = gNaTa_tbar*m*m*m*h
    ina = gNaTa_t*(v - ena)
}

DERIVATIVE states {
    rates()
    m' = (mInf - m)/mTau
    h' = (hInf - h)/hTau
}

INITIAL {
    rates()
    m = mInf
    h = hInf
}

PROCEDURE rates() {
    LOCAL qt, u, x, y, a, b
    qt = 2.3^((34 - 21)/10)

    UNITSOFF
    : u is a private copy of v; the membrane potential is never changed
    if (v == -38) {
        u = v + 0.0001
    } else {
        u = v
    }
    x = u + 38
    a = 0.182*x/(1 - exp(-x/6))
    b = 0.124*x/(exp(x/6) - 1)
    mInf = a/(a + b)
    mTau = (1/(a + b))/qt

    if (u == -66) {
        u = u + 0.0001
    }
    y = u + 66
    a = 0.015*y/(exp(y/6) - 1)
    b = 0.015*y/(1 - exp(-y/6))
    hInf = a/(a + b)
    hTau = (1/(a + b))/qt
    UNITSON
}
