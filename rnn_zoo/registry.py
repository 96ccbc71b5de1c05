"""The model registry: names mapped to factories, datasets, recipes and results.

Each model family registers one :class:`ModelSpec` beside its factory (in
``rnn_zoo/models/<family>.py``). Everything else — training, export, the CLI and the
tests — finds models through :func:`list_models` and :func:`get_spec` and never
dispatches on a name.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from rnn_zoo.validation import check_choice, check_float, check_int, check_name

SCHEDULES = ("constant", "cosine")
TASKS = (
    "image_classification",
    "text_classification",
    "forecasting",
    "text_generation",
    "sequence_tagging",
    "translation",
)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A training recipe, kept as plain data so it can be shown, saved and overridden.

    Attributes:
        optimizer: A Keras optimizer identifier, e.g. ``"adam"``.
        learning_rate: The optimizer's learning rate.
        loss: A Keras loss identifier: a name or a ``{"class_name", "config"}`` dict.
        metrics: Keras metric identifiers: names, or ``{"class_name", "config"}`` dicts
            (registered classes such as ``"rnn_zoo>MaskedAccuracy"``).
        epochs: Number of epochs.
        batch_size: Examples per batch.
        monitor: The validation quantity that picks the best checkpoint.
        schedule: ``"constant"`` learning rate, or ``"cosine"`` decay to zero over
            all the recipe's training steps.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    loss: str | dict = "mse"
    metrics: tuple[str | dict, ...] = ()
    epochs: int = 10
    batch_size: int = 32
    monitor: str = "val_loss"
    schedule: str = "constant"

    def __post_init__(self):
        check_name("optimizer", self.optimizer)
        check_float("learning_rate", self.learning_rate, minimum=0.0, include_minimum=False)
        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size)
        check_name("monitor", self.monitor)
        check_choice("schedule", self.schedule, SCHEDULES)

    def replace(self, **changes: Any) -> Recipe:
        """Returns a copy with some fields changed; ``None`` values are ignored.

        Args:
            **changes: Field names and new values.

        Returns:
            A new, validated :class:`Recipe`.

        Raises:
            TypeError: If a name is not a recipe field.

        Example:
            >>> Recipe(epochs=10).replace(epochs=2, batch_size=None).epochs
            2
        """
        fields = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise TypeError(
                f"recipe field(s) {', '.join(unknown)} not known; "
                f"accepted: {', '.join(sorted(fields))}"
            )
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Returns the recipe as a JSON-serializable dict.

        Returns:
            The recipe's fields.

        Example:
            >>> Recipe().to_dict()["optimizer"]
            'adam'
        """
        data = dataclasses.asdict(self)
        data["metrics"] = list(self.metrics)
        return data


@dataclasses.dataclass
class ModelSpec:
    """Everything the zoo knows about one registered model.

    Attributes:
        name: The registry name, e.g. ``"baseline"``.
        factory: The ``build_*`` function.
        task: What the model does; one of :data:`TASKS`. Export and prediction use it.
        dataset: The name of its default dataset in :data:`rnn_zoo.data.DATASETS`.
        recipe: The default training recipe.
        description: One line for listings and model cards.
        data_options: Default keyword arguments for the dataset loader.
        results: Measured results of the default recipe (filled by benchmarks).
    """

    name: str
    factory: Callable[..., Any]
    task: str
    dataset: str
    recipe: Recipe
    description: str = ""
    data_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_name("name", self.name)
        check_choice("task", self.task, TASKS)
        if not callable(self.factory):
            raise TypeError(f"factory={self.factory!r} is not callable")

    def factory_arguments(self) -> dict[str, Any]:
        """Returns the factory's keyword arguments with their defaults.

        Returns:
            Argument name to default value.

        Example:
            >>> get_spec("baseline").factory_arguments()["hidden_units"]
            128
        """
        parameters = inspect.signature(self.factory).parameters.values()
        return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}

    def build(self, **overrides: Any):
        """Builds the model with the factory's defaults and ``overrides``.

        Args:
            **overrides: Factory keyword arguments to change.

        Returns:
            A new ``keras.Model``.

        Raises:
            TypeError: If an override is not an argument of the factory.

        Example:
            >>> model = get_spec("lstm").build(units=8)
        """
        accepted = self.factory_arguments()
        unknown = sorted(set(overrides) - set(accepted))
        if unknown:
            raise TypeError(
                f"{self.name!r} does not take {', '.join(map(repr, unknown))}; "
                f"accepted: {', '.join(accepted)}"
            )
        return self.factory(**overrides)


_REGISTRY: dict[str, ModelSpec] = {}
_FAMILIES_MODULE = "rnn_zoo.models"


def register(spec: ModelSpec) -> ModelSpec:
    """Adds a model to the registry.

    Args:
        spec: The model's specification.

    Returns:
        The same spec, so a module can keep a reference.

    Raises:
        ValueError: If a model of the same name is already registered.

    Example:
        >>> register(ModelSpec(name="tiny_lstm", factory=build_lstm, task="forecasting",
        ...                    dataset="time_series", recipe=Recipe()))  # doctest: +SKIP
    """
    if spec.name in _REGISTRY:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _load_families() -> None:
    importlib.import_module(_FAMILIES_MODULE)


def list_models(pattern: str = "*") -> list[str]:
    """Lists registered model names matching a shell-style pattern.

    Args:
        pattern: An ``fnmatch`` pattern, e.g. ``"*lstm*"``.

    Returns:
        The sorted matching names.

    Raises:
        TypeError: If ``pattern`` is not a string.

    Example:
        >>> list_models("gru*")
        ['gru_classifier']
    """
    if not isinstance(pattern, str):
        raise TypeError(f"pattern={pattern!r} is not accepted; expected a string such as '*lstm*'")
    _load_families()
    return sorted(name for name in _REGISTRY if fnmatch.fnmatch(name, pattern))


def get_spec(name: str) -> ModelSpec:
    """Returns the specification of a registered model.

    Args:
        name: A registered name (see :func:`list_models`).

    Returns:
        Its :class:`ModelSpec`.

    Raises:
        ValueError: If no model of that name is registered; the message lists them.

    Example:
        >>> get_spec("baseline").dataset
        'fashion_mnist'
    """
    _load_families()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"model {name!r} is not registered{hint}; registered: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def get_model(name: str, **overrides: Any):
    """Builds a registered model, like ``timm.create_model``.

    Args:
        name: A registered name (see :func:`list_models`).
        **overrides: Factory keyword arguments to change.

    Returns:
        A new ``keras.Model``.

    Raises:
        ValueError: If ``name`` is not registered or an override value is bad.
        TypeError: If an override is not an argument of the factory.

    Example:
        >>> model = get_model("gru_classifier", bidirectional=True)
    """
    return get_spec(name).build(**overrides)
