"""SBML import (nksim.model.from_sbml): models written with libSBML's own API are read,
integrated by the nksim engine and compared with closed-form solutions; unsupported SBML is
refused by name in one line; export -> import gives the same model and the same results.
"""

from __future__ import annotations

import math

import libsbml
import numpy as np
import pytest

from nksim.engine import SolverOptions, simulate
from nksim.errors import UserError
from nksim.library import get_model
from nksim.model import Citation, Model, Parameter, State, from_sbml, to_sbml

TIGHT = SolverOptions(rtol=1e-10, atol=1e-12, threads=1)


def _new(level: int = 3, version: int = 2):
    doc = libsbml.SBMLDocument(level, version)
    return doc, doc.createModel()


def _compartment(m, cid, size, constant=True):
    c = m.createCompartment()
    c.setId(cid)
    c.setSize(size)
    c.setConstant(constant)
    c.setSpatialDimensions(3)
    return c


def _species(m, sid, comp, *, conc=None, amount=None, hosu=False, boundary=False):
    s = m.createSpecies()
    s.setId(sid)
    s.setCompartment(comp)
    if conc is not None:
        s.setInitialConcentration(conc)
    if amount is not None:
        s.setInitialAmount(amount)
    s.setHasOnlySubstanceUnits(hosu)
    s.setBoundaryCondition(boundary)
    s.setConstant(False)
    return s


def _parameter(m, pid, value=None, constant=True):
    p = m.createParameter()
    p.setId(pid)
    if value is not None:
        p.setValue(value)
    p.setConstant(constant)
    return p


def _math(text):
    ast = libsbml.parseL3Formula(text)
    assert ast is not None, libsbml.getLastParseL3Error()
    return ast


def _reaction(m, rid, reactants, products, law, local=None):
    r = m.createReaction()
    r.setId(rid)
    r.setReversible(False)
    for sid, st in reactants:
        ref = r.createReactant()
        ref.setSpecies(sid)
        ref.setStoichiometry(st)
        ref.setConstant(True)
    for sid, st in products:
        ref = r.createProduct()
        ref.setSpecies(sid)
        ref.setStoichiometry(st)
        ref.setConstant(True)
    kl = r.createKineticLaw()
    for pid, v in (local or {}).items():
        lp = kl.createLocalParameter()
        lp.setId(pid)
        lp.setValue(v)
    kl.setMath(_math(law))
    return r


def _text(doc) -> str:
    return libsbml.writeSBMLToString(doc)


def test_reaction_with_concentrations_amounts_and_a_local_parameter():
    """A -> 2 B in V = 2: [A] = 3 e^{-kt}; B (an amount) = 2 * (3 * 2) (1 - e^{-kt})."""
    doc, m = _new()
    _compartment(m, "V", 2.0)
    _species(m, "A", "V", conc=3.0)
    _species(m, "B", "V", amount=0.0, hosu=True)
    _parameter(m, "k", 9.0)  # shadowed by the local k of the reaction
    _reaction(m, "r1", [("A", 1)], [("B", 2)], "k*A*V", local={"k": 0.5})
    model = from_sbml(_text(doc), name="sbml_t_massaction")
    assert model.state("A").unit == "dimensionless"  # the file declares no units
    t = np.linspace(0, 6, 7)
    res = simulate(model, t, options=TIGHT)
    np.testing.assert_allclose(res.dataset["A"].values[0], 3 * np.exp(-0.5 * t), rtol=1e-8)
    np.testing.assert_allclose(res.dataset["B"].values[0], 12 * (1 - np.exp(-0.5 * t)),
                               rtol=1e-8, atol=1e-10)
    # the reaction rate is a named expression (amount per time)
    np.testing.assert_allclose(res.evaluate("r1")[0], 0.5 * 3 * np.exp(-0.5 * t) * 2, rtol=1e-8)


