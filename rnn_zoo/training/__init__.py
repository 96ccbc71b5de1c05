"""Training on real data: options, both training loops, run results and evaluation.

:func:`train` is the one path from a registered model (or any Keras model) and its
data to a run directory holding the best model, its history, a plot, test metrics and
a model card. :func:`train_custom_loop` does the same with a ``tf.GradientTape`` loop.
Both take their options as one :class:`TrainOptions` (or as keyword arguments).

The modules, one job each: :mod:`~rnn_zoo.training.options` (the options and their
checks), :mod:`~rnn_zoo.training.prepare` (model, recipe, placement, data, compiled
model, run directory), :mod:`~rnn_zoo.training.fit` (the Keras ``fit`` loop),
:mod:`~rnn_zoo.training.tape_loop` (the ``GradientTape`` loop),
:mod:`~rnn_zoo.training.callbacks` (best checkpoint, crash-safe backup, throughput,
divergence), :mod:`~rnn_zoo.training.results` (what a finished run writes) and
:mod:`~rnn_zoo.training.evaluate` (test metrics). The run directory's lifecycle is
:mod:`rnn_zoo.runs`.
"""

from rnn_zoo.training.callbacks import TrainingDivergedError
from rnn_zoo.training.evaluate import evaluate_run
from rnn_zoo.training.fit import train
from rnn_zoo.training.options import TrainOptions
from rnn_zoo.training.prepare import compile_model
from rnn_zoo.training.results import TrainResult
from rnn_zoo.training.tape_loop import train_custom_loop

__all__ = [
    "TrainOptions",
    "TrainResult",
    "TrainingDivergedError",
    "compile_model",
    "evaluate_run",
    "train",
    "train_custom_loop",
]
