COMMENT
Ca_HVA: high-voltage-activated calcium current, after Reuveni et al.
(1993), as used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
With v after the guard below:
  alpha_m = 0.055 (-27 - v)/(exp((-27 - v)/3.8) - 1)
  beta_m  = 0.94 exp((-75 - v)/17)
  alpha_h = 4.57e-4 exp((-13 - v)/50)
  beta_h  = 0.0065/(exp((-v - 15)/28) + 1)
  inf = alpha/(alpha + beta),  tau = 1/(alpha + beta)
No temperature factor.
Guard: v exactly equal to -27 is moved by +1e-4 mV (used for all four rates).
Current (ohmic): ica = gCa_HVAbar m^2 h (v - eca).
ENDCOMMENT

NEURON {
    SUFFIX Ca_HVA
    USEION ca READ eca WRITE ica
    RANGE gCa_HVAbar, gCa_HVA, mInf, mTau, hInf, hTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gCa_HVAbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    eca (mV)
    ica (mA/cm2)
    gCa_HVA (S/cm2)
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
    gCa_HVA = gCa_HVAbar*m*m*h
    ica = gCa_HVA*(v - eca)
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
    LOCAL u, a, b

    UNITSOFF
    : u is a private copy of v; the membrane potential is never changed
    if (v == -27) {
        u = v + 0.0001
    } else {
        u = v
    }
    a = 0.055*(-27 - u)/(exp((-27 - u)/3.8) - 1)
    b = 0.94*exp((-75 - u)/17)
    mInf = a/(a + b)
    mTau = 1/(a + b)

    a = 0.000457*exp((-13 - u)/50)
    b = 0.0065/(exp((-u - 15)/28) + 1)
    hInf = a/(a + b)
    hTau = 1/(a + b)
    UNITSON
}