def test_rules_functions_time_piecewise_and_avogadro():
    """p = f(time) = 2 t (function definition, assignment rule); dq/dt = piecewise(1, t < 2, 0)
    so q = min(t, 2); dS/dt = p (rate rule on a species) with S0 = 3 k (initial assignment),
    so S = 3k + t^2; n = avogadro * 1e-23 (initial assignment with the csymbol)."""
    doc, m = _new()
    _compartment(m, "V", 1.0)
    _species(m, "S", "V", conc=0.0)
    _parameter(m, "k", 2.0)
    _parameter(m, "p", 0.0, constant=False)
    _parameter(m, "q", 0.0, constant=False)
    _parameter(m, "n", 0.0)
    fd = m.createFunctionDefinition()
    fd.setId("f")
    fd.setMath(_math("lambda(x, 2*x)"))
    ar = m.createAssignmentRule()
    ar.setVariable("p")
    ar.setMath(_math("f(time)"))
    rr = m.createRateRule()
    rr.setVariable("q")
    rr.setMath(_math("piecewise(1, time < 2, 0)"))
    rr = m.createRateRule()
    rr.setVariable("S")
    rr.setMath(_math("p"))
    ia = m.createInitialAssignment()
    ia.setSymbol("S")
    ia.setMath(_math("3*k"))
    ia = m.createInitialAssignment()
    ia.setSymbol("n")
    ia.setMath(_math("avogadro*1e-23"))
    model = from_sbml(_text(doc), name="sbml_t_rules")
    assert model.parameter("n").value == pytest.approx(6.02214179, rel=1e-12)
    assert model.state("S").initial == 6.0
    t = np.linspace(0, 4, 9)
    res = simulate(model, t, options=SolverOptions(rtol=1e-10, atol=1e-12, threads=1,
                                                   h_max=0.25))
    np.testing.assert_allclose(res.dataset["S"].values[0], 6 + t**2, rtol=1e-8)
    np.testing.assert_allclose(res.dataset["q"].values[0], np.minimum(t, 2), atol=1e-7)
    np.testing.assert_allclose(res.evaluate("p")[0], 2 * t)


def test_compartment_of_varying_size():
    """dV/dt = r: a species without reactions keeps its amount ([C] = 1/(1 + r t)); D decays
    with rate k [D] V (amount/time), so its amount is e^{-kt} and [D] = e^{-kt}/(1 + r t)."""
    doc, m = _new()
    _compartment(m, "V", 1.0, constant=False)
    _species(m, "C", "V", conc=1.0)
    _species(m, "D", "V", conc=1.0)
    _parameter(m, "r", 0.5)
    _parameter(m, "k", 0.3)
    rr = m.createRateRule()
    rr.setVariable("V")
    rr.setMath(_math("r"))
    _reaction(m, "decay", [("D", 1)], [], "k*D*V")
    model = from_sbml(_text(doc), name="sbml_t_volume")
    t = np.linspace(0, 5, 6)
    res = simulate(model, t, options=TIGHT)
    vol = 1 + 0.5 * t
    np.testing.assert_allclose(res.dataset["V"].values[0], vol, rtol=1e-9)
    np.testing.assert_allclose(res.evaluate("C")[0], 1 / vol, rtol=1e-9)
    np.testing.assert_allclose(res.evaluate("D")[0], np.exp(-0.3 * t) / vol, rtol=1e-8)


def test_level_2_is_converted():
    doc, m = _new(2, 4)
    _compartment(m, "cell", 1.0)
    _species(m, "X", "cell", amount=4.0)
    _parameter(m, "k", 0.25)
    _reaction(m, "out", [("X", 1)], [], "k*X")
    model = from_sbml(_text(doc), name="sbml_t_level2")
    t = np.linspace(0, 2, 3)
    res = simulate(model, t, options=TIGHT)
    np.testing.assert_allclose(res.dataset["X"].values[0], 4 * np.exp(-0.25 * t), rtol=1e-8)


# ---------------------------------------------------------------- refusals
def _with_event(m):
    ev = m.createEvent()
    ev.setId("kick")
    ev.setUseValuesFromTriggerTime(True)
    tr = ev.createTrigger()
    tr.setInitialValue(False)
    tr.setPersistent(True)
    tr.setMath(_math("time > 1"))
    ea = ev.createEventAssignment()
    ea.setVariable("k")
    ea.setMath(_math("1"))


def _with_algebraic(m):
    """An algebraic rule with two roots (k = 1 or k = -1): no one closed form."""
    m.getParameter("k").setConstant(False)
    r = m.createAlgebraicRule()
    r.setMath(_math("k*k - 1"))


