COMMENT
SKv3_1: Kv3.1 (Shaw-related) potassium current, after Rettig et al. (1992),
as used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
  m_inf = 1/(1 + exp(-(v - 18.7)/9.7))
  tau_m = 4/(1 + exp(-(v + 46.56)/44.14))
No temperature factor.
Current: ik = gSKv3_1bar m (v - ek).
ENDCOMMENT

NEURON {
    SUFFIX SKv3_1
    USEION k READ ek WRITE ik
    RANGE gSKv3_1bar, gSKv3_1, mInf, mTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gSKv3_1bar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    gSKv3_1 (S/cm2)
    mInf
    mTau (ms)
}

STATE {
    m
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    gSKv3_1 = gSKv3_1bar*m
    ik = gSKv3_1*(v - ek)
}

DERIVATIVE states {
    rates()
    m' = (mInf - m)/mTau
}

INITIAL {
    rates()
    m = mInf
}

PROCEDURE rates() {
    UNITSOFF
    mInf = 1/(1 + exp((v - 18.7)/(-9.7)))
    mTau = 4/(1 + exp((v + 46.56)/(-44.14)))
    UNITSON
}
