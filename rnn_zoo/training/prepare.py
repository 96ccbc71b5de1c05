"""Everything before the first training step, shared by both loops.

:func:`prepare` resolves the model and its recipe, checks the options that need them
(the factory overrides with the factory's own validation, before any data loads),
places the work (device, precision, strategy), loads the data, checks the overrides
against what the data implies, builds and compiles the model and claims a run
directory, whose configuration records the identity of the data files read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import inspect
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

import keras

from rnn_zoo.data import DataBundle
from rnn_zoo.data.sources import recording_resolved_files, sha256_of
from rnn_zoo.data.windows import count_batches, with_known_cardinality
from rnn_zoo.device import (
    make_strategy,
    precision_policy,
    resolve_precision,
    select_device,
)
from rnn_zoo.recipe import Recipe
from rnn_zoo.registry import ModelSpec, get_spec, list_models
from rnn_zoo.runs import start_run
from rnn_zoo.training.options import TrainOptions
from rnn_zoo.validation import check_choice


@dataclasses.dataclass
class PreparedRun:
    """Everything prepared before the first step, shared by both training loops.

    Attributes:
        name: The model's name (the run directory's parent folder).
        spec: The registered model, or ``None`` for a ``keras.Model``.
        recipe: The recipe, with the options' overrides applied.
        data: The data.
        model: The built, compiled model.
        run_dir: The claimed run directory.
        config: The training configuration recorded in ``run.json``.
        options: The options the run was started with.
        placement: The device placement (see :func:`rnn_zoo.device.select_device`).
        precision: The resolved dtype policy name.
        distribution: The ``tf.distribute`` strategy.
        lock: The open, flock'ed ``.lock`` file: two processes never train in one
            run directory.
    """

    name: str
    spec: ModelSpec | None
    recipe: Recipe
    data: DataBundle
    model: keras.Model
    run_dir: Path
    config: dict[str, Any]
    options: TrainOptions
    placement: Any
    precision: str
    distribution: Any
    lock: IO[str]

    def placed(self):
        """The device context for training: none under a multi-replica strategy.

        Returns:
            A context manager.
        """
        default = self.options.strategy == "default"
        return self.placement if default else contextlib.nullcontext()


def compile_model(
    model: keras.Model, recipe: Recipe, steps_per_epoch: int | None = None
) -> keras.Model:
    """Compiles a model with a recipe's optimizer, learning rate, loss and metrics.

    Args:
        model: The model.
        recipe: The recipe.
        steps_per_epoch: Training batches per epoch; required by the ``"cosine"``
            schedule, which decays over ``steps_per_epoch * recipe.epochs`` steps.

    Returns:
        The same model, compiled.

    Raises:
        ValueError: If the recipe's schedule needs ``steps_per_epoch`` and it is missing.

    Example:
        >>> compile_model(get_model("lstm"), get_spec("lstm").recipe)  # doctest: +SKIP
    """
    learning_rate = recipe.learning_rate
    if recipe.schedule == "cosine":
        if steps_per_epoch is None:
            raise ValueError("steps_per_epoch=None; the cosine schedule needs the epoch length")
        learning_rate = keras.optimizers.schedules.CosineDecay(
            recipe.learning_rate, decay_steps=steps_per_epoch * recipe.epochs
        )
    optimizer = keras.optimizers.get(
        {"class_name": recipe.optimizer, "config": {"learning_rate": learning_rate}}
    )
    metrics = [keras.metrics.get(m) if isinstance(m, dict) else m for m in recipe.metrics]
    model.compile(optimizer=optimizer, loss=keras.losses.get(recipe.loss), metrics=metrics)
    return model


def _with_counted_fit_splits(data: DataBundle, options: TrainOptions) -> DataBundle:
    """The data, with a batch count stated on the splits ``fit`` reads where TF lacks one.

    Keras then knows each epoch's length from the first. A train split that
    ``steps_per_epoch`` cuts may be endless, and is left uncounted; so is all of a
    multi-worker run's data, which the custom loop reads and each worker shards.
    """
    if options.strategy == "multi_worker":
        return data
    counted = ("train", "validation") if options.steps_per_epoch is None else ("validation",)
    return dataclasses.replace(
        data, **{split: with_known_cardinality(getattr(data, split)) for split in counted}
    )


def _resolve_recipe(spec: ModelSpec | None, recipe: Recipe | str | None) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, str):
        return get_spec(check_choice("recipe", recipe, list_models())).recipe
    if recipe is not None:
        raise TypeError(
            f"recipe={recipe!r} is not accepted; expected a Recipe, the name of a registered "
            "model whose recipe to use, or None for the model's own"
        )
    if spec is None:
        raise TypeError(
            "recipe=None is not accepted with a keras.Model; pass a Recipe or the name of a "
            "registered model whose recipe to use"
        )
    return spec.recipe


def _resolve_spec(model_or_name, data: DataBundle | None) -> ModelSpec | None:
    """The registered model to train, or None for a ``keras.Model`` (which needs data)."""
    if isinstance(model_or_name, ModelSpec):
        return model_or_name
    if isinstance(model_or_name, str):
        return get_spec(model_or_name)
    if not isinstance(model_or_name, keras.Model):
        raise TypeError(
            f"model_or_name={model_or_name!r} is not accepted; expected a registered model "
            "name, a ModelSpec or a keras.Model"
        )
    if data is None:
        raise TypeError("data=None is not accepted with a keras.Model; pass a DataBundle")
    return None


def _check_options(name: str, options: Any, accepted: list[str], owner: str) -> None:
    """Checks ``data_options`` / ``model_options``: a dict of arguments that ``owner`` takes."""
    if options is None:
        return
    if not isinstance(options, dict) or not all(isinstance(key, str) for key in options):
        raise TypeError(
            f"{name}={options!r} is not accepted; expected a dict of keyword arguments of "
            f"{owner} ({', '.join(accepted)})"
        )
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"{name} key(s) {', '.join(map(repr, unknown))} are not arguments of {owner}; "
            f"accepted: {', '.join(accepted)}"
        )


def _check_spec_options(spec: ModelSpec, data_options: Any, model_options: Any) -> None:
    """Checks the options of a registered model's loader and factory before any work."""
    loader = spec.get_loader()
    set_by_training = ("path", "batch_size", "seed")
    loader_arguments = [p for p in inspect.signature(loader).parameters if p not in set_by_training]
    _check_options("data_options", data_options, loader_arguments, loader.__name__)
    factory_arguments = list(spec.factory_arguments())
    _check_options("model_options", model_options, factory_arguments, spec.factory_name)


