COMMENT
SK_E2: small-conductance calcium-activated potassium current, after Koehler
et al. (1996), as used in the layer-5 pyramidal cell model of Hay et al.
(2011).

Written for Ruxley from the plain-math channel description of that model.
  z_inf = 1/(1 + (0.00043/ca)^4.8)   (cai in mM, half activation 0.43 uM)
  ca    = cai + 1e-7 if cai < 1e-7, else cai   (a shift, not a clamp)
  tau_z = zTau (1 ms)
No voltage dependence and no temperature factor. The gate reads cai at the
time of the state update, i.e. after a calcium mechanism such as
CaDynamics_E2 has updated it in the same step.
Current: ik = gSK_E2bar z (v - ek).
ENDCOMMENT

NEURON {
    SUFFIX SK_E2
    USEION k READ ek WRITE ik
    USEION ca READ cai
    RANGE gSK_E2bar, gSK_E2, zTau, zInf
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
    (mM) = (milli/liter)
}

PARAMETER {
    gSK_E2bar = 0.000001 (S/cm2)
    zTau = 1 (ms)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    cai (mM)
    gSK_E2 (S/cm2)
    zInf
}

STATE {
    z
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    gSK_E2 = gSK_E2bar*z
    ik = gSK_E2*(v - ek)
}

DERIVATIVE states {
    rates()
    z' = (zInf - z)/zTau
}

INITIAL {
    rates()
    z = zInf
}

PROCEDURE rates() {
    LOCAL conc

    UNITSOFF
    : conc is a private copy of cai; the ion concentration is never changed
    if (cai < 1e-7) {
        conc = cai + 1e-7
    } else {
        conc = cai
    }
    zInf = 1/(1 + (0.00043/conc)^4.8)
    UNITSON
}
