COMMENT
K_Tst: fast inactivating (transient) potassium current, after Korngreen &
Sakmann (2000), as used in the layer-5 pyramidal cell model of Hay et al.
(2011).

Written for Ruxley from the plain-math channel description of that model.
All rates use the junction-shifted voltage vs = v + 10 (a local value; the
membrane potential is not changed):
  m_inf = 1/(1 + exp(-vs/19))
  tau_m = (0.34 + 0.92 exp(-((vs + 71)/59)^2))/qt
  h_inf = 1/(1 + exp((vs + 66)/10))
  tau_h = (8 + 49 exp(-((vs + 73)/23)^2))/qt
qt = 2.3^((34 - 21)/10), fixed for 34 degC (it does not follow celsius).
Current: ik = gK_Tstbar m^4 h (v - ek).
ENDCOMMENT

NEURON {
    SUFFIX K_Tst
    USEION k READ ek WRITE ik
    RANGE gK_Tstbar, gK_Tst, mInf, mTau, hInf, hTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gK_Tstbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    gK_Tst (S/cm2)
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
    gK_Tst = gK_Tstbar*(m^4)*h
    ik = gK_Tst*(v - ek)
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
    mInf = 1/(1 + exp(-vs/19))
    mTau = (0.34 + 0.92*exp(-(((vs + 71)/59)^2)))/qt
    hInf = 1/(1 + exp((vs + 66)/10))
    hTau = (8 + 49*exp(-(((vs + 73)/23)^2)))/qt
    UNITSON
}