class _ArgumentsChecked(Exception):
    """Raised at the first layer a factory builds: its arguments passed its checks."""


_CHECKING = threading.local()
_CHECKING_LOCK = threading.Lock()


@contextlib.contextmanager
def _first_layer_stops_this_thread():
    """Makes the first Keras layer created in this thread raise :class:`_ArgumentsChecked`.

    Other threads build layers as usual; the patch is undone when the block ends.
    """
    original = keras.layers.Layer.__init__

    def stop(self, *args, **kwargs):
        if getattr(_CHECKING, "active", False):
            raise _ArgumentsChecked
        original(self, *args, **kwargs)

    with _CHECKING_LOCK:
        keras.layers.Layer.__init__ = stop
        _CHECKING.active = True
        try:
            yield
        finally:
            _CHECKING.active = False
            keras.layers.Layer.__init__ = original


def check_factory_arguments(spec: ModelSpec, overrides: dict[str, Any] | None) -> None:
    """Runs the factory's own argument checks on ``overrides``, building no layer.

    Every factory checks all its arguments before it builds its first layer
    (CONTRIBUTING.md); the factory is called with the overrides over its defaults and
    stopped at that first layer. A bad override is so refused in milliseconds, before
    the dataset loads, with the factory's own message. The arguments the data implies
    take the factory's defaults here; they are checked against the data once it loads
    (:func:`check_data_implied`).

    Args:
        spec: The registered model.
        overrides: The factory arguments the run changes (``model_options``), or None.

    Raises:
        ValueError: If an override is out of range; the factory's message names it.
        TypeError: If an override has the wrong type or is not a factory argument.

    Example:
        >>> check_factory_arguments(get_spec("lstm"), {"units": -4})  # doctest: +SKIP
        Traceback (most recent call last):
        ValueError: units=-4 is out of range; expected an integer >= 1
    """
    try:
        with _first_layer_stops_this_thread():
            spec.build(**(overrides or {}))
    except _ArgumentsChecked:
        return