def _with_delay(m):
    m.getParameter("k").setConstant(False)
    r = m.createAssignmentRule()
    r.setVariable("k")
    r.setMath(_math("delay(X, 1)"))


def _with_rate_of(m):
    _parameter(m, "z", 0.0, constant=False)
    r = m.createAssignmentRule()
    r.setVariable("z")
    r.setMath(_math("rateOf(X)"))


def _with_constraint(m):
    """A constraint that the solution violates from the start: nksim cannot check it."""
    c = m.createConstraint()
    c.setId("enough")
    c.setMath(_math("X > 100"))
    c.setMessage('<message><p xmlns="http://www.w3.org/1999/xhtml">\n  X must exceed 100\n'
                 '</p></message>', True)


def _with_boolean_rate(m):
    """`false` in a kinetic law (Test Suite 01288): it crashed the code generation."""
    m.getReaction("r").getKineticLaw().setMath(_math("k*X*false"))


@pytest.mark.parametrize("change, message", [
    (_with_boolean_rate, "kinetic law of r: the truth value false where a number is needed"),
    (_with_algebraic, "algebraic rules cannot be solved for k in closed form"),
    (_with_delay, "delay() is not supported"),
    (_with_constraint, "constraints are not supported (constraint 'enough': X > 100, "
                       "'X must exceed 100')"),
])
def test_unsupported_features_are_refused_by_name(change, message):
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=1.0)
    _parameter(m, "k", 0.5)
    _reaction(m, "r", [("X", 1)], [], "k*X")
    change(m)
    with pytest.raises(UserError) as err:
        from_sbml(_text(doc), name="sbml_t_refused")
    assert message in str(err.value) and err.value.field == "model.file"
    assert "\n" not in str(err.value)


def test_constraint_without_maths_is_ignored():
    """SBML L3V2: a constraint without maths has no effect (as in SBML Test Suite case 01247);
    X' = -k X is then read as usual."""
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=1.0)
    _parameter(m, "k", 0.5)
    _reaction(m, "r", [("X", 1)], [], "k*X")
    m.createConstraint()
    model = from_sbml(_text(doc), name="sbml_t_empty_constraint")
    res = simulate(model, [2.0], options=TIGHT)
    assert res.dataset["X"].values[0, -1] == pytest.approx(math.exp(-1.0), rel=1e-8)


def test_rate_of_is_the_rate_of_change():
    """z = rateOf(X) = -k X for X' = -k X; rateOf of a quantity set by a rule is refused."""
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=1.0)
    _parameter(m, "k", 0.5)
    _reaction(m, "r", [("X", 1)], [], "k*X")
    _with_rate_of(m)
    model = from_sbml(_text(doc), name="sbml_t_rateof")
    t = np.linspace(0, 2, 5)
    res = simulate(model, t, options=TIGHT)
    np.testing.assert_allclose(res.evaluate("z")[0], -0.5 * np.exp(-0.5 * t), rtol=1e-8)
    _parameter(m, "w", 0.0, constant=False)
    r = m.createAssignmentRule()
    r.setVariable("w")
    r.setMath(_math("rateOf(z)"))
    with pytest.raises(UserError, match=r"rateOf\(z\): the rate of a quantity set by an "
                                        "assignment rule is not supported"):
        from_sbml(_text(doc), name="sbml_t_rateof")


def test_fast_reactions_and_packages_are_refused():
    doc = libsbml.SBMLDocument(3, 1)
    m = doc.createModel()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=1.0)
    r = _reaction(m, "r", [("X", 1)], [], "X")
    r.setFast(True)
    with pytest.raises(UserError, match="fast reactions are not supported"):
        from_sbml(_text(doc))
    ns = libsbml.SBMLNamespaces(3, 1, "fbc", 2)
    doc = libsbml.SBMLDocument(ns)
    doc.setPackageRequired("fbc", False)
    m = doc.createModel()
    m.getPlugin("fbc").setStrict(True)
    _compartment(m, "c", 1.0)
    with pytest.raises(UserError, match="SBML package 'fbc' is not supported"):
        from_sbml(_text(doc))


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        from_sbml(tmp_path / "missing.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<sbml><model></sbml>")
    with pytest.raises(UserError, match="cannot read SBML"):
        from_sbml(bad)


