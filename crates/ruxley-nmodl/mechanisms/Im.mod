COMMENT
Im: muscarinic (M-type) potassium current, after Adams et al. (1982), as
used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
  alpha = 3.3e-3 exp(0.1 (v + 35)),  beta = 3.3e-3 exp(-0.1 (v + 35))
  m_inf = alpha/(alpha + beta),      tau_m = (1/(alpha + beta))/qt
qt = 2.3^((34 - 21)/10), fixed for 34 degC (it does not follow celsius).
Current: ik = gImbar m (v - ek).
ENDCOMMENT

NEURON {
    SUFFIX Im
    USEION k READ ek WRITE ik
    RANGE gImbar, gIm, mInf, mTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gImbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    gIm (S/cm2)
    mInf
    mTau (ms)
}

STATE {
    m
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    gIm = gImbar*m
    ik = gIm*(v - ek)
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
    LOCAL qt, a, b
    qt = 2.3^((34 - 21)/10)

    UNITSOFF
    a = 3.3e-3*exp(0.1*(v + 35))
    b = 3.3e-3*exp(-0.1*(v + 35))
    mInf = a/(a + b)
    mTau = (1/(a + b))/qt
    UNITSON
}
