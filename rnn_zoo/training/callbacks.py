"""What watches a training run: throughput, the best checkpoint, the backup, divergence.

The Keras ``fit`` loop takes these as callbacks; the custom loop uses the throughput
counter and the divergence guard.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from rnn_zoo.files import replace_symlink, write_text_atomically
from rnn_zoo.runs import BACKUP_DIR, HISTORY_CSV, MODEL_FILE, read_history, read_run_json

BACKUP_CURRENT = "current"  # backup/current -> the last complete backup state
STAGED_MODEL = ".staged-model.keras"  # a checkpoint being written, renamed when complete


class TrainingDivergedError(FloatingPointError):
    """Raised when the loss becomes NaN or infinite; no NaN weights are saved."""


class Throughput(keras.callbacks.Callback):
    """Counts training batches and time, and remembers the epoch in progress.

    Args:
        batch_size: Examples per training batch.
    """

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self.batches = 0
        self.seconds = 0.0
        self.epoch = 0
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        """Starts the epoch's clock."""
        self.epoch = epoch + 1
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        """Counts a batch."""
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        """Stops the epoch's clock."""
        self.seconds += time.perf_counter() - self._start

    @property
    def samples_per_second(self) -> float:
        """Training examples per second over the epochs counted."""
        return self.batches * self.batch_size / self.seconds if self.seconds else 0.0


def guard_divergence(fit: Callable[[], Any], throughput: Throughput) -> None:
    """Runs ``fit``, turning its NaN-loss error into :class:`TrainingDivergedError`.

    Args:
        fit: The training loop; it raises ``RuntimeError("NaN or Inf loss ...")`` (as
            ``keras.callbacks.TerminateOnNaN(raise_error=True)`` does) on divergence.
        throughput: The loop's counter, which knows the epoch in progress.

    Raises:
        TrainingDivergedError: If the loss became NaN or infinite.

    Example:
        >>> guard_divergence(lambda: model.fit(data), throughput)  # doctest: +SKIP
    """
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


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` of the best epoch, continuing a resumed run's best value.

    It writes to a staging file (see :class:`Publish`). When Keras decides whether the
    monitored metric is better higher or lower (``mode="auto"``: from the compiled
    metric's direction, once the metrics are built), the best of the epochs a resumed
    run already finished is taken the same way, so an epoch replaces ``model.keras``
    only if it beats every earlier one.

    Args:
        run_dir: The run directory.
        monitor: The validation quantity, e.g. ``"val_loss"`` or ``"val_auc"``.
    """

    def __init__(self, run_dir: Path, monitor: str):
        super().__init__(str(run_dir / STAGED_MODEL), monitor=monitor, save_best_only=True)
        self.earlier = _finished_values(run_dir, monitor)

    def _set_monitor_op(self):
        super()._set_monitor_op()
        for value in self.earlier:
            if self._is_improvement(value, self.best):
                self.best = value


def _finished_values(run_dir: Path, monitor: str) -> list[float]:
    """The monitored values of the epochs a resumed run finished (none for a new run)."""
    if not (run_dir / MODEL_FILE).exists() or not (run_dir / HISTORY_CSV).exists():
        return []
    return read_history(run_dir).get(monitor, [])


class Publish(keras.callbacks.Callback):
    """Renames the checkpoint :class:`BestCheckpoint` just wrote over ``model.keras``.

    The checkpoint writes to a staging file; this callback, next in the list, moves
    it into place, so ``model.keras`` is always a complete file.

    Args:
        run_dir: The run directory.
    """

    def __init__(self, run_dir: Path):
        super().__init__()
        self.staging, self.target = run_dir / STAGED_MODEL, run_dir / MODEL_FILE

    def on_train_begin(self, logs=None):
        """Removes a staging file left by a killed run: maybe half written."""
        self.staging.unlink(missing_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        """Moves a new checkpoint into place."""
        if self.staging.exists():
            os.replace(self.staging, self.target)


class AtomicBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose weights and epoch are replaced together, atomically.

    Keras writes ``latest.weights.h5`` and ``training_metadata.json`` in place, so a
    kill while it writes leaves a backup that the rerun cannot load. Here each save
    goes to a new folder ``backup/.state-*``, and the symlink ``backup/current`` (the
    folder Keras restores from) is switched to it by one rename: a kill at any moment
    leaves ``current`` at the last complete state. It overrides Keras 3's private
    ``_save_model``; the backup stays until the run's ``metrics.json`` is written, so a
    kill while finishing the run resumes too.

    Args:
        folder: The run's backup folder.
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
        replace_symlink(self.folder / BACKUP_CURRENT, state.name)
        for stale in self.folder.glob(".state-*"):
            if stale != state:
                shutil.rmtree(stale, ignore_errors=True)


def _backed_up_epochs(run_dir: Path) -> int:
    """How many epochs the run's backup holds (0 without one); a damaged state is named."""
    progress = run_dir / BACKUP_DIR / BACKUP_CURRENT / "training_metadata.json"
    return read_run_json(progress, {"epoch": int})["epoch"] if progress.is_file() else 0


def keep_backed_up_history(run_dir: Path) -> None:
    """Drops the history rows of epochs the backup does not hold (a kill in between).

    A resumed run trains again from the backed-up epoch; the rows after it would be
    logged twice.

    Args:
        run_dir: The run directory, holding ``history.csv`` and ``backup/``.

    Example:
        >>> keep_backed_up_history(run_dir)  # doctest: +SKIP
    """
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
        write_text_atomically(path, header + "".join(kept))