# ---------------------------------------------------------------- export -> import
def test_export_writes_every_unit_and_import_reads_them_back():
    src = Citation("t", "test", "assumption")
    model = Model(
        name="units_roundtrip", title="units", description="units",
        states=(State("X", "ug", "drug amount", 10.0), State("N", "cell", "cells", 1e3)),
        parameters=(Parameter("V", 5.0, "L", "volume", src),
                    Parameter("CL", 2.0, "L/day", "clearance", src),
                    Parameter("EC50", 3.0, "ug/L", "potency", src),
                    Parameter("kill", 0.1, "1/day", "kill rate", src)),
        equations={"X": "-CL/V*X", "N": "-kill*N*(X/V)/(EC50 + X/V)"},
        observables={"conc": ("X/V", "ug/L", "drug concentration")},
    )
    text = to_sbml(model, extinction_events=False)
    sbml = libsbml.readSBMLFromString(text).getModel()

    def unit_of(pid):
        ud = sbml.getUnitDefinition(sbml.getParameter(pid).getUnits())
        return sorted((libsbml.UnitKind_toString(u.getKind()), u.getExponent(),
                       u.getMultiplier() * 10 ** u.getScale()) for u in ud.getListOfUnits())

    assert unit_of("EC50") == [("gram", 1.0, pytest.approx(1e-6)), ("litre", -1.0, 1.0)]
    assert unit_of("CL") == [("litre", 1.0, 1.0), ("second", -1.0, 86400.0)]
    ud = sbml.getUnitDefinition(sbml.getSpecies("X").getSubstanceUnits())
    assert [(libsbml.UnitKind_toString(u.getKind()), u.getMultiplier()) for u in
            ud.getListOfUnits()] == [("gram", pytest.approx(1e-6))]
    back = from_sbml(text)
    assert {p.name: p.unit for p in back.parameters}.items() >= {
        "V": "L", "CL": "L/day", "EC50": "ug/L", "kill": "1/day"}.items()
    assert back.state("X").unit == "ug" and back.time_unit == "day"
    assert not back.unit_exempt  # units complete: the dimensional analysis ran on import


def _roundtrip(name: str, t_end: float):
    model = get_model(name)
    back = from_sbml(to_sbml(model, extinction_events=False), name=f"{name}_rt")
    assert back.state_names == model.state_names
    values = {p.name: p.value for p in back.parameters}
    assert all(math.isclose(values[p.name], p.value, rel_tol=1e-14) for p in model.parameters)
    t = np.linspace(0.0, t_end, 11)
    a = simulate(model.with_extinction({s: None for s in model.state_names}), t, options=TIGHT)
    b = simulate(back, t, options=TIGHT)
    for s in model.state_names:
        np.testing.assert_allclose(b.dataset[s].values, a.dataset[s].values, rtol=1e-7,
                                   atol=1e-9 * max(1.0, float(np.abs(a.dataset[s]).max())))


def test_roundtrip_karin2019():
    _roundtrip("karin2019", 365.0 * 40)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["depillis2005", "depillis2006", "depillis2009"])
def test_roundtrip_library_models(name):
    _roundtrip(name, 30.0)


def test_avogadro_value_is_the_sbml_one():
    """SBML L3 fixes avogadro = 6.02214179e23 (CODATA 2006); within 2e-7 of the SI value."""
    from nksim.model._sbml_import import AVOGADRO
    from nksim.units import registry

    si = registry().Quantity(1, "avogadro_constant").to("1/mol").m
    assert AVOGADRO == 6.02214179e23 and AVOGADRO != si
    assert AVOGADRO == pytest.approx(si, rel=2e-7)


# ---------------------------------------------------------------- events
def _event(m, eid, trigger, assignments, *, delay=None, priority=None, persistent=True,
           initial_value=True, trigger_time_values=True):
    ev = m.createEvent()
    ev.setId(eid)
    ev.setUseValuesFromTriggerTime(trigger_time_values)
    tr = ev.createTrigger()
    tr.setInitialValue(initial_value)
    tr.setPersistent(persistent)
    tr.setMath(_math(trigger))
    if delay is not None:
        ev.createDelay().setMath(_math(delay))
    if priority is not None:
        ev.createPriority().setMath(_math(priority))
    for var, value in assignments.items():
        ea = ev.createEventAssignment()
        ea.setVariable(var)
        ea.setMath(_math(value))


