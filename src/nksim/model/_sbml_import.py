"""Read an SBML model into a :class:`~nksim.model.Model` (python-libsbml).

Supported: SBML Level 3 core (Level 1 and 2 through libSBML's level converter):
compartments of constant or varying size, species as amounts or concentrations
(``hasOnlySubstanceUnits``, boundary and constant species, conversion factors),
global and local parameters, reactions with kinetic laws and constant stoichiometry
(also set by initial assignments), rate, assignment and initial-assignment rules,
function definitions (expanded), piecewise and logical maths, the ``time`` and
``avogadro`` symbols, and units (kept where they map onto pint units).

How SBML maps onto a model: every reaction becomes a named expression (its rate, in
substance per time), every assignment rule an expression, every species changed by
reactions or a rate rule a state, every other quantity a parameter. A species state
holds what the species' symbol means in SBML (its concentration unless
``hasOnlySubstanceUnits``), so results read like the SBML model; in a compartment of
varying size a concentration species is stored as an amount (state ``<id>_amount``)
and its concentration is an expression. Initial assignments are evaluated once, at
import, with the file's values.

Events (triggers, delays, priorities, persistence, ``initialValue``, values from the
trigger time) become :class:`~nksim.model.Event` s, run by the engine between
integrations (:mod:`nksim.engine._events`).

``rateOf()`` is the argument's rate of change; stoichiometries may be set by rules.

Refused before simulation, by name, with one line (:class:`~nksim.errors.UserError`):
algebraic rules, ``delay()``, fast reactions, ``stoichiometryMath``, constraints (with
maths), SBML packages other than comp (flattened) and layout/render/groups, NaN in maths
other than initial assignments, and infinite or NaN values of quantities the model uses.
"""

from __future__ import annotations

import keyword
import math
import re
from pathlib import Path

import libsbml
import numpy as np

from nksim._io import missing_file
from nksim.errors import UserError
from nksim.model._declaration import (
    _RESERVED,
    FUNCTION_NAMES,
    Citation,
    Model,
    Parameter,
    State,
)
from nksim.model._sbml_algebraic import SolvedRule, solve_algebraic

# 1/mol: the value the SBML Level 3 specifications fix for the avogadro csymbol (CODATA
# 2006), not the SI 2019 value 6.02214076e23 (SBML Test Suite case 01323 checks this).
AVOGADRO = 6.02214179e23
FIELD = "model.file"

# SBML unit kinds as pint unit names.
_KINDS = {
    "ampere": "ampere", "avogadro": "avogadro_number", "becquerel": "becquerel",
    "candela": "candela", "celsius": "degC", "coulomb": "coulomb",
    "dimensionless": "dimensionless", "farad": "farad", "gram": "gram", "gray": "gray",
    "henry": "henry", "hertz": "hertz", "item": "count", "joule": "joule", "katal": "katal",
    "kelvin": "kelvin", "kilogram": "kilogram", "litre": "liter", "liter": "liter",
    "lumen": "lumen", "lux": "lux", "metre": "meter", "meter": "meter", "mole": "mole",
    "newton": "newton", "ohm": "ohm", "pascal": "pascal", "radian": "radian",
    "second": "second", "siemens": "siemens", "sievert": "sievert", "steradian": "steradian",
    "tesla": "tesla", "volt": "volt", "watt": "watt", "weber": "weber",
}
_PREFIXES = {-15: "femto", -12: "pico", -9: "nano", -6: "micro", -3: "milli", -2: "centi",
             -1: "deci", 0: "", 3: "kilo", 6: "mega", 9: "giga"}


def from_sbml(source: str | Path, *, name: str | None = None) -> Model:
    """Read an SBML file (or SBML text) into a :class:`~nksim.model.Model`.

    Parameters
    ----------
    source : path to an ``.xml``/``.sbml`` file, or the SBML text itself.
    name : model name (default: the SBML model id, else the file name).

    Unsupported SBML (events, algebraic rules, ``delay``, ...) raises a one-line
    :class:`~nksim.errors.UserError` naming the feature, before anything is simulated.
    """
    return _Importer(*_read(source), name).build()


def _read(source: str | Path) -> tuple[libsbml.SBMLDocument, str]:
    """The libSBML document and a label for messages; ``.ant`` files through Antimony."""
    text = str(source)
    if text.lstrip().startswith("<"):
        return libsbml.readSBMLFromString(text), "SBML text"
    path = Path(source)
    if not path.is_file():
        raise UserError(missing_file(path), field=FIELD)
    if path.suffix == ".ant":
        try:
            import antimony
        except ImportError:
            raise UserError("reading an Antimony (.ant) model needs the 'antimony' package, "
                            "which is not installed (pip install antimony), or convert it to "
                            f"SBML first (got {path.name})", field=FIELD) from None
        antimony.clearPreviousLoads()
        if antimony.loadAntimonyFile(str(path)) < 0:
            raise UserError(f"Antimony cannot read {path.name}: "
                            f"{antimony.getLastError().strip().splitlines()[0]}", field=FIELD)
        return libsbml.readSBMLFromString(antimony.getSBMLString()), path.name
    return libsbml.readSBMLFromFile(str(path)), path.name


def from_sbml_with_symbols(source: str | Path, *, name: str | None = None):
    """:func:`from_sbml` and ``{SBML id: formula of its value in the model}`` (a species'
    formula gives what its SBML symbol means: concentration or amount)."""
    importer = _Importer(*_read(source), name)
    model = importer.build()
    return model, dict(importer.symbols)


def _number(v: float) -> str:
    """A value as formula text; infinities as a literal beyond the largest double (inf
    wherever it is evaluated), NaN as inf*0 (only ever evaluated numerically, at import)."""
    if math.isinf(v):
        return "1e309" if v > 0 else "(-1e309)"
    return "(0*1e309)" if math.isnan(v) else repr(float(v))


