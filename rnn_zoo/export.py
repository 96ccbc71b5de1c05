"""Exports: a SavedModel whose signatures take the raw inputs a person has, LiteRT, ONNX.

Each family's registry entry names its serving module (``ModelSpec.serving``, a
:class:`rnn_zoo.serving.ServingModule`): the trained Keras model wrapped with the
preprocessing its data needs (read from the run's ``data.json``), so the exported
model runs under ``tf.saved_model.load``, TensorFlow Serving or a converter without
rnn_zoo installed. README's export table lists each family's signatures.

Exports are written to a temporary directory beside the target (``.export-<pid>-*``)
and renamed into place, so a failed export never leaves a partial model, and the next
export removes the staging folder of one whose process was killed; versions are numbered
directories (``1/``, ``2/``, ...) as TensorFlow Serving expects. LiteRT and ONNX
exports (:func:`export_model`, :mod:`rnn_zoo.conversion`) are numbered the same way in
their own folder, ``<name>/litert/`` and ``<name>/onnx/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from rnn_zoo.conversion import FORMATS, check_requirements, write_export
from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.files import staging_directory
from rnn_zoo.registry import ModelSpec, get_spec, list_models
from rnn_zoo.runs import load_run, read_config, verify_run
from rnn_zoo.serving import ServingModule
from rnn_zoo.validation import check_bool, check_choice, check_int


def next_version(base: str | os.PathLike) -> int:
    """Returns the next free version number under a model's export folder.

    Args:
        base: The folder holding numbered versions (``saved_models/<name>``).

    Returns:
        One more than the highest numbered sub-directory, or 1.

    Example:
        >>> next_version("saved_models/baseline")  # doctest: +SKIP
        3
    """
    base = Path(base)
    versions = [int(p.name) for p in base.iterdir() if p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def build_serving_module(
    model: keras.Model, metadata: dict[str, Any], spec: ModelSpec
) -> ServingModule:
    """Wraps a trained model in its family's serving module.

    Args:
        model: The trained model.
        metadata: Its data's metadata (a ``DataBundle``'s ``metadata``).
        spec: The registry entry of the model's family.

    Returns:
        The family's :class:`~rnn_zoo.serving.ServingModule`.

    Raises:
        ValueError: If ``metadata`` lacks what the family's serving module needs.

    Example:
        >>> module = build_serving_module(model, bundle.metadata, get_spec("lstm"))
        ... # doctest: +SKIP
    """
    try:
        return spec.get_serving()(model, metadata, head=spec.head)
    except KeyError as error:
        raise ValueError(
            f"metadata lacks {error}, which a {spec.name!r} export needs; pass the metadata "
            "of the DataBundle the model was trained on"
        ) from error


def load_serving_module(
    run_dir: str | os.PathLike, *, safe_mode: bool = True
) -> tuple[ServingModule, ModelSpec]:
    """Builds, in this process, the serving module that an export of a run would save.

    Args:
        run_dir: A run directory written by ``rnn-zoo train``.
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).

    Returns:
        ``(module, spec)``: the module's signatures take raw inputs; ``spec`` is the
        registry entry of the run's model.

    Raises:
        FileNotFoundError: If the run directory lacks its files.
        rnn_zoo.runs.RunIntegrityError: If a file changed after training.

    Example:
        >>> module, spec = load_serving_module("saved_models/baseline/latest")  # doctest: +SKIP
    """
    run = load_run(run_dir, safe_mode=safe_mode)
    spec = get_spec(run.name)
    return build_serving_module(run.model, run.metadata, spec), spec


def _spec_of_task(task: str) -> ModelSpec:
    """The registered family whose entry does ``task`` (the ``task=`` of a bare model)."""
    specs = [get_spec(name) for name in list_models()]
    check_choice("task", task, sorted(spec.task for spec in specs))
    return next(spec for spec in specs if spec.task == task)


_STAGING_PREFIX = ".export-"


def _sweep_abandoned_staging(base: Path) -> None:
    """Removes the staging folders of exports whose process died (a kill, a crash)."""
    for folder in base.glob(f"{_STAGING_PREFIX}*"):
        pid = folder.name[len(_STAGING_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's process
            continue


def _write_atomically(write: Callable[[Path], None], base: Path, version: int | None) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned_staging(base)
    with staging_directory(base, prefix=f"{_STAGING_PREFIX}{os.getpid()}-") as staging:
        write(staging)
        while True:
            target = base / str(version or next_version(base))
            try:
                os.rename(staging, target)
                return target
            except OSError:
                if version is not None or not target.exists():
                    raise


def _family(model_or_run_dir, spec, task) -> tuple[str, ModelSpec]:
    """The model's name and family, read without loading the model."""
    if isinstance(model_or_run_dir, (str, os.PathLike)):
        verify_run(model_or_run_dir)
        name = read_config(model_or_run_dir)["model"]
        return name, get_spec(name)
    if isinstance(model_or_run_dir, keras.Model):
        if spec is None and task is None:
            raise TypeError("a keras.Model needs metadata= (its DataBundle) and spec= (or task=)")
        spec = get_spec(spec) if isinstance(spec, str) else spec or _spec_of_task(task)
        return model_or_run_dir.name, spec
    raise TypeError(
        f"model_or_run_dir={model_or_run_dir!r} is not accepted; expected a run directory "
        "or a keras.Model"
    )