def _decay_model():
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=1.0, hosu=True)
    _parameter(m, "k", 1.0, constant=False)
    _reaction(m, "r", [("X", 1)], [], "k*X")
    return doc, m


def test_state_triggered_events_are_located_on_the_integration():
    """X' = -X, refilled to 1 whenever X < 0.5: a sawtooth with period ln 2 (closed form)."""
    doc, m = _decay_model()
    _event(m, "refill", "X < 0.5", {"X": "1"})
    model = from_sbml(_text(doc), name="sbml_t_sawtooth")
    t = np.linspace(0.0, 3.0, 13)
    res = simulate(model, t, options=TIGHT)
    phase = np.mod(t, math.log(2))
    np.testing.assert_allclose(res.dataset["X"].values[0], np.exp(-phase), rtol=1e-7)


def test_event_delay_priority_and_trigger_time_values():
    """At t = 1 (trigger on time) k is set to 0 after a delay of 0.5, to the value X had at
    the trigger (values from the trigger time); a second event at the same execution time
    with a higher priority runs first and doubles X. So X = e^-t up to 1.5, then 2 e^-1.5,
    and k = e^-1 from then on."""
    doc, m = _decay_model()
    _parameter(m, "dummy", 0.0, constant=False)
    _event(m, "slow", "time >= 1", {"k": "X"}, delay="0.5", priority="1")
    _event(m, "first", "time >= 1.5", {"X": "2*X"}, priority="10")
    model = from_sbml(_text(doc), name="sbml_t_delay")
    t = np.array([0.0, 1.0, 1.4, 1.6, 2.0, 3.0])
    res = simulate(model, t, options=TIGHT)
    x = res.dataset["X"].values[0]
    np.testing.assert_allclose(x[:3], np.exp(-t[:3]), rtol=1e-7)
    # after 1.5: X' = -k X with k = e^-1, from 2 e^-1.5
    after = 2 * np.exp(-1.5) * np.exp(-np.exp(-1.0) * (t[3:] - 1.5))
    np.testing.assert_allclose(x[3:], after, rtol=1e-7)


def test_non_persistent_event_is_cancelled_and_initial_value_fires_at_start():
    """A delayed, non-persistent event whose trigger turns false before it executes never
    executes; a trigger true at t = 0 with initialValue = false fires at the start."""
    doc, m = _decay_model()
    _parameter(m, "hits", 0.0, constant=False)
    _parameter(m, "start", 0.0, constant=False)
    _event(m, "cancelled", "X > 0.5", {"hits": "hits + 1"}, delay="1", persistent=False)
    _event(m, "at_start", "time >= 0", {"start": "1"}, initial_value=False)
    model = from_sbml(_text(doc), name="sbml_t_persist")
    res = simulate(model, np.linspace(0, 3, 4), options=TIGHT)
    # X > 0.5 is true at the start only with initialValue = true: no rising edge, no event
    assert res.dataset["X"].values[0][-1] == pytest.approx(math.exp(-3), rel=1e-7)
    assert res.evaluate("start")[0, -1] == 1.0
    assert res.evaluate("hits")[0, -1] == 0.0
    doc, m = _decay_model()
    _parameter(m, "hits", 0.0, constant=False)
    # fires at t = 0 (initialValue false), trigger false from t = ln 2 < 1: cancelled
    _event(m, "cancelled", "X > 0.5", {"hits": "hits + 1"}, delay="1", persistent=False,
           initial_value=False)
    # the same, persistent: executes at t = 1
    _event(m, "kept", "X > 0.5", {"k": "0"}, delay="1", persistent=True, initial_value=False)
    model = from_sbml(_text(doc), name="sbml_t_persist2")
    res = simulate(model, np.array([0.0, 0.9, 2.0]), options=TIGHT)
    assert res.evaluate("hits")[0, -1] == 0.0
    np.testing.assert_allclose(res.dataset["X"].values[0], [1, math.exp(-0.9), math.exp(-1)],
                               rtol=1e-7)


