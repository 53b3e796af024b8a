COMMENT
Ih: hyperpolarisation-activated cation (HCN) current, after Kole et al.
(2006), as used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
With x = v + 154.9 (v after the guard below):
  alpha = 6.43e-3 x/(exp(x/11.9) - 1),  beta = 0.193 exp(v/33.1)
  m_inf = alpha/(alpha + beta),         tau_m = 1/(alpha + beta)
No temperature factor.
Guard: v exactly equal to -154.9 is moved by +1e-4 mV (used for both rates).
Current: the non-specific ihcn = gIhbar m (v - ehcn), with the reversal
potential ehcn a parameter of this mechanism (no ion is read or written).
ENDCOMMENT

NEURON {
    SUFFIX Ih
    NONSPECIFIC_CURRENT ihcn
    RANGE gIhbar, gIh, ehcn, mInf, mTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gIhbar = 0.00001 (S/cm2)
    ehcn = -45.0 (mV)
}

ASSIGNED {
    v (mV)
    ihcn (mA/cm2)
    gIh (S/cm2)
    mInf
    mTau (ms)
}

STATE {
    m
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    gIh = gIhbar*m
    ihcn = gIh*(v - ehcn)
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
    LOCAL u, x, a, b

    UNITSOFF
    : u is a private copy of v; the membrane potential is never changed
    if (v == -154.9) {
        u = v + 0.0001
    } else {
        u = v
    }
    x = u + 154.9
    a = 6.43e-3*x/(exp(x/11.9) - 1)
    b = 0.193*exp(u/33.1)
    mInf = a/(a + b)
    mTau = 1/(a + b)
    UNITSON
}
