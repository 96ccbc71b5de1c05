"""The training options: one object for :func:`train`, :func:`train_custom_loop` and the CLI."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from rnn_zoo.device import PRECISIONS, STRATEGIES
from rnn_zoo.recipe import Recipe
from rnn_zoo.validation import check_bool, check_choice, check_float32, check_int


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """How to train: every option of :func:`~rnn_zoo.training.train`, checked on creation.

    Creating one checks each value (type and range) before anything is loaded, so a
    bad value is refused in microseconds. What needs the model, the data or the
    hardware (``model_options`` keys, ``device``) is checked when training starts,
    still before any data loads. The integers (epochs, batch size, seed, patience,
    steps per epoch) must fit in int32 (at most 2**31 - 1, seed from 0, the others from
    1); the learning rate is a finite float32 above 0.

    Attributes:
        recipe: A ``Recipe`` or a registered name whose recipe to use; ``None``
            (default) uses the model's own.
        epochs: Overrides the recipe's epochs.
        batch_size: Overrides the recipe's batch size (only when no data is passed);
            under a strategy it is the global batch, split over the replicas.
        learning_rate: Overrides the recipe's learning rate.
        seed: Seeds Python, NumPy, TF and the data split and shuffle. Defaults to 0.
        output_dir: Where run directories go. Defaults to ``"saved_models"``.
        resume: Continue an interrupted run of the same configuration. Defaults to
            True. Only :func:`~rnn_zoo.training.train` resumes.
        early_stopping_patience: Epochs without improvement before stopping; ``None``
            (default) trains every epoch. Not with the custom loop.
        tensorboard: Write TensorBoard logs to ``<run_dir>/logs``. Defaults to False.
            Not with the custom loop.
        data_dir: Where the dataset files are (see :mod:`rnn_zoo.data.sources`).
        data_options: Extra loader arguments, e.g. ``{"fraction": 0.1}``.
        model_options: Factory overrides, e.g. ``{"bidirectional": True}``.
        steps_per_epoch: Limit the training batches per epoch (quick runs).
        verbose: Keras verbosity; ``"auto"`` (default) prints a progress bar in a
            terminal and one line per epoch otherwise (logs, notebooks run by CI).
            The custom loop prints one line per epoch.
        device: ``"auto"`` (GPU 0 if any, else CPU), ``"cpu"``, ``"gpu"`` or
            ``"gpu:N"``; see :func:`rnn_zoo.device.select_device`.
        precision: ``"float32"``, ``"mixed_float16"`` (GPU; loss scaling in the custom
            loop), ``"mixed_bfloat16"`` or ``"auto"`` (bfloat16 where the hardware has
            bfloat16 matrix units); see :func:`rnn_zoo.device.resolve_precision`.
            ``None`` (default) takes the registry entry's ``precision`` (``"float32"``
            for a model outside the registry). Outputs stay float32.
        strategy: ``"default"`` (one device), ``"mirrored"`` (all local GPUs, or
            logical CPUs) or ``"multi_worker"`` (from ``TF_CONFIG``; custom loop only);
            see :func:`rnn_zoo.device.make_strategy`.

    Raises:
        TypeError: If a value has the wrong type.
        ValueError: If a value is out of range or not one of the accepted choices.

    Example:
        >>> options = TrainOptions(epochs=2, data_options={"fraction": 0.1})
        >>> options.seed
        0
    """

    recipe: Recipe | str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int = 0
    output_dir: str | os.PathLike = "saved_models"
    resume: bool = True
    early_stopping_patience: int | None = None
    tensorboard: bool = False
    data_dir: str | os.PathLike | None = None
    data_options: dict[str, Any] | None = None
    model_options: dict[str, Any] | None = None
    steps_per_epoch: int | None = None
    verbose: int | str = "auto"
    device: str = "auto"
    precision: str | None = None
    strategy: str = "default"

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name))
        if self.learning_rate is not None:
            check_float32("learning_rate", self.learning_rate, minimum=0.0, include_minimum=False)
        check_int("seed", self.seed, minimum=0)
        check_bool("resume", self.resume)
        for name in ("early_stopping_patience", "steps_per_epoch"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name))
        check_bool("tensorboard", self.tensorboard)
        if self.precision is not None:
            check_choice("precision", self.precision, PRECISIONS)
        check_choice("strategy", self.strategy, STRATEGIES)


def resolve_options(
    caller: str,
    options: TrainOptions | None,
    fields: dict[str, Any],
    accepted: tuple[str, ...] | None = None,
) -> TrainOptions:
    """The options a training function runs with: ``options`` with ``fields`` applied.

    Args:
        caller: The function's name, for the error message.
        options: A :class:`TrainOptions`, or ``None`` for the defaults.
        fields: Options given as keyword arguments; they override ``options``.
        accepted: The option names the caller takes as keywords; ``None`` for all.

    Returns:
        The checked options.

    Raises:
        TypeError: If ``options`` is not a :class:`TrainOptions`, a keyword is not an
            option the caller takes, or a value has the wrong type.
        ValueError: If a value is out of range.

    Example:
        >>> resolve_options("train", None, {"epochs": 1}).epochs
        1
    """
    if options is None:
        options = TrainOptions()
    elif not isinstance(options, TrainOptions):
        raise TypeError(f"options={options!r} is not accepted; expected a TrainOptions or None")
    names = [field.name for field in dataclasses.fields(TrainOptions)]
    for name in fields:
        if name not in names or (accepted is not None and name not in accepted):
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")
    return dataclasses.replace(options, **fields) if fields else options
