"""quizgen's tables of Keras names and arguments match the installed Keras.

If a Keras upgrade adds an argument or an activation, these fail and say which.
"""

from __future__ import annotations

import inspect

import pytest

from quizgen.nn import spec
from quizgen.nn.layers.base import BASE_ARGS

SIGNATURE_ONLY = {"self", "kwargs"}
KWARG_EXTRAS = {  # accepted through **kwargs by the class or Layer itself
    "Embedding": {"input_length"}, "LayerNormalization": {"rms_scaling"},
    "LeakyReLU": {"alpha"},  # Keras 2's name for negative_slope, popped from **kwargs with a warning
}


@pytest.mark.parametrize("layer_type", sorted(set(spec.LAYER_ARGS) - {"Sequential", "Functional"}))
def test_layer_arguments_match_keras_signatures(checker, layer_type):
    cls = getattr(checker.keras.layers, layer_type)
    params = inspect.signature(cls.__init__).parameters
    keras_args = {k for k in params if k not in SIGNATURE_ONLY}
    base = set(BASE_ARGS)
    ours = set(spec.LAYER_ARGS[layer_type]) - base - KWARG_EXTRAS.get(layer_type, set())
    assert ours == keras_args - base
    if "kwargs" not in params:  # no **kwargs: only the base arguments the signature names are taken
        assert set(spec.LAYER_ARGS[layer_type]) & base == keras_args & base, layer_type
    for name, default in spec.LAYER_ARGS[layer_type].items():
        if name in params and params[name].default is not inspect.Parameter.empty:
            assert default == params[name].default, (layer_type, name)
        if default is spec.REQUIRED:
            assert params[name].default is inspect.Parameter.empty


def test_name_tables_match_keras(checker):
    from keras.src import activations, constraints, initializers, regularizers

    assert set(activations.ALL_OBJECTS_DICT) == spec.ACTIVATIONS
    bases = {"Initializer", "initializer", "Regularizer", "regularizer", "Constraint", "constraint"}
    assert set(initializers.ALL_OBJECTS_DICT) - bases == spec.INITIALIZERS
    assert set(regularizers.ALL_OBJECTS_DICT) - bases == spec.REGULARIZERS
    assert set(constraints.ALL_OBJECTS_DICT) - bases == spec.CONSTRAINTS