def _fail(message: str) -> None:
    raise UserError(message, field=FIELD)


def _sbml_quantity(ud, item: str):
    """The value of an SBML unit definition as a pint quantity (``item`` as ``item``)."""
    from nksim.units import registry

    reg = registry()
    q = reg.Quantity(1.0, "dimensionless")
    for u in ud.getListOfUnits():
        kind = libsbml.UnitKind_toString(u.getKind())
        name = item if kind == "item" else _KINDS.get(kind)
        if name is None:
            return None
        q = q * (reg.Quantity(u.getMultiplier() * 10.0 ** u.getScale(), name)) ** u.getExponent()
    return q


def _named_unit(ud) -> str | None:
    """The unit definition's name or id if it reads as a pint unit equal to its definition."""
    import math as _math

    from nksim.units import parse_unit, registry

    for text in (ud.getName() if ud.isSetName() else "", ud.getId()):
        if not text:
            continue
        try:
            unit = parse_unit(text)
        except Exception:  # noqa: BLE001 - not a pint unit name
            continue
        for item in ("cell", "count"):
            q = _sbml_quantity(ud, item)
            if q is None:
                continue
            try:
                factor = (1.0 * unit).to(q.units).magnitude / q.magnitude
            except Exception:  # noqa: BLE001 - different dimensions
                continue
            if _math.isclose(factor, 1.0, rel_tol=1e-9):
                return text
        # as nksim's export writes it (units with no SBML kind, such as IU, left out)
        from nksim.model._sbml import sbml_components

        try:
            comps, _missing = sbml_components(text)
        except Exception:  # noqa: BLE001
            continue
        have = [(u.getKind(), u.getExponent(), u.getMultiplier() * 10.0 ** u.getScale())
                for u in ud.getListOfUnits()
                if u.getKind() != libsbml.UNIT_KIND_DIMENSIONLESS or u.getMultiplier() != 1]
        want = [c for c in comps if c[0] != libsbml.UNIT_KIND_DIMENSIONLESS or c[2] != 1]
        if len(have) == len(want) and all(
                a[0] == b[0] and a[1] == b[1] and _math.isclose(a[2], b[2], rel_tol=1e-9)
                for a, b in zip(have, want, strict=True)):
            return text
    del registry
    return None


def _errors(doc: libsbml.SBMLDocument) -> list[str]:
    return [
        doc.getError(i).getMessage().strip().splitlines()[0]
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]



_LOGICAL = {libsbml.AST_LOGICAL_AND, libsbml.AST_LOGICAL_OR, libsbml.AST_LOGICAL_XOR,
            libsbml.AST_LOGICAL_NOT, libsbml.AST_LOGICAL_IMPLIES}


def _refuse_truth_values_as_numbers(a: libsbml.ASTNode, where: str, truth: bool) -> None:
    """Refuse ``true`` or ``false`` where a number is meant (SBML's "booleans used as
    numbers", Test Suite cases 01288-01291: they crashed the code generation). ``truth``:
    whether ``a`` stands where a truth value is meant."""
    t = a.getType()
    if t in (libsbml.AST_CONSTANT_TRUE, libsbml.AST_CONSTANT_FALSE) and not truth:
        _fail(f"{where}: the truth value {libsbml.formulaToL3String(a)} where a number is "
              "needed (booleans used as numbers are not supported)")
    if t == libsbml.AST_FUNCTION:  # a user function's arguments: any kind
        return
    for i in range(a.getNumChildren()):
        if t == libsbml.AST_FUNCTION_PIECEWISE:  # (value, condition) pairs, then otherwise
            inner = i % 2 == 1 or truth
        elif t in (libsbml.AST_RELATIONAL_EQ, libsbml.AST_RELATIONAL_NEQ):
            inner = True  # eq(time > 1, true) compares truth values: allowed
        else:
            inner = t in _LOGICAL
        _refuse_truth_values_as_numbers(a.getChild(i), where, inner)


