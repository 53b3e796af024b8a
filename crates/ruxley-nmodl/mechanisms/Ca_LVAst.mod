COMMENT
Ca_LVAst: low-voltage-activated calcium current, after Avery & Johnston
(1996), as used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
All rates use the junction-shifted voltage vs = v + 10 (a local value; the
membrane potential is not changed):
  m_inf = 1/(1 + exp(-(vs + 30)/6))
  tau_m = (5 + 20/(1 + exp((vs + 25)/5)))/qt
  h_inf = 1/(1 + exp((vs + 80)/6.4))
  tau_h = (20 + 50/(1 + exp((vs + 40)/7)))/qt
qt = 2.3^((34 - 21)/10), fixed for 34 degC (it does not follow celsius).
Current (ohmic): ica = gCa_LVAstbar m^2 h (v - eca).
ENDCOMMENT

NEURON {
    SUFFIX Ca_LVAst
    USEION ca READ eca WRITE ica
    RANGE gCa_LVAstbar, gCa_LVAst, mInf, mTau, hInf, hTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gCa_LVAstbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    eca (mV)
    ica (mA/cm2)
    gCa_LVAst (S/cm2)
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
    gCa_LVAst = gCa_LVAstbar*m*m*h
    ica = gCa_LVAst*(v - eca)
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
    LOCAL qt, vs
    qt = 2.3^((34 - 21)/10)

    UNITSOFF
    vs = v + 10    : junction potential shift
    mInf = 1/(1 + exp(-(vs + 30)/6))
    mTau = (5 + 20/(1 + exp((vs + 25)/5)))/qt
    hInf = 1/(1 + exp((vs + 80)/6.4))
    hTau = (20 + 50/(1 + exp((vs + 40)/7)))/qt
    UNITSON
}