def test_events_and_dose_records_are_not_mixed():
    from nksim.dosing import Dose

    doc, m = _decay_model()
    _event(m, "refill", "X < 0.5", {"X": "1"})
    model = from_sbml(_text(doc), name="sbml_t_sawtooth")
    with pytest.raises(UserError, match="dose records cannot be combined"):
        simulate(model, [1.0], doses=[Dose("X", 1.0, 0.5)])


def test_events_survive_export_and_import():
    doc, m = _decay_model()
    _event(m, "refill", "X < 0.5", {"X": "1"}, priority="2", persistent=False,
           initial_value=False, trigger_time_values=False)
    model = from_sbml(_text(doc), name="sbml_t_sawtooth")
    back = from_sbml(to_sbml(model, extinction_events=False), name="sbml_t_sawtooth")
    (a,), (b,) = model.events, back.events
    assert (a.persistent, a.initial_value, a.use_trigger_time_values) == (
        b.persistent, b.initial_value, b.use_trigger_time_values) == (False, False, False)
    t = np.linspace(0.0, 3.0, 13)
    np.testing.assert_allclose(simulate(back, t, options=TIGHT).dataset["X"].values,
                               simulate(model, t, options=TIGHT).dataset["X"].values,
                               rtol=1e-9)


# ---------------------------------------------------------------- [model] file = "model.xml"
def test_scenario_runs_an_sbml_file_and_refuses_unsupported_ones(tmp_path):
    from click.testing import CliRunner

    from nksim.cli import cli

    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=4.0, hosu=True)
    _parameter(m, "k", 0.25)
    _reaction(m, "out", [("X", 1)], [], "k*X")
    (tmp_path / "model.xml").write_text(_text(doc))
    (tmp_path / "s.toml").write_text('[model]\nfile = "model.xml"\n[parameters]\nk = 0.5\n'
                                     '[simulation]\nt_end = 2\nrecord_every = 1\n')
    res = CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), "--out",
                                   str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    import pandas as pd

    frame = pd.read_csv(tmp_path / "out" / "timecourse.csv")
    np.testing.assert_allclose(frame["X"], 4 * np.exp(-0.5 * frame["time"]), rtol=1e-5)
    _with_algebraic(m)
    (tmp_path / "model.xml").write_text(_text(doc))
    res = CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), "--out",
                                   str(tmp_path / "out2")])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        "nksim: error: model.file: SBML algebraic rules cannot be solved for k in closed form "
        "with one solution (differential-algebraic systems are not supported)"]
    assert not (tmp_path / "out2").exists()


def test_antimony_files(tmp_path):
    """``.ant`` text models through the antimony package when it is installed; otherwise a
    one-line error saying what is missing."""
    path = tmp_path / "decay.ant"
    path.write_text("model decay\n  X -> ; k*X\n  X = 4; k = 0.25\nend\n")
    try:
        import antimony  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="needs the 'antimony' package"):
            from_sbml(path)
        return
    model = from_sbml(path, name="sbml_t_antimony")
    t = np.linspace(0, 2, 3)
    res = simulate(model, t, options=TIGHT)
    np.testing.assert_allclose(res.dataset["X"].values[0], 4 * np.exp(-0.25 * t), rtol=1e-8)


def test_algebraic_rules_solved_in_closed_form():
    """Algebraic rules that determine one quantity each become assignment rules: X decays
    at rate k (X = 2 e^{-k t}); ``0 = X + Y - total`` fixes the boundary species Y and
    ``0 = (1 + a) * Z - 3 Y`` the parameter Z, so Y = total - X and Z = 3 Y / (1 + a)."""
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=2.0, hosu=True)
    _species(m, "Y", "c", amount=99.0, hosu=True, boundary=True)  # overridden by the rule
    m.getSpecies("Y").setConstant(False)
    _parameter(m, "k", 0.5)
    _parameter(m, "total", 5.0)
    _parameter(m, "a", 2.0)
    _parameter(m, "Z", None, constant=False)
    _reaction(m, "decay", [("X", 1)], [], "k*X")
    for formula in ("X + Y - total", "(1 + a)*Z - 3*Y"):
        m.createAlgebraicRule().setMath(_math(formula))
    model = from_sbml(_text(doc), name="sbml_t_algebraic")
    assert model.state_names == ("X",) and {"Y", "Z"} <= set(model.expressions)
    times = np.array([0.0, 1.0, 2.5])
    res = simulate(model, times, options=SolverOptions(rtol=1e-10, atol=1e-12, threads=1))
    x = 2 * np.exp(-0.5 * times)
    np.testing.assert_allclose(res.evaluate("Y")[0], 5 - x, rtol=1e-8)
    np.testing.assert_allclose(res.evaluate("Z")[0], (5 - x), rtol=1e-8)


