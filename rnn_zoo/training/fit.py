"""Training with Keras ``Model.fit``: resumable, checkpointing the best epoch."""

from __future__ import annotations

import sys
import time

import keras

from rnn_zoo.data import DataBundle
from rnn_zoo.runs import BACKUP_DIR, HISTORY_CSV
from rnn_zoo.training.callbacks import (
    AtomicBackup,
    BestCheckpoint,
    Publish,
    Throughput,
    guard_divergence,
    keep_backed_up_history,
)
from rnn_zoo.training.options import TrainOptions, resolve_options
from rnn_zoo.training.prepare import PreparedRun, prepare
from rnn_zoo.training.results import TrainResult, finish


def _callbacks(run: PreparedRun, throughput: Throughput) -> list:
    """The fit callbacks; the backup comes last, so a resumed epoch has its history row."""
    keep_backed_up_history(run.run_dir)
    callbacks = [
        keras.callbacks.TerminateOnNaN(raise_error=True),
        BestCheckpoint(run.run_dir, run.recipe.monitor),
        Publish(run.run_dir),
        keras.callbacks.CSVLogger(str(run.run_dir / HISTORY_CSV), append=True),
        throughput,
    ]
    if run.options.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=run.recipe.monitor,
                patience=run.options.early_stopping_patience,
                restore_best_weights=True,
            )
        )
    if run.options.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.run_dir / "logs")))
    return [*callbacks, AtomicBackup(run.run_dir / BACKUP_DIR)]


def _refuse_multi_worker(options: TrainOptions) -> None:
    if options.strategy == "multi_worker":
        raise ValueError(
            "strategy='multi_worker' is not supported by train(): Keras 3's Model.fit fails "
            "under MultiWorkerMirroredStrategy (keras-team/keras#20585); use "
            "train_custom_loop(..., strategy='multi_worker') (the command line's "
            "`rnn-zoo train --strategy multi_worker` does)"
        )


def train(
    model_or_name,
    data: DataBundle | None = None,
    *,
    options: TrainOptions | None = None,
    **option_fields,
) -> TrainResult:
    """Trains a model on its real dataset, evaluates it on the test split and saves the run.

    The run directory ``<output_dir>/<name>/<timestamp>/`` receives ``model.keras``
    (best validation epoch), ``history.csv``, ``history.png``, ``data.json``,
    ``metrics.json`` and a ``README.md`` model card; ``<output_dir>/<name>/latest``
    points at the newest finished run. With ``resume=True`` a run of the same
    configuration that was killed picks up at the epoch it reached, optimizer state
    included (``keras.callbacks.BackupAndRestore``). A NaN or infinite loss stops
    training with :class:`TrainingDivergedError` before any NaN checkpoint is written.

    Args:
        model_or_name: A registered name (``"baseline"``), a ``ModelSpec`` or a
            ``keras.Model`` (then ``data`` and ``recipe`` are required).
        data: A :class:`DataBundle`; by default the model's registered dataset is loaded.
        options: A :class:`TrainOptions`; defaults to ``TrainOptions()``.
        **option_fields: Any :class:`TrainOptions` field by name (``epochs=2``,
            ``data_options={"fraction": 0.1}``, ``device="cpu"``...); overrides
            ``options``. For ``strategy="multi_worker"`` use :func:`train_custom_loop`:
            Keras 3's ``fit`` fails under ``MultiWorkerMirroredStrategy``
            (keras-team/keras#20585).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: If an option is out of range or the model name is unknown, or
            ``strategy="multi_worker"`` (use :func:`train_custom_loop`).
        TypeError: If an option has the wrong type or is not an option.
        TrainingDivergedError: If the loss becomes NaN or infinite.

    Example:
        >>> result = train("baseline", epochs=1)  # doctest: +SKIP
        >>> result.test_metrics["accuracy"]  # doctest: +SKIP
        0.85
    """
    options = resolve_options("train", options, option_fields)
    _refuse_multi_worker(options)
    started = time.perf_counter()
    run = prepare(model_or_name, data, options)
    throughput = Throughput(run.recipe.batch_size)
    callbacks = _callbacks(run, throughput)
    verbose = options.verbose
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    with run.placed():
        guard_divergence(
            lambda: run.model.fit(
                run.data.train,
                validation_data=run.data.validation,
                epochs=run.recipe.epochs,
                steps_per_epoch=options.steps_per_epoch,
                shuffle=False,  # the loaders' pipelines shuffle, seeded
                callbacks=callbacks,
                verbose=verbose,
            ),
            throughput,
        )
    return finish(run, throughput, started)
