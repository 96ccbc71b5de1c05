"""Fast character generation by stepping the recurrent state.

TensorFlow's tutorial generates by feeding text back into the model from Python one
call per character. Here the prompt runs through the recurrent cells once, then each
new character costs one cell step, and the whole loop — prompt, sampling, stepping —
runs inside one ``tf.function``. The same :class:`CharGenerator` module serves
:func:`generate_text` and the exported ``generate`` signature.

The first recurrent layer only ever sees one of ``vocab`` embeddings, so its input
projection ``embedding @ kernel + bias`` is folded into a ``[vocab, gates]`` table at
the start of each call and looked up per character: a step then reads the recurrent
kernel alone (16.8 of the default model's 21 MB of LSTM weights). For that layer the
LSTM, GRU (``reset_after=True``) and SimpleRNN gates are written out here, from the
cell's own weights and activations; other cells are stepped through Keras.
"""

from __future__ import annotations

import os
import weakref

import keras
import tensorflow as tf

from rnn_zoo.limits import (
    MAX_BATCH_CHARS,
    MAX_GENERATED_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_STREAMS,
)
from rnn_zoo.serving import graph_check
from rnn_zoo.validation import check_float32, check_int

_NO_TOP_K = 0
# Logits are divided by the temperature in float32: a smaller temperature can round to
# 0 there or push the logits to infinity.
MIN_TEMPERATURE = 1e-6


def _lstm_step(cell, projected, states):
    h, c = states
    i, f, g, o = tf.split(projected + tf.matmul(h, cell.recurrent_kernel), 4, axis=-1)
    gate = cell.recurrent_activation
    c = gate(f) * c + gate(i) * cell.activation(g)
    h = gate(o) * cell.activation(c)
    return h, [h, c]


def _gru_step(cell, projected, states):
    (h,) = states
    recurrent = tf.matmul(h, cell.recurrent_kernel)
    if cell.use_bias:
        recurrent += cell.bias[1]
    x_z, x_r, x_h = tf.split(projected, 3, axis=-1)
    r_z, r_r, r_h = tf.split(recurrent, 3, axis=-1)
    z = cell.recurrent_activation(x_z + r_z)
    r = cell.recurrent_activation(x_r + r_r)
    h = z * h + (1 - z) * cell.activation(x_h + r * r_h)
    return h, [h]


def _simple_rnn_step(cell, projected, states):
    h = cell.activation(projected + tf.matmul(states[0], cell.recurrent_kernel))
    return h, [h]


# Cell type → one inference step from the input projection (bias included) and states.
_PROJECTED_STEPS = {
    keras.layers.LSTMCell: _lstm_step,
    keras.layers.GRUCell: _gru_step,
    keras.layers.SimpleRNNCell: _simple_rnn_step,
}


def _projected_step(cell):
    """The hand-written step of ``cell``, or None where Keras must step it."""
    if isinstance(cell, keras.layers.GRUCell) and not cell.reset_after:
        return None
    return _PROJECTED_STEPS.get(type(cell))


def _keras_step(cell, inputs, states):
    outputs, states = cell(inputs, states, training=False)
    return outputs, list(tf.nest.flatten(states))


def _input_bias(cell):
    if not cell.use_bias:
        return 0.0
    return cell.bias[0] if isinstance(cell, keras.layers.GRUCell) else cell.bias


