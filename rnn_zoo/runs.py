"""The run directory: what ``rnn-zoo train`` writes, and the one way to load it back.

A finished run directory holds ``run.json`` (the configuration), ``model.keras``
(the best validation epoch), ``data.json`` (preprocessing for raw inputs),
``history.csv``, ``history.png``, ``README.md`` and ``metrics.json``. ``metrics.json``
records the sha256 of the model and data files; :func:`load_run` checks them, so a
file changed after training is named instead of silently used. Models load with Keras
``safe_mode=True``: a ``.keras`` file that carries arbitrary code (a ``Lambda`` layer)
is refused unless the caller passes ``safe_mode=False`` for a file it trusts.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

RUN_CONFIG = "run.json"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
DATA_FILE = "data.json"
HISTORY_CSV = "history.csv"
HISTORY_PNG = "history.png"
MODEL_CARD = "README.md"
BACKUP_DIR = "backup"
LATEST = "latest"
LOCK_FILE = ".lock"
HASHED_FILES = (MODEL_FILE, DATA_FILE)


class RunIntegrityError(ValueError):
    """Raised when a run directory's files differ from the hashes its metrics.json lists."""


@dataclasses.dataclass
class LoadedRun:
    """A finished run, loaded.

    Attributes:
        run_dir: The directory.
        model: The trained Keras model.
        metadata: The data metadata (``data.json``'s ``metadata``).
        config: The training configuration (``run.json``'s ``config``).
    """

    run_dir: Path
    model: Any
    metadata: dict[str, Any]
    config: dict[str, Any]

    @property
    def name(self) -> str:
        """The registered model name the run trained."""
        return self.config["model"]


def file_hashes(run_dir: str | os.PathLike) -> dict[str, str]:
    """Returns the sha256 of the run files that :func:`load_run` verifies.

    Args:
        run_dir: A run directory.

    Returns:
        File name → sha256, for the files of :data:`HASHED_FILES` that exist.

    Example:
        >>> file_hashes("saved_models/lstm/latest")  # doctest: +SKIP
        {'model.keras': '3f1c...', 'data.json': '9ab2...'}
    """
    from rnn_zoo.data.sources import sha256_of

    run_dir = Path(run_dir)
    return {name: sha256_of(run_dir / name) for name in HASHED_FILES if (run_dir / name).is_file()}


def verify_run(run_dir: str | os.PathLike) -> None:
    """Checks a finished run's files against the hashes in its ``metrics.json``.

    Args:
        run_dir: A run directory.

    Raises:
        FileNotFoundError: If the directory lacks ``metrics.json`` (not finished).
        RunIntegrityError: If a file is missing or changed; the message names it.

    Example:
        >>> verify_run("saved_models/lstm/latest")  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    metrics_path = run_dir / METRICS_FILE
    if not metrics_path.is_file():
        raise FileNotFoundError(
            f"{metrics_path} not found; expected a finished run directory written by "
            "`rnn-zoo train` (e.g. saved_models/NAME/latest)"
        )
    expected = json.loads(metrics_path.read_text(encoding="utf-8")).get("files", {})
    actual = file_hashes(run_dir)
    for name, sha256 in expected.items():
        if actual.get(name) != sha256:
            state = "is missing" if name not in actual else f"has sha256 {actual[name]}"
            raise RunIntegrityError(
                f"{run_dir / name} {state}, but metrics.json lists sha256 {sha256}: the file "
                "changed after training; retrain, or restore the original file"
            )


def load_run(run_dir: str | os.PathLike, *, safe_mode: bool = True) -> LoadedRun:
    """Loads a finished run directory after verifying its files.

    Args:
        run_dir: A run directory written by ``rnn-zoo train``.
        safe_mode: Keras safe mode for ``model.keras``. Keep True for files you did
            not make: False lets a ``Lambda`` layer run arbitrary code.

    Returns:
        A :class:`LoadedRun`.

    Raises:
        FileNotFoundError: If the directory is not a finished run.
        RunIntegrityError: If a file changed after training.
        ValueError: If ``model.keras`` holds code that safe mode refuses.

    Example:
        >>> run = load_run("saved_models/gru_classifier/latest")  # doctest: +SKIP
        >>> run.model.name  # doctest: +SKIP
        'gru_classifier'
    """
    import keras

    import rnn_zoo.models  # noqa: F401 - registers the custom layers and metrics a model uses
    from rnn_zoo.data.bundle import load_metadata
    from rnn_zoo.validation import check_bool

    check_bool("safe_mode", safe_mode)
    run_dir = Path(run_dir)
    verify_run(run_dir)
    config = json.loads((run_dir / RUN_CONFIG).read_text(encoding="utf-8"))["config"]
    try:
        model = keras.saving.load_model(run_dir / MODEL_FILE, safe_mode=safe_mode)
    except ValueError as error:
        if "safe_mode" not in str(error) and "Lambda" not in str(error):
            raise
        raise ValueError(
            f"{run_dir / MODEL_FILE} holds code (a Lambda layer or similar) that Keras safe "
            "mode refuses to run; load it with safe_mode=False (CLI: --unsafe) only if you "
            "trust where it came from"
        ) from error
    return LoadedRun(run_dir, model, load_metadata(run_dir)["metadata"], config)
