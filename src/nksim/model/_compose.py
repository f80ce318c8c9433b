"""Compose a model from components: a disease, cell products, drugs, toxicity.

A :class:`Component` declares its own states, parameters and expressions, and
*terms*: additive contributions to the rate of change of any state of the composed
model, its own or another component's (a CAR-T component adds its kill term to the
B-cell equation of the disease component). :func:`compose` sums the terms of each
state into one :class:`Model`, so the composed model is declared once and gets the
same backend, Jacobian, SBML export and rendering as any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nksim.model._declaration import Citation, Model, Parameter, ParameterSet, State


@dataclass(frozen=True)
class Component:
    """A piece of a model.

    ``terms`` maps a state name (of any component) to a formula, or to a list of
    formulas, added to that state's rate of change. ``requires`` names states of
    other components that the terms or expressions use.
    """

    name: str
    description: str
    states: tuple[State, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    expressions: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    terms: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    references: tuple[Citation, ...] = ()
    notes: tuple[str, ...] = ()
    observables: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    unit_exempt: Mapping[str, str] = field(default_factory=dict)  # see Model.unit_exempt


def compose(
    name: str,
    title: str,
    description: str,
    components: Sequence[Component],
    *,
    parameter_sets: Mapping[str, ParameterSet] | None = None,
    parameter_set: str | None = None,
    time_unit: str = "day",
) -> Model:
    """Sum the components into one :class:`Model` (errors name the component at fault)."""
    states: dict[str, State] = {}
    params: dict[str, Parameter] = {}
    owner: dict[str, str] = {}
    expressions: dict[str, tuple[str, str, str]] = {}
    observables: dict[str, tuple[str, str, str]] = {}
    exempt: dict[str, str] = {}
    for comp in components:
        observables.update(comp.observables)
        exempt.update(comp.unit_exempt)
        for s in comp.states:
            if s.name in states:
                raise ValueError(f"state {s.name!r} is declared by both {owner[s.name]!r} "
                                 f"and {comp.name!r}")
            states[s.name] = s
            owner[s.name] = comp.name
        for p in comp.parameters:
            if p.name in params and params[p.name] != p:
                raise ValueError(f"parameter {p.name!r} is declared differently by "
                                 f"{owner['p:' + p.name]!r} and {comp.name!r}")
            params[p.name] = p
            owner.setdefault("p:" + p.name, comp.name)
        for e, spec in comp.expressions.items():
            if e in expressions:
                raise ValueError(f"expression {e!r} is declared twice (in {comp.name!r})")
            expressions[e] = spec
    terms: dict[str, list[str]] = {s: [] for s in states}
    for comp in components:
        for req in comp.requires:
            if req not in states:
                raise ValueError(f"component {comp.name!r} requires state {req!r}, "
                                 "which no component declares")
        for target, formula in comp.terms.items():
            if target not in states:
                raise ValueError(f"component {comp.name!r} adds a term to unknown state "
                                 f"{target!r}")
            formulas = [formula] if isinstance(formula, str) else list(formula)
            terms[target] += [f"({f})" for f in formulas]
    equations = {s: " + ".join(t) if t else "0" for s, t in terms.items()}
    refs: dict[str, Citation] = {}
    for comp in components:
        for c in comp.references:
            refs.setdefault(c.label(), c)
    notes = tuple(f"[{c.name}] {n}" for c in components for n in c.notes)
    return Model(
        name=name, title=title, description=description,
        states=tuple(states.values()), parameters=tuple(params.values()),
        equations=equations, references=tuple(refs.values()), expressions=expressions,
        parameter_sets=dict(parameter_sets or {}), parameter_set=parameter_set,
        time_unit=time_unit, observables=observables, unit_exempt=exempt,
        notes=(f"Composed of: {', '.join(c.name for c in components)}.", *notes),
    )
