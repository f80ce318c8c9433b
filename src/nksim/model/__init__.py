"""The model language: declare a model once; compile, export and render it from that.

Public API::

    from nksim.model import Model, State, Parameter, ParameterSet, Citation
    from nksim.model import Component, compose   # build a model from pieces
    compile_model(model)     # numba right-hand side and analytic Jacobian (cached)
    to_sbml(model, ...)      # SBML Level 3 text
    from_sbml(path)          # an SBML file (or text) as a Model
    render_markdown(model)   # states, parameters, equations (LaTeX maths)
"""

from nksim.model._compose import Component as Component
from nksim.model._compose import compose as compose
from nksim.model._declaration import Citation as Citation
from nksim.model._declaration import Event as Event
from nksim.model._declaration import Model as Model
from nksim.model._declaration import Parameter as Parameter
from nksim.model._declaration import ParameterSet as ParameterSet
from nksim.model._declaration import State as State


def compile_model(model):
    """Compiled right-hand side, Jacobian and batched kernels of ``model`` (cached on disk)."""
    from nksim.model._codegen import compile_model as _compile

    return _compile(model)


def to_sbml(model, doses=(), *, extinction_events=True):
    """SBML Level 3 Version 2 text of ``model``, optionally with dose and extinction events."""
    from nksim.model._sbml import to_sbml as _to_sbml

    return _to_sbml(model, doses, extinction_events=extinction_events)


def from_sbml(source, *, name=None):
    """Read an SBML file (or SBML text) into a :class:`Model` (see :mod:`._sbml_import`)."""
    from nksim.model._sbml_import import from_sbml as _from_sbml

    return _from_sbml(source, name=name)


def render_markdown(model):
    """States, parameters, expressions and equations of ``model`` as Markdown with LaTeX."""
    from nksim.model._render import render_markdown as _render

    return _render(model)
