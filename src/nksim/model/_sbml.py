"""SBML Level 3 Version 2 export of a declared model.

States become species (amounts, ``hasOnlySubstanceUnits``) in a unit compartment
with rate rules; named expressions become assignment rules; parameters keep their
units (SBML unit definitions built from the pint units) and their source as notes.
Optionally, dose records become SBML events (boluses add to the species, infusions
switch a rate parameter on and off; every change due at one time is one event) and
extinction thresholds become events that set the population to zero, matching what the
nksim engine does, with one exception: a population that goes extinct while an infusion
into it is running is held at zero by the engine until the next dose (the rest of the
infusion is lost), while in the exported model the infusion refills it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import libsbml
import sympy as sp
from sympy.printing.str import StrPrinter

from nksim.dosing import Dose
from nksim.errors import UserError
from nksim.model._declaration import Model, safe_identifier
from nksim.model._symbolic import TIME_SYMBOL, symbolic
from nksim.units import parse_unit, registry

# SBML unit kinds for pint dimensions: each component of a unit is written as
# (multiplier * kind)^exponent, so that "ug/L" is gram^1 (multiplier 1e-6) litre^-1 and
# "day" is second (multiplier 86400). The unit definition's name keeps the pint text,
# which nksim.model.from_sbml reads back.
_KINDS = (
    ("[mass]", libsbml.UNIT_KIND_GRAM, "gram"),
    ("[length] ** 3", libsbml.UNIT_KIND_LITRE, "liter"),
    ("[time]", libsbml.UNIT_KIND_SECOND, "second"),
    ("[substance]", libsbml.UNIT_KIND_MOLE, "mole"),
    ("[length]", libsbml.UNIT_KIND_METRE, "meter"),
    ("[cell_count]", libsbml.UNIT_KIND_ITEM, "cell"),
    ("[temperature]", libsbml.UNIT_KIND_KELVIN, "kelvin"),
    ("[current]", libsbml.UNIT_KIND_AMPERE, "ampere"),
    ("[luminosity]", libsbml.UNIT_KIND_CANDELA, "candela"),
)
# Units with no SBML kind (IU, drug_unit): exported as dimensionless, named in the notes.
ANNOTATION_NS = "https://nksim.invalid/sbml-annotation/1"  # nksim's own annotations


def sbml_components(unit: str) -> tuple[list[tuple[int, float, float]], list[str]]:
    """``([(kind, exponent, multiplier)], [names with no SBML kind])`` for a pint unit."""
    reg = registry()
    parsed = parse_unit(unit)
    out, missing = [], []
    for name, exp in parsed._units.items():
        q = reg.Quantity(1.0, name)
        for dims, kind, target in _KINDS:
            if q.dimensionality == reg.get_dimensionality(dims):
                out.append((kind, float(exp), float(q.to(target).magnitude)))
                break
        else:
            if q.dimensionless:
                out.append((libsbml.UNIT_KIND_DIMENSIONLESS, float(exp),
                            float(q.to("dimensionless").magnitude)))
                continue
            base = q.to_base_units()
            parts = []
            for bname, bexp in base._units.items():
                bq = reg.Quantity(1.0, bname)
                match = [(k, t) for d, k, t in _KINDS
                         if bq.dimensionality == reg.get_dimensionality(d)]
                if not match:
                    break
                parts.append((match[0][0], float(bexp * exp), float(bq.to(match[0][1]).magnitude)))
            else:
                if parts:
                    k, e, m = parts[0]
                    parts[0] = (k, e, m * float(base.magnitude) ** (float(exp) / e))
                out += parts
                continue
            missing.append(str(name))
    return out, missing


class _L3Printer(StrPrinter):
    """sympy -> SBML L3 infix formula (``^`` powers, ``ln``, ``piecewise``, ``&&``/``||``)."""

    def _print_Symbol(self, expr):
        return "time" if expr == TIME_SYMBOL else super()._print_Symbol(expr)

    def _print_Pow(self, expr):
        if expr.exp == sp.Rational(1, 2):
            return f"sqrt({self._print(expr.base)})"
        return f"({self._print(expr.base)})^({self._print(expr.exp)})"

    def _print_log(self, expr):
        return f"ln({self._print(expr.args[0])})"

    def _print_Piecewise(self, expr):
        parts = []
        for value, cond in expr.args:
            parts.append(self._print(value))
            if cond is not sp.true:
                parts.append(self._print(cond))
        return f"piecewise({', '.join(parts)})"

    def _print_Or(self, expr):
        return " || ".join(f"({self._print(a)})" for a in expr.args)

    def _print_And(self, expr):
        return " && ".join(f"({self._print(a)})" for a in expr.args)

    def _print_Not(self, expr):
        return f"!({self._print(expr.args[0])})"

    def _print_BooleanTrue(self, expr):
        return "true"

    def _print_BooleanFalse(self, expr):
        return "false"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"


def _check(code: int, what: str) -> None:
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise RuntimeError(
            f"libSBML failed to set {what}: {libsbml.OperationReturnValue_toString(code)}"
        )


class _Builder:
    def __init__(self, model: Model) -> None:
        self.doc = libsbml.SBMLDocument(3, 2)
        self.sbml = self.doc.createModel()
        self.unit_ids: dict[str, str] = {}
        self.no_kind: set[str] = set()
        self.printer = _L3Printer()
        self.model = model

    def unit(self, unit: str) -> str:
        """Id of an SBML unit definition for a pint unit string (every component kept)."""
        if unit in self.unit_ids:
            return self.unit_ids[unit]
        uid = f"u_{len(self.unit_ids)}"
        ud = self.sbml.createUnitDefinition()
        ud.setId(uid)
        ud.setName(str(unit))
        components, missing = sbml_components(unit)
        self.no_kind.update(missing)
        if not components:
            components = [(libsbml.UNIT_KIND_DIMENSIONLESS, 1.0, 1.0)]
        for kind, exp, multiplier in components:
            u = ud.createUnit()
            u.setKind(kind)
            u.setExponent(exp)
            u.setScale(0)
            u.setMultiplier(multiplier)
        self.unit_ids[unit] = uid
        return uid

    def math(self, expr: sp.Expr | str):
        text = expr if isinstance(expr, str) else self.printer.doprint(expr)
        ast = libsbml.parseL3FormulaWithModel(text, self.sbml)
        if ast is None:
            raise RuntimeError(f"SBML cannot parse {text!r}: {libsbml.getLastParseL3Error()}")
        return ast

    def parameter(self, pid: str, value: float, unit: str | None, constant: bool, name: str = ""):
        p = self.sbml.createParameter()
        _check(p.setId(pid), f"parameter id {pid}")
        p.setName(name or pid)
        p.setValue(value)
        p.setConstant(constant)
        if unit:
            p.setUnits(self.unit(unit))
        return p


def to_sbml(
    model: Model,
    doses: Iterable[Dose] = (),
    *,
    extinction_events: bool = True,
) -> str:
    """SBML L3V2 text for ``model`` (optionally with dose and extinction events)."""
    sm = symbolic(model)
    b = _Builder(model)
    m = b.sbml
    m.setId(safe_identifier(model.name))
    m.setName(model.title)
    m.setTimeUnits(b.unit(model.time_unit))
    m.setNotes(_notes(model), True)
    comp = m.createCompartment()
    comp.setId("body")
    comp.setSize(1.0)
    comp.setConstant(True)
    comp.setSpatialDimensions(3)
    comp.setUnits("dimensionless")  # a unit compartment: species are amounts
    for p in model.parameters:
        par = b.parameter(safe_identifier(p.name), p.value, p.unit, True, p.name)
        par.setNotes(_para(f"{p.description}. Source: {p.source.label()}"), True)
    for s in model.states:
        sp_ = m.createSpecies()
        sp_.setId(safe_identifier(s.name))
        sp_.setName(s.description)
        sp_.setCompartment("body")
        sp_.setInitialAmount(s.initial)
        sp_.setHasOnlySubstanceUnits(True)
        sp_.setBoundaryCondition(False)
        sp_.setConstant(False)
        sp_.setSubstanceUnits(b.unit(s.unit))
    for sym, expr in sm.expressions.items():
        name = sm.name_of(sym)
        _formula, unit, _doc = model.expressions[name]
        b.parameter(str(sym), 0.0, unit, False, name)
        rule = m.createAssignmentRule()
        rule.setVariable(str(sym))
        _check(rule.setMath(b.math(expr)), f"assignment rule {name}")
    for name, (formula, unit, _doc) in model.observables.items():
        from nksim.model._symbolic import parse

        table = {str(x): x for x in (*sm.states, *sm.parameters, *sm.expressions)}
        table["t"] = TIME_SYMBOL
        b.parameter(safe_identifier(name), 0.0, unit, False, name)
        rule = m.createAssignmentRule()
        rule.setVariable(safe_identifier(name))
        expr = parse(formula, table, f"{model.name}: observable {name}")
        _check(rule.setMath(b.math(expr)), f"assignment rule {name}")
    doses = _absolute_doses(model, doses)
    infused = sorted({d.state for d in doses if d.duration > 0})
    for name in infused:
        b.parameter(
            f"infusion_{safe_identifier(name)}", 0.0, None, False, f"infusion rate into {name}"
        )
    for s, sym, expr in zip(model.states, sm.states, sm.rhs_display, strict=True):
        rule = m.createRateRule()
        rule.setVariable(str(sym))
        text = b.printer.doprint(expr)
        if s.name in infused:
            text = f"({text}) + infusion_{sym}"
        _check(rule.setMath(b.math(text)), f"rate rule {s.name}")
    for k, (t, assignments) in enumerate(_dose_events(doses)):
        _event(b, f"dose_{k}", f"time >= {t!r}", assignments, fire_at_start=True)
    if model.events:  # the model's own events (e.g. imported from SBML)
        from nksim.model._symbolic import parse

        table = {str(x): x for x in (*sm.states, *sm.parameters, *sm.expressions)}
        table["t"] = TIME_SYMBOL
        assigned = {target for ev in model.events for target in ev.assignments}
        for name in assigned & set(model.parameter_names):
            m.getParameter(safe_identifier(name)).setConstant(False)

        def sbml_math(text, where):
            return b.math(parse(text, table, f"{model.name}: event {where}"))

        for ev in model.events:
            e = m.createEvent()
            e.setId(safe_identifier(ev.id))
            e.setUseValuesFromTriggerTime(ev.use_trigger_time_values)
            trig = e.createTrigger()
            trig.setInitialValue(ev.initial_value)
            trig.setPersistent(ev.persistent)
            _check(trig.setMath(sbml_math(ev.trigger, ev.id)), f"trigger of {ev.id}")
            if ev.delay is not None:
                _check(e.createDelay().setMath(sbml_math(ev.delay, ev.id)), f"delay of {ev.id}")
            if ev.priority is not None:
                _check(e.createPriority().setMath(sbml_math(ev.priority, ev.id)),
                       f"priority of {ev.id}")
            for target, value in ev.assignments.items():
                ea = e.createEventAssignment()
                ea.setVariable(safe_identifier(target))
                _check(ea.setMath(sbml_math(value, ev.id)), f"assignment of {ev.id}")
    if extinction_events:
        for s, sym in zip(model.states, sm.states, strict=True):
            if s.extinction is not None:
                _event(
                    b,
                    f"extinction_{sym}",
                    f"{sym} < {s.extinction!r}",
                    {str(sym): "0"},
                    fire_at_start=False,
                )
    if b.no_kind:
        m.setNotes(_notes(model, sorted(b.no_kind)), True)
    if model.unit_exempt:  # read back by nksim.model.from_sbml
        import json
        from html import escape

        m.setAnnotation(f'<nksim:model xmlns:nksim="{ANNOTATION_NS}" nksim:unitExempt='
                        f'"{escape(json.dumps(dict(model.unit_exempt)), quote=True)}"/>')
    return libsbml.writeSBMLToString(b.doc)


def _absolute_doses(model: Model, doses: Iterable[Dose]) -> list[Dose]:
    """Dose records with their amounts as numbers in the target state's unit.

    Amounts with a unit are converted as the engine converts them
    (:meth:`nksim.dosing.Dose.resolved`); per-kg and per-m² amounts need a patient,
    which an SBML file does not have, and are refused.
    """
    units = {s.name: s.unit for s in model.states}
    out = []
    for k, d in enumerate(doses):
        if d.state not in units:
            raise UserError(f"unknown state {d.state!r} (states: {', '.join(units)})",
                            field=f"doses[{k}].state")
        if d.basis != "flat":
            per = "per kg of body weight" if d.basis == "per_kg" else "per m² of body surface"
            raise UserError(
                f"dose {str(d.amount)!r} into {d.state} is {per}, and an SBML export has no "
                f"patient: give the amount for one patient (Dose.resolved({units[d.state]!r}, "
                "covariates))", field=f"doses[{k}].amount")
        out.append(d.resolved(units[d.state], field=f"doses[{k}].amount"))
    return out


def _dose_events(doses: list[Dose]) -> list[tuple[float, dict[str, str]]]:
    """``(time, {variable: new value formula})``, one entry per time at which doses change
    something, in time order.

    All changes due at one time are one event: the boluses into a state are summed, and so
    are the changes of its infusion rate (an infusion that ends when the next one starts
    changes nothing). Separate SBML events at one time would each compute their new value
    from the values at the trigger time, so the last one to execute would undo the others.
    """
    changes: defaultdict[float, defaultdict[str, float]] = defaultdict(
        lambda: defaultdict(float))
    for d in doses:
        sid = safe_identifier(d.state)
        for t in d.times():
            if d.duration > 0:
                changes[float(t)][f"infusion_{sid}"] += d.rate
                changes[float(t + d.duration)][f"infusion_{sid}"] -= d.rate
            else:
                changes[float(t)][sid] += d.amount
    out = []
    for t in sorted(changes):
        assignments = {
            var: f"{var} {'+' if change > 0 else '-'} {abs(change)!r}"
            for var, change in changes[t].items() if change != 0.0
        }
        if assignments:
            out.append((t, assignments))
    return out


def _event(
    b: _Builder, eid: str, trigger: str, assignments: dict[str, str], *, fire_at_start: bool
) -> None:
    ev = b.sbml.createEvent()
    ev.setId(eid)
    ev.setUseValuesFromTriggerTime(True)
    trig = ev.createTrigger()
    trig.setInitialValue(not fire_at_start)
    trig.setPersistent(True)
    _check(trig.setMath(b.math(trigger)), f"trigger of {eid}")
    for variable, value in assignments.items():
        ea = ev.createEventAssignment()
        ea.setVariable(variable)
        _check(ea.setMath(b.math(value)), f"assignment of {eid}")


def _para(text: str) -> str:
    from html import escape

    return f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></body>'


def _notes(model: Model, no_kind: list[str] | None = None) -> str:
    lines = [
        model.description,
        *[c.text for c in model.references],
        *model.notes,
        *([f"Units with no SBML kind, written as dimensionless: {', '.join(no_kind)} "
           "(the unit definitions' names keep them)."] if no_kind else []),
        "Exported by nksim. Research use only.",
    ]
    return _para(" | ".join(lines))