def _model_and_metadata(model_or_run_dir, metadata, safe_mode: bool):
    if not isinstance(model_or_run_dir, keras.Model):
        run = load_run(model_or_run_dir, safe_mode=safe_mode)
        return run.model, run.metadata
    if metadata is None:
        raise TypeError("a keras.Model needs metadata= (its DataBundle) and spec= (or task=)")
    metadata = metadata.metadata if isinstance(metadata, DataBundle) else metadata
    if not isinstance(metadata, dict):
        raise TypeError(
            f"metadata={metadata!r} is not accepted; expected the model's DataBundle or "
            "its metadata dict"
        )
    return model_or_run_dir, metadata


def _check_format(format: str, quantize: bool) -> None:
    check_choice("format", format, FORMATS)
    check_bool("quantize", quantize)
    if quantize and format != "litert":
        raise ValueError(
            f"quantize=True is not accepted with format={format!r}; dynamic-range "
            "quantization is offered for format='litert' only"
        )


def export_model(
    model_or_run_dir,
    format: str = "saved_model",
    path: str | os.PathLike | None = None,
    *,
    metadata: dict[str, Any] | DataBundle | None = None,
    spec: ModelSpec | str | None = None,
    task: str | None = None,
    output_dir: str | os.PathLike = "saved_models",
    version: int | None = None,
    quantize: bool = False,
    safe_mode: bool = True,
) -> Path:
    """Exports a trained model as a SavedModel, a LiteRT or an ONNX export.

    ``"saved_model"`` is :func:`export_saved_model`'s SavedModel, whose signatures take
    raw inputs. ``"litert"`` and ``"onnx"`` write what the family's conversion
    declares (``ModelSpec.conversion``, :mod:`rnn_zoo.conversion`): one model file per
    function, the assets its inputs need and ``export.json``, which
    :mod:`rnn_zoo.runtimes` reads; README's export table lists them per family.

    Args:
        model_or_run_dir: A run directory written by ``rnn-zoo train``, or a trained
            ``keras.Model`` together with ``metadata`` and ``spec`` (or ``task``).
        format: One of :data:`rnn_zoo.conversion.FORMATS`. Defaults to
            ``"saved_model"``.
        path: The folder holding numbered versions; defaults to
            ``<output_dir>/<model name>/`` for a SavedModel and
            ``<output_dir>/<model name>/<format>/`` otherwise.
        metadata: With a model: its data's metadata (a ``DataBundle`` or its dict).
        spec: With a model: the registry entry (or registered name) of its family.
        task: With a model, instead of ``spec``: the ``task`` of a registered entry.
        output_dir: Where ``path`` defaults under. Defaults to ``"saved_models"``.
        version: The version number to write; defaults to the next free one. An
            existing version is never overwritten.
        quantize: With ``"litert"``: dynamic-range quantization (int8 weights).
        safe_mode: Keras safe mode when loading a run's model (see
            :func:`rnn_zoo.runs.load_run`). Defaults to True.

    Returns:
        The version directory written, e.g. ``saved_models/lstm/onnx/1``.

    Raises:
        FileNotFoundError: If the run directory lacks its files.
        ValueError: If ``format`` is not accepted, the family does not convert to it,
            ``quantize`` is asked for another format, ``spec`` or ``task`` is unknown,
            the version already exists, or ``metadata`` lacks what the export needs;
            all before the model is loaded, except the last.
        TypeError: If a model is passed without ``metadata`` or a family.
        ImportError: If the format's converter or runtime is not installed.

    Example:
        >>> export_model("saved_models/lstm/latest", "onnx")  # doctest: +SKIP
        PosixPath('saved_models/lstm/onnx/1')
    """
    _check_format(format, quantize)
    if version is not None:
        check_int("version", version)
    name, spec = _family(model_or_run_dir, spec, task)
    converted = format != "saved_model"
    conversion = spec.get_conversion(format) if converted else None
    if converted:
        check_requirements(format)
    default = Path(output_dir) / name
    base = Path(path) if path is not None else default / format if converted else default
    if version is not None and (base / str(version)).exists():
        raise ValueError(
            f"version={version} already exists at {base / str(version)}; expected a version "
            f"not yet under {base} (or none: the next free one, {next_version(base)})"
        )
    model, metadata = _model_and_metadata(model_or_run_dir, metadata, safe_mode)
    module = build_serving_module(model, metadata, spec)

    def write(staging: Path) -> None:
        if converted:
            write_export(conversion(module), format, staging, name=name, quantize=quantize)
        else:
            tf.saved_model.save(module, str(staging), signatures=module.signatures())

    return _write_atomically(write, base, version)


