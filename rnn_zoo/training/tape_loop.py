"""Training with an explicit ``tf.GradientTape`` loop, the way to train multi-worker."""

from __future__ import annotations

import dataclasses
import math
import shutil
import time

import keras

from rnn_zoo.data import DataBundle
from rnn_zoo.files import atomic_path
from rnn_zoo.runs import HISTORY_CSV, MODEL_FILE
from rnn_zoo.training.callbacks import Throughput, guard_divergence
from rnn_zoo.training.options import TrainOptions, resolve_options
from rnn_zoo.training.prepare import PreparedRun, prepare
from rnn_zoo.training.results import TrainResult, finish

# The options only fit() has: the custom loop neither resumes, stops early, writes
# TensorBoard logs nor takes a Keras verbosity.
_FIT_ONLY = ("resume", "early_stopping_patience", "tensorboard", "verbose")


def _loop_options(options: TrainOptions | None, option_fields: dict) -> TrainOptions:
    """The options, refusing what the loop cannot do (keywords: as an unknown keyword)."""
    accepted = tuple(f.name for f in dataclasses.fields(TrainOptions) if f.name not in _FIT_ONLY)
    options = resolve_options("train_custom_loop", options, option_fields, accepted)
    refused = ("early_stopping_patience", "tensorboard")
    given = [f"{name}={getattr(options, name)!r}" for name in refused if getattr(options, name)]
    if given:
        raise ValueError(
            f"{' and '.join(given)} cannot be used with train_custom_loop(), which does not "
            "stop early or write TensorBoard logs; use train()"
        )
    return dataclasses.replace(options, resume=False)  # each run starts a new directory


def _unreduced(loss):
    """The loss with one value per example (and time step) instead of the batch mean."""
    if isinstance(loss, keras.losses.Loss):
        return type(loss).from_config({**loss.get_config(), "reduction": None})
    return loss  # a loss function already returns one value per example


def _step_functions(run: PreparedRun):
    """Compiled train and validation steps returning the summed loss and its count.

    Each replica sums its examples' losses; the gradient is taken of that sum over the
    count of the whole global batch (all-reduced), so summing the gradients over the
    replicas gives the gradient of the global mean, whatever the per-replica split.
    """
    import tensorflow as tf

    model, optimizer, strategy = run.model, run.model.optimizer, run.distribution
    loss_fn = _unreduced(model.loss)
    with strategy.scope():
        optimizer.build(model.trainable_variables)  # no variable is created inside a step

    def sums(inputs, targets, training):
        values = tf.cast(loss_fn(targets, model(inputs, training=training)), tf.float32)
        return tf.reduce_sum(values), tf.cast(tf.size(values), tf.float32)

    def train_replica(inputs, targets):
        with tf.GradientTape() as tape:
            total, count = sums(inputs, targets, True)
            context = tf.distribute.get_replica_context()
            loss = total / tf.maximum(context.all_reduce("SUM", count), 1.0)
        gradients = tape.gradient(optimizer.scale_loss(loss), model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return total, count

    def reduced(replica_fn):
        @tf.function(reduce_retracing=True)
        def step(inputs, targets):
            total, count = strategy.run(replica_fn, args=(inputs, targets))
            return strategy.reduce("SUM", total, axis=None), strategy.reduce(
                "SUM", count, axis=None
            )

        return step

    return reduced(train_replica), reduced(lambda x, y: sums(x, y, False))


def _epoch_loss(step, batches, on_batch=None) -> float:
    total, count = 0.0, 0.0
    for batch, (inputs, targets) in enumerate(batches):
        batch_total, batch_count = step(inputs, targets)
        if not math.isfinite(float(batch_total)):
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}.")
        total, count = total + float(batch_total), count + float(batch_count)
        if on_batch is not None:
            on_batch(batch)
    return total / count


