"""The run directory: its lifecycle, from creation and locking to finishing and loading.

A run directory ``<output_dir>/<name>/<timestamp>/`` is created (or an interrupted one
of the same configuration claimed again) by :func:`start_run`, locked with ``flock``
for as long as its process trains in it, and closed by :func:`finish_run`, which
writes ``metrics.json``, points ``<output_dir>/<name>/latest`` at it, removes the
resume backup and unlocks it. A finished run directory holds ``run.json`` (the
configuration), ``model.keras`` (the best validation epoch), ``data.json``
(preprocessing for raw inputs), ``history.csv``, ``history.png``, ``README.md`` and
``metrics.json``. ``metrics.json`` records the sha256 of every file that decides what a
loaded run does (``model.keras``, ``data.json``, ``run.json``); :func:`load_run` checks
them, so a file changed after training is named instead of silently used, and a
``metrics.json`` without that list counts as changed. Every JSON file of a run is read
by :func:`read_run_json`, which names the file and its problem. A run is resumed only by
the same configuration, the data's identity included (see :func:`claim_run_dir`).
Models load with Keras
``safe_mode=True``: a ``.keras`` file that carries arbitrary code (a ``Lambda`` layer)
is refused unless the caller passes ``safe_mode=False`` for a file it trusts.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import fcntl
import json
import logging
import os
import shutil
from pathlib import Path
from typing import IO, Any

from rnn_zoo.files import (
    check_json_entries,
    read_json_object,
    replace_symlink,
    write_text_atomically,
)
from rnn_zoo.limits import check_keras_archive

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
HASHED_FILES = (MODEL_FILE, DATA_FILE, RUN_CONFIG)
# What a finished run's run.json config must hold for the zoo to use it.
CONFIG_KEYS = {"model": str, "recipe": dict, "seed": int, "data_options": dict}

logger = logging.getLogger(__name__)
_DAMAGED = "the run directory is damaged; retrain, or restore the original file"


class RunIntegrityError(ValueError):
    """Raised when a run directory's files are damaged or differ from what metrics.json lists."""


def read_run_json(
    path: str | os.PathLike, required: dict[str, type] | None = None
) -> dict[str, Any]:
    """Reads one of a run's JSON files, naming the file and its problem if it is damaged.

    Args:
        path: The file (``run.json``, ``metrics.json``, ``data.json``, a resume state).
        required: Keys the object must hold, each with the type its value must have.

    Returns:
        The file's JSON object.

    Raises:
        RunIntegrityError: If the file is missing, not UTF-8, not valid JSON, not a JSON
            object, or lacks a required key or holds it with another type.

    Example:
        >>> read_run_json("saved_models/lstm/latest/run.json", {"config": dict})  # doctest: +SKIP
        {'config': {'model': 'lstm', ...}}
    """
    return read_json_object(
        path,
        required,
        error=RunIntegrityError,
        advice=_DAMAGED,
    )


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Reads the training configuration a finished run's ``run.json`` records.

    Args:
        run_dir: A run directory.

    Returns:
        The configuration (``run.json``'s ``config``), checked to name a registered model
        and to hold the recipe, seed and data options the zoo reads back.

    Raises:
        RunIntegrityError: If ``run.json`` is damaged, lacks an entry or names a model
            that is not registered; the message names the file and the entry.

    Example:
        >>> read_config("saved_models/lstm/latest")["model"]  # doctest: +SKIP
        'lstm'
    """
    from rnn_zoo.registry import list_models

    path = Path(run_dir) / RUN_CONFIG
    config = read_run_json(path, {"config": dict})["config"]
    check_json_entries(path, config, CONFIG_KEYS, error=RunIntegrityError, advice=_DAMAGED)
    registered = list_models()
    if config["model"] not in registered:
        raise RunIntegrityError(
            f"{path} names model {config['model']!r}, which is not registered (registered: "
            f"{', '.join(registered)}); the run directory is damaged or from another install"
        )
    batch_size = config["recipe"].get("batch_size")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise RunIntegrityError(
            f"{path} has recipe batch_size={batch_size!r}, expected a positive integer; "
            "the run directory is damaged; retrain, or restore the original file"
        )
    return config


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

    Every file of :data:`HASHED_FILES` must be listed and match: a ``metrics.json``
    without the list, or without one of the files in it, counts as a changed run.

    Args:
        run_dir: A run directory.

    Raises:
        FileNotFoundError: If the directory lacks ``metrics.json`` (not finished).
        RunIntegrityError: If ``metrics.json`` is damaged or lists no hash for a file, or
            a file is missing or changed; the message names the file.

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
    expected = read_run_json(metrics_path, {"files": dict})["files"]
    for name in HASHED_FILES:
        if not isinstance(expected.get(name), str):
            raise RunIntegrityError(
                f"{metrics_path} lists no sha256 for {name} (its 'files' entry holds "
                f"{', '.join(map(repr, expected)) or 'nothing'}), so {run_dir / name} cannot be "
                "verified: the run directory was changed after training; retrain it"
            )
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
        RunIntegrityError: If a file changed after training or is damaged (not valid
            JSON, a missing entry, a model Keras cannot read); the message names it.
        ValueError: If ``model.keras`` holds code that safe mode refuses.

    Example:
        >>> run = load_run("saved_models/gru_classifier/latest")  # doctest: +SKIP
        >>> run.model.name  # doctest: +SKIP
        'gru_classifier'
    """
    import keras

    from rnn_zoo.registry import get_spec
    from rnn_zoo.validation import check_bool

    check_bool("safe_mode", safe_mode)
    run_dir = Path(run_dir)
    verify_run(run_dir)
    config = read_config(run_dir)
    # The family's model module registers the custom layers its models use (families
    # import only their Keras-free spec).
    get_spec(config["model"]).get_factory()
    metadata = read_run_json(run_dir / DATA_FILE, {"name": str, "metadata": dict})["metadata"]
    check_keras_archive(run_dir / MODEL_FILE, error=RunIntegrityError)
    try:
        model = keras.saving.load_model(run_dir / MODEL_FILE, safe_mode=safe_mode)
    except ValueError as error:
        if "safe_mode" not in str(error) and "Lambda" not in str(error):
            raise RunIntegrityError(
                f"{run_dir / MODEL_FILE} could not be loaded as a Keras model ({error}); "
                "the run directory is damaged; retrain, or restore the original file"
            ) from error
        raise ValueError(
            f"{run_dir / MODEL_FILE} holds code (a Lambda layer or similar) that Keras safe "
            "mode refuses to run; load it with safe_mode=False (CLI: --unsafe) only if you "
            "trust where it came from"
        ) from error
    return LoadedRun(run_dir, model, metadata, config)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(payload, indent=2, default=str) + "\n")