def _generator_parts(model: keras.Model):
    """Splits a text generator into its embedding, recurrent cells and output layer."""
    embeddings = [layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    recurrent = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if len(embeddings) != 1 or not recurrent or len(dense) != 1:
        raise ValueError(
            f"model {model.name!r} is not a text generator; expected Embedding → recurrent "
            "layers → Dense, as build_text_generator builds"
        )
    return embeddings[0], [layer.cell for layer in recurrent], dense[0]


class CharGenerator(tf.Module):
    """A character model's cells and vocabulary, stepped inside ``tf.function``.

    Args:
        model: A model built by ``build_text_generator`` (trained).
        vocabulary: The characters, in id order (``data.json``'s ``vocabulary``).

    Example:
        >>> generator = CharGenerator(model, vocabulary)  # doctest: +SKIP
        >>> generator.generate(tf.constant(["ROMEO:"]), 100, 1.0, 7, 0)  # doctest: +SKIP
    """

    def __init__(self, model: keras.Model, vocabulary: list[str]):
        super().__init__(name="char_generator")
        self.embedding, self.cells, self.output_layer = _generator_parts(model)
        if len(vocabulary) != self.output_layer.units:
            raise ValueError(
                f"vocabulary has {len(vocabulary)} characters but the model predicts "
                f"{self.output_layer.units}; use the vocabulary the model was trained with"
            )
        self.first_step = _projected_step(self.cells[0]) or _keras_step
        self.vocabulary = tf.constant(vocabulary)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                self.vocabulary, tf.range(len(vocabulary), dtype=tf.int64)
            ),
            default_value=-1,
        )

    def _initial_states(self, batch):
        return [
            [tf.zeros((batch, size)) for size in tf.nest.flatten(cell.state_size)]
            for cell in self.cells
        ]

    def input_projections(self):
        """What the first cell's step reads for each character, from the current weights.

        Returns:
            ``[vocab, ...]``: ``embedding @ kernel + input bias`` (``[vocab, gates]``)
            where the first cell's step is written out here, else the embeddings.
        """
        if self.first_step is _keras_step:
            return tf.convert_to_tensor(self.embedding.embeddings)
        first = self.cells[0]
        return tf.matmul(self.embedding.embeddings, first.kernel) + _input_bias(first)

    def step(self, ids, states, projections):
        """Advances every cell by one character.

        Args:
            ids: Character ids ``[batch]``.
            states: One list of state tensors per recurrent layer.
            projections: :meth:`input_projections`' table.

        Returns:
            ``(logits [batch, vocab], new states)``.
        """
        first_input = tf.gather(projections, ids)
        x, first_state = self.first_step(self.cells[0], first_input, states[0])
        new_states = [first_state]
        for cell, state in zip(self.cells[1:], states[1:], strict=True):
            x, state = _keras_step(cell, x, state)
            new_states.append(state)
        return self.output_layer(x), new_states

    def encode(self, prompts):
        """Maps prompts to ids, refusing characters outside the vocabulary.

        Args:
            prompts: ``tf.string`` ``[batch]``.

        Returns:
            Ragged int64 ids ``[batch, None]``.

        Raises:
            tf.errors.InvalidArgumentError: In the graph, for an unknown character, an
                empty prompt, more than ``MAX_STREAMS`` prompts or one longer than
                ``MAX_PROMPT_CHARS``.
        """
        chars = tf.strings.unicode_split(prompts, "UTF-8")
        ids = tf.ragged.map_flat_values(self.table.lookup, chars)
        longest = tf.reduce_max(tf.concat([ids.row_lengths(), tf.zeros([1], tf.int64)], axis=0))
        checks = [
            tf.debugging.assert_non_negative(
                ids.flat_values, message="prompt has characters outside the model's vocabulary"
            ),
            tf.debugging.assert_positive(
                ids.row_lengths(), message="every prompt needs at least one character"
            ),
            # Before the prompts are stepped: each character is one recurrent step.
            graph_check(
                ids.nrows() <= MAX_STREAMS,
                f"{{}} prompts in one call; expected at most {MAX_STREAMS} "
                "(rnn_zoo.limits.MAX_STREAMS)",
                ids.nrows(),
            ),
            graph_check(
                longest <= MAX_PROMPT_CHARS,
                f"a prompt of {{}} characters; expected at most {MAX_PROMPT_CHARS} "
                "(rnn_zoo.limits.MAX_PROMPT_CHARS)",
                longest,
            ),
        ]
        with tf.control_dependencies(checks):
            return ids.with_flat_values(tf.identity(ids.flat_values))

    def run_prompt(self, ids, projections):
        """Runs (ragged) prompts through the cells, one step per character.

        Args:
            ids: Ragged ids ``[batch, None]``.
            projections: :meth:`input_projections`' table.

        Returns:
            ``(logits after each prompt's last character, states)``.
        """
        dense = ids.to_tensor(default_value=0)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        batch = tf.shape(dense)[0]
        states = self._initial_states(batch)
        logits = tf.zeros((batch, self.output_layer.units))
        for t in tf.range(tf.shape(dense)[1]):
            step_logits, step_states = self.step(dense[:, t], states, projections)
            active = tf.expand_dims(t < lengths, 1)
            logits, states = tf.nest.map_structure(
                lambda new, old, active=active: tf.where(active, new, old),
                (step_logits, step_states),
                (logits, states),
            )
        return logits, states

    @staticmethod
    def sample(logits, temperature, seed, step, top_k):
        """Draws one id per row from ``logits / temperature`` (top-k when ``top_k > 0``)."""
        logits = logits / temperature
        if top_k > 0:
            kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
            logits = tf.where(logits < kth, tf.fill(tf.shape(logits), -1e9), logits)
        return tf.random.stateless_categorical(
            logits, 1, seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
        )[:, 0]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def generate(self, prompts, num_chars, temperature, seed, top_k):
        """Continues each prompt by ``num_chars`` sampled characters, all in-graph.

        Args:
            prompts: ``tf.string`` ``[batch]``, each at least one known character.
            num_chars: How many characters to add, 1 to
                :data:`rnn_zoo.limits.MAX_GENERATED_CHARS` (refused in the graph beyond).
            temperature: Sampling temperature, at least ``MIN_TEMPERATURE``.
            seed: Seed of the stateless sampler: same seed, same text.
            top_k: Sample among the ``top_k`` likeliest characters; 0 for all.

        Returns:
            ``tf.string`` ``[batch]``: each prompt followed by its continuation.
        """
        checks = [
            tf.debugging.assert_positive(num_chars, message="num_chars must be >= 1"),
            # Before the TensorArray of num_chars rows is allocated: a huge one aborts.
            tf.debugging.Assert(
                num_chars <= MAX_GENERATED_CHARS,
                [
                    tf.strings.format(
                        "num_chars={} is over the cap MAX_GENERATED_CHARS={} "
                        "(rnn_zoo.limits); expected 1 to {}",
                        [num_chars, MAX_GENERATED_CHARS, MAX_GENERATED_CHARS],
                    )
                ],
            ),
            tf.debugging.assert_greater_equal(
                temperature,
                tf.constant(MIN_TEMPERATURE, temperature.dtype),
                message=f"temperature must be >= {MIN_TEMPERATURE:g}",
            ),
        ]
        # Sampling waits for the checks: a bad temperature would otherwise race them
        # to an out-of-range id and fail with a gather error instead.
        with tf.control_dependencies(checks):
            num_chars, temperature = tf.identity(num_chars), tf.identity(temperature)
        projections = self.input_projections()
        logits, states = self.run_prompt(self.encode(prompts), projections)
        generated = tf.TensorArray(tf.int64, size=num_chars)
        for index in tf.range(num_chars):
            next_ids = self.sample(logits, temperature, seed, index, top_k)
            generated = generated.write(index, next_ids)
            logits, states = self.step(next_ids, states, projections)
        chars = tf.gather(self.vocabulary, tf.transpose(generated.stack()))
        return prompts + tf.strings.reduce_join(chars, axis=1)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def next_char_logits(self, prompts):
        """Logits of the character that follows each prompt.

        Args:
            prompts: ``tf.string`` ``[batch]``.

        Returns:
            float32 ``[batch, vocab]``.
        """
        logits, _ = self.run_prompt(self.encode(prompts), self.input_projections())
        return logits


_GENERATORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_request(prompt, num_chars, temperature, top_k, seed, num_streams) -> list[str]:
    """Checks every argument a caller sizes, against :mod:`rnn_zoo.limits`, before loading.

    Returns:
        The prompts as a list.
    """
    check_int("num_chars", num_chars, maximum=MAX_GENERATED_CHARS)
    check_float32("temperature", temperature, minimum=MIN_TEMPERATURE)
    check_int("seed", seed, minimum=0, maximum=MAX_SEED)
    check_int("num_streams", num_streams, maximum=MAX_STREAMS)
    if top_k is not None:
        check_int("top_k", top_k)
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts:
        raise TypeError(
            f"prompt={_preview(prompt)} is not accepted; expected a string or a non-empty "
            "list of strings"
        )
    if len(prompts) > MAX_STREAMS:
        raise ValueError(
            f"prompt is a list of {len(prompts)} prompts; expected at most {MAX_STREAMS} "
            "in one call (rnn_zoo.limits.MAX_STREAMS)"
        )
    for text in prompts:
        if not isinstance(text, str):
            raise TypeError(
                f"prompt={_preview(text)} (type {type(text).__name__}) is not accepted; "
                "expected a string or a list of strings"
            )
        if not text:
            raise ValueError("prompt='' is empty; expected at least one character")
        if len(text) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"prompt {text[:40]!r}... has {len(text)} characters; expected at most "
                f"{MAX_PROMPT_CHARS} (rnn_zoo.limits.MAX_PROMPT_CHARS)"
            )
    if len(prompts) > 1 and num_streams != 1:
        raise ValueError(
            f"num_streams={num_streams} cannot be combined with {len(prompts)} prompts; "
            "accepted: several prompts, or one prompt with num_streams >= 1"
        )
    rows = len(prompts) * num_streams
    stepped = rows * (max(len(text) for text in prompts) + num_chars)
    if stepped > MAX_BATCH_CHARS:
        raise ValueError(
            f"num_chars={num_chars} for {rows} rows (prompts x num_streams) after a "
            f"{max(len(text) for text in prompts)}-character prompt steps {stepped} "
            f"characters; expected at most {MAX_BATCH_CHARS} in one call "
            "(rnn_zoo.limits.MAX_BATCH_CHARS): ask for fewer characters or streams"
        )
    return prompts


