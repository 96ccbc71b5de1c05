"""Translating with a trained seq2seq model: greedy and beam search, stepped in-graph.

The encoder runs once per batch; then the decoder advances one token at a time by
calling its recurrent cells, the attention and the output layers on the newest token
only, all inside one ``tf.function``. That equals the teacher-forced model on the same
prefix (the attention reads the current decoder output only), without re-running the
decoder over the whole prefix at every step. The same :class:`Translator` module
serves :func:`translate`, the BLEU scores (:mod:`rnn_zoo.models.translator.bleu`) and
the exported ``translate`` signature.

Decisions about inputs:

- Sentences are normalized as the training data was
  (:class:`rnn_zoo.data.translation_text.TextNormalizer`); words outside the English
  vocabulary become ``[UNK]``.
- :func:`translate` refuses an empty sentence and one with more tokens than the
  training length limit (``metadata["max_length"]``) with a ``ValueError`` naming it.
  The exported signature, which cannot raise readable errors, translates an empty
  sentence to ``""`` and truncates a longer one to its first ``max_length`` tokens.
- Output is the normalized French tokens joined by spaces (lower case, punctuation
  set apart), in NFC form; ``[end]`` and padding are never shown, ``[UNK]`` may be.
- Beam search keeps ``beam_width`` hypotheses per sentence (1 to
  :data:`MAX_BEAM_WIDTH`); finished ones stay in the beam with their score, and the
  winner is the best mean log-probability per token. ``beam_width=1`` is greedy
  decoding.
"""

from __future__ import annotations

import dataclasses
import json
import os
import unicodedata
import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.translation import PADDING_ID
from rnn_zoo.data.translation_text import TextNormalizer, build_translation_vectorizer
from rnn_zoo.models.translator.model import ENCODER
from rnn_zoo.validation import check_int

MAX_BEAM_WIDTH = 32
REPORT_BEAM_WIDTH = 4  # the test report's and the export's beam
_NEG_INF = float("-inf")


def _layer(model: keras.Model, name: str, required: bool = True):
    names = [layer.name for layer in model.layers]
    if name in names:
        return model.get_layer(name)
    if required:
        raise ValueError(
            f"model {model.name!r} has no layer {name!r}; expected a model built by "
            "build_seq2seq (rnn_zoo.models.translator.model)"
        )
    return None


