COMMENT
K_Pst: persistent potassium current, after Korngreen & Sakmann (2000), as
used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
All rates use the junction-shifted voltage vs = v + 10 (a local value; the
membrane potential is not changed):
  m_inf = 1/(1 + exp(-(vs + 1)/12))
  tau_m = (1.25 + 175.03 exp(0.026 vs))/qt   if vs < -50 (strict)
          (1.25 + 13 exp(-0.026 vs))/qt      otherwise
  h_inf = 1/(1 + exp((vs + 54)/11))
  tau_h = (360 + (1010 + 24 (vs + 55)) exp(-((vs + 75)/48)^2))/qt
qt = 2.3^((34 - 21)/10), fixed for 34 degC (it does not follow celsius).
Current: ik = gK_Pstbar m^2 h (v - ek).
ENDCOMMENT

NEURON {
    SUFFIX K_Pst
    USEION k READ ek WRITE ik
    RANGE gK_Pstbar, gK_Pst, mInf, mTau, hInf, hTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gK_Pstbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    gK_Pst (S/cm2)
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
    gK_Pst = gK_Pstbar*m*m*h
    ik = gK_Pst*(v - ek)
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
    mInf = 1/(1 + exp(-(vs + 1)/12))
    if (vs < -50) {
        mTau = (1.25 + 175.03*exp(0.026*vs))/qt
    } else {
        mTau = (1.25 + 13*exp(-0.026*vs))/qt
    }
    hInf = 1/(1 + exp((vs + 54)/11))
    hTau = (360 + (1010 + 24*(vs + 55))*exp(-(((vs + 75)/48)^2)))/qt
    UNITSON
}
