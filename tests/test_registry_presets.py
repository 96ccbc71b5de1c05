"""A registry entry's ``model_options``: its architecture, over the factory's defaults."""

from __future__ import annotations

import pytest

from rnn_zoo.recipe import Recipe
from rnn_zoo.registry import ModelSpec


def record_arguments(units: int = 4, num_layers: int = 1, dropout: float = 0.0):
    """A stand-in factory: returns the arguments it was called with."""
    return {"units": units, "num_layers": num_layers, "dropout": dropout}


def entry(**model_options):
    """An unregistered entry whose factory is :func:`record_arguments`."""
    return ModelSpec(
        name="preset_probe",
        factory=record_arguments,
        task="probe",
        dataset="probe",
        loader=record_arguments,
        recipe=Recipe(),
        serving=None,
        model_options=model_options,
    )


def test_the_entry_builds_its_options_over_the_factory_defaults():
    spec = entry(units=512, num_layers=2)
    assert spec.build() == {"units": 512, "num_layers": 2, "dropout": 0.0}
    assert spec.factory_arguments() == {"units": 512, "num_layers": 2, "dropout": 0.0}


def test_overrides_win_over_the_entry_options():
    assert entry(units=512).build(units=8, dropout=0.5) == {
        "units": 8,
        "num_layers": 1,
        "dropout": 0.5,
    }


def test_an_entry_without_options_builds_the_factory_defaults():
    assert entry().build() == record_arguments()


@pytest.mark.parametrize("where", ["model_options", "overrides"])
def test_an_unknown_argument_is_refused_naming_it_and_the_accepted_ones(where):
    spec = entry(layers=2) if where == "model_options" else entry()
    overrides = {} if where == "model_options" else {"layers": 2}
    with pytest.raises(TypeError, match=rf"'layers' \({where}\); accepted: units, num_layers"):
        spec.build(**overrides)
