"""SavedModel export whose signatures take the raw inputs a person has.

One serving module per task wraps the trained Keras model with the preprocessing
its data needs (read from the run's ``data.json``), so the exported model runs under
``tf.saved_model.load``, TensorFlow Serving or a converter without rnn_zoo installed:

============================  =====================================================
task                          ``serving_default`` (other signatures)
============================  =====================================================
``image_classification``      ``images`` uint8 ``[batch, 28, 28]`` (0–255) →
                              ``probabilities`` ``[batch, classes]``, ``class_name``
``text_classification``       ``texts`` string ``[batch]`` → ``probability``
                              ``[batch]`` of the positive class
``forecasting``               ``windows`` float32 ``[batch, width, features]`` in raw
                              units → ``forecast`` ``[batch]`` in raw target units
``text_generation``           ``generate``: ``prompt`` string, ``num_chars`` int32,
                              ``temperature`` float32, ``seed`` int32 → ``text``;
                              ``next_char_logits``: ``prompts`` string ``[batch]``
``sequence_tagging``          ``sentences`` string ``[batch]`` (split on whitespace)
                              → ``tags`` string ``[batch, words]`` (``""`` past a
                              sentence's end), ``num_words`` int32 ``[batch]``
``translation``               ``translate``: ``texts`` English string ``[batch]`` →
                              ``translation`` French string ``[batch]`` (beam search
                              of width :data:`EXPORT_BEAM_WIDTH`, in the graph)
============================  =====================================================

Exports are written to a temporary directory beside the target (``.export-<pid>-*``)
and renamed into place, so a failed export never leaves a partial model, and the next
export removes the staging folder of one whose process was killed; versions are numbered
directories (``1/``, ``2/``, ...) as TensorFlow Serving expects.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.registry import TASKS, get_spec
from rnn_zoo.runs import load_run
from rnn_zoo.validation import check_choice, check_int


class _Serving(tf.Module):
    """A model wrapped with its preprocessing; subclasses set ``serving_default``.

    Args:
        model: The trained model. Every one of its variables is tracked, the seed
            states of dropout layers included: a recurrent layer with ``dropout > 0``
            references its seed even at inference, and an untracked one fails the save.
    """

    def __init__(self, model: keras.Model):
        super().__init__()
        self.model = model
        self.model_variables = list(model.variables)

    def signatures(self) -> dict[str, Any]:
        """Returns the signatures to export, name → concrete function."""
        return {"serving_default": self.serving_default}


class ImageClassifierServing(_Serving):
    """uint8 images → class probabilities and class names."""

    def __init__(self, model: keras.Model, metadata: dict[str, Any]):
        super().__init__(model)
        self.class_names = tf.constant(metadata["class_names"])
        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.uint8, name="images")
        self.serving_default = tf.function(self._classify).get_concrete_function(spec)

    def _classify(self, images):
        probabilities = tf.nn.softmax(self.model(tf.cast(images, tf.float32), training=False))
        names = tf.gather(self.class_names, tf.argmax(probabilities, axis=-1))
        return {"probabilities": probabilities, "class_name": names}


class TextClassifierServing(_Serving):
    """Review texts → probability of the positive class (vectorization in the graph)."""

    def __init__(self, model: keras.Model, metadata: dict[str, Any]):
        super().__init__(model)
        from rnn_zoo.data.imdb import build_vectorizer

        self.vectorizer = build_vectorizer(metadata["vocabulary"], metadata["sequence_length"])
        # XLA fuses the recurrent loop over the padded positions: 7x faster per review
        # on a CPU (BENCHMARKS.md, serving); each new batch size compiles once.
        self._model_call = tf.function(
            lambda ids: model(ids, training=False), jit_compile=True, reduce_retracing=True
        )
        spec = tf.TensorSpec([None], tf.string, name="texts")
        self.serving_default = tf.function(self._classify).get_concrete_function(spec)

    def _classify(self, texts):
        probability = self._model_call(self.vectorizer(texts))
        return {"probability": tf.reshape(probability, [-1])}


class ForecasterServing(_Serving):
    """Windows in raw units → forecast in raw target units (normalization in the graph)."""

    def __init__(self, model: keras.Model, metadata: dict[str, Any]):
        super().__init__(model)
        from rnn_zoo.data.time_series import FeatureScaling

        self.scaling = FeatureScaling.from_metadata(metadata)
        self.logged = tf.constant(self.scaling.log_features, tf.int32)
        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name="windows")
        self.serving_default = tf.function(self._forecast).get_concrete_function(spec)

    def _forecast(self, windows):
        tf.debugging.assert_non_negative(
            tf.gather(windows, self.logged, axis=-1),
            message="features read as log(1 + x) must not be negative",
        )
        normalized = self.model(self.scaling(windows), training=False)
        forecast = self.scaling.target_from_outputs(normalized)
        return {"forecast": tf.reshape(forecast, [tf.shape(windows)[0], -1])[:, 0]}


class TextGeneratorServing(_Serving):
    """Prompt → generated text, the stepping loop inside the graph."""

    def __init__(self, model: keras.Model, metadata: dict[str, Any]):
        super().__init__(model)
        from rnn_zoo.generation import CharGenerator

        self.generator = CharGenerator(model, metadata["vocabulary"])
        self.generate = tf.function(self._generate).get_concrete_function(
            tf.TensorSpec([], tf.string, name="prompt"),
            tf.TensorSpec([], tf.int32, name="num_chars"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int32, name="seed"),
        )
        self.next_char_logits = tf.function(self._next_char_logits).get_concrete_function(
            tf.TensorSpec([None], tf.string, name="prompts")
        )

    def _generate(self, prompt, num_chars, temperature, seed):
        texts = self.generator.generate(
            tf.reshape(prompt, [1]), num_chars, temperature, seed, tf.constant(0)
        )
        return {"text": texts[0]}

    def _next_char_logits(self, prompts):
        return {"logits": self.generator.next_char_logits(prompts)}

    def signatures(self) -> dict[str, Any]:
        """Returns ``generate`` (also as ``serving_default``) and ``next_char_logits``."""
        return {
            "serving_default": self.generate,
            "generate": self.generate,
            "next_char_logits": self.next_char_logits,
        }


EXPORT_BEAM_WIDTH = 4


class TranslatorServing(_Serving):
    """English sentences → French translations, normalization and decoding in the graph.

    The beam width is fixed at export (:data:`EXPORT_BEAM_WIDTH`); output is at most
    the training length limit (``max_length``) of tokens. An empty sentence gives
    ``""``; a sentence longer than the limit is cut to its first ``max_length``
    tokens (see :mod:`rnn_zoo.decoding`).
    """

    def __init__(self, model: keras.Model, metadata: dict[str, Any]):
        super().__init__(model)
        from rnn_zoo.decoding import Translator

        self.translator = Translator(model, metadata)
        self.serving_default = tf.function(self._translate).get_concrete_function(
            tf.TensorSpec([None], tf.string, name="texts")
        )

    def _translate(self, texts):
        translation = self.translator.translate(
            texts, tf.constant(EXPORT_BEAM_WIDTH), tf.constant(self.translator.max_length)
        )
        return {"translation": translation}

    def signatures(self) -> dict[str, Any]:
        """Returns ``translate``, also as ``serving_default``."""
        return {"serving_default": self.serving_default, "translate": self.serving_default}


class TaggerServing(_Serving):
    """Sentences → one tag per whitespace-separated word (encoding in the graph)."""

    def __init__(self, model: keras.Model, metadata: dict[str, Any]):
        super().__init__(model)
        from rnn_zoo.data.ud_treebank import TokenEncoder

        self.encoder = TokenEncoder(metadata)
        self.input_names = [tensor.name for tensor in model.inputs]
        self.tag_names = tf.constant(metadata["tag_names"])
        spec = tf.TensorSpec([None], tf.string, name="sentences")
        self.serving_default = tf.function(self._tag).get_concrete_function(spec)

    def _tag(self, sentences):
        split = tf.strings.split(sentences)
        width = tf.maximum(split.bounding_shape()[1], 1)  # an empty sentence still runs
        words = split.to_tensor("", shape=tf.stack([split.nrows(), width]))
        encoded = self.encoder(words)
        inputs = {name: encoded[name] for name in self.input_names}
        probabilities = self.model(inputs, training=False)
        best = tf.argmax(probabilities[..., 1:], axis=-1) + 1  # id 0 is padding, never a tag
        is_word = tf.not_equal(words, "")
        tags = tf.where(is_word, tf.gather(self.tag_names, best), "")
        return {"tags": tags, "num_words": tf.reduce_sum(tf.cast(is_word, tf.int32), axis=1)}


SERVING_MODULES = {
    "image_classification": ImageClassifierServing,
    "text_classification": TextClassifierServing,
    "forecasting": ForecasterServing,
    "text_generation": TextGeneratorServing,
    "sequence_tagging": TaggerServing,
    "translation": TranslatorServing,
}


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


def load_serving_module(
    run_dir: str | os.PathLike, *, safe_mode: bool = True
) -> tuple[tf.Module, str]:
    """Builds, in this process, the serving module that an export of a run would save.

    Args:
        run_dir: A run directory written by ``rnn-zoo train``.
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).

    Returns:
        ``(module, task)``: the module's ``serving_default`` takes raw inputs.

    Raises:
        FileNotFoundError: If the run directory lacks its files.
        rnn_zoo.runs.RunIntegrityError: If a file changed after training.

    Example:
        >>> module, task = load_serving_module("saved_models/baseline/latest")  # doctest: +SKIP
    """
    run = load_run(run_dir, safe_mode=safe_mode)
    task = get_spec(run.name).task
    return SERVING_MODULES[task](run.model, run.metadata), task


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


def _write_atomically(module: tf.Module, base: Path, version: int | None) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned_staging(base)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=f"{_STAGING_PREFIX}{os.getpid()}-"))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a served model is readable
    try:
        tf.saved_model.save(module, str(staging), signatures=module.signatures())
        while True:
            target = base / str(version or next_version(base))
            try:
                os.rename(staging, target)
                return target
            except OSError:
                if version is not None or not target.exists():
                    raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)


def export_saved_model(
    model_or_run_dir,
    path: str | os.PathLike | None = None,
    *,
    metadata: dict[str, Any] | DataBundle | None = None,
    task: str | None = None,
    output_dir: str | os.PathLike = "saved_models",
    version: int | None = None,
    safe_mode: bool = True,
) -> Path:
    """Exports a trained model as a SavedModel that takes raw inputs.

    Args:
        model_or_run_dir: A run directory written by ``rnn-zoo train`` (its
            ``model.keras``, ``data.json`` and ``run.json`` say everything), or a
            trained ``keras.Model`` together with ``metadata`` and ``task``.
        path: The folder holding numbered versions; defaults to
            ``<output_dir>/<model name>/``.
        metadata: With a model: its data's metadata (a ``DataBundle`` or its
            ``metadata`` dict).
        task: With a model: one of ``rnn_zoo.registry.TASKS``.
        output_dir: Where ``path`` defaults under. Defaults to ``"saved_models"``.
        version: The version number to write; defaults to the next free one. An
            existing version is never overwritten.
        safe_mode: Keras safe mode when loading a run's model (see
            :func:`rnn_zoo.runs.load_run`). Defaults to True.

    Returns:
        The version directory written, e.g. ``saved_models/baseline/1``.

    Raises:
        FileNotFoundError: If the run directory lacks its files.
        ValueError: If ``task`` is unknown or the version already exists.
        TypeError: If a model is passed without ``metadata`` or ``task``, or
            ``metadata`` is not a dict or DataBundle.
        ValueError: If ``metadata`` lacks what the task's export needs.

    Example:
        >>> export_saved_model("saved_models/baseline/latest")  # doctest: +SKIP
        PosixPath('saved_models/baseline/1')
    """
    if isinstance(model_or_run_dir, (str, os.PathLike)):
        run = load_run(model_or_run_dir, safe_mode=safe_mode)
        model, metadata, name, task = run.model, run.metadata, run.name, get_spec(run.name).task
    elif isinstance(model_or_run_dir, keras.Model):
        if metadata is None or task is None:
            raise TypeError("a keras.Model needs metadata= (its DataBundle) and task=")
        check_choice("task", task, TASKS)
        model, name = model_or_run_dir, model_or_run_dir.name
        metadata = metadata.metadata if isinstance(metadata, DataBundle) else metadata
        if not isinstance(metadata, dict):
            raise TypeError(
                f"metadata={metadata!r} is not accepted; expected the model's DataBundle or "
                "its metadata dict"
            )
    else:
        raise TypeError(
            f"model_or_run_dir={model_or_run_dir!r} is not accepted; expected a run directory "
            "or a keras.Model"
        )
    base = Path(path) if path is not None else Path(output_dir) / name
    if version is not None:
        check_int("version", version)
    if version is not None and (base / str(version)).exists():
        raise ValueError(f"version={version} already exists at {base / str(version)}")
    try:
        module = SERVING_MODULES[task](model, metadata)
    except KeyError as error:
        raise ValueError(
            f"metadata lacks {error}, which a {task!r} export needs; pass the metadata of the "
            "DataBundle the model was trained on"
        ) from error
    return _write_atomically(module, base, version)