class _Importer:
    def __init__(self, doc: libsbml.SBMLDocument, label: str, name: str | None) -> None:
        self.label = label
        errs = _errors(doc)
        if errs or doc.getModel() is None:
            _fail(f"cannot read SBML from {label}: {errs[0] if errs else 'no model in it'}")
        if doc.isPackageEnabled("comp"):  # hierarchical models: flatten them first
            props = libsbml.ConversionProperties()
            props.addOption("flatten comp", True)
            if doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
                errs = _errors(doc)
                _fail(f"libSBML cannot flatten the comp model {label}"
                      + (f": {errs[0]}" if errs else ""))
        for i in range(doc.getNumPlugins()):
            pkg = doc.getPlugin(i).getPackageName()
            if pkg in ("l3v2extendedmath", "layout", "render", "groups", "comp"):
                continue  # no effect on the dynamics (comp: flattened above)
            if not doc.isPackageEnabled(pkg):
                continue
            _fail(f"SBML package {pkg!r} is not supported (used in {label})")
        if doc.getLevel() < 3:
            props = libsbml.ConversionProperties()
            props.addOption("setLevelAndVersion", True)
            props.addOption("strict", False)
            props.setTargetNamespaces(libsbml.SBMLNamespaces(3, 2))
            if doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
                _fail(f"libSBML cannot convert {label} (Level {doc.getLevel()}) to Level 3")
        props = libsbml.ConversionProperties()
        props.addOption("expandFunctionDefinitions", True)
        if doc.getModel().getNumFunctionDefinitions() and \
                doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
            _fail(f"libSBML cannot expand the function definitions of {label}")
        self.doc = doc
        self.m = doc.getModel()
        self.model_name = name
        self.names: dict[str, str] = {}  # SBML id -> nksim name
        self.rate_of: dict[str, str] = {}  # placeholder name -> SBML id (rateOf csymbol)
        self.units_ok = True
        self.unit_notes: list[str] = []

    # ------------------------------------------------------------ names and units
    def nk(self, sid: str) -> str:
        if sid not in self.names:
            base = re.sub(r"\W", "_", sid)
            if base.endswith("_") and keyword.iskeyword(base[:-1]):
                base = base[:-1]  # nksim's export writes "lambda" as "lambda_"
                if base in self.names.values():
                    base = f"{base}_"
                self.names[sid] = base
                return base
            if not re.match(r"[A-Za-z]", base):
                base = f"s{base}"
            if base in _RESERVED or base in FUNCTION_NAMES or keyword.iskeyword(base) \
                    or base.startswith("nksim_"):
                base = f"{base}_"
            while base in self.names.values():
                base = f"{base}_"
            self.names[sid] = base
        return self.names[sid]

    def unit(self, uid: str, what: str) -> str:
        """pint text for an SBML unit id; 'dimensionless' (and units marked incomplete)."""
        if not uid:
            self.units_ok = False
            return "dimensionless"
        if uid in _KINDS:
            return _KINDS[uid]
        ud = self.m.getUnitDefinition(uid)
        if ud is None:
            self.units_ok = False
            return "dimensionless"
        named = _named_unit(ud)  # e.g. written by nksim's export: the name is the pint text
        if named:
            return named
        parts = []
        for u in ud.getListOfUnits():
            kind = _KINDS.get(libsbml.UnitKind_toString(u.getKind()))
            scale, mult = u.getScale(), u.getMultiplier()
            if kind is None or mult != 1.0 or scale not in _PREFIXES:
                self.units_ok = False
                self.unit_notes.append(f"unit {uid} of {what} has no pint equivalent")
                return "dimensionless"
            if kind == "dimensionless":
                continue
            exp = u.getExponent()
            exp_text = f"**{int(exp)}" if exp == int(exp) else f"**{exp:g}"
            parts.append(f"{_PREFIXES[scale]}{kind}{exp_text if exp != 1 else ''}")
        return "*".join(parts) or "dimensionless"

    # ------------------------------------------------------------ maths
    def math(self, ast: libsbml.ASTNode | None, where: str, local: dict | None = None, *,
             truth: bool = False) -> str:
        """The maths of ``ast`` as nksim text; ``truth``: a truth value is meant (a
        trigger), else a number."""
        if ast is None:
            _fail(f"{where} has no maths")
        if isinstance(ast, SolvedRule):
            return ast.render(self.symbols)
        _refuse_truth_values_as_numbers(ast, where, truth=truth)
        return self._m(ast, where, local or {})

    def _m(self, a, where: str, local: dict) -> str:  # noqa: C901 - one case per node type
        t = a.getType()
        kids = [a.getChild(i) for i in range(a.getNumChildren())]

        def k(i):
            return self._m(kids[i], where, local)

        if t == libsbml.AST_INTEGER:
            return f"{a.getInteger()}"
        if t in (libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
            v = a.getValue()
            if math.isinf(v):  # a float literal beyond the largest double: inf in numpy,
                return _number(v)  # numba and sympy's printed code
            if math.isnan(v):
                if not where.startswith("initial assignment"):
                    _fail(f"{where}: NaN in maths is not supported")
                return _number(v)  # evaluated once, at import (numpy: NaN)
            return repr(float(v)) if t != libsbml.AST_RATIONAL else \
                f"({a.getNumerator()}/{a.getDenominator()})"
        if t == libsbml.AST_NAME:
            n = a.getName()
            if n in local:
                return local[n]
            if n not in self.symbols:
                _fail(f"{where}: unknown symbol {n!r}")
            return self.symbols[n]
        if t == libsbml.AST_NAME_TIME:
            return "t"
        if t == libsbml.AST_NAME_AVOGADRO:
            return self.avogadro()
        if t == libsbml.AST_FUNCTION_DELAY:
            _fail(f"{where}: delay() is not supported")
        if t == libsbml.AST_FUNCTION_RATE_OF:
            if len(kids) != 1 or kids[0].getType() != libsbml.AST_NAME:
                _fail(f"{where}: rateOf() of anything but a symbol is not supported")
            sid = kids[0].getName()
            if sid in local:
                return "0"  # a local parameter is constant
            placeholder = f"nksim_rateof_{self.nk(sid)}"
            self.rate_of[placeholder] = sid
            return placeholder
        if t == libsbml.AST_CONSTANT_E:
            return "E"
        if t == libsbml.AST_CONSTANT_PI:
            return "pi"
        if t == libsbml.AST_CONSTANT_TRUE:
            return "True"
        if t == libsbml.AST_CONSTANT_FALSE:
            return "False"
        if t == libsbml.AST_PLUS:
            return "(" + " + ".join(k(i) for i in range(len(kids))) + ")" if kids else "0"
        if t == libsbml.AST_MINUS:
            return f"(-{k(0)})" if len(kids) == 1 else f"({k(0)} - {k(1)})"
        if t == libsbml.AST_TIMES:
            return "(" + "*".join(k(i) for i in range(len(kids))) + ")" if kids else "1"
        if t == libsbml.AST_DIVIDE:
            return f"({k(0)}/{k(1)})"
        if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
            return f"(({k(0)})**({k(1)}))"
        if t == libsbml.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return f"sqrt({k(0)})"
            return f"(({k(1)})**(1/({k(0)})))"
        if t == libsbml.AST_FUNCTION_LOG:
            if len(kids) == 1:
                return f"(log({k(0)})/log(10))"
            return f"(log({k(1)})/log({k(0)}))"
        simple = {
            libsbml.AST_FUNCTION_ABS: "Abs", libsbml.AST_FUNCTION_EXP: "exp",
            libsbml.AST_FUNCTION_LN: "log", libsbml.AST_FUNCTION_FLOOR: "floor",
            libsbml.AST_FUNCTION_CEILING: "ceiling", libsbml.AST_FUNCTION_FACTORIAL: "factorial",
            libsbml.AST_FUNCTION_SIN: "sin", libsbml.AST_FUNCTION_COS: "cos",
            libsbml.AST_FUNCTION_TAN: "tan", libsbml.AST_FUNCTION_SEC: "sec",
            libsbml.AST_FUNCTION_CSC: "csc", libsbml.AST_FUNCTION_COT: "cot",
            libsbml.AST_FUNCTION_SINH: "sinh", libsbml.AST_FUNCTION_COSH: "cosh",
            libsbml.AST_FUNCTION_TANH: "tanh", libsbml.AST_FUNCTION_SECH: "sech",
            libsbml.AST_FUNCTION_CSCH: "csch", libsbml.AST_FUNCTION_COTH: "coth",
            libsbml.AST_FUNCTION_ARCSIN: "asin", libsbml.AST_FUNCTION_ARCCOS: "acos",
            libsbml.AST_FUNCTION_ARCTAN: "atan", libsbml.AST_FUNCTION_ARCSEC: "asec",
            libsbml.AST_FUNCTION_ARCCSC: "acsc", libsbml.AST_FUNCTION_ARCCOT: "acot",
            libsbml.AST_FUNCTION_ARCSINH: "asinh", libsbml.AST_FUNCTION_ARCCOSH: "acosh",
            libsbml.AST_FUNCTION_ARCTANH: "atanh", libsbml.AST_FUNCTION_ARCSECH: "asech",
            libsbml.AST_FUNCTION_ARCCSCH: "acsch", libsbml.AST_FUNCTION_ARCCOTH: "acoth",
            libsbml.AST_FUNCTION_MIN: "Min", libsbml.AST_FUNCTION_MAX: "Max",
            libsbml.AST_LOGICAL_AND: "And", libsbml.AST_LOGICAL_OR: "Or",
            libsbml.AST_LOGICAL_XOR: "Xor", libsbml.AST_LOGICAL_NOT: "Not",
            libsbml.AST_LOGICAL_IMPLIES: "Implies",
        }
        if t in simple:
            fn = simple[t]
            if not kids and fn in ("And", "Or", "Xor"):
                return "True" if fn == "And" else "False"
            if len(kids) == 1 and fn in ("And", "Or", "Xor", "Min", "Max"):
                return k(0)
            return f"{fn}({', '.join(k(i) for i in range(len(kids)))})"
        relations = {libsbml.AST_RELATIONAL_EQ: "Eq", libsbml.AST_RELATIONAL_NEQ: "Ne",
                     libsbml.AST_RELATIONAL_LT: "Lt", libsbml.AST_RELATIONAL_LEQ: "Le",
                     libsbml.AST_RELATIONAL_GT: "Gt", libsbml.AST_RELATIONAL_GEQ: "Ge"}
        if t in relations:
            if len(kids) < 2:
                return "True"
            if t == libsbml.AST_RELATIONAL_NEQ and len(kids) > 2:
                _fail(f"{where}: neq with more than two arguments is not supported")
            pairs = [f"{relations[t]}({k(i)}, {k(i + 1)})" for i in range(len(kids) - 1)]
            return pairs[0] if len(pairs) == 1 else f"And({', '.join(pairs)})"
        if t == libsbml.AST_FUNCTION_REM:
            x, y = k(0), k(1)
            return f"({x} - ({y})*Piecewise((floor({x}/{y}), Ge({x}/{y}, 0)), " \
                   f"(ceiling({x}/{y}), True)))"
        if t == libsbml.AST_FUNCTION_QUOTIENT:
            x, y = k(0), k(1)
            return f"Piecewise((floor({x}/{y}), Ge({x}/{y}, 0)), (ceiling({x}/{y}), True))"
        if t == libsbml.AST_FUNCTION_PIECEWISE:
            parts = []
            for i in range(0, len(kids) - 1, 2):
                parts.append(f"({k(i)}, {k(i + 1)})")
            if len(kids) % 2:
                parts.append(f"({k(len(kids) - 1)}, True)")
            return f"Piecewise({', '.join(parts)})" if parts else "0"
        _fail(f"{where}: the SBML maths {a.getName() or libsbml.formulaToL3String(a)!r} "
              "is not supported")
        return ""

    def avogadro(self) -> str:
        if "__avogadro" not in self.names:
            self.names["__avogadro"] = self.nk("avogadro_constant")
            self.extra_params.append(
                (self.names["__avogadro"], AVOGADRO, "1/mole", "Avogadro constant (SBML)"))
        return self.names["__avogadro"]

    # ------------------------------------------------------------ refusals
    def refuse_unsupported(self) -> None:
        m = self.m
        for r in m.getListOfReactions():
            if r.isSetFast() and r.getFast():
                _fail(f"fast reactions are not supported (reaction {r.getId()!r})")
            refs = [*r.getListOfReactants(), *r.getListOfProducts()]
            for ref in refs:
                if ref.isSetStoichiometryMath() if hasattr(ref, "isSetStoichiometryMath") \
                        else False:
                    _fail("variable stoichiometry (stoichiometryMath) is not supported")
        for k, c in enumerate(m.getListOfConstraints()):
            if c.getMath() is None:  # a constraint without maths has no effect (SBML L3V2)
                continue
            label = repr(c.getId()) if c.isSetId() else f"number {k + 1}"
            # the message's text, without its XHTML tags, on one line
            text = " ".join(re.sub(r"<[^>]*>", " ", c.getMessageString()).split()) \
                if c.isSetMessage() else ""
            _fail(f"constraints are not supported (constraint {label}: "
                  f"{libsbml.formulaToL3String(c.getMath())}{f', {text!r}' if text else ''})"
                  ": nksim would not check it during a simulation")

    # ------------------------------------------------------------ build
    def build(self) -> Model:  # noqa: C901 - one pass over the SBML model
        m = self.m
        self.refuse_unsupported()
        self.extra_params: list[tuple[str, float, str, str]] = []
        # a rule or initial assignment without maths has no effect (SBML L3V2)
        rules = {r.getVariable(): r for r in m.getListOfRules()
                 if r.getMath() is not None and not r.isAlgebraic()}
        # algebraic rules solved in closed form become assignment rules (else refused)
        rules.update(solve_algebraic(self, _fail))
        assigned = {v for v, r in rules.items() if r.isAssignment()}
        rated = {v for v, r in rules.items() if r.isRate()}
        inits = {ia.getSymbol(): ia for ia in m.getListOfInitialAssignments()
                 if ia.getMath() is not None}

        # --- which compartments vary
        comps = {c.getId(): c for c in m.getListOfCompartments()}
        varying = {cid for cid, c in comps.items()
                   if cid in assigned | rated or not c.getConstant()}

        # --- species: in reactions (as reactant/product, not boundary)
        changed: dict[str, list[tuple[str, str]]] = {}  # species -> [(reaction, stoich)]
        stoich_params: list[tuple[str, float]] = []
        for r in m.getListOfReactions():
            for sign, refs in ((-1, r.getListOfReactants()), (1, r.getListOfProducts())):
                for ref in refs:
                    if ref.isSetStoichiometry():
                        value = ref.getStoichiometry()
                    else:
                        value = 1.0
                    if ref.isSetId():
                        stoich_params.append((ref.getId(), value))
                        coef = self.nk(ref.getId())
                    else:
                        coef = repr(float(value))
                    changed.setdefault(ref.getSpecies(), []).append(
                        (r.getId(), f"{'-' if sign < 0 else ''}{coef}"))

        # --- symbols: what each SBML id means in a formula
        self.symbols: dict[str, str] = {}
        species = {s.getId(): s for s in m.getListOfSpecies()}
        amount_states: set[str] = set()  # concentration species stored as amounts
        for sid, s in species.items():
            name = self.nk(sid)
            conc = not s.getHasOnlySubstanceUnits()
            if conc and comps[s.getCompartment()] is not None and \
                    s.getCompartment() in varying and sid not in rated and sid not in assigned:
                # (a constant species too: its amount is held, as the SBML Test Suite reads it)
                amount_states.add(sid)
                self.symbols[sid] = f"({name}_amount/{self.nk(s.getCompartment())})"
            else:
                self.symbols[sid] = name
        for cid in comps:
            self.symbols[cid] = self.nk(cid)
        for p in m.getListOfParameters():
            self.symbols[p.getId()] = self.nk(p.getId())
        for r in m.getListOfReactions():
            self.symbols[r.getId()] = self.nk(r.getId())
        for sref, _v in stoich_params:
            self.symbols[sref] = self.nk(sref)

        # --- initial values (numbers, or formulas evaluated at t = 0)
        t0_formula: dict[str, str] = {}  # nksim name -> formula at t = 0
        for cid, c in comps.items():
            size = _number(c.getSize()) if c.isSetSize() else "nan"
            if not c.isSetSize() and c.isSetSpatialDimensions() and c.getSpatialDimensions() == 0:
                size = "1.0"  # a 0-D compartment has no size: its species behave as amounts
            t0_formula[self.nk(cid)] = size
        for p in m.getListOfParameters():
            t0_formula[self.nk(p.getId())] = _number(p.getValue()) if p.isSetValue() else "nan"
        for sref, v in stoich_params:
            t0_formula[self.nk(sref)] = repr(float(v))
        for sid, s in species.items():
            name = self.nk(sid)
            vol = self.nk(s.getCompartment())
            if s.isSetInitialAmount():
                amount = _number(s.getInitialAmount())
                value = amount if s.getHasOnlySubstanceUnits() else f"({amount}/{vol})"
            elif s.isSetInitialConcentration():
                c0 = _number(s.getInitialConcentration())
                value = f"({c0}*{vol})" if s.getHasOnlySubstanceUnits() else c0
            else:
                value = "nan"
            t0_formula[name] = value
        for r in m.getListOfReactions():
            t0_formula[self.nk(r.getId())] = self.rate_formula(r)[0]
        for var, ia in inits.items():
            if ia.getMath() is None:
                continue
            t0_formula[self.nk(var)] = self.math(ia.getMath(), f"initial assignment of {var}")
        for var in assigned:
            if rules[var].getMath() is not None:
                t0_formula[self.nk(var)] = self.math(
                    rules[var].getMath(), f"assignment rule of {var}")
        seen: set[str] = set()
        while set(self.rate_of) - seen:  # rateOf() in initial values: the rate at t = 0
            for placeholder in sorted(set(self.rate_of) - seen):
                seen.add(placeholder)
                t0_formula[placeholder] = self.initial_rate(
                    self.rate_of[placeholder], rules, rated, changed, species, comps)
        values = self.evaluate_initial(t0_formula)

        # --- declarations
        cite = Citation(f"SBML {m.getId() or self.label}", f"imported from {self.label}",
                        "UNVERIFIED", note="values as given in the SBML file")
        states: list[State] = []
        params: list[Parameter] = []
        expressions: dict[str, tuple[str, str, str]] = {}
        equations: dict[str, str] = {}
        free = (-math.inf, math.inf)
        time_unit = self.unit(m.getTimeUnits(), "time") if m.isSetTimeUnits() else "second"
        if not m.isSetTimeUnits():
            self.unit_notes.append("the file declares no time unit: seconds assumed")

        def quantity(name, value, unit, desc, *, state_eq=None, expr=None):
            if expr is not None:
                expressions[name] = (expr, unit, desc)
            elif state_eq is not None:
                states.append(State(name, unit, desc, float(value), nonnegative=False))
                equations[name] = state_eq
            else:
                params.append(Parameter(name, float(value), unit, desc, cite, free))

        for cid, c in comps.items():
            name = self.nk(cid)
            unit = self.unit(c.getUnits() if c.isSetUnits() else self._default_size_unit(c),
                             f"compartment {cid}")
            desc = f"compartment {c.getName() or cid} (size)"
            quantity(name, values[name], unit, desc,
                     state_eq=self.rule_math(rules, cid) if cid in rated else None,
                     expr=self.rule_math(rules, cid) if cid in assigned else None)
        for p in m.getListOfParameters():
            pid = p.getId()
            name = self.nk(pid)
            unit = self.unit(p.getUnits(), f"parameter {pid}")
            quantity(name, values[name], unit, f"parameter {p.getName() or pid}",
                     state_eq=self.rule_math(rules, pid) if pid in rated else None,
                     expr=self.rule_math(rules, pid) if pid in assigned else None)
        for sref, _v in stoich_params:  # constant, or set by a rule (variable stoichiometry)
            name = self.nk(sref)
            quantity(name, values[name], "dimensionless", f"stoichiometry {sref}",
                     state_eq=self.rule_math(rules, sref) if sref in rated else None,
                     expr=self.rule_math(rules, sref) if sref in assigned else None)
        for name, value, unit, desc in self.extra_params:
            params.append(Parameter(name, value, unit, desc,
                                    Citation("SBML L3V2", "avogadro csymbol", "V-src"), free))
        for r in m.getListOfReactions():
            formula, unit = self.rate_formula(r, params=params, cite=cite)
            expressions[self.nk(r.getId())] = (formula, unit, f"rate of reaction "
                                                              f"{r.getName() or r.getId()}")
        for sid, s in species.items():
            name = self.nk(sid)
            comp = s.getCompartment()
            vol = self.nk(comp)
            substance = self.unit(s.getSubstanceUnits() if s.isSetSubstanceUnits()
                                  else m.getSubstanceUnits(), f"species {sid}")
            vol_unit = self.unit(comps[comp].getUnits() if comps[comp].isSetUnits()
                                 else self._default_size_unit(comps[comp]), f"compartment {comp}")
            conc = not s.getHasOnlySubstanceUnits()
            unit = f"({substance})/({vol_unit})" if conc and vol_unit != "dimensionless" \
                else substance
            desc = f"species {s.getName() or sid} ({'concentration' if conc else 'amount'})"
            if sid in assigned:
                quantity(name, 0, unit, desc, expr=self.rule_math(rules, sid))
                continue
            if sid in rated:
                quantity(name, values[name], unit, desc, state_eq=self.rule_math(rules, sid))
                continue
            if s.getBoundaryCondition() or s.getConstant() or sid not in changed:
                if sid in amount_states:  # amount constant, concentration follows the volume
                    params.append(Parameter(f"{name}_amount", values[name] * values[vol],
                                            substance, f"{desc}: amount", cite, free))
                    expressions[name] = (f"{name}_amount/{vol}", unit, desc)
                    continue
                quantity(name, values[name], unit, desc)
                continue
            factor = s.getConversionFactor() if s.isSetConversionFactor() else \
                (m.getConversionFactor() if m.isSetConversionFactor() else "")
            flux = " + ".join(f"({coef})*{self.nk(rid)}" for rid, coef in changed[sid])
            if factor:
                flux = f"({self.symbols[factor]})*({flux})"
            if sid in amount_states:
                states.append(State(f"{name}_amount", substance, f"{desc}: amount",
                                    float(values[name] * values[vol]), nonnegative=False))
                equations[f"{name}_amount"] = flux
                expressions[name] = (f"{name}_amount/{vol}", unit, desc)
            elif conc:
                quantity(name, values[name], unit, desc, state_eq=f"({flux})/{vol}")
            else:
                quantity(name, values[name], unit, desc, state_eq=flux)

        # quantities that events change are states (with rate 0 unless a rule says
        # otherwise), so that their values are recorded like any state's
        targets = set()
        for ev in m.getListOfEvents():
            for ea in ev.getListOfEventAssignments():
                var = ea.getVariable()
                targets.add(f"{self.nk(var)}_amount" if var in amount_states else self.nk(var))
        kept = []
        for q in params:
            if q.name in targets:
                states.append(State(q.name, q.unit, q.description, q.value, nonnegative=False))
                equations[q.name] = "0"
            else:
                kept.append(q)
        params = kept
        events = self.events(species, amount_states, {s.name for s in states},
                             {p.name for p in params})
        for name, value, unit, desc in self.extra_params:  # e.g. avogadro used by an event
            if name not in {p.name for p in params}:
                params.append(Parameter(name, value, unit, desc,
                                        Citation("SBML L3V2", "avogadro csymbol", "V-src"),
                                        (-math.inf, math.inf)))
        if self.rate_of:
            equations, expressions, events = self.resolve_rate_of(
                equations, expressions, events, amount_states, species, comps)
        params = self.non_finite_constants(params, states, equations, expressions, events)
        for q in (*params, *states):
            value = q.value if isinstance(q, Parameter) else q.initial
            if not math.isfinite(value):
                _fail(f"{q.description}: its value is {value} (not set, or not finite, in "
                      f"{self.label})")
        expressions = self.order_expressions(expressions)
        notes = [f"Imported from {self.label} by nksim.model.from_sbml.",
                 "Initial assignments were evaluated at import with the file's values."]
        model_name = self.model_name or "sbml_" + re.sub(r"\W", "_", m.getId() or "model")
        kwargs = dict(
            name=model_name, title=m.getName() or m.getId() or self.label,
            description=f"SBML model {m.getId()!r} imported from {self.label}",
            states=tuple(states), parameters=tuple(params), equations=equations,
            references=(cite,), expressions=expressions, time_unit=time_unit,
            events=events,
        )
        from nksim.model._dimensions import DimensionError

        if self.units_ok:
            try:
                return Model(**kwargs, notes=tuple(notes))
            except DimensionError as exc:
                self.unit_notes.append(f"units inconsistent in the file: {exc}")
        declared = self.declared_exemptions()
        if declared:
            try:
                return Model(**kwargs, notes=tuple(notes), unit_exempt=declared)
            except DimensionError as exc:
                self.unit_notes.append(str(exc))
        reason = "units in the SBML file are incomplete or inconsistent (" + "; ".join(
            dict.fromkeys(self.unit_notes) or ["some quantities declare no unit"]) + ")"
        exempt = {**{f"d{s.name}/dt": reason for s in states},
                  **{e: reason for e in expressions}}
        notes.append("Dimensional analysis skipped: " + reason)
        return Model(**kwargs, notes=tuple(notes), unit_exempt=exempt)

    def non_finite_constants(self, params, states, equations, expressions, events):
        """Parameters whose value is infinite or NaN (SBML allows them; the engine does not)
        become named expressions holding the value, if nothing in the model uses them."""
        from nksim.model._declaration import _names_in

        bad = {p.name: p for p in params if not math.isfinite(p.value)}
        if not bad:
            return params
        used: set[str] = set()
        for text in (*equations.values(), *(e[0] for e in expressions.values())):
            used |= _names_in(text)
        for ev in events:
            for text in (ev.trigger, ev.delay, ev.priority, *ev.assignments.values()):
                used |= _names_in(text) if text else set()
        for name, p in bad.items():
            if name in used:
                continue  # refused below, by name
            expressions[name] = (_number(p.value), p.unit, p.description)
        return [p for p in params if p.name not in bad or p.name in used]

    def declared_exemptions(self) -> dict[str, str]:
        """Unit exemptions written by nksim's export (annotation), if any."""
        import json

        from nksim.model._sbml import ANNOTATION_NS

        ann = self.m.getAnnotation()
        if ann is None:
            return {}
        for i in range(ann.getNumChildren()):
            node = ann.getChild(i)
            if node.getURI() == ANNOTATION_NS:
                idx = node.getAttrIndex("unitExempt", ANNOTATION_NS)
                if idx >= 0:
                    try:
                        return dict(json.loads(node.getAttrValue(idx)))
                    except ValueError:
                        return {}
        return {}

    def initial_rate(self, sid, rules, rated, changed, species, comps) -> str:
        """The rate of change of ``sid`` as a formula (for rateOf() in initial values)."""
        if sid in rated:
            return self.rule_math(rules, sid)
        s = species.get(sid)
        if s is None or s.getBoundaryCondition() or s.getConstant() or sid not in changed:
            return "0"
        flux = " + ".join(f"({coef})*{self.nk(rid)}" for rid, coef in changed[sid])
        factor = s.getConversionFactor() if s.isSetConversionFactor() else \
            (self.m.getConversionFactor() if self.m.isSetConversionFactor() else "")
        if factor:
            flux = f"({self.symbols[factor]})*({flux})"
        if s.getHasOnlySubstanceUnits():
            return f"({flux})"
        comp = s.getCompartment()
        if comp in rated:
            _fail(f"rateOf({sid}) in an initial value with a compartment of varying size is "
                  "not supported")
        return f"(({flux})/{self.nk(comp)})"

    def resolve_rate_of(self, equations, expressions, events, amount_states, species, comps):
        """Replace rateOf(x) placeholders by x's rate of change (0 for a constant)."""
        import dataclasses

        from nksim.model._declaration import _names_in, replace_name

        rates = {}
        for placeholder, sid in self.rate_of.items():
            name = self.nk(sid)
            if sid in amount_states:
                vol = self.nk(species[sid].getCompartment())
                dvol = equations.get(vol, "0")
                rates[placeholder] = (f"((({equations[f'{name}_amount']}) - "
                                      f"({name}_amount/{vol})*({dvol}))/{vol})")
            elif name in equations:
                rates[placeholder] = f"({equations[name]})"
            elif name in expressions:
                _fail(f"rateOf({sid}): the rate of a quantity set by an assignment rule is "
                      "not supported")
            else:
                rates[placeholder] = "0"

        def sub(text):
            for _ in range(10):
                used = _names_in(text) & set(rates)
                if not used:
                    return text
                for placeholder in used:
                    text = replace_name(text, placeholder, rates[placeholder])
            _fail("rateOf() refers to itself in a loop")

        equations = {k: sub(v) for k, v in equations.items()}
        expressions = {k: (sub(v[0]), v[1], v[2]) for k, v in expressions.items()}
        events = tuple(dataclasses.replace(
            ev, trigger=sub(ev.trigger),
            delay=None if ev.delay is None else sub(ev.delay),
            priority=None if ev.priority is None else sub(ev.priority),
            assignments={k: sub(v) for k, v in ev.assignments.items()}) for ev in events)
        return equations, expressions, events

    def events(self, species, amount_states, state_names, param_names):
        """SBML events as :class:`~nksim.model.Event` (targets: states and parameters)."""
        from nksim.model._declaration import Event

        out = []
        for k, ev in enumerate(self.m.getListOfEvents()):
            eid = ev.getId() or f"event{k}"
            trig = ev.getTrigger()
            if trig is None or trig.getMath() is None:
                continue  # never fires
            where = f"event {eid}"
            assignments = {}
            for ea in ev.getListOfEventAssignments():
                var = ea.getVariable()
                if ea.getMath() is None:
                    continue
                value = self.math(ea.getMath(), f"{where}: assignment to {var}")
                target = self.nk(var)
                if var in species and var in amount_states:
                    comp = self.nk(species[var].getCompartment())
                    target, value = f"{target}_amount", f"({value})*{comp}"
                if target not in state_names and target not in param_names:
                    _fail(f"{where}: assigns {var!r}, which nksim cannot change by an event "
                          "(a rule defines it, or it is a stoichiometry)")
                assignments[target] = value
            # a compartment resized by the event keeps its species' amounts (SBML; a
            # concentration the same event assigns is an amount at the old size, Test Suite
            # 01779): a concentration held as a state (it has a rate rule) is rescaled by
            # V_old/V_new
            resized = {ea.getVariable(): assignments[self.nk(ea.getVariable())]
                       for ea in ev.getListOfEventAssignments()
                       if self.m.getCompartment(ea.getVariable()) is not None
                       and self.nk(ea.getVariable()) in assignments}
            for sid, sp in species.items():
                comp, name = sp.getCompartment(), self.nk(sid)
                if comp in resized and not sp.getHasOnlySubstanceUnits() and \
                        sid not in amount_states and name in state_names:
                    base = assignments.get(name, name)
                    assignments[name] = f"({base})*({self.nk(comp)})/({resized[comp]})"
            delay = ev.getDelay().getMath() if ev.isSetDelay() else None
            prio = ev.getPriority().getMath() if ev.isSetPriority() else None
            out.append(Event(
                id=self.nk(eid) if ev.getId() else eid,
                trigger=self.math(trig.getMath(), f"{where}: trigger", truth=True),
                assignments=assignments,
                delay=None if delay is None else self.math(delay, f"{where}: delay"),
                priority=None if prio is None else self.math(prio, f"{where}: priority"),
                persistent=trig.getPersistent() if trig.isSetPersistent() else True,
                initial_value=trig.getInitialValue() if trig.isSetInitialValue() else True,
                use_trigger_time_values=ev.getUseValuesFromTriggerTime()
                if ev.isSetUseValuesFromTriggerTime() else True,
            ))
        return tuple(out)

    def _default_size_unit(self, c) -> str:
        dims = c.getSpatialDimensions() if c.isSetSpatialDimensions() else 3
        model_unit = {3: "VolumeUnits", 2: "AreaUnits", 1: "LengthUnits"}.get(int(dims))
        if model_unit is None:
            return "dimensionless"
        return getattr(self.m, f"get{model_unit}")() if \
            getattr(self.m, f"isSet{model_unit}")() else ""

    def rule_math(self, rules, var: str) -> str:
        r = rules[var]
        if r.getMath() is None:
            _fail(f"rule for {var!r} has no maths (not supported)")
        return self.math(r.getMath(), f"rule for {var}")

    def rate_formula(self, r, params=None, cite=None) -> tuple[str, str]:
        """(formula, unit) of a reaction's rate; local parameters become global ones."""
        kl = r.getKineticLaw()
        rid = r.getId()
        if kl is None or kl.getMath() is None:
            _fail(f"reaction {rid!r} has no kinetic law (its rate is undefined)")
        local = {}
        for lp in kl.getListOfLocalParameters():
            gname = self.nk(f"{rid}_{lp.getId()}")
            local[lp.getId()] = gname
            if params is not None:
                params.append(Parameter(gname, lp.getValue(), self.unit(
                    lp.getUnits(), f"local parameter {lp.getId()}"),
                    f"local parameter {lp.getId()} of reaction {rid}", cite,
                    (-math.inf, math.inf)))
            else:
                self._locals = getattr(self, "_locals", {})
                self._locals[gname] = repr(lp.getValue())
        m = self.m
        substance = self.unit(m.getExtentUnits(), "extent") if m.isSetExtentUnits() else ""
        time = self.unit(m.getTimeUnits(), "time") if m.isSetTimeUnits() else ""
        if not (substance and time):
            self.units_ok = False
        unit = f"({substance or 'dimensionless'})/({time or 'second'})"
        return self.math(kl.getMath(), f"kinetic law of {rid}", local), unit

    def evaluate_initial(self, formulas: dict[str, str]) -> dict[str, float]:
        """Values at t = 0 of every quantity, resolving formulas in dependency order."""
        from nksim.model._declaration import _names_in
        from nksim.model._evaluate import evaluate

        formulas = {**getattr(self, "_locals", {}), **formulas}
        for name, value, _u, _d in self.extra_params:
            formulas[name] = repr(value)
        # amount-stored species: their symbol is (S_amount/V); S itself is their concentration
        values: dict[str, float] = {"t": 0.0}
        visiting: set[str] = set()

        def value(name: str) -> float:
            if name in values:
                return values[name]
            if name.endswith("_amount") and name not in formulas:
                base = name[: -len("_amount")]
                for sid, sym in self.symbols.items():
                    if self.nk(sid) == base and sym.startswith("("):
                        comp = self.m.getSpecies(sid).getCompartment()
                        values[name] = value(base) * value(self.nk(comp))
                        return values[name]
            if name not in formulas:
                return math.nan
            if name in visiting:
                _fail(f"initial values depend on each other in a loop (at {name!r})")
            visiting.add(name)
            from nksim.model._declaration import safe_identifier

            # numpy floats: x/0 is inf or NaN (as in the simulation), not an exception; a
            # quantity that ends up not finite is refused by name only if the model uses it
            deps = {safe_identifier(d): np.float64(value(d))
                    for d in _names_in(formulas[name]) - FUNCTION_NAMES if d != "t"}
            deps["t"] = np.float64(0.0)
            from nksim.model._declaration import rename_keywords

            try:
                with np.errstate(all="ignore"):
                    result = float(evaluate(rename_keywords(formulas[name]), deps))
            except ZeroDivisionError:  # between two literal numbers
                result = math.nan
            visiting.discard(name)
            values[name] = result
            return result

        for name in list(formulas):
            value(name)
        return values

    def order_expressions(self, exprs: dict[str, tuple[str, str, str]]):
        """Expressions sorted so that each uses only earlier ones (SBML has no order)."""
        from nksim.model._declaration import _names_in

        done: dict[str, tuple[str, str, str]] = {}
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in done or name not in exprs:
                return
            if name in visiting:
                _fail(f"assignment rules depend on each other in a loop (at {name!r})")
            visiting.add(name)
            for dep in _names_in(exprs[name][0]):
                visit(dep)
            visiting.discard(name)
            done[name] = exprs[name]

        for name in exprs:
            visit(name)
        return done
