"""The model registry: names mapped to factories, datasets, recipes and results.

Each model family is one folder, ``rnn_zoo/models/<family>/``, and registers one
:class:`ModelSpec` beside its factory. The spec carries everything the rest of the zoo
needs to know about the family: its loader, recipe and measured results, the serving
module export writes, whether its head emits logits or probabilities, how ``predict``
reads raw inputs and which inference verbs it has. Training, export, predict, the CLI,
the tests and the benchmarks find families through :func:`list_models` and
:func:`get_spec` and never dispatch on a task or a model name.

References to code that imports TensorFlow (serving modules, readers, verbs) may be
given as ``"module:attribute"`` strings, resolved on first use, so that listing the
registry stays cheap.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from rnn_zoo.device import PRECISIONS
from rnn_zoo.recipe import Recipe
from rnn_zoo.validation import check_choice, check_name

HEADS = ("logits", "probabilities", "values")


def resolve(reference: Any) -> Any:
    """Returns the object a ``"module:attribute"`` reference names; anything else as is.

    Args:
        reference: A ``"package.module:name"`` string, or the object itself.

    Returns:
        The referenced object.

    Raises:
        ValueError: If a string reference is not of the form ``"module:attribute"``.

    Example:
        >>> resolve("rnn_zoo.registry:resolve") is resolve
        True
    """
    if not isinstance(reference, str):
        return reference
    module, _, attribute = _check_reference("reference", reference).partition(":")
    return getattr(importlib.import_module(module), attribute)


def _check_reference(name: str, reference: str) -> str:
    module, separator, attribute = reference.partition(":")
    if not separator or not module or not attribute:
        raise ValueError(f"{name} {reference!r} is not of the form 'module:attribute'")
    return reference


@dataclasses.dataclass(frozen=True)
class PlainTwin:
    """The same architecture in plain Keras layers, trained beside the model for speed.

    Attributes:
        build: ``(model_kwargs) -> keras.Model`` (or a ``"module:function"``
            reference) with the registered model's parameter count.
        data_options: Loader options both sides train on (what the twin leaves out,
            say character features), over the registry's own.
    """

    build: Callable[..., Any] | str
    data_options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ModelSpec:
    """Everything the zoo knows about one registered model, like torchvision's ``Weights``.

    Attributes:
        name: The registry name, e.g. ``"baseline"``.
        factory: The ``build_*`` function, or a ``"module:function"`` reference to it
            (resolved on first use, so an entry can be listed without importing Keras).
        task: What the model does, in words, for listings and model cards
            (``"text_classification"``); nothing dispatches on it.
        dataset: The name of its dataset, as its loader's ``DataBundle`` names it.
        loader: The dataset's ``load_*`` function (or a ``"module:function"``
            reference); it takes ``path``, ``batch_size``, ``seed`` and ``fraction``.
        recipe: The default training recipe.
        serving: The :class:`rnn_zoo.serving.ServingModule` subclass (or a reference
            to it) that export writes: the model with the preprocessing raw inputs need.
        head: What the model's output is: ``"logits"``, ``"probabilities"`` or
            ``"values"`` (a regression). Serving modules turn logits into
            probabilities; probabilities pass as they are.
        description: One line for listings and model cards.
        data_options: Default keyword arguments for the loader.
        model_options: Factory keyword arguments the entry sets over the factory's own
            defaults, like a preset: the registered architecture when it is not the
            factory's default one (``build`` and ``factory_arguments`` apply them).
        results: Measured results of the default recipe (filled by benchmarks).
        parameters: The parameter count at the entry's defaults, as documented (a
            test checks it; ``rnn-zoo list`` shows it without building the model).
        anchor: The outside reference the results are measured against (a tutorial,
            a paper, a naive forecast), in words.
        read_inputs: How ``predict`` reads raw command-line inputs (or a reference):
            ``(inputs, metadata, input_shape) -> array``; ``None`` if the family has
            no raw-input prediction.
        verbs: Inference verbs beyond ``predict``, verb name → function (or
            reference), e.g. ``{"generate": generate_text}``.
        choices: Factory arguments that take one of a set of strings, name → the
            accepted values.
        test_report: Optional ``(model, bundle) -> {name: value}``: test figures the
            family computes with its own inference (BLEU of decoded translations, say).
        plain_twin: Optional :class:`PlainTwin`: the same architecture in plain Keras
            layers, which the speed benchmark trains beside the model.
        conversion: Optional :class:`rnn_zoo.conversion.Conversion` subclass (or a
            reference to it): what the family's LiteRT and ONNX exports hold; ``None``
            if it exports as a SavedModel only.
        precision: The precision training uses when none is asked for (one of
            :data:`rnn_zoo.device.PRECISIONS`). ``"auto"`` trains in bfloat16 where the
            hardware has bfloat16 matrix units (a CPU with AMX, a recent GPU) and in
            float32 elsewhere; an entry sets it only where bfloat16 was measured to cost
            at most 0.02 nats per character or 0.3 accuracy points. Defaults to
            ``"float32"``.
    """

    name: str
    factory: Callable[..., Any] | str
    task: str
    dataset: str
    loader: Callable[..., Any] | str
    recipe: Recipe
    serving: Any
    head: str = "logits"
    description: str = ""
    data_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    model_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    parameters: int | None = None
    anchor: str = ""
    read_inputs: Callable[..., Any] | str | None = None
    verbs: dict[str, Callable[..., Any] | str] = dataclasses.field(default_factory=dict)
    choices: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    test_report: Callable[..., Any] | str | None = None
    plain_twin: PlainTwin | None = None
    conversion: Any = None
    precision: str = "float32"

    def __post_init__(self):
        check_name("name", self.name)
        check_name("task", self.task)
        check_name("dataset", self.dataset)
        check_choice("head", self.head, HEADS)
        check_choice("precision", self.precision, PRECISIONS)
        if isinstance(self.factory, str):
            _check_reference("factory", self.factory)
        elif not callable(self.factory):
            raise TypeError(f"factory={self.factory!r} is not callable nor a 'module:function'")
        for verb in self.verbs:
            check_name("verb", verb)

    def load_data(self, **options: Any):
        """Loads the model's dataset: the registry's data options, then ``options``.

        Args:
            **options: Loader arguments (``path``, ``batch_size``, ``seed``, ...).

        Returns:
            The loader's ``DataBundle``.

        Example:
            >>> bundle = get_spec("lstm").load_data(batch_size=256)  # doctest: +SKIP
        """
        return self.get_loader()(**{**self.data_options, **options})

    def get_loader(self) -> Callable[..., Any]:
        """Returns the dataset's loader function.

        Returns:
            The ``load_*`` function.

        Example:
            >>> get_spec("gru_classifier").get_loader().__name__
            'load_imdb'
        """
        return resolve(self.loader)

    def get_serving(self) -> Any:
        """Returns the serving module class export writes.

        Returns:
            A :class:`rnn_zoo.serving.ServingModule` subclass.

        Example:
            >>> get_spec("baseline").get_serving().__name__  # doctest: +SKIP
            'ImageClassifierServing'
        """
        return resolve(self.serving)

    def export_formats(self) -> tuple[str, ...]:
        """Returns the formats the family exports to.

        Returns:
            ``("saved_model",)``, then the formats its conversion declares.

        Example:
            >>> get_spec("lstm").export_formats()  # doctest: +SKIP
            ('saved_model', 'litert', 'onnx')
        """
        if self.conversion is None:
            return ("saved_model",)
        return ("saved_model", *resolve(self.conversion).formats)

    def get_conversion(self, format: str) -> Any:
        """Returns the family's conversion class, for one of its converted formats.

        Args:
            format: The format asked for, e.g. ``"litert"``.

        Returns:
            A :class:`rnn_zoo.conversion.Conversion` subclass.

        Raises:
            ValueError: If the family does not convert to ``format``; the message
                names the formats it exports to and the models that convert to it.

        Example:
            >>> get_spec("lstm").get_conversion("onnx").__name__  # doctest: +SKIP
            'ForecasterConversion'
        """
        formats = self.export_formats()
        if format not in formats[1:]:
            having = [name for name in list_models() if format in get_spec(name).export_formats()]
            raise ValueError(
                f"model {self.name!r} cannot be exported as format={format!r}: its family "
                f"declares no {format} conversion (ModelSpec.conversion); it exports as "
                f"{', '.join(map(repr, formats))}; models exporting as {format!r}: "
                f"{', '.join(having) or 'none'}"
            )
        return resolve(self.conversion)

    def get_reader(self) -> Callable[..., Any]:
        """Returns how ``predict`` reads raw inputs.

        Returns:
            The reader ``(inputs, metadata, input_shape) -> array``.

        Raises:
            ValueError: If the family has no raw-input prediction; the message names
                the models that have one and this family's verbs.

        Example:
            >>> get_spec("lstm").get_reader().__name__  # doctest: +SKIP
            'read_windows'
        """
        if self.read_inputs is None:
            with_reader = [name for name in list_models() if get_spec(name).read_inputs]
            verbs = ", ".join(f"`rnn-zoo {verb}`" for verb in self.verbs) or "none"
            raise ValueError(
                f"model {self.name!r} has no raw-input prediction (its verbs: {verbs}); "
                f"models with one: {', '.join(with_reader)}"
            )
        return resolve(self.read_inputs)

    def get_verb(self, verb: str) -> Callable[..., Any]:
        """Returns the function of one of the family's inference verbs.

        Args:
            verb: A verb name, e.g. ``"generate"``.

        Returns:
            The function.

        Raises:
            ValueError: If the family has no such verb; the message names the models
                that have it.

        Example:
            >>> get_spec("text_generator").get_verb("generate").__name__  # doctest: +SKIP
            'generate_text'
        """
        if verb not in self.verbs:
            having = [name for name in list_models() if verb in get_spec(name).verbs]
            raise ValueError(
                f"model {self.name!r} has no {verb!r}; models with {verb!r}: "
                f"{', '.join(having) or 'none'}"
            )
        return resolve(self.verbs[verb])

    @property
    def factory_name(self) -> str:
        """The factory's name (``"build_lstm"``), known without importing it.

        Example:
            >>> get_spec("lstm").factory_name
            'build_lstm'
        """
        return self._factory_parts()[1]

    @property
    def factory_module(self) -> str:
        """The factory's module, known without importing it.

        Importing it registers the custom Keras objects the family's models hold, which
        ``keras.saving.load_model`` needs before it reads a ``model.keras``.

        Example:
            >>> get_spec("lstm").factory_module
            'rnn_zoo.models.forecaster.model'
        """
        return self._factory_parts()[0]

    def _factory_parts(self) -> tuple[str, str]:
        """The factory's ``(module, name)``, from its reference or the function."""
        if isinstance(self.factory, str):
            module, _, name = self.factory.partition(":")
            return module, name
        return self.factory.__module__, self.factory.__name__

    def get_factory(self) -> Callable[..., Any]:
        """Returns the ``build_*`` function, importing its module on first use.

        Returns:
            The factory.

        Example:
            >>> get_spec("lstm").get_factory().__name__
            'build_lstm'
        """
        return resolve(self.factory)

    def factory_arguments(self) -> dict[str, Any]:
        """Returns the factory's keyword arguments with the entry's defaults.

        Returns:
            Argument name to default value: the factory's, or the entry's
            ``model_options`` where it sets one.

        Raises:
            TypeError: If ``model_options`` names an argument the factory does not take.

        Example:
            >>> get_spec("baseline").factory_arguments()["hidden_units"]
            128
        """
        parameters = inspect.signature(self.get_factory()).parameters.values()
        empty = inspect.Parameter.empty
        defaults = {p.name: p.default for p in parameters if p.default is not empty}
        _refuse_unknown(self.name, "model_options", self.model_options, defaults)
        return {**defaults, **self.model_options}

    def build(self, **overrides: Any):
        """Builds the model with the entry's defaults and ``overrides``.

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
        _refuse_unknown(self.name, "overrides", overrides, accepted)
        return self.get_factory()(**{**self.model_options, **overrides})


def _refuse_unknown(name: str, what: str, given: dict[str, Any], accepted: dict[str, Any]):
    """Raises TypeError naming the keys of ``given`` that are not ``accepted``."""
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise TypeError(
            f"{name!r} does not take {', '.join(map(repr, unknown))} ({what}); "
            f"accepted: {', '.join(accepted)}"
        )


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
        >>> register(dataclasses.replace(get_spec("lstm"), name="tiny_lstm"))
        ... # doctest: +SKIP
    """
    if spec.name in _REGISTRY:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> ModelSpec:
    """Removes a model from the registry (a family tried out in a notebook, say).

    Args:
        name: A registered name.

    Returns:
        The spec that was registered.

    Raises:
        ValueError: If no model of that name is registered.

    Example:
        >>> spec = unregister("tiny_lstm")  # doctest: +SKIP
    """
    get_spec(name)
    return _REGISTRY.pop(name)


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


def find_verb(verb: str) -> Callable[..., Any]:
    """Returns the function of an inference verb, as the families offering it register it.

    The command line calls it with a run directory; the function checks that the
    run is of a family it serves.

    Args:
        verb: A verb name, e.g. ``"generate"``.

    Returns:
        The function.

    Raises:
        ValueError: If no family offers the verb, or families offer different
            functions under it (then use :meth:`ModelSpec.get_verb`).

    Example:
        >>> find_verb("generate").__name__  # doctest: +SKIP
        'generate_text'
    """
    offering = [get_spec(name) for name in list_models() if verb in get_spec(name).verbs]
    functions = {resolve(spec.verbs[verb]) for spec in offering}
    if len(functions) != 1:
        verbs = sorted({v for name in list_models() for v in get_spec(name).verbs})
        raise ValueError(
            f"verb {verb!r} is offered by {len(functions)} different functions; expected one "
            f"(verbs offered: {', '.join(verbs) or 'none'})"
        )
    return functions.pop()


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