def _comparable(value: Any) -> Any:
    """A value as JSON stores it (tuples as lists), bools kept apart from numbers."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value


def check_data_implied(
    data: DataBundle, overrides: dict[str, Any] | None, owner: str = "the factory"
) -> None:
    """Refuses a factory override that contradicts what the data implies.

    A loader's ``DataBundle.model_kwargs`` are the factory arguments its data decides:
    the input shape, the vocabulary size, the number of classes or tags. A model whose
    vocabulary or class count is smaller than the data's fails mid-training, one with
    a larger one predicts classes the data and its serving metadata do not have, and
    one with another input shape cannot take the data. So the rule, for every model: an
    override of such an argument must equal what the data implies (repeating it is
    allowed); to change it, change the data options that decide it.

    Args:
        data: The loaded data.
        overrides: The run's factory overrides (``model_options``), or None.
        owner: Who takes the arguments, for the message.

    Raises:
        ValueError: If an override differs from the data's value; the message names
            the override, the value the data implies and the dataset.

    Example:
        >>> check_data_implied(bundle, {"vocab_size": 10})  # doctest: +SKIP
        Traceback (most recent call last):
        ValueError: model_options vocab_size=10 contradicts the data ...
    """
    for key, value in (overrides or {}).items():
        if key not in data.model_kwargs:
            continue
        implied = data.model_kwargs[key]
        same = _comparable(value) == _comparable(implied)
        if not same or isinstance(value, bool) != isinstance(implied, bool):
            raise ValueError(
                f"model_options {key}={value!r} (--set {key}=...) contradicts the data: "
                f"{data.name!r} implies {key}={implied!r} for {owner}. Leave {key} unset "
                "(the data sets it), give that same value, or change the data options "
                "that decide it"
            )


def load_registered_data(spec, data_dir, batch_size, seed, data_options) -> DataBundle:
    """Loads a registered model's dataset: its registry options, then the run's own.

    Args:
        spec: The registered model.
        data_dir: Where the dataset files are.
        batch_size: The batch size.
        seed: The split and shuffle seed.
        data_options: The run's extra loader arguments, or ``None``.

    Returns:
        The data.

    Example:
        >>> load_registered_data(get_spec("lstm"), None, 256, 0, {})  # doctest: +SKIP
    """
    return spec.load_data(path=data_dir, batch_size=batch_size, seed=seed, **(data_options or {}))


def data_identity(
    files: list[Path], data_dir: str | os.PathLike | None, data: DataBundle
) -> dict[str, Any]:
    """What identifies the data a run trains on: the content of the files it was read from.

    Args:
        files: The files the loader resolved (see
            :func:`rnn_zoo.data.sources.recording_resolved_files`).
        data_dir: The ``data_dir`` the run was given, or None.
        data: The loaded data.

    Returns:
        ``{"files": {file name: sha256}}``: byte-identical files in another folder give
        the same identity. A ``data_dir`` file the loader read without resolving it is
        hashed too; a ``data_dir`` folder none of whose files was resolved (an already
        extracted dataset) is identified by its absolute path. Data passed in as a
        ``DataBundle`` is identified by its name and a hash of its metadata.

    Example:
        >>> data_identity([Path("data/tinyshakespeare.txt")], None, bundle)  # doctest: +SKIP
        {'files': {'tinyshakespeare.txt': '86c4e6aa...'}}
    """
    identity: dict[str, Any] = {"files": {path.name: sha256_of(path) for path in files}}
    if data_dir is not None:
        given = Path(data_dir).resolve()
        inside = any(given == p.resolve() or given in p.resolve().parents for p in files)
        if given.is_file() and not inside:
            identity["files"][given.name] = sha256_of(given)
        elif given.is_dir() and not inside:
            identity["location"] = str(given)
    if not files and data_dir is None:  # nothing read here identifies it: its contents do
        metadata = json.dumps(data.metadata, sort_keys=True, default=str).encode()
        digest = hashlib.sha256(metadata).hexdigest()
        identity["bundle"] = {"name": data.name, "metadata_sha256": digest}
    return identity


def _config(
    name: str, recipe: Recipe, options: TrainOptions, data: dict[str, Any]
) -> dict[str, Any]:
    """The configuration ``run.json`` records; a resumed run must match it."""
    return {
        "model": name,
        "recipe": recipe.to_dict(),
        "seed": options.seed,
        "data_options": options.data_options or {},
        "model_options": options.model_options or {},
        "steps_per_epoch": options.steps_per_epoch,
        "data": data,
        "device": options.device,
        "precision": options.precision,
        "strategy": options.strategy,
    }


def prepare(model_or_name, data: DataBundle | None, options: TrainOptions) -> PreparedRun:
    """Checks, places, loads, builds and compiles; then claims the run directory.

    Args:
        model_or_name: A registered name, a ``ModelSpec`` or a ``keras.Model``.
        data: A :class:`DataBundle`, or ``None`` to load the registered dataset.
        options: The training options.

    Returns:
        The :class:`PreparedRun`.

    Raises:
        TypeError: If the model, the data or an option does not fit the others.
        ValueError: If an option is out of range for this model or this machine.

    Example:
        >>> run = prepare("lstm", None, TrainOptions(epochs=1))  # doctest: +SKIP
    """
    spec = _resolve_spec(model_or_name, data)
    if options.precision is None:
        options = dataclasses.replace(options, precision=spec.precision if spec else "float32")
    if spec is not None:
        _check_spec_options(spec, options.data_options, options.model_options)
        check_factory_arguments(spec, options.model_options)
    if data is not None and options.batch_size is not None:
        raise ValueError(
            f"batch_size={options.batch_size!r} cannot be applied to data that is already "
            "batched; load the data with that batch_size instead, or leave batch_size=None"
        )
    recipe = _resolve_recipe(spec, options.recipe).replace(
        epochs=options.epochs, batch_size=options.batch_size, learning_rate=options.learning_rate
    )
    name = spec.name if spec else model_or_name.name
    distribution = make_strategy(options.strategy)  # before any other TF op (multi-worker)
    output_dir = options.output_dir
    if not distribution.extended.should_checkpoint:
        # A non-chief worker of a multi-worker run: its files go to a private temporary
        # folder (removed when it finishes), so only the chief writes under output_dir.
        output_dir = tempfile.mkdtemp(prefix="rnn-zoo-worker-")
    placement = select_device(options.device)
    policy = resolve_precision(options.precision, options.device)
    keras.utils.set_random_seed(options.seed)
    files: list[Path] = []
    data_dir = options.data_dir if data is None else None  # a DataBundle passed: not read here
    if data is None:
        with recording_resolved_files() as files:
            data = load_registered_data(
                spec, options.data_dir, recipe.batch_size, options.seed, options.data_options
            )
    if spec is not None:
        check_data_implied(data, options.model_options, spec.factory_name)
    identity = data_identity(files, data_dir, data)
    data = _with_counted_fit_splits(data, options)
    steps_per_epoch = options.steps_per_epoch
    if recipe.schedule == "cosine" and steps_per_epoch is None:
        steps_per_epoch = count_batches(data.train)
    scope = placement if options.strategy == "default" else distribution.scope()
    with precision_policy(policy, options.device), scope:
        if spec is not None:
            model = spec.build(**{**data.model_kwargs, **(options.model_options or {})})
        else:
            model = model_or_name
        compile_model(model, recipe, steps_per_epoch)
    config = _config(name, recipe, options, identity)
    run_dir, lock = start_run(Path(output_dir) / name, config, resume=options.resume)
    return PreparedRun(
        name=name,
        spec=spec,
        recipe=recipe,
        data=data,
        model=model,
        run_dir=run_dir,
        config=config,
        options=options,
        placement=placement,
        precision=policy,
        distribution=distribution,
        lock=lock,
    )