def export_saved_model(
    model_or_run_dir,
    path: str | os.PathLike | None = None,
    *,
    metadata: dict[str, Any] | DataBundle | None = None,
    spec: ModelSpec | str | None = None,
    task: str | None = None,
    output_dir: str | os.PathLike = "saved_models",
    version: int | None = None,
    safe_mode: bool = True,
) -> Path:
    """Exports a trained model as a SavedModel that takes raw inputs.

    The same as :func:`export_model` with ``format="saved_model"``.

    Args:
        model_or_run_dir: A run directory written by ``rnn-zoo train`` (its
            ``model.keras``, ``data.json`` and ``run.json`` say everything), or a
            trained ``keras.Model`` together with ``metadata`` and ``spec`` (or ``task``).
        path: The folder holding numbered versions; defaults to
            ``<output_dir>/<model name>/``.
        metadata: With a model: its data's metadata (a ``DataBundle`` or its
            ``metadata`` dict).
        spec: With a model: the registry entry (or registered name) of its family,
            whose serving module wraps it.
        task: With a model, instead of ``spec``: the ``task`` of a registered entry
            (``"forecasting"``, ...).
        output_dir: Where ``path`` defaults under. Defaults to ``"saved_models"``.
        version: The version number to write; defaults to the next free one. An
            existing version is never overwritten.
        safe_mode: Keras safe mode when loading a run's model (see
            :func:`rnn_zoo.runs.load_run`). Defaults to True.

    Returns:
        The version directory written, e.g. ``saved_models/baseline/1``.

    Raises:
        FileNotFoundError: If the run directory lacks its files.
        ValueError: If ``spec`` or ``task`` is unknown, the version already exists,
            or ``metadata`` lacks what the family's export needs.
        TypeError: If a model is passed without ``metadata`` or a family, or
            ``metadata`` is not a dict or DataBundle.

    Example:
        >>> export_saved_model("saved_models/baseline/latest")  # doctest: +SKIP
        PosixPath('saved_models/baseline/1')
    """
    return export_model(
        model_or_run_dir,
        "saved_model",
        path,
        metadata=metadata,
        spec=spec,
        task=task,
        output_dir=output_dir,
        version=version,
        safe_mode=safe_mode,
    )
