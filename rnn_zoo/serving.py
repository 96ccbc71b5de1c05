"""The base of every family's serving module: a trained model with its preprocessing.

A family's ``serving.py`` subclasses :class:`ServingModule`, and its registry entry
names the subclass (``ModelSpec.serving``). :func:`rnn_zoo.export.export_saved_model`
writes the module as a SavedModel, and :func:`rnn_zoo.predict.predict` calls it in
process, so the two always agree. A module knows three things about its family:

- its signatures, which take the raw inputs a person has (texts, uint8 images, windows
  in raw units) and run the preprocessing in the graph;
- :meth:`ServingModule.example_inputs`: raw inputs for its main signature, which the
  contract tests and the serving benchmark feed every registered family;
- :meth:`ServingModule.per_example`: one signature call's outputs as plain Python,
  one dict per example (what ``rnn-zoo predict`` prints).

The head the registry entry declares (``"logits"``, ``"probabilities"`` or
``"values"``) decides :meth:`ServingModule.probabilities`: logits pass through a
softmax (a sigmoid for one unit), probabilities pass as they are.

Every family builds its signatures with :meth:`ServingModule.signature`, which makes
the serving contract the same for all of them:

- **Declared shapes are enforced in the graph.** A SavedModel's signature does not
  check the shape of what it is fed (TensorFlow Serving and ``tf.saved_model.load``
  pass any shape through, and the graph's static shapes are wrong then), so the first
  op on every input is an ``EnsureShape`` against its ``TensorSpec``: a wrong rank or
  a wrong fixed dimension fails there, before any preprocessing, with an
  ``InvalidArgumentError`` ("Shape of tensor images [3,28,27] is not compatible with
  expected shape [?,28,28]"). In process, the concrete function refuses it even
  earlier, with a ``TypeError``.
- **Any batch size, 0 included.** Arguments whose spec has a ``None`` first dimension
  are the batch. An empty batch is padded with one row of the signature's example
  (:meth:`ServingModule.example_inputs`) and every output is cut back to 0 rows, so
  an empty batch gives empty outputs in every family instead of a shape error deep in
  a model.
- **Bounded compilation.** :func:`call_in_buckets` runs a compiled (XLA) model call
  on a few bucket batch sizes only (:data:`BATCH_BUCKETS`), so a server meets at
  most ``len(BATCH_BUCKETS)`` compilations, however its batch sizes vary.

:func:`graph_check` is the in-graph refusal they use, and families use for their own
values (finite readings, caps): an assertion whose message is formatted in the graph
with the offending values. :func:`checked_windows` is the one for raw windows of a
series, shared by the families that forecast from them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.registry import HEADS
from rnn_zoo.validation import check_choice

# The batch sizes a bucketed model call runs at: a batch is padded up to the next one,
# and a larger batch runs in chunks of the largest. Each size compiles once under XLA
# (about 1 s on a CPU); the ratio between neighbours bounds the padding at 2x (1.5x
# past 32, where padded rows cost as much as real ones).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 48, 64, 96, 128)


def graph_check(condition, template: str, *values) -> tf.Operation:
    """An in-graph assertion whose message is formatted with the offending values.

    Args:
        condition: Scalar bool tensor: what must hold.
        template: The message, with one ``{}`` per value; name the argument and say
            what is accepted.
        *values: Tensors shown in the message in full: numbers as ``tf.strings.format``
            writes them (``[1 2 3]``), strings unquoted (``[DEWP, TEMP]``).

    Returns:
        The assertion op; run what it guards under ``tf.control_dependencies``.

    Example:
        >>> check = graph_check(n <= 10, "n={} is over the cap 10", n)  # doctest: +SKIP
    """
    pieces = template.split("{}")
    if len(pieces) != len(values) + 1:
        raise ValueError(
            f"template {template!r} has {len(pieces) - 1} {{}} for {len(values)} values"
        )
    parts = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        parts += [_shown(tf.convert_to_tensor(value)), piece]
    return tf.debugging.Assert(condition, [tf.strings.join(parts)], summarize=-1)


def _shown(value: tf.Tensor) -> tf.Tensor:
    """A value as one string: strings unquoted and comma-separated, numbers in full."""
    if value.dtype != tf.string:
        return tf.strings.format("{}", value, summarize=-1)
    if value.shape.rank == 0:
        return value
    return tf.strings.join(
        ["[", tf.strings.reduce_join(tf.reshape(value, [-1]), separator=", "), "]"]
    )


def checked_windows(windows: tf.Tensor, feature_names: tf.Tensor, logged: tf.Tensor) -> tf.Tensor:
    """Raw-unit windows of a series, refused in the graph unless their readings are valid.

    A window holding NaN or an infinity is refused (``InvalidArgumentError`` naming the
    windows and the feature columns that hold them) rather than forecast as NaN; so is
    a negative reading of a feature read as ``log(1 + x)``.

    Args:
        windows: float32 ``[batch, width, features]`` in raw units.
        feature_names: string ``[features]``, named in the messages.
        logged: int32 positions of the features read as ``log(1 + x)``.

    Returns:
        ``windows``, after the checks.

    Example:
        >>> windows = checked_windows(windows, self.feature_names, self.logged)
        ... # doctest: +SKIP
    """
    finite = tf.math.is_finite(windows)
    bad_windows = tf.where(tf.logical_not(tf.reduce_all(finite, axis=[1, 2])))[:, 0]
    bad_features = tf.logical_not(tf.reduce_all(finite, axis=[0, 1]))
    logged_values = tf.gather(windows, logged, axis=-1)
    checks = [
        graph_check(
            tf.reduce_all(finite),
            "windows {} hold NaN or infinity in features {}; expected finite readings in raw units",
            bad_windows,
            tf.boolean_mask(feature_names, bad_features),
        ),
        graph_check(
            tf.reduce_all(tf.logical_not(logged_values < 0)),
            "windows hold negative readings of features {}, which are read as "
            "log(1 + x); expected values >= 0",
            tf.boolean_mask(
                tf.gather(feature_names, logged), tf.reduce_any(logged_values < 0, [0, 1])
            ),
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(windows)


def pad_rows(tensor: tf.Tensor, rows, filler: tf.Tensor) -> tf.Tensor:
    """``tensor`` followed by copies of ``filler`` (one row) up to ``rows`` rows.

    Args:
        tensor: ``[n, ...]``.
        rows: The row count wanted, at least ``n``.
        filler: ``[1, ...]``, the row to repeat.

    Returns:
        ``[rows, ...]``.

    Example:
        >>> pad_rows(tf.zeros([0, 2]), 1, tf.ones([1, 2])).shape
        TensorShape([1, 2])
    """
    extra = tf.maximum(rows - tf.shape(tensor)[0], 0)
    return tf.concat([tensor, tf.repeat(filler, extra, axis=0)], axis=0)


def call_in_buckets(
    function: Callable[[tf.Tensor], tf.Tensor],
    batch: tf.Tensor,
    buckets: Sequence[int] = BATCH_BUCKETS,
) -> tf.Tensor:
    """Calls ``function`` on ``batch`` at bucket batch sizes only; same result as one call.

    The rows past a whole number of chunks of the largest bucket are padded (with copies
    of the batch's last row) to the next bucket; the whole chunks run one by one in a
    loop. So an XLA-compiled ``function`` is compiled for at most ``len(buckets)``
    shapes, whatever the batch sizes served.

    Args:
        function: Takes ``[rows, ...]`` and returns ``[rows, ...]``, row by row
            independent (a model call).
        batch: ``[n, ...]`` with ``n >= 1`` (signatures pad an empty batch first).
        buckets: Increasing batch sizes, the first 1.

    Returns:
        ``function(batch)``: ``[n, ...]``.

    Example:
        >>> call_in_buckets(model_call, ids)  # doctest: +SKIP
    """
    largest = buckets[-1]
    rows = tf.shape(batch)[0]
    chunks = rows // largest
    whole = chunks * largest
    tail = batch[whole:]
    tail_rows = rows - whole
    size = tf.gather(tf.constant(buckets), tf.searchsorted(tf.constant(buckets), [tail_rows]))[0]
    tail_outputs = function(pad_rows(tail, size, batch[-1:]))[:tail_rows]
    row_shape = tail_outputs.shape[1:]

    def run_chunk(index, outputs):
        chunk = tf.ensure_shape(
            batch[index * largest : (index + 1) * largest], [largest, *batch.shape[1:]]
        )
        return index + 1, outputs.write(index, function(chunk))

    _, outputs = tf.while_loop(
        lambda index, _: index < chunks,
        run_chunk,
        (
            tf.constant(0),
            tf.TensorArray(tail_outputs.dtype, size=chunks, element_shape=[largest, *row_shape]),
        ),
    )
    head = tf.reshape(outputs.stack(), tf.concat([[whole], tf.shape(tail_outputs)[1:]], 0))
    return tf.concat([head, tail_outputs], axis=0)


class ServingModule(tf.Module):
    """A trained model wrapped with its preprocessing; subclasses set the signatures.

    Args:
        model: The trained model. Every one of its variables is tracked, the seed
            states of dropout layers included: a recurrent layer with ``dropout > 0``
            references its seed even at inference, and an untracked one fails the save.
        metadata: The data metadata of the run (``data.json``'s ``metadata``).
        head: What the model outputs: one of :data:`rnn_zoo.registry.HEADS`.

    Attributes:
        signature_name: The signature that ``predict`` calls and that the examples feed.
        heads: The heads a subclass can serve; others are refused at construction.
    """

    signature_name = "serving_default"
    heads: tuple[str, ...] = HEADS

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__()
        check_choice("head", head, self.heads)
        self.model = model
        self.metadata = metadata
        self.model_variables = list(model.variables)
        self.head = head

    def signature(
        self,
        function: Callable[..., dict[str, tf.Tensor]],
        specs: dict[str, tf.TensorSpec],
        examples: dict[str, Any] | None = None,
    ):
        """Traces ``function`` as a signature that holds the serving contract.

        The signature checks every input's shape against its spec before anything
        else (``tf.ensure_shape``), pads an empty batch with one example row and cuts
        the outputs back to the batch. Arguments with a ``None`` first dimension are
        the batch; then every output must be batch-major.

        Args:
            function: Takes the arguments named in ``specs``; returns a dict of tensors.
            specs: Argument name → spec, in the signature's argument order. Declare
                every dimension the model fixes.
            examples: Valid arguments to pad an empty batch with (their first row);
                defaults to :meth:`example_inputs`, which feed the main signature.

        Returns:
            The concrete function, callable by keyword or position.

        Example:
            >>> self.serving_default = self.signature(
            ...     self._classify, {"images": tf.TensorSpec([None, 28, 28], tf.uint8)}
            ... )  # doctest: +SKIP
        """
        specs = {
            name: tf.TensorSpec(spec.shape, spec.dtype, name=name) for name, spec in specs.items()
        }
        batched = [
            name for name, spec in specs.items() if spec.shape.rank and spec.shape[0] is None
        ]
        if batched:
            examples = self.example_inputs() if examples is None else examples
            fillers = {
                name: tf.constant(np.asarray(examples[name])[:1], specs[name].dtype)
                for name in batched
            }
        parameters = [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in specs
        ]

        def served(*args, **kwargs):
            inputs = served.__signature__.bind(*args, **kwargs).arguments
            # The loaded signature passes any shape through, and the graph was built for
            # the declared one: EnsureShape refuses another at run time, naming the
            # argument, the shape fed and the shape declared.
            inputs = {
                name: tf.ensure_shape(inputs[name], spec.shape) for name, spec in specs.items()
            }
            if not batched:
                return function(**inputs)
            rows = tf.shape(inputs[batched[0]])[0]
            agree = [
                graph_check(
                    tf.equal(tf.shape(inputs[name])[0], rows),
                    f"{name} has {{}} rows but {batched[0]} has {{}}; expected one row each",
                    tf.shape(inputs[name])[0],
                    rows,
                )
                for name in batched[1:]
            ]
            with tf.control_dependencies(agree):
                rows = tf.identity(rows)
            for name in batched:
                inputs[name] = pad_rows(inputs[name], tf.maximum(rows, 1), fillers[name])
            return {key: value[:rows] for key, value in function(**inputs).items()}

        served.__signature__ = inspect.Signature(parameters)
        served.__name__ = getattr(function, "__name__", "served").lstrip("_") or "served"
        return tf.function(served).get_concrete_function(*specs.values())

    def signatures(self) -> dict[str, Any]:
        """Returns the signatures to export, name → concrete function.

        Returns:
            ``{"serving_default": ...}``; subclasses add their named signatures.
        """
        return {"serving_default": self.serving_default}

    def probabilities(self, outputs: tf.Tensor) -> tf.Tensor:
        """The model's outputs as probabilities, following the declared head.

        Args:
            outputs: The model's outputs, ``[..., classes]`` (or ``[..., 1]``).

        Returns:
            Probabilities of the same shape: a softmax (one unit: a sigmoid) of
            logits, or the outputs themselves when the head emits probabilities.
        """
        if self.head != "logits":
            return outputs
        if outputs.shape[-1] == 1:
            return tf.sigmoid(outputs)
        return tf.nn.softmax(outputs)

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Raw inputs for :attr:`signature_name`, as a person would pass them.

        Returns:
            Argument name → NumPy array.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no example inputs")

    def per_example(self, outputs: dict[str, tf.Tensor]) -> list[dict[str, Any]]:
        """One call's outputs as plain Python, one dict per example.

        Args:
            outputs: What a batched signature returned.

        Returns:
            A list of ``{output name: value}``; strings decoded from UTF-8.
        """
        plain = {key: _plain(value) for key, value in outputs.items()}
        count = len(next(iter(plain.values()))) if plain else 0
        return [{key: values[index] for key, values in plain.items()} for index in range(count)]


def _plain(tensor) -> Any:
    value = np.asarray(tensor.numpy())
    if value.dtype.kind in "SO":
        decoded = np.vectorize(lambda item: item.decode("utf-8"), otypes=[object])(value)
        return decoded.tolist()
    return value.tolist()


def read_texts(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Takes each input as a text; ``@path`` reads the text from a file.

    The raw-input reader of every family whose serving signature takes strings. An
    ``@file`` must be UTF-8 text of at most
    :data:`rnn_zoo.data.raw_inputs.MAX_INPUT_BYTES` (10 MiB), checked before it is read.

    Args:
        inputs: Texts, or ``@file`` references.
        metadata: The run's data metadata (unused).
        shape: The model's input shape (unused).

    Returns:
        An array of strings.

    Raises:
        TypeError: If an input is not a string.
        ValueError: If a text is empty, or an ``@file`` is not a file, is too large or
            is not UTF-8 (the message names the input).

    Example:
        >>> read_texts(["A moving, funny film."], {}, (None,))
        array(['A moving, funny film.'], dtype=object)
    """
    from rnn_zoo.data.raw_inputs import read_input_text

    texts = []
    for given in inputs:
        if not isinstance(given, str):
            raise TypeError(
                f"input {given!r} (type {type(given).__name__}) is not accepted; expected a "
                "text (str) or '@path' to a UTF-8 text file"
            )
        text = given
        if given.startswith("@"):
            text = read_input_text(given[1:], label=given, expected="@path to a UTF-8 text file")
        if not text.strip():
            raise ValueError(f"input {given!r} is empty; expected a non-empty text")
        texts.append(text)
    return np.array(texts, dtype=object)
