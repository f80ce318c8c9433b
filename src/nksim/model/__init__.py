"""The model language: declare a model once; compile, export and render it from that.

Public API::

    from nksim.model import Model, State, Parameter, ParameterSet, Citation
    compile_model(model)     # numba right-hand side and analytic Jacobian (cached)
    to_sbml(model, ...)      # SBML Level 3 text
    render_markdown(model)   # states, parameters, equations (LaTeX maths)
"""

from nksim.model._declaration import Citation as Citation
from nksim.model._declaration import Model as Model
from nksim.model._declaration import Parameter as Parameter
from nksim.model._declaration import ParameterSet as ParameterSet
from nksim.model._declaration import State as State
