"""Training on real data: recipes, callbacks, run directories and results.

:func:`train` is the one path from a registered model (or any Keras model) and its
data to a run directory holding the best model, its history, a plot, test metrics and
a model card. :func:`train_custom_loop` does the same with a ``tf.GradientTape`` loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import inspect
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from rnn_zoo.data import DataBundle
from rnn_zoo.device import (
    STRATEGIES,
    check_cudnn_eligible,
    describe_devices,
    make_strategy,
    precision_policy,
    resolve_precision,
    select_device,
)
from rnn_zoo.registry import ModelSpec, Recipe, get_spec, list_models, resolve
from rnn_zoo.runs import (
    BACKUP_DIR,
    HISTORY_CSV,
    HISTORY_PNG,
    LATEST,
    LOCK_FILE,
    METRICS_FILE,
    MODEL_CARD,
    MODEL_FILE,
    RUN_CONFIG,
    file_hashes,
    load_run,
)
from rnn_zoo.validation import check_bool, check_choice, check_float, check_int

BACKUP_CURRENT = "current"  # backup/current -> the last complete backup state
STAGED_MODEL = ".staged-model.keras"  # a checkpoint being written, renamed when complete


class TrainingDivergedError(FloatingPointError):
    """Raised when the loss becomes NaN or infinite; no NaN weights are saved."""


@dataclasses.dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        model: The trained model, restored to its best validation checkpoint.
        history: Metric name → per-epoch values, over every epoch of the run
            (resumed epochs included).
        test_metrics: Metric name → value on the held-out test split.
        run_dir: The run directory; ``None`` on a multi-worker run's non-chief worker.
        wall_time: Seconds spent training in this process.
        samples_per_second: Training examples per second in this process.
        metrics_path: Path of ``metrics.json``.
    """

    model: keras.Model
    history: dict[str, list[float]]
    test_metrics: dict[str, float]
    run_dir: Path | None
    wall_time: float
    samples_per_second: float

    @property
    def metrics_path(self) -> Path:
        """Path of the run's ``metrics.json``."""
        return self.run_dir / METRICS_FILE


@dataclasses.dataclass
class _Run:
    """Everything prepared before the first step, shared by both training loops."""

    name: str
    spec: ModelSpec | None
    recipe: Recipe
    data: DataBundle
    model: keras.Model
    run_dir: Path
    config: dict[str, Any]
    seed: int
    placement: Any
    precision: str
    distribution: Any
    lock: Any  # the open, flock'ed .lock file: two processes never train in one run dir

    def placed(self):
        """The device context for training: none under a multi-replica strategy."""
        default = self.config["strategy"] == "default"
        return self.placement if default else contextlib.nullcontext()


class _Throughput(keras.callbacks.Callback):
    """Counts training batches and time, and remembers the epoch in progress."""

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self.batches = 0
        self.seconds = 0.0
        self.epoch = 0
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._start

    @property
    def samples_per_second(self) -> float:
        return self.batches * self.batch_size / self.seconds if self.seconds else 0.0


class _AtomicBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose weights and epoch are replaced together, atomically.

    Keras writes ``latest.weights.h5`` and ``training_metadata.json`` in place, so a
    kill while it writes leaves a backup that the rerun cannot load. Here each save
    goes to a new folder ``backup/.state-*``, and the symlink ``backup/current`` (the
    folder Keras restores from) is switched to it by one ``os.replace``: a kill at any
    moment leaves ``current`` at the last complete state. It overrides Keras 3's
    private ``_save_model``; the backup stays until the run's ``metrics.json`` is
    written, so a kill while finishing the run resumes too.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        super().__init__(str(folder / BACKUP_CURRENT), delete_checkpoint=False)

    def _save_model(self):
        self.folder.mkdir(exist_ok=True)
        state = Path(tempfile.mkdtemp(dir=self.folder, prefix=".state-"))
        self.model.save_weights(state / Path(self._weights_path).name)
        progress = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        (state / Path(self._training_metadata_path).name).write_text(json.dumps(progress))
        _replace_symlink(self.folder / BACKUP_CURRENT, state.name)
        for stale in self.folder.glob(".state-*"):
            if stale != state:
                shutil.rmtree(stale, ignore_errors=True)