class Translator(tf.Module):
    """A seq2seq model's parts and vocabularies, decoded inside ``tf.function``.

    Args:
        model: A model built by ``build_seq2seq`` (trained).
        metadata: Its data's metadata (``data.json``): vocabularies, special tokens
            and ``max_length``.

    Example:
        >>> translator = Translator(model, bundle.metadata)  # doctest: +SKIP
        >>> translator.translate(tf.constant(["I am cold."]), 4, 11)  # doctest: +SKIP
    """

    def __init__(self, model: keras.Model, metadata: dict[str, Any]):
        super().__init__(name="translator")
        self.encoder = _layer(model, ENCODER)
        self.embedding = _layer(model, "target_embedding")
        self.cells = [layer.cell for layer in model.layers if layer.name.startswith("decoder_")]
        self.query = _layer(model, "attention_query", required=False)
        self.key = _layer(model, "attention_key", required=False)
        self.attention = _layer(model, "attention", required=False)
        self.combine = _layer(model, "combine")
        self.output_layer = _layer(model, "logits")
        target_vocabulary = metadata["target_vocabulary"]
        if len(target_vocabulary) != self.output_layer.units:
            raise ValueError(
                f"target_vocabulary has {len(target_vocabulary)} tokens but the model predicts "
                f"{self.output_layer.units}; use the metadata the model was trained with"
            )
        self.vocab_size = len(target_vocabulary)
        self.max_length = int(metadata["max_length"])
        self.start_id = target_vocabulary.index(metadata["start_token"])
        self.end_id = target_vocabulary.index(metadata["end_token"])
        self.normalizer = TextNormalizer()
        self.source_vectorizer = build_translation_vectorizer(metadata["source_vocabulary"])
        self.words = tf.constant([unicodedata.normalize("NFC", t) for t in target_vocabulary])
        never = np.zeros(self.vocab_size, np.float32)
        never[[PADDING_ID, self.start_id]] = _NEG_INF  # never predicted
        self.never = tf.constant(never)

    @property
    def has_attention(self) -> bool:
        """Whether the model attends over the encoder outputs."""
        return self.attention is not None

    def source_ids(self, texts):
        """Normalizes and vectorizes sentences, cut to ``max_length`` tokens.

        Args:
            texts: ``tf.string`` ``[batch]``.

        Returns:
            int32 ids ``[batch, time]``, right-padded with 0, at least one column.
        """
        ids = tf.cast(self.source_vectorizer(self.normalizer(texts)), tf.int32)
        ids = ids[:, : self.max_length]
        return tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])

    def encode(self, source_ids):
        """Runs the encoder once.

        Args:
            source_ids: int32 ``[batch, time]``.

        Returns:
            ``(values, keys, mask, states)``: encoder outputs, their attention keys
            (``None`` without attention), the source mask and one list of state
            tensors per decoder layer.
        """
        values, *states = self.encoder(source_ids, training=False)
        per_layer = len(states) // len(self.cells)
        states = [states[i * per_layer : (i + 1) * per_layer] for i in range(len(self.cells))]
        keys = self.key(values) if self.has_attention else None
        return values, keys, tf.not_equal(source_ids, PADDING_ID), states

    def step(self, ids, states, values, keys, mask):
        """Advances the decoder by one token.

        Args:
            ids: The previous token of each row, int32 ``[batch]``.
            states: One list of state tensors per decoder layer.
            values: Encoder outputs ``[batch, source_time, features]``.
            keys: Their attention keys (``None`` without attention).
            mask: Source mask ``[batch, source_time]``.

        Returns:
            ``(logits [batch, vocab], new states, attention weights [batch,
            source_time])``; the weights are zeros without attention.
        """
        x = tf.gather(self.embedding.embeddings, ids)  # one token: no padding mask
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            x, state = cell(x, state, training=False)
            new_states.append(list(tf.nest.flatten(state)))
        if self.has_attention:
            query = self.query(x[:, None, :])
            context, scores = self.attention(
                [query, values, keys], mask=[None, mask], return_attention_scores=True
            )
            x = tf.concat([x, context[:, 0, :]], axis=-1)
            weights = scores[:, 0, :]
        else:
            weights = tf.zeros(tf.shape(mask), tf.float32)
        return self.output_layer(self.combine(x)), new_states, weights

    def _next_log_probs(self, logits):
        return tf.nn.log_softmax(tf.cast(logits, tf.float32) + self.never)

    @tf.function(
        input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([], tf.int32)]
    )
    def greedy(self, source_ids, steps):
        """Greedy decoding: the likeliest token at every step, until ``[end]`` or ``steps``.

        Args:
            source_ids: int32 ``[batch, source_time]``.
            steps: Most tokens to produce (``[end]`` included).

        Returns:
            ``(tokens [batch, time], attention weights [batch, time, source_time])``;
            tokens after ``[end]`` are 0.
        """
        values, keys, mask, states = self.encode(source_ids)
        batch = tf.shape(source_ids)[0]
        ids = tf.fill([batch], tf.constant(self.start_id, tf.int32))
        finished = tf.zeros([batch], tf.bool)
        tokens = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
        attention = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for t in tf.range(steps):
            logits, states, weights = self.step(ids, states, values, keys, mask)
            best = tf.argmax(self._next_log_probs(logits), axis=-1, output_type=tf.int32)
            ids = tf.where(finished, PADDING_ID, best)
            tokens = tokens.write(t, ids)
            attention = attention.write(t, weights)
            finished = finished | tf.equal(ids, self.end_id)
            if tf.reduce_all(finished):
                break
        return tf.transpose(tokens.stack()), tf.transpose(attention.stack(), [1, 0, 2])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def beam_search(self, source_ids, beam_width, steps):
        """Beam search with ``beam_width`` hypotheses per sentence.

        Args:
            source_ids: int32 ``[batch, source_time]``.
            beam_width: Hypotheses kept per sentence (>= 1).
            steps: Most tokens to produce (``[end]`` included).

        Returns:
            The best hypothesis of each sentence, int32 ``[batch, steps]``; tokens
            after ``[end]`` are 0.
        """
        batch = tf.shape(source_ids)[0]
        rows = batch * beam_width
        values, keys, mask, states = self.encode(source_ids)

        def tile(tensor):
            return tf.repeat(tensor, beam_width, axis=0)

        values, mask, states = tile(values), tile(mask), tf.nest.map_structure(tile, states)
        keys = tile(keys) if self.has_attention else None
        first = tf.concat([[0.0], tf.fill([beam_width - 1], _NEG_INF)], axis=0)
        scores = tf.reshape(tf.tile(first[None], [batch, 1]), [-1])
        ids = tf.fill([rows], tf.constant(self.start_id, tf.int32))
        finished = tf.zeros([rows], tf.bool)
        lengths = tf.zeros([rows], tf.float32)
        sequences = tf.zeros([rows, steps], tf.int32)
        padding_only = tf.one_hot(PADDING_ID, self.vocab_size, on_value=0.0, off_value=_NEG_INF)
        offsets = tf.range(batch)[:, None] * beam_width
        for t in tf.range(steps):
            if tf.reduce_all(finished):
                break
            logits, states, _ = self.step(ids, states, values, keys, mask)
            log_probs = tf.where(
                finished[:, None], padding_only[None, :], self._next_log_probs(logits)
            )
            candidates = tf.reshape(scores[:, None] + log_probs, [batch, -1])
            top_scores, top_index = tf.math.top_k(candidates, k=beam_width)
            parents = tf.reshape(top_index // self.vocab_size + offsets, [-1])
            ids = tf.reshape(top_index % self.vocab_size, [-1])
            scores = tf.reshape(top_scores, [-1])
            states = tf.nest.map_structure(lambda s, p=parents: tf.gather(s, p), states)
            finished = tf.gather(finished, parents)
            lengths = tf.gather(lengths, parents) + tf.cast(~finished, tf.float32)
            sequences = (
                tf.gather(sequences, parents)
                + tf.one_hot(t, steps, dtype=tf.int32)[None, :] * ids[:, None]
            )
            finished = finished | tf.equal(ids, self.end_id)
        mean = tf.reshape(scores / tf.maximum(lengths, 1.0), [batch, beam_width])
        best = tf.argmax(mean, axis=1, output_type=tf.int32)
        return tf.gather(tf.reshape(sequences, [batch, beam_width, -1]), best, batch_dims=1)

    def detokenize(self, tokens):
        """Joins output tokens into text, dropping padding and ``[end]``.

        Args:
            tokens: int32 ``[batch, time]``.

        Returns:
            ``tf.string`` ``[batch]``.
        """
        keep = tf.not_equal(tokens, PADDING_ID) & tf.not_equal(tokens, self.end_id)
        words = tf.ragged.boolean_mask(tf.gather(self.words, tokens), keep)
        return tf.strings.reduce_join(words, axis=-1, separator=" ")

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def translate(self, texts, beam_width, max_length):
        """Translates sentences: normalize, encode once, decode, detokenize.

        Args:
            texts: ``tf.string`` ``[batch]``.
            beam_width: 1 for greedy decoding, more for beam search.
            max_length: Most output tokens (``[end]`` not counted).

        Returns:
            ``tf.string`` ``[batch]``; ``""`` for an empty sentence.
        """
        source_ids = self.source_ids(texts)
        steps = max_length + 1
        if beam_width > 1:
            tokens = self.beam_search(source_ids, beam_width, steps)
        else:
            tokens, _ = self.greedy(source_ids, steps)
        empty = tf.equal(tf.strings.length(tf.strings.strip(texts)), 0)
        return tf.where(empty, "", self.detokenize(tokens))


_TRANSLATORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _resolve(model_or_run_dir, metadata, safe_mode: bool):
    """Returns ``(model, metadata)`` from a model and its metadata, or a run directory."""
    if isinstance(model_or_run_dir, (str, os.PathLike)):
        from rnn_zoo.runs import load_run

        run = load_run(model_or_run_dir, safe_mode=safe_mode)
        if "target_vocabulary" not in run.metadata:
            raise ValueError(
                f"{model_or_run_dir} is a run of {run.name!r}, not of a translator; expected a "
                "run whose data.json has source and target vocabularies"
            )
        return run.model, run.metadata
    if not isinstance(model_or_run_dir, keras.Model):
        raise TypeError(
            f"model_or_run_dir={model_or_run_dir!r} is not accepted; expected a run directory "
            "or a keras.Model built by build_seq2seq"
        )
    if metadata is None:
        raise TypeError(
            "metadata=None is not accepted with a keras.Model; pass its DataBundle's metadata"
        )
    return model_or_run_dir, getattr(metadata, "metadata", metadata)


def get_translator(model: keras.Model, metadata: dict[str, Any]) -> Translator:
    """Returns the (cached) :class:`Translator` of a model and its metadata.

    Args:
        model: A model built by ``build_seq2seq``.
        metadata: Its data's metadata.

    Returns:
        A translator; the same one for the same model and metadata, so its
        ``tf.function`` graphs are traced once.

    Example:
        >>> translator = get_translator(result.model, bundle.metadata)  # doctest: +SKIP
    """
    fingerprint = json.dumps(metadata, sort_keys=True)
    cached = _TRANSLATORS.get(model)
    if cached is None or cached[0] != fingerprint:
        cached = _TRANSLATORS[model] = (fingerprint, Translator(model, metadata))
    return cached[1]


def _check_sentences(sentences, translator: Translator) -> list[str]:
    listed = [sentences] if isinstance(sentences, str) else sentences
    if (
        not isinstance(listed, (list, tuple))
        or not listed
        or not all(isinstance(text, str) for text in listed)
    ):
        raise TypeError(
            f"sentences={sentences!r} is not accepted; expected a string or a non-empty list "
            "of strings"
        )
    counts = tf.strings.split(translator.normalizer(tf.constant(listed))).row_lengths().numpy()
    for text, count in zip(listed, counts, strict=True):
        if count == 0:
            raise ValueError(f"sentence {text!r} is empty; expected at least one word")
        if count > translator.max_length:
            raise ValueError(
                f"sentence {text[:60]!r} has {count} tokens after normalization; the model was "
                f"trained on sentences of at most max_length={translator.max_length} tokens"
            )
    return list(listed)


def translate(
    model_or_run_dir,
    sentences: str | list[str],
    *,
    metadata: dict[str, Any] | None = None,
    beam_width: int = 1,
    max_length: int | None = None,
    batch_size: int = 256,
    safe_mode: bool = True,
) -> str | list[str]:
    """Translates English sentences to French with a trained seq2seq model.

    Args:
        model_or_run_dir: A trained ``build_seq2seq`` model (with ``metadata``) or a
            run directory of one.
        sentences: A sentence, or a list of sentences.
        metadata: With a model: its data's metadata (a ``DataBundle`` or its
            ``metadata`` dict).
        beam_width: 1 (default) for greedy decoding; up to :data:`MAX_BEAM_WIDTH`
            for beam search.
        max_length: Most output tokens; defaults to the training length limit.
        batch_size: Sentences decoded together. Defaults to 256.
        safe_mode: Keras safe mode when loading a run directory's model.

    Returns:
        The normalized French translation; a list for a list of sentences.

    Raises:
        ValueError: If a sentence is empty or longer than the training limit
            (``metadata["max_length"]`` tokens after normalization), or a number is
            out of range.
        TypeError: If an argument has the wrong type.

    Example:
        >>> translate("saved_models/seq2seq/latest", "I am cold.", beam_width=4)
        ... # doctest: +SKIP
        "j ' ai froid ."
    """
    check_int("beam_width", beam_width, maximum=MAX_BEAM_WIDTH)
    if max_length is not None:
        check_int("max_length", max_length)
    check_int("batch_size", batch_size)
    model, metadata = _resolve(model_or_run_dir, metadata, safe_mode)
    translator = get_translator(model, metadata)
    listed = _check_sentences(sentences, translator)
    length = tf.constant(max_length or translator.max_length, tf.int32)
    outputs = []
    for start in range(0, len(listed), batch_size):
        texts = translator.translate(
            tf.constant(listed[start : start + batch_size]), tf.constant(beam_width), length
        )
        outputs.extend(text.decode("utf-8") for text in texts.numpy())
    return outputs[0] if isinstance(sentences, str) else outputs


@dataclasses.dataclass
class AttentionMap:
    """What the decoder looked at while translating one sentence greedily.

    Attributes:
        source_tokens: The normalized English tokens (``[UNK]`` for unknown words).
        output_tokens: The French tokens produced, ``[end]`` included when reached.
        weights: ``[len(output_tokens), len(source_tokens)]``; each row sums to 1.
    """

    source_tokens: list[str]
    output_tokens: list[str]
    weights: np.ndarray


def attention_weights(
    model_or_run_dir,
    sentence: str,
    *,
    metadata: dict[str, Any] | None = None,
    max_length: int | None = None,
    safe_mode: bool = True,
) -> AttentionMap:
    """Translates one sentence greedily and returns the attention weights of each step.

    Args:
        model_or_run_dir: A trained ``build_seq2seq`` model with attention (with
            ``metadata``) or a run directory of one.
        sentence: An English sentence.
        metadata: With a model: its data's metadata.
        max_length: Most output tokens; defaults to the training length limit.
        safe_mode: Keras safe mode when loading a run directory's model.

    Returns:
        An :class:`AttentionMap`, ready for ``matplotlib``'s ``imshow``.

    Raises:
        ValueError: If the model has no attention, or the sentence is refused as
            by :func:`translate`.
        TypeError: If an argument has the wrong type.

    Example:
        >>> heat = attention_weights(result.model, "I am cold.", metadata=bundle.metadata)
        ... # doctest: +SKIP
        >>> heat.weights.shape
        (4, 4)
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence={sentence!r} is not accepted; expected one string")
    if max_length is not None:
        check_int("max_length", max_length)
    model, metadata = _resolve(model_or_run_dir, metadata, safe_mode)
    translator = get_translator(model, metadata)
    if not translator.has_attention:
        raise ValueError(f"model {model.name!r} was built with attention=False; no weights")
    _check_sentences(sentence, translator)
    source_ids = translator.source_ids(tf.constant([sentence]))
    steps = tf.constant((max_length or translator.max_length) + 1, tf.int32)
    tokens, weights = translator.greedy(source_ids, steps)
    tokens = tokens.numpy()[0]
    produced = int(np.sum(tokens != PADDING_ID))
    source = source_ids.numpy()[0]
    vocabulary = metadata["source_vocabulary"]
    return AttentionMap(
        source_tokens=[vocabulary[i] for i in source if i != PADDING_ID],
        output_tokens=[translator.words[i].numpy().decode("utf-8") for i in tokens[:produced]],
        weights=weights.numpy()[0, :produced, : int(np.sum(source != PADDING_ID))],
    )