def test_algebraic_rules_that_determine_nothing_are_refused():
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=2.0, hosu=True)
    _parameter(m, "k", 0.5)
    _reaction(m, "decay", [("X", 1)], [], "k*X")
    m.createAlgebraicRule().setMath(_math("X - k"))  # X is set by its reaction, k constant
    with pytest.raises(UserError, match="1 rule.s. but 0 quantit") as err:
        from_sbml(_text(doc), name="sbml_t_algebraic_bad")
    assert "\n" not in str(err.value)


def test_division_by_zero_at_the_initial_time():
    """A rate that divides by zero at t = 0 (Laske_PLOSComputBiol2019 of the PEtab
    collection) does not stop the import; a quantity whose initial value is a division by
    zero is refused by name, in one line."""
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=0.0, hosu=True)
    _parameter(m, "k", 0.5)
    _reaction(m, "r", [], [("X", 1)], "k*X/(X + 0)")  # 0/0 at t = 0, never used there
    model = from_sbml(_text(doc), name="sbml_t_zero_div")
    assert model.state_names == ("X",)
    _parameter(m, "z", 0.0)
    _parameter(m, "a", None)
    ia = m.createInitialAssignment()
    ia.setSymbol("a")
    ia.setMath(_math("1/z"))
    assert "a" in from_sbml(_text(doc), name="sbml_t_zero_div1").expressions  # unused: kept
    m.getReaction("r").getKineticLaw().setMath(_math("a*X/(X + 0)"))  # now a is used
    with pytest.raises(UserError, match="parameter a: its value is inf") as err:
        from_sbml(_text(doc), name="sbml_t_zero_div2")
    assert "\n" not in str(err.value)


def test_infinite_and_nan_constants():
    """SBML Test Suite 00950: constants set to INF, -INF and NaN by initial assignments are
    reported as such when nothing uses them; one that the dynamics use is refused by name."""
    doc, m = _new()
    _compartment(m, "c", 1.0)
    _species(m, "X", "c", amount=1.0, hosu=True)
    _parameter(m, "k", 0.5)
    _reaction(m, "r", [("X", 1)], [], "k*X")
    for pid, formula in (("P", "INF"), ("Q", "-INF"), ("R", "NaN")):
        _parameter(m, pid, None)
        ia = m.createInitialAssignment()
        ia.setSymbol(pid)
        ia.setMath(_math(formula))
    model = from_sbml(_text(doc), name="sbml_t_nonfinite")
    res = simulate(model, np.array([0.0, 1.0]), options=TIGHT)
    assert (res.evaluate("P")[0] == np.inf).all() and (res.evaluate("Q")[0] == -np.inf).all()
    assert np.isnan(res.evaluate("R")[0]).all()
    np.testing.assert_allclose(res.dataset["X"].values[0], np.exp(-0.5 * np.array([0, 1.0])),
                               rtol=1e-8)
    m.getReaction("r").getKineticLaw().setMath(_math("k*X*R"))
    with pytest.raises(UserError, match="parameter R: its value is nan"):
        from_sbml(_text(doc), name="sbml_t_nonfinite2")


def test_a_trigger_comparing_truth_values_is_read():
    """eq(time > 1, true) is valid SBML (truth values compared); the check for truth
    values used as numbers must not refuse it. X' = -k X, k set to 0 at t = 1."""
    doc, m = _decay_model()
    _event(m, "stop", "eq(time > 1, true)", {"k": "0"})
    model = from_sbml(_text(doc), name="sbml_t_eq_truth")
    x = simulate(model, np.array([0.0, 2.0]), options=TIGHT).dataset["X"].values[0]
    assert x[1] == pytest.approx(math.exp(-1.0), rel=1e-7)