class _Publish(keras.callbacks.Callback):
    """Renames the checkpoint ``ModelCheckpoint`` just wrote over ``model.keras``.

    ``ModelCheckpoint`` writes to a staging file; this callback, next in the list,
    moves it into place, so ``model.keras`` is always a complete file.
    """

    def __init__(self, run_dir: Path):
        super().__init__()
        self.staging, self.target = run_dir / STAGED_MODEL, run_dir / MODEL_FILE

    def on_train_begin(self, logs=None):
        self.staging.unlink(missing_ok=True)  # left by a killed run: maybe half written

    def on_epoch_end(self, epoch, logs=None):
        if self.staging.exists():
            os.replace(self.staging, self.target)


def _save_model_atomically(model: keras.Model, run_dir: Path) -> None:
    model.save(run_dir / STAGED_MODEL)
    os.replace(run_dir / STAGED_MODEL, run_dir / MODEL_FILE)


def _replace_symlink(link: Path, target: str) -> None:
    temporary = link.with_name(f".{link.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, link)


def _backed_up_epochs(run_dir: Path) -> int:
    """How many epochs the run's backup holds (0 without one)."""
    progress = run_dir / BACKUP_DIR / BACKUP_CURRENT / "training_metadata.json"
    return json.loads(progress.read_text())["epoch"] if progress.is_file() else 0


def _keep_backed_up_history(run_dir: Path) -> None:
    """Drops the history rows of epochs the backup does not hold (a kill in between)."""
    path = run_dir / HISTORY_CSV
    if not path.is_file():
        return
    epochs = _backed_up_epochs(run_dir)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if not lines or not lines[0].endswith("\n"):  # killed before its header was whole
        path.unlink()
        return
    header, *rows = lines
    kept = [row for row in rows if row.endswith("\n") and int(row.split(",", 1)[0]) < epochs]
    if len(kept) != len(rows):
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(header + "".join(kept), encoding="utf-8")
        os.replace(temporary, path)


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


def _check_arguments(epochs, batch_size, learning_rate, seed, resume, early_stopping_patience):
    """The checks both training loops make before loading anything."""
    if epochs is not None:
        check_int("epochs", epochs)
    if batch_size is not None:
        check_int("batch_size", batch_size)
    if learning_rate is not None:
        check_float("learning_rate", learning_rate, minimum=0.0, include_minimum=False)
    check_int("seed", seed, minimum=0)
    check_bool("resume", resume)
    if early_stopping_patience is not None:
        check_int("early_stopping_patience", early_stopping_patience)


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
    _check_options("model_options", model_options, factory_arguments, spec.factory.__name__)


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


def count_batches(dataset) -> int:
    """Returns the number of batches in a finite ``tf.data`` pipeline.

    Args:
        dataset: A finite dataset.

    Returns:
        Its cardinality, counted by one pass when TF cannot infer it.

    Example:
        >>> count_batches(tf.data.Dataset.range(10).batch(4))  # doctest: +SKIP
        3
    """
    known = int(dataset.cardinality())
    return known if known >= 0 else sum(1 for _ in dataset)


def _new_run_dir(model_dir: Path) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = model_dir / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a new run directory under {model_dir}")


def _claim(run_dir: Path):
    """Locks a run directory for this process; None if another live process holds it.

    The lock (``flock`` on ``.lock``) goes with the process, so a killed run frees it.
    """
    handle = open(run_dir / LOCK_FILE, "a")  # stays open for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _claim_run_dir(model_dir: Path, config: dict[str, Any], resume: bool):
    """Returns the run directory to train in and its lock.

    With ``resume``: the newest interrupted run of the same configuration that no live
    process is training; otherwise, or if there is none, a new directory.
    """
    if resume and model_dir.is_dir():
        for run_dir in sorted(model_dir.iterdir(), reverse=True):
            if run_dir.is_symlink() or not (run_dir / BACKUP_DIR).is_dir():
                continue
            if (run_dir / METRICS_FILE).exists() or not (run_dir / RUN_CONFIG).is_file():
                continue
            if json.loads((run_dir / RUN_CONFIG).read_text())["config"] != config:
                continue
            lock = _claim(run_dir)
            if lock is not None:
                return run_dir, lock
    run_dir = _new_run_dir(model_dir)
    return run_dir, _claim(run_dir)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _point_latest(run_dir: Path) -> None:
    _replace_symlink(run_dir.parent / LATEST, run_dir.name)


def _load_registered_data(spec, data_dir, batch_size, seed, data_options) -> DataBundle:
    """Loads a registered model's dataset: its registry options, then the run's own."""
    return spec.load_data(path=data_dir, batch_size=batch_size, seed=seed, **(data_options or {}))


def _prepare(
    model_or_name,
    data,
    *,
    recipe,
    epochs,
    batch_size,
    learning_rate,
    seed,
    output_dir,
    resume,
    data_dir,
    data_options,
    model_options,
    steps_per_epoch,
    device,
    precision,
    strategy,
) -> _Run:
    if steps_per_epoch is not None:
        check_int("steps_per_epoch", steps_per_epoch)
    spec = None
    if isinstance(model_or_name, ModelSpec):
        spec = model_or_name
    elif isinstance(model_or_name, str):
        spec = get_spec(model_or_name)
    elif not isinstance(model_or_name, keras.Model):
        raise TypeError(
            f"model_or_name={model_or_name!r} is not accepted; expected a registered model "
            "name, a ModelSpec or a keras.Model"
        )
    if spec is None and data is None:
        raise TypeError("data=None is not accepted with a keras.Model; pass a DataBundle")
    if spec is not None:
        _check_spec_options(spec, data_options, model_options)
    if data is not None and batch_size is not None:
        raise ValueError(
            f"batch_size={batch_size!r} cannot be applied to data that is already batched; "
            "load the data with that batch_size instead, or leave batch_size=None"
        )
    recipe = _resolve_recipe(spec, recipe).replace(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate
    )
    name = spec.name if spec else model_or_name.name
    config = {
        "model": name,
        "recipe": recipe.to_dict(),
        "seed": seed,
        "data_options": data_options or {},
        "model_options": model_options or {},
        "device": device,
        "precision": precision,
        "strategy": strategy,
    }
    distribution = make_strategy(strategy)  # before any other TF op (multi-worker)
    if not distribution.extended.should_checkpoint:
        # A non-chief worker of a multi-worker run: its files go to a private temporary
        # folder (removed when it finishes), so only the chief writes under output_dir.
        output_dir = tempfile.mkdtemp(prefix="rnn-zoo-worker-")
    placement = select_device(device)
    policy = resolve_precision(precision, device)
    keras.utils.set_random_seed(seed)
    if data is None:
        data = _load_registered_data(spec, data_dir, recipe.batch_size, seed, data_options)
    if recipe.schedule == "cosine" and steps_per_epoch is None:
        steps_per_epoch = count_batches(data.train)
    scope = placement if strategy == "default" else distribution.scope()
    with precision_policy(policy, device), scope:
        if spec is not None:
            model = spec.build(**{**data.model_kwargs, **(model_options or {})})
        else:
            model = model_or_name
        compile_model(model, recipe, steps_per_epoch)
    model_dir = Path(output_dir) / name
    run_dir, lock = _claim_run_dir(model_dir, config, resume)
    if not (run_dir / RUN_CONFIG).exists():
        _write_json(run_dir / RUN_CONFIG, {"config": config})
    (run_dir / BACKUP_DIR).mkdir(exist_ok=True)  # resumable from the start, even in epoch 1
    return _Run(
        name,
        spec,
        recipe,
        data,
        model,
        run_dir,
        config,
        seed,
        placement,
        policy,
        distribution,
        lock,
    )


def _callbacks(run: _Run, throughput, *, early_stopping_patience, tensorboard) -> list:
    """The fit callbacks; the backup comes last, so a resumed epoch has its history row."""
    _keep_backed_up_history(run.run_dir)
    callbacks = [
        keras.callbacks.TerminateOnNaN(raise_error=True),
        keras.callbacks.ModelCheckpoint(
            str(run.run_dir / STAGED_MODEL),
            monitor=run.recipe.monitor,
            save_best_only=True,
            initial_value_threshold=_best_so_far(run),
        ),
        _Publish(run.run_dir),
        keras.callbacks.CSVLogger(str(run.run_dir / HISTORY_CSV), append=True),
        throughput,
    ]
    if early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=run.recipe.monitor,
                patience=early_stopping_patience,
                restore_best_weights=True,
            )
        )
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.run_dir / "logs")))
    return [*callbacks, _AtomicBackup(run.run_dir / BACKUP_DIR)]