def _preview(value) -> str:
    """``repr`` of a value, cut to 60 characters so a huge argument stays one line."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def generate_text(
    model_or_run_dir,
    prompt: str | list[str],
    *,
    num_chars: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    num_streams: int = 1,
    vocabulary: list[str] | None = None,
    safe_mode: bool = True,
) -> str | list[str]:
    """Generates text from a trained character model, one cell step per character.

    Args:
        model_or_run_dir: A trained text generator (``keras.Model``, with
            ``vocabulary``) or a run directory of one (its ``data.json`` holds the
            vocabulary).
        prompt: A prompt of at most ``MAX_PROMPT_CHARS`` characters, or a list of at
            most ``MAX_STREAMS`` of them generated as one batch. All the rows together
            step at most ``MAX_BATCH_CHARS`` characters (prompt and continuation).
        num_chars: Characters to add to each prompt, in
            ``[1, MAX_GENERATED_CHARS]`` (100,000). Defaults to 200.
        temperature: Sampling temperature, a finite float32 of at least
            ``MIN_TEMPERATURE`` (1e-6); lower is more conservative (``top_k=1`` is
            greedy). Defaults to 1.0.
        top_k: Sample among the ``top_k`` likeliest characters (at most the
            vocabulary's size); ``None`` for all.
        seed: Sampling seed in ``[0, MAX_SEED]`` (2**31 - 1): the same seed gives the
            same text. Defaults to 0.
        num_streams: With a single prompt, how many independent continuations to
            draw in one batch, in ``[1, MAX_STREAMS]`` (1024). Defaults to 1.
        vocabulary: The model's characters in id order (when a model is passed).
        safe_mode: Keras safe mode when loading a run directory's model.

    Returns:
        The prompt followed by its continuation; a list when several prompts or
        streams are asked for.

    Raises:
        ValueError: If an argument is out of range or over a cap of
            :mod:`rnn_zoo.limits` (checked before the run is loaded), a prompt is
            empty, or a prompt holds characters outside the vocabulary (they are named).
        TypeError: If an argument has the wrong type.

    Example:
        >>> generate_text("saved_models/text_generator/latest", "ROMEO:", num_chars=100)
        ... # doctest: +SKIP
    """
    prompts = _check_request(prompt, num_chars, temperature, top_k, seed, num_streams)
    if isinstance(model_or_run_dir, (str, os.PathLike)):
        from rnn_zoo.runs import load_run

        run = load_run(model_or_run_dir, safe_mode=safe_mode)
        model, vocabulary = run.model, run.metadata.get("vocabulary")
        if vocabulary is None:
            raise ValueError(
                f"{model_or_run_dir} is a run of {run.name!r}, not of a text generator; "
                "generate_text needs a run whose data has a character vocabulary"
            )
    elif vocabulary is None:
        raise TypeError("vocabulary=None is not accepted with a keras.Model; pass its characters")
    else:
        model = model_or_run_dir
    known = set(vocabulary)
    for text in prompts:
        unknown = sorted(set(text) - known)
        if unknown:
            raise ValueError(
                f"prompt {text[:40]!r} holds characters outside the vocabulary: {unknown}; "
                f"accepted characters: {''.join(vocabulary)!r}"
            )
    if top_k is not None and top_k > len(vocabulary):
        raise ValueError(f"top_k={top_k} is larger than the vocabulary ({len(vocabulary)})")
    cached = _GENERATORS.get(model)
    if cached is None or cached[0] != tuple(vocabulary):
        cached = _GENERATORS[model] = (tuple(vocabulary), CharGenerator(model, list(vocabulary)))
    generator = cached[1]
    texts = generator.generate(
        tf.constant(prompts * num_streams),
        tf.constant(num_chars, tf.int32),
        tf.constant(temperature, tf.float32),
        tf.constant(seed, tf.int32),
        tf.constant(top_k or _NO_TOP_K, tf.int32),
    )
    decoded = [text.decode("utf-8") for text in texts.numpy()]
    return decoded[0] if len(decoded) == 1 and isinstance(prompt, str) else decoded