def new_run_dir(model_dir: str | os.PathLike) -> Path:
    """Creates a new, empty run directory named after the time, under ``model_dir``.

    Args:
        model_dir: The model's folder, ``<output_dir>/<name>``; created if missing.

    Returns:
        The new directory, ``<timestamp>`` or ``<timestamp>-N`` if that is taken.

    Raises:
        FileExistsError: If no free name is found.

    Example:
        >>> new_run_dir("saved_models/lstm")  # doctest: +SKIP
        PosixPath('saved_models/lstm/20260101-120000')
    """
    model_dir = Path(model_dir)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = model_dir / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a new run directory under {model_dir}")


def lock_run_dir(run_dir: str | os.PathLike) -> IO[str] | None:
    """Locks a run directory for this process; None if another live process holds it.

    The lock (``flock`` on ``.lock``) goes with the process, so a killed run frees it.

    Args:
        run_dir: The run directory.

    Returns:
        The open, locked ``.lock`` file (keep it open while training; closing it
        unlocks), or ``None``.

    Example:
        >>> lock = lock_run_dir("saved_models/lstm/20260101-120000")  # doctest: +SKIP
    """
    handle = open(Path(run_dir) / LOCK_FILE, "a")  # stays open for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _interrupted_config(run_dir: Path) -> dict[str, Any] | None:
    """The configuration of an interrupted run (a backup, no metrics.json); else None.

    An interrupted run whose ``run.json`` cannot be read is not resumed (and said so).
    """
    if run_dir.is_symlink() or not (run_dir / BACKUP_DIR).is_dir():
        return None
    if (run_dir / METRICS_FILE).exists() or not (run_dir / RUN_CONFIG).is_file():
        return None
    try:
        return read_run_json(run_dir / RUN_CONFIG, {"config": dict})["config"]
    except RunIntegrityError as error:
        logger.info("not resuming %s: %s", run_dir, error)
        return None


def config_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Names the entries in which two configurations differ, nested ones dotted.

    Args:
        old: One configuration (a JSON value).
        new: The other.
        prefix: The name of the entry being compared (for nested entries).

    Returns:
        The dotted names of the differing entries (``["data.files.tinyshakespeare.txt"]``),
        ``[prefix or "config"]`` for values that differ but are not both objects.

    Example:
        >>> config_differences({"seed": 0, "recipe": {"epochs": 2}}, {"seed": 0, "recipe": {}})
        ['recipe.epochs']
    """
    if isinstance(old, dict) and isinstance(new, dict):
        names = []
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key, _MISSING) != new.get(key, _MISSING):
                names += config_differences(
                    old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key)
                )
        return names
    return [] if old == new else [prefix or "config"]


_MISSING = object()


def _normalized(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as ``run.json`` stores it (tuples as lists), for comparison."""
    return json.loads(json.dumps(config, default=str))