def _best_so_far(run: _Run) -> float | None:
    """The best monitored value of the epochs a resumed run already finished."""
    history_path = run.run_dir / HISTORY_CSV
    if not (run.run_dir / MODEL_FILE).exists() or not history_path.exists():
        return None
    values = _read_history(history_path).get(run.recipe.monitor)
    if not values:
        return None
    return max(values) if "acc" in run.recipe.monitor else min(values)


def _read_history(path: Path) -> dict[str, list[float]]:
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = [column for column in (rows[0] if rows else {}) if column != "epoch"]
    return {column: [float(row[column]) for row in rows] for column in columns}


def _versions() -> dict[str, str]:
    import tensorflow as tf

    from rnn_zoo import __version__

    return {
        "rnn_zoo": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def _model_card(run: _Run, test_metrics: dict[str, float], epochs: int) -> str:
    description = run.spec.description if run.spec else run.model.name
    recipe = ", ".join(f"{key}={value}" for key, value in run.recipe.to_dict().items())
    results = "\n".join(f"| {key} | {value:.4f} |" for key, value in test_metrics.items())
    return f"""# {run.name}

{description}.

- Data: `{run.data.name}` (test split held out; validation picks the best epoch)
- Recipe: {recipe}
- Epochs run: {epochs}; seed {run.seed}

## Test results

| metric | value |
| --- | --- |
{results}

## How to load

```python
import keras
model = keras.saving.load_model("{run.run_dir / MODEL_FILE}")
```

`data.json` beside the model holds the preprocessing (vocabulary, normalization,
class names) that raw inputs need; `history.csv` and `history.png` show training.
"""


def _test_metrics(model: keras.Model, data: DataBundle, spec: ModelSpec | None) -> dict[str, float]:
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    metrics = {key: float(value) for key, value in results.items()}
    if data.test_report is not None:
        metrics.update(data.test_report(model))
    if spec is not None and spec.test_report is not None:
        metrics.update(resolve(spec.test_report)(model, data))
    return metrics


def _finish(run: _Run, throughput: _Throughput, started: float) -> TrainResult:
    from rnn_zoo.plotting import plot_history

    history = _read_history(run.run_dir / HISTORY_CSV)
    model = keras.saving.load_model(run.run_dir / MODEL_FILE)
    test_metrics = _test_metrics(model, run.data, run.spec)
    run.data.save_metadata(run.run_dir)
    plot_history(history, save_path=run.run_dir / HISTORY_PNG, title=run.name)
    epochs = len(history.get("loss", []))
    (run.run_dir / MODEL_CARD).write_text(_model_card(run, test_metrics, epochs), "utf-8")
    wall_time = time.perf_counter() - started
    _write_json(
        run.run_dir / METRICS_FILE,
        {
            "model": run.name,
            "dataset": run.data.name,
            "test": test_metrics,
            "epochs": epochs,
            "wall_time_s": round(wall_time, 3),
            "samples_per_second": round(throughput.samples_per_second, 2),
            "seed": run.seed,
            "recipe": run.recipe.to_dict(),
            "parameters": model.count_params(),
            "files": file_hashes(run.run_dir),
            "device": run.placement.device,
            "precision": run.precision,
            "strategy": run.config["strategy"],
            "replicas": run.distribution.num_replicas_in_sync,
            "cudnn_fallbacks": check_cudnn_eligible(model),
            "hardware": describe_devices(),
            "versions": _versions(),
        },
    )
    _point_latest(run.run_dir)
    shutil.rmtree(run.run_dir / BACKUP_DIR, ignore_errors=True)  # kept until now: resumable
    (run.run_dir / LOCK_FILE).unlink()
    run.lock.close()
    return TrainResult(
        model, history, test_metrics, run.run_dir, wall_time, throughput.samples_per_second
    )


def _guard_divergence(fit: Callable[[], Any], throughput: _Throughput) -> None:
    try:
        fit()
    except RuntimeError as error:
        if "NaN or Inf loss" not in str(error):
            raise
        raise TrainingDivergedError(
            f"training diverged at epoch {throughput.epoch}: {error} Lower the learning rate; "
            "no checkpoint of this epoch was written, and a rerun resumes from the last "
            "completed epoch."
        ) from error


def train(
    model_or_name,
    data: DataBundle | None = None,
    *,
    recipe: Recipe | str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    output_dir: str | os.PathLike = "saved_models",
    resume: bool = True,
    early_stopping_patience: int | None = None,
    tensorboard: bool = False,
    data_dir: str | os.PathLike | None = None,
    data_options: dict[str, Any] | None = None,
    model_options: dict[str, Any] | None = None,
    steps_per_epoch: int | None = None,
    verbose: int | str = "auto",
    device: str = "auto",
    precision: str = "float32",
    strategy: str = "default",
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
        recipe: A ``Recipe`` or a registered name whose recipe to use; defaults to the
            model's own.
        epochs: Overrides the recipe's epochs.
        batch_size: Overrides the recipe's batch size (only when ``data`` is None).
        learning_rate: Overrides the recipe's learning rate.
        seed: Seeds Python, NumPy, TF and the data split and shuffle. Defaults to 0.
        output_dir: Where run directories go. Defaults to ``"saved_models"``.
        resume: Continue an interrupted run of the same configuration. Defaults to True.
        early_stopping_patience: Epochs without improvement before stopping; ``None``
            (default) trains every epoch.
        tensorboard: Write TensorBoard logs to ``<run_dir>/logs``. Defaults to False.
        data_dir: Where the dataset files are (see :mod:`rnn_zoo.data.sources`).
        data_options: Extra loader arguments, e.g. ``{"fraction": 0.1}``.
        model_options: Factory overrides, e.g. ``{"bidirectional": True}``.
        steps_per_epoch: Limit the training batches per epoch (quick runs).
        verbose: Keras verbosity; ``"auto"`` prints a progress bar in a terminal and
            one line per epoch otherwise (logs, notebooks run by CI).
        device: ``"auto"`` (GPU 0 if any, else CPU), ``"cpu"``, ``"gpu"`` or
            ``"gpu:N"``; see :func:`rnn_zoo.device.select_device`.
        precision: ``"float32"``, ``"mixed_float16"`` (GPU), ``"mixed_bfloat16"`` or
            ``"auto"`` (bfloat16 where the hardware has bfloat16 matrix units); see
            :func:`rnn_zoo.device.resolve_precision`. Outputs stay float32.
        strategy: ``"default"`` (one device) or ``"mirrored"`` (all local GPUs, or
            logical CPUs); see :func:`rnn_zoo.device.make_strategy`. For
            ``"multi_worker"`` use :func:`train_custom_loop`: Keras 3's ``fit`` fails
            under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: If an argument is out of range or the model name is unknown, or
            ``strategy="multi_worker"`` (use :func:`train_custom_loop`).
        TypeError: If an argument has the wrong type.
        TrainingDivergedError: If the loss becomes NaN or infinite.

    Example:
        >>> result = train("baseline", epochs=1)  # doctest: +SKIP
        >>> result.test_metrics["accuracy"]  # doctest: +SKIP
        0.85
    """
    _check_arguments(epochs, batch_size, learning_rate, seed, resume, early_stopping_patience)
    check_choice("strategy", strategy, STRATEGIES)
    if strategy == "multi_worker":
        raise ValueError(
            "strategy='multi_worker' is not supported by train(): Keras 3's Model.fit fails "
            "under MultiWorkerMirroredStrategy (keras-team/keras#20585); use "
            "train_custom_loop(..., strategy='multi_worker') (the command line's "
            "`rnn-zoo train --strategy multi_worker` does)"
        )
    started = time.perf_counter()
    run = _prepare(
        model_or_name,
        data,
        recipe=recipe,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        output_dir=output_dir,
        resume=resume,
        data_dir=data_dir,
        data_options=data_options,
        model_options=model_options,
        steps_per_epoch=steps_per_epoch,
        device=device,
        precision=precision,
        strategy=strategy,
    )
    throughput = _Throughput(run.recipe.batch_size)
    callbacks = _callbacks(
        run, throughput, early_stopping_patience=early_stopping_patience, tensorboard=tensorboard
    )
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    with run.placed():
        _guard_divergence(
            lambda: run.model.fit(
                run.data.train,
                validation_data=run.data.validation,
                epochs=run.recipe.epochs,
                steps_per_epoch=steps_per_epoch,
                shuffle=False,  # the loaders' pipelines shuffle, seeded
                callbacks=callbacks,
                verbose=verbose,
            ),
            throughput,
        )
    return _finish(run, throughput, started)


def train_custom_loop(
    model_or_name,
    data: DataBundle | None = None,
    *,
    recipe: Recipe | str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    output_dir: str | os.PathLike = "saved_models",
    data_dir: str | os.PathLike | None = None,
    data_options: dict[str, Any] | None = None,
    model_options: dict[str, Any] | None = None,
    steps_per_epoch: int | None = None,
    device: str = "auto",
    precision: str = "float32",
    strategy: str = "default",
) -> TrainResult:
    """Trains like :func:`train`, with an explicit ``tf.GradientTape`` loop.

    This is the loop of TensorFlow's text-generation tutorial: a compiled
    ``tf.function`` train step computes the loss under a gradient tape and applies
    the optimizer, run on every replica with ``strategy.run``. It writes the same run
    directory and returns the same :class:`TrainResult` as :func:`train`; the
    best-validation epoch is kept. It does not resume after a kill (use :func:`train`
    for that).

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
        recipe: A ``Recipe`` or a registered name; defaults to the model's own.
        epochs: Overrides the recipe's epochs.
        batch_size: Overrides the recipe's batch size (only when ``data`` is None);
            under a strategy it is the global batch, split over the replicas.
        learning_rate: Overrides the recipe's learning rate.
        seed: Seeds everything. Defaults to 0.
        output_dir: Where run directories go. Defaults to ``"saved_models"``.
        data_dir: Where the dataset files are.
        data_options: Extra loader arguments.
        model_options: Factory overrides.
        steps_per_epoch: Limit the training batches per epoch.
        device: Where to train (see :func:`train`).
        precision: The dtype policy (see :func:`train`); loss scaling applies under
            ``mixed_float16``.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi_worker"`` (from
            ``TF_CONFIG``); see :func:`rnn_zoo.device.make_strategy`.

    Returns:
        A :class:`TrainResult`; on a non-chief worker its ``run_dir`` is ``None``.

    Raises:
        ValueError: If an argument is out of range, or ``TF_CONFIG`` is unset or
            invalid for ``"multi_worker"``.
        TypeError: If an argument has the wrong type.
        TrainingDivergedError: If the loss becomes NaN or infinite.

    Example:
        >>> result = train_custom_loop("text_generator", epochs=1)  # doctest: +SKIP
        >>> # on each of two hosts, TF_CONFIG naming both and this host's index:
        >>> train_custom_loop("lstm", strategy="multi_worker")  # doctest: +SKIP
    """
    _check_arguments(epochs, batch_size, learning_rate, seed, False, None)
    check_choice("strategy", strategy, STRATEGIES)
    started = time.perf_counter()
    run = _prepare(
        model_or_name,
        data,
        recipe=recipe,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        output_dir=output_dir,
        resume=False,
        data_dir=data_dir,
        data_options=data_options,
        model_options=model_options,
        steps_per_epoch=steps_per_epoch,
        device=device,
        precision=precision,
        strategy=strategy,
    )
    throughput = _Throughput(run.recipe.batch_size)
    with run.placed():
        _guard_divergence(lambda: _tape_loop(run, throughput, steps_per_epoch), throughput)
    result = _finish(run, throughput, started)
    if not run.distribution.extended.should_checkpoint:
        shutil.rmtree(run.run_dir.parent.parent, ignore_errors=True)  # the worker's temp dir
        result.run_dir = None
    return result


def _unreduced(loss):
    """The loss with one value per example (and time step) instead of the batch mean."""
    if isinstance(loss, keras.losses.Loss):
        return type(loss).from_config({**loss.get_config(), "reduction": None})
    return loss  # a loss function already returns one value per example


def _step_functions(run: _Run):
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


def _tape_loop(run: _Run, throughput: _Throughput, steps_per_epoch: int | None) -> None:
    train_step, validation_step = _step_functions(run)
    train_batches = run.data.train
    if steps_per_epoch is not None:
        train_batches = train_batches.take(steps_per_epoch)
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
                _save_model_atomically(run.model, run.run_dir)


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    safe_mode: bool = True,
) -> dict[str, float]:
    """Evaluates a finished run's model on the test split of its dataset.

    The dataset is loaded again with the options the run was trained with
    (``run.json``); the model is loaded with Keras ``safe_mode``.

    Args:
        run_dir: A run directory written by :func:`train`.
        data_dir: Where the dataset files are (see :mod:`rnn_zoo.data.sources`).
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).

    Returns:
        Metric name → value on the test split.

    Raises:
        FileNotFoundError: If ``run_dir`` is not a finished run directory.
        rnn_zoo.runs.RunIntegrityError: If a file changed after training.

    Example:
        >>> evaluate_run("saved_models/baseline/latest")  # doctest: +SKIP
        {'accuracy': 0.885, 'loss': 0.33}
    """
    run = load_run(run_dir, safe_mode=safe_mode)
    spec = get_spec(run.name)
    data = _load_registered_data(
        spec,
        data_dir,
        run.config["recipe"]["batch_size"],
        run.config["seed"],
        run.config["data_options"],
    )
    model = run.model
    return _test_metrics(model, data, spec)
