"""The model language: a model is declared once, as data.

A :class:`Model` holds states (name, unit, meaning), parameters (value, unit,
bounds, source) and equations written as plain text (``"a*T*(1 - b*T) - c*N*T"``).
The fast backend, the analytic Jacobian, the SBML export and the rendered
equations are all derived from this one declaration (see :mod:`nksim.model`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import keyword
import math
import re
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nksim.errors import UserError
from nksim.units import parse_unit, to_magnitude

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED = {"t", "time", "math", "numba"}
# Functions and constants a formula may use (nksim.model._symbolic maps them to sympy).
FUNCTION_NAMES = frozenset({
    "exp", "log", "sqrt", "Abs", "Min", "Max", "tanh", "Piecewise", "Eq", "And", "Or", "Not",
    "pi", "True", "False", "and", "or", "not",
    # also (mostly for imported SBML): trigonometry, rounding, relations, xor
    "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh",
    "sec", "csc", "cot", "sech", "csch", "coth", "asec", "acsc", "acot", "asech", "acsch",
    "acoth", "floor", "ceiling", "factorial", "Ne", "Lt", "Le", "Gt", "Ge", "Xor", "Implies",
    "Mod", "E",
})
TIME = "t"  # explicit time (model time unit) in equations, expressions and observables
VERIFICATION_LABELS = ("V-src", "V-code", "UNVERIFIED", "assumption")


@dataclass(frozen=True)
class Citation:
    """Where a number or an equation comes from.

    ``verified`` is one of ``"V-src"`` (read in the source), ``"V-code"`` (taken from
    public code that reproduces the paper), ``"UNVERIFIED"`` (not confirmed in a
    source: a hypothesis) or ``"assumption"`` (chosen by nksim, with a reason).
    """

    key: str
    text: str
    verified: str = "V-src"
    doi: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.verified not in VERIFICATION_LABELS:
            raise ValueError(
                f"Citation {self.key!r}: verified must be one of {VERIFICATION_LABELS}"
            )

    @property
    def is_assumption(self) -> bool:
        return self.verified == "assumption"

    def label(self) -> str:
        """Short form for tables: ``"de Pillis 2006 [V-code]"``."""
        return f"{self.key} [{self.verified}]"

    def anchoring(self, how: str) -> Citation:
        """An nksim assumption guided by this source, which does not give the value itself;
        ``how`` says what the source does give and how the value was chosen from it."""
        return Citation(f"nksim assumption, anchored on {self.key}",
                        f"{how} Anchor: {self.text}", verified="assumption", doi=self.doi,
                        note=self.note)


@dataclass(frozen=True)
class State:
    """A state variable.

    ``extinction`` is a threshold (in the state's unit) below which the population
    is extinct: the engine records the time and holds it at exactly zero. It is only
    allowed where the state's equation vanishes at zero (no source term), so that
    "held at zero" is also what the equations themselves say.

    ``plausible`` is a ``(low, high)`` range (state's unit) outside which a value cannot
    be physiological (e.g. ``(0, 1e13)`` cells); a patient whose recorded trajectory
    leaves it gets the status ``implausible``.
    """

    name: str
    unit: str
    description: str
    initial: float = 0.0
    nonnegative: bool = True
    extinction: float | None = None
    plausible: tuple[float, float] | None = None


@dataclass(frozen=True)
class Parameter:
    """A model parameter with its unit, bounds and source."""

    name: str
    value: float
    unit: str
    description: str
    source: Citation
    bounds: tuple[float, float] = (0.0, math.inf)


@dataclass(frozen=True)
class Event:
    """A discrete event (as SBML's): when ``trigger`` turns from false to true, after
    ``delay`` (model time unit), set states or parameters to ``assignments`` values.

    ``trigger``, ``delay``, ``priority`` and the assigned values are formulas of states,
    parameters, expressions and ``t``. ``persistent = False`` cancels a delayed event whose
    trigger turns false before it executes; ``initial_value`` is the trigger's value just
    before the start (``False``: an event true at the start fires then);
    ``use_trigger_time_values`` evaluates the assignments when triggered rather than when
    executed. Events executing at the same time go by decreasing ``priority``.
    """

    id: str
    trigger: str
    assignments: Mapping[str, str]
    delay: str | None = None
    priority: str | None = None
    persistent: bool = True
    initial_value: bool = True
    use_trigger_time_values: bool = True


@dataclass(frozen=True)
class ParameterSet:
    """A named set of parameter values (in the model's units) with its source."""

    name: str
    values: Mapping[str, float]
    source: Citation
    description: str = ""
    initial: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Model:
    """A model declared once: states, parameters, named expressions and equations.

    Parameters
    ----------
    name : identifier used on the command line and in scenario files.
    states, parameters : declarations; their order fixes the array layout.
    equations : ``{state: "right-hand side"}`` for every state, time in ``time_unit``;
        ``t`` is the time (``time_unit``) and may be used in any formula.
    events : discrete events (:class:`Event`, e.g. from SBML); they do not change the
        compiled code.
    expressions : named intermediate quantities, usable in equations and in later
        expressions (e.g. a kill term); ``{name: (formula, unit, description)}``.
    observables : named outputs computed from states, parameters, expressions and ``t``
        after integration and returned in results like states (as mrgsolve's captured
        variables); ``{name: (formula, unit, description)}``. They do not change the
        compiled code.
    unit_exempt : ``{key: reason}`` exemptions from the dimensional analysis done at
        declaration (see :mod:`nksim.model._dimensions`): ``key`` is ``"dX/dt"``, an
        expression or observable name, or a sub-expression such as ``"exp(-M)"``.
    parameter_sets : alternative published values; ``parameter_set`` names the one
        applied (``None`` = the declared values).
    """

    name: str
    title: str
    description: str
    states: tuple[State, ...]
    parameters: tuple[Parameter, ...]
    equations: Mapping[str, str]
    references: tuple[Citation, ...] = ()
    expressions: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    parameter_sets: Mapping[str, ParameterSet] = field(default_factory=dict)
    parameter_set: str | None = None
    time_unit: str = "day"
    notes: tuple[str, ...] = ()
    observables: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    unit_exempt: Mapping[str, str] = field(default_factory=dict)
    events: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        _validate(self)

    # ------------------------------------------------------------ names and arrays
    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def uses_time(self) -> bool:
        """True if an equation or expression uses the time ``t`` (non-autonomous model)."""
        texts = [*self.equations.values(), *(v[0] for v in self.expressions.values())]
        return any(TIME in _names_in(text) for text in texts)

    def state(self, name: str, *, field: str | None = None) -> State:
        """The state ``name``; :class:`UserError` (naming ``field``) if there is none."""
        for s in self.states:
            if s.name == name:
                return s
        raise UserError(
            f"model {self.name!r} has no state {name!r} (states: {', '.join(self.state_names)})",
            field=field,
        )

    def parameter(self, name: str, *, field: str | None = None) -> Parameter:
        """The parameter ``name``; :class:`UserError` (naming ``field``) if there is none."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise UserError(
            f"model {self.name!r} has no parameter {name!r} "
            f"(parameters: {', '.join(self.parameter_names)})",
            field=field,
        )

    def parameter_vector(self) -> np.ndarray:
        """Parameter values in declaration order (model units)."""
        return np.array([p.value for p in self.parameters], dtype=float)

    def initial_vector(self) -> np.ndarray:
        """Default initial state in declaration order (model units)."""
        return np.array([s.initial for s in self.states], dtype=float)

    # ------------------------------------------------------------ derived models
    def with_parameter_set(self, name: str) -> Model:
        """The same model with a published parameter set applied."""
        if name not in self.parameter_sets:
            known = ", ".join(self.parameter_sets) or "none"
            raise UserError(
                f"model {self.name!r} has no parameter set {name!r} (known: {known})",
                field="parameter_set",
            )
        pset = self.parameter_sets[name]
        params = tuple(
            dataclasses.replace(p, value=float(pset.values[p.name]), source=pset.source)
            if p.name in pset.values
            else p
            for p in self.parameters
        )
        states = tuple(
            dataclasses.replace(s, initial=float(pset.initial[s.name]))
            if s.name in pset.initial
            else s
            for s in self.states
        )
        return dataclasses.replace(self, parameters=params, states=states, parameter_set=name)

    def with_values(
        self,
        parameters: Mapping[str, float | str] | None = None,
        initial: Mapping[str, float | str] | None = None,
    ) -> Model:
        """Override parameter values and initial states; strings carry units (``"2 1/day"``)."""
        parameters = dict(parameters or {})
        initial = dict(initial or {})
        for name in parameters:
            self.parameter(name, field=f"parameters.{name}")
        for name in initial:
            self.state(name, field=f"initial.{name}")
        params = []
        for p in self.parameters:
            if p.name in parameters:
                value = to_magnitude(parameters[p.name], p.unit, field=f"parameters.{p.name}")
                lo, hi = p.bounds
                if not (lo <= value <= hi) or not math.isfinite(value):
                    raise UserError(
                        f"{value:g} {p.unit} is outside the allowed range [{lo:g}, {hi:g}]",
                        field=f"parameters.{p.name}",
                    )
                p = dataclasses.replace(
                    p,
                    value=value,
                    source=Citation("user override", "value set in the scenario", "assumption"),
                )
            params.append(p)
        states = []
        for s in self.states:
            if s.name in initial:
                value = to_magnitude(initial[s.name], s.unit, field=f"initial.{s.name}")
                if not math.isfinite(value) or (s.nonnegative and value < 0):
                    raise UserError(
                        f"must be a finite value >= 0, got {value:g}", field=f"initial.{s.name}"
                    )
                s = dataclasses.replace(s, initial=value)
            states.append(s)
        return dataclasses.replace(self, parameters=tuple(params), states=tuple(states))

    def with_plausible(self, ranges: Mapping[str, tuple[float, float] | None]) -> Model:
        """Set plausible ranges per state (``None`` removes one); see :class:`State`."""
        for name in ranges:
            self.state(name, field=f"plausible.{name}")
        states = tuple(
            dataclasses.replace(s, plausible=ranges[s.name]) if s.name in ranges else s
            for s in self.states
        )
        return dataclasses.replace(self, states=states)

    def with_extinction(self, thresholds: Mapping[str, float | None]) -> Model:
        """Change extinction thresholds per state (``None`` switches extinction off)."""
        for name in thresholds:
            self.state(name, field=f"extinction.{name}")
        states = tuple(
            dataclasses.replace(s, extinction=thresholds[s.name]) if s.name in thresholds else s
            for s in self.states
        )
        return dataclasses.replace(self, states=states)

    # ------------------------------------------------------------ identity
    def structure_key(self) -> str:
        """A hash of everything that changes generated code (not parameter values)."""
        parts = [self.name, repr(self.state_names), repr(self.parameter_names)]
        parts += [f"{k}={v[0]}" for k, v in self.expressions.items()]
        parts += [f"{s}={self.equations[s]}" for s in self.state_names]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def sources(self) -> list[Citation]:
        """Every distinct citation used by the model and its current parameters."""
        seen: dict[str, Citation] = {}
        for c in [*self.references, *(p.source for p in self.parameters)]:
            seen.setdefault(c.label(), c)
        return list(seen.values())


def _validate(model: Model) -> None:
    # Units are parsed with pint and the formulas' dimensions analysed, unless a model with
    # the same units and formulas passed before (remembered on disk; never a failure).
    from nksim.model import _dimensions

    units_known = _dimensions.checked_before(model)

    def check_unit(unit: str, field: str) -> None:
        if not units_known:
            parse_unit(unit, field=field)

    def check_name(name: str, what: str) -> None:
        if not _NAME.match(name) or name in _RESERVED:
            raise ValueError(
                f"model {model.name!r}: {what} name {name!r} must be an identifier "
                f"(a letter, then letters, digits, underscores) and not one of {sorted(_RESERVED)}"
            )

    if not isinstance(model.name, str) or not _NAME.match(model.name):
        raise ValueError(
            f"model name {model.name!r} must be an identifier: a letter, then letters, "
            "digits or underscores (it names the compiled-code file and the CLI's model)"
        )
    names: list[str] = []
    for s in model.states:
        check_name(s.name, "state")
        if s.plausible is not None:
            lo, hi = s.plausible
            if not (lo < hi) or math.isnan(lo) or math.isnan(hi):
                raise ValueError(f"model {model.name!r}: state {s.name}: plausible range "
                                 f"must be (low, high) with low < high, got {s.plausible}")
        check_unit(s.unit, f"{model.name}.{s.name}.unit")
        names.append(s.name)
    for p in model.parameters:
        check_name(p.name, "parameter")
        check_unit(p.unit, f"{model.name}.{p.name}.unit")
        lo, hi = p.bounds
        if not lo <= p.value <= hi:
            raise ValueError(f"model {model.name!r}: {p.name} = {p.value} is outside {p.bounds}")
        names.append(p.name)
    for e in model.expressions:
        check_name(e, "expression")
        names.append(e)
    for e in model.observables:
        check_name(e, "observable")
        if e in names:
            raise ValueError(f"model {model.name!r}: observable {e!r} has the name of a state, "
                             "parameter or expression")
    safe = [safe_identifier(n) for n in names]  # "lambda" and "lambda_" would collide
    duplicates = {n for n, x in zip(names, safe, strict=True) if safe.count(x) > 1}
    if duplicates:
        raise ValueError(f"model {model.name!r}: names used twice: {sorted(duplicates)}")
    missing = set(model.state_names) - set(model.equations)
    extra = set(model.equations) - set(model.state_names)
    if missing or extra:
        raise ValueError(
            f"model {model.name!r}: equations must cover exactly the states "
            f"(missing {sorted(missing)}, unknown {sorted(extra)})"
        )
    known = set(names) | FUNCTION_NAMES | {TIME} | set(model.observables)
    formulas = [(f"expression {e}", spec[0]) for e, spec in model.expressions.items()]
    formulas += [(f"d{n}/dt", model.equations[n]) for n in model.state_names]
    formulas += [(f"observable {e}", spec[0]) for e, spec in model.observables.items()]
    for ev in model.events:
        formulas.append((f"event {ev.id}: trigger", ev.trigger))
        formulas += [(f"event {ev.id}: {k}", v) for k, v in (("delay", ev.delay),
                     ("priority", ev.priority)) if v is not None]
        for target, value in ev.assignments.items():
            if target not in (*model.state_names, *model.parameter_names):
                raise ValueError(f"model {model.name!r}: event {ev.id}: {target!r} is not a "
                                 "state or parameter")
            formulas.append((f"event {ev.id}: {target}", value))
    for where, text in formulas:
        unknown = _names_in(text) - known
        if unknown:
            raise ValueError(f"model {model.name!r}: {where}: unknown names {sorted(unknown)} "
                             f"in {text!r}")
    for pset in model.parameter_sets.values():
        unknown = set(pset.values) - set(model.parameter_names)
        unknown |= set(pset.initial) - set(model.state_names)
        if unknown:
            raise ValueError(f"parameter set {pset.name!r} names unknown {sorted(unknown)}")
    for key, reason in model.unit_exempt.items():
        if not (isinstance(reason, str) and reason.strip()):
            raise ValueError(f"model {model.name!r}: unit_exempt[{key!r}] needs a reason")
    for name, spec in model.observables.items():
        check_unit(spec[1], f"{model.name}.{name}.unit")
    for name, spec in model.expressions.items():
        check_unit(spec[1], f"{model.name}.{name}.unit")
    check_unit(model.time_unit, f"{model.name}.time_unit")
    if not units_known:
        _dimensions.check_dimensions(model)
        _dimensions.remember_checked(model)


def check_extinction(model: Model, source_free: tuple[str, ...]) -> None:
    """Refuse an extinction threshold on a state with a source term.

    "Held at zero" must also be what the equations say (in nksim and in the SBML
    export alike), so extinction is allowed only where d(state)/dt = 0 at state = 0.
    """
    for s in model.states:
        if s.extinction is not None and s.name not in source_free:
            raise UserError(
                f"state {s.name} has an extinction threshold but its equation in model "
                f"{model.name!r} has a source term (d{s.name}/dt != 0 at {s.name} = 0); "
                "remove the threshold or the source",
                field=f"extinction.{s.name}",
            )


def _names_in(text: str) -> set[str]:
    """Identifiers used in a formula (without parsing it: no sympy at declaration time)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise ValueError(f"cannot read formula {text!r}: {exc}") from None
    return {t.string for t in tokens if t.type == tokenize.NAME}


_PYTHON_CONSTANTS = frozenset({"True", "False", "None", "and", "or", "not"})


@functools.lru_cache(maxsize=4096)
def rename_keywords(text: str) -> str:
    """Rename model symbols that are Python keywords (``lambda`` -> ``lambda_``) in a formula
    (cached: the event loop renames the same triggers at every check)."""
    tokens = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string not in _PYTHON_CONSTANTS:
            tok = tok._replace(string=safe_identifier(tok.string))
        tokens.append(tok)
    return tokenize.untokenize(tokens).strip()


def replace_name(text: str, old: str, new: str) -> str:
    """``text`` with the identifier ``old`` replaced by ``new`` (whole names only)."""
    tokens = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string == old:
            tok = tok._replace(string=new)
        tokens.append(tok)
    return tokenize.untokenize(tokens).strip()


TIME_STATE = "nksim_time"  # the hidden state that carries t in a non-autonomous model


def autonomous(model: Model) -> Model:
    """``model`` with ``t`` as a last, hidden state (d t/dt = 1): what the engine integrates.

    Rosenbrock methods integrate the autonomous form exactly as the non-autonomous one
    (the time derivative of the right-hand side enters through the Jacobian's last column).
    """
    if not model.uses_time and model.states:
        return model  # (a model without states gets the clock, so that there is one)
    if TIME_STATE in (*model.state_names, *model.parameter_names, *model.expressions):
        raise ValueError(f"model {model.name!r}: the name {TIME_STATE!r} is reserved")
    eqs = {k: replace_name(v, TIME, TIME_STATE) for k, v in model.equations.items()}
    eqs[TIME_STATE] = "1"
    exprs = {k: (replace_name(v[0], TIME, TIME_STATE), v[1], v[2])
             for k, v in model.expressions.items()}
    clock = State(TIME_STATE, model.time_unit, "time (hidden state of a non-autonomous model)",
                  0.0, nonnegative=False)
    return dataclasses.replace(
        model, name=f"{model.name}_t", states=(*model.states, clock), equations=eqs,
        expressions=exprs, observables={}, events=(),
        unit_exempt={k: v for k, v in model.unit_exempt.items()})


def safe_identifier(name: str) -> str:
    """A Python-safe spelling of a model symbol (``lambda`` -> ``lambda_``)."""
    return f"{name}_" if keyword.iskeyword(name) else name