def claim_run_dir(
    model_dir: str | os.PathLike, config: dict[str, Any], resume: bool
) -> tuple[Path, IO[str]]:
    """Returns the run directory to train in and its lock.

    With ``resume``: the newest interrupted run of the same configuration that no live
    process is training; otherwise, or if there is none, a new directory. The
    configuration is everything that defines the run (the model, recipe, seed, data
    and model options, and the identity of the data files), so a rerun that differs in
    any of them never continues another run's epochs: when an interrupted run is left
    alone for that reason, an INFO line through the ``rnn_zoo`` logger names it and
    what differs.

    Args:
        model_dir: The model's folder, ``<output_dir>/<name>``.
        config: The training configuration (``run.json``'s ``config``).
        resume: Whether an interrupted run may be continued.

    Returns:
        The run directory and its lock (see :func:`lock_run_dir`).

    Example:
        >>> run_dir, lock = claim_run_dir("saved_models/lstm", config, True)  # doctest: +SKIP
    """
    model_dir = Path(model_dir)
    wanted = _normalized(config)
    different: list[tuple[Path, list[str]]] = []
    if resume and model_dir.is_dir():
        for run_dir in sorted(model_dir.iterdir(), reverse=True):
            earlier = _interrupted_config(run_dir)
            if earlier is None:
                continue
            if earlier != wanted:
                different.append((run_dir, config_differences(earlier, wanted)))
                continue
            lock = lock_run_dir(run_dir)
            if lock is not None:
                return run_dir, lock
    run_dir = new_run_dir(model_dir)
    if different:
        newest, names = different[0]
        others = f" (and {len(different) - 1} older one(s))" if len(different) > 1 else ""
        logger.info(
            "not resuming %s%s: it was started with a different %s; starting a new run "
            "directory, %s",
            newest,
            others,
            ", ".join(names),
            run_dir,
        )
    return run_dir, lock_run_dir(run_dir)


def start_run(
    model_dir: str | os.PathLike, config: dict[str, Any], *, resume: bool
) -> tuple[Path, IO[str]]:
    """Claims a run directory (see :func:`claim_run_dir`) and makes it resumable.

    A new directory gets ``run.json`` and an empty ``backup/``, so a kill even in the
    first epoch leaves a run that the same command resumes.

    Args:
        model_dir: The model's folder, ``<output_dir>/<name>``.
        config: The training configuration, written to ``run.json``.
        resume: Whether an interrupted run may be continued.

    Returns:
        The run directory and its lock.

    Example:
        >>> run_dir, lock = start_run("saved_models/lstm", config, resume=True)  # doctest: +SKIP
    """
    run_dir, lock = claim_run_dir(model_dir, config, resume)
    if not (run_dir / RUN_CONFIG).exists():
        _write_json(run_dir / RUN_CONFIG, {"config": config})
    (run_dir / BACKUP_DIR).mkdir(exist_ok=True)
    return run_dir, lock


def finish_run(run_dir: str | os.PathLike, lock: IO[str], metrics: dict[str, Any]) -> Path:
    """Closes a run: ``metrics.json``, the ``latest`` link, no backup, no lock.

    ``metrics.json`` (the run's figures, and under ``files`` the sha256 of its model
    and data files) is written last of the run's files: it marks the run finished.
    The backup is kept until then, so a kill while finishing resumes too.

    Args:
        run_dir: The run directory, with every other file written.
        lock: Its lock, from :func:`start_run`; closed here.
        metrics: What ``metrics.json`` records besides the file hashes.

    Returns:
        The path of ``metrics.json``.

    Example:
        >>> finish_run(run_dir, lock, {"model": "lstm", "test": {}})  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    _write_json(run_dir / METRICS_FILE, {**metrics, "files": file_hashes(run_dir)})
    replace_symlink(run_dir.parent / LATEST, run_dir.name)
    shutil.rmtree(run_dir / BACKUP_DIR, ignore_errors=True)
    (run_dir / LOCK_FILE).unlink()
    lock.close()
    return run_dir / METRICS_FILE


def read_history(run_dir: str | os.PathLike) -> dict[str, list[float]]:
    """Reads a run's ``history.csv``.

    Args:
        run_dir: A run directory holding ``history.csv``.

    Returns:
        Metric name → per-epoch values (the ``epoch`` column left out).

    Raises:
        FileNotFoundError: If there is no ``history.csv``.

    Example:
        >>> read_history("saved_models/lstm/latest")["val_loss"]  # doctest: +SKIP
        [0.41, 0.37]
    """
    with open(Path(run_dir) / HISTORY_CSV, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = [column for column in (rows[0] if rows else {}) if column != "epoch"]
    return {column: [float(row[column]) for row in rows] for column in columns}