def _tape_loop(run: PreparedRun, throughput: Throughput) -> None:
    train_step, validation_step = _step_functions(run)
    train_batches = run.data.train
    if run.options.steps_per_epoch is not None:
        train_batches = train_batches.take(run.options.steps_per_epoch)
    distribute = run.distribution.experimental_distribute_dataset
    train_batches, validation_batches = distribute(train_batches), distribute(run.data.validation)
    best = math.inf
    with open(run.run_dir / HISTORY_CSV, "w", encoding="utf-8") as log:
        log.write("epoch,loss,val_loss\n")
        for epoch in range(run.recipe.epochs):
            throughput.on_epoch_begin(epoch)
            loss = _epoch_loss(train_step, train_batches, throughput.on_train_batch_end)
            throughput.on_epoch_end(epoch)
            val_loss = _epoch_loss(validation_step, validation_batches)
            log.write(f"{epoch},{loss},{val_loss}\n")
            log.flush()
            print(
                f"epoch {epoch + 1}/{run.recipe.epochs} - loss {loss:.4f} - val_loss {val_loss:.4f}"
            )
            if val_loss < best:
                best = val_loss
                with atomic_path(run.run_dir / MODEL_FILE) as staged:
                    run.model.save(staged)


def train_custom_loop(
    model_or_name,
    data: DataBundle | None = None,
    *,
    options: TrainOptions | None = None,
    **option_fields,
) -> TrainResult:
    """Trains like :func:`train`, with an explicit ``tf.GradientTape`` loop.

    This is the loop of TensorFlow's text-generation tutorial: a compiled
    ``tf.function`` train step computes the loss under a gradient tape and applies
    the optimizer, run on every replica with ``strategy.run``. It writes the same run
    directory and returns the same :class:`TrainResult` as :func:`train`; the
    best-validation epoch is kept. It does not resume after a kill (use :func:`train`
    for that): every call starts a new run directory.

    It is the supported way to train with ``strategy="multi_worker"`` (Keras 3's
    ``fit`` fails under ``MultiWorkerMirroredStrategy``): start the same command in
    every worker process, each with its own ``TF_CONFIG``. Each global batch of
    ``batch_size`` is split over the workers, gradients are summed across them, and
    every worker ends with the same weights. Only the chief (worker 0, or the task of
    type ``"chief"``) writes under ``output_dir``; every other worker writes its
    checkpoints to a private temporary folder, removed before it returns.

    Args:
        model_or_name: A registered name, a ``ModelSpec`` or a ``keras.Model``.
        data: A :class:`DataBundle`; by default the model's registered dataset.
        options: A :class:`TrainOptions`; its ``resume`` and ``verbose`` do not apply,
            and ``early_stopping_patience`` and ``tensorboard`` must keep their
            defaults.
        **option_fields: A :class:`TrainOptions` field by name, overriding
            ``options``; every field except ``resume``, ``early_stopping_patience``,
            ``tensorboard`` and ``verbose``.

    Returns:
        A :class:`TrainResult`; on a non-chief worker its ``run_dir`` is ``None``.

    Raises:
        ValueError: If an option is out of range or does not apply to this loop, or
            ``TF_CONFIG`` is unset or invalid for ``"multi_worker"``.
        TypeError: If an option has the wrong type or is not one this loop takes.
        TrainingDivergedError: If the loss becomes NaN or infinite.

    Example:
        >>> result = train_custom_loop("text_generator", epochs=1)  # doctest: +SKIP
        >>> # on each of two hosts, TF_CONFIG naming both and this host's index:
        >>> train_custom_loop("lstm", strategy="multi_worker")  # doctest: +SKIP
    """
    options = _loop_options(options, option_fields)
    started = time.perf_counter()
    run = prepare(model_or_name, data, options)
    throughput = Throughput(run.recipe.batch_size)
    with run.placed():
        guard_divergence(lambda: _tape_loop(run, throughput), throughput)
    result = finish(run, throughput, started)
    if not run.distribution.extended.should_checkpoint:
        shutil.rmtree(run.run_dir.parent.parent, ignore_errors=True)  # the worker's temp dir
        result.run_dir = None
    return result
