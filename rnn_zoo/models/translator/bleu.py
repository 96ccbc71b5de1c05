"""BLEU of the translator, as machine translation scores it: sacreBLEU, every reference.

:func:`bleu_score` scores translations against one or more references per sentence
(both sides normalized as the training data was); :func:`corpus_bleu` translates and
scores; :func:`bleu_report` is the family's test report (``ModelSpec.test_report``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import keras
import tensorflow as tf

from rnn_zoo.data.translation_text import TextNormalizer
from rnn_zoo.models.translator.decoding import REPORT_BEAM_WIDTH, get_translator, translate


def _reference_streams(references, normalizer) -> list[list[str | None]]:
    """The reference streams of sacrebleu: stream ``j`` holds each ``j``-th reference.

    A sentence with fewer references has ``None`` in the later streams, which sacrebleu
    skips. Every reference is normalized as the training data was.
    """
    listed = [[given] if isinstance(given, str) else list(given) for given in references]
    if not all(listed) or not all(isinstance(text, str) for group in listed for text in group):
        raise TypeError(
            "references must hold, for each source, a string or a non-empty list of strings"
        )
    flat = [text for group in listed for text in group]
    normalized = iter(
        unicodedata.normalize("NFC", text.decode("utf-8"))
        for text in normalizer(tf.constant(flat)).numpy()
    )
    grouped = [[next(normalized) for _ in group] for group in listed]
    width = max(len(group) for group in grouped)
    return [[group[j] if j < len(group) else None for group in grouped] for j in range(width)]


def corpus_bleu(
    model: keras.Model,
    sources: list[str],
    references: list[str] | list[list[str]],
    *,
    metadata: dict[str, Any],
    beam_width: int = 1,
) -> float:
    """Corpus BLEU (sacrebleu, default ``13a`` tokenization) of a model's translations.

    Both sides are compared in the normalized form (NFKD then NFC, lower case,
    punctuation set apart). Each source may have several references (all the French
    translations of one English sentence): BLEU counts an n-gram as matched if any of
    them has it, and takes the reference length closest to the hypothesis'.

    Args:
        model: A trained ``build_seq2seq`` model.
        sources: English sentences within the training length limit.
        references: For each source, its French reference, or a non-empty list of
            its references.
        metadata: The model's data metadata.
        beam_width: 1 for greedy decoding (default), more for beam search.

    Returns:
        BLEU in ``[0, 100]``.

    Raises:
        ValueError: If the lists differ in length or are empty, or a sentence is refused.
        TypeError: If a source has no reference, or one that is not a string.

    Example:
        >>> corpus_bleu(model, ["Go."], [["va !", "marche ."]], metadata=meta)
        ... # doctest: +SKIP
        100.0
    """
    if not sources or len(sources) != len(references):
        raise ValueError(
            f"{len(sources)} sources and {len(references)} references; expected as many, >= 1"
        )
    hypotheses = translate(model, list(sources), metadata=metadata, beam_width=beam_width)
    return bleu_score(hypotheses, references, normalizer=get_translator(model, metadata).normalizer)


def bleu_score(
    hypotheses: list[str],
    references: list[str] | list[list[str]],
    *,
    normalizer: TextNormalizer | None = None,
) -> float:
    """Corpus BLEU (sacrebleu, ``13a``) of translations against one or more references each.

    Args:
        hypotheses: Translations, as :func:`translate` returns them (normalized).
        references: For each, its reference or a non-empty list of its references;
            they are normalized as the training data was.
        normalizer: The :class:`~rnn_zoo.data.translation_text.TextNormalizer` to use
            (one is built if ``None``).

    Returns:
        BLEU in ``[0, 100]``.

    Raises:
        ValueError: If the lists differ in length.
        TypeError: If a hypothesis has no reference, or one that is not a string.

    Example:
        >>> bleu_score(["il fait très froid ."], [["j ' ai froid .", "il fait très froid ."]])
        100.0
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses and {len(references)} references; expected as many"
        )
    streams = _reference_streams(references, normalizer or TextNormalizer())
    # force: both sides are tokenized on purpose (punctuation set apart).
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams, force=True).score)


def bleu_report(model: keras.Model, bundle) -> dict[str, float]:
    """The translator's test report: corpus BLEU of the test sentences, as MT scores it.

    The registry entry names it (``ModelSpec.test_report``); training adds its figures
    to the run's test metrics. The test split's English sentences never occur in
    training (the loader splits by English sentence), and each is scored against all
    its French translations.

    Args:
        model: A trained ``build_seq2seq`` model.
        bundle: The translation pairs' ``DataBundle``; its ``test_texts`` hold the
            English ``sources`` and, for each, the list of its French ``references``.

    Returns:
        ``bleu``: beam search (:data:`REPORT_BEAM_WIDTH`) against all references;
        ``bleu_single_reference``: the same translations against each sentence's
        first reference only; ``bleu_greedy``: greedy decoding against all references;
        ``bleu_sentences``: how many sentences were scored, and
        ``bleu_sentences_with_several_references``: how many of them have more than one.

    Raises:
        ValueError: If the bundle holds no test texts.

    Example:
        >>> bleu_report(model, bundle)  # doctest: +SKIP
        {'bleu': 21.4, 'bleu_single_reference': 16.0, 'bleu_greedy': 19.9, ...}
    """
    texts = bundle.test_texts
    if not texts:
        raise ValueError(
            f"bundle {bundle.name!r} holds no test_texts; expected the translation pairs' "
            "bundle (load_translation_pairs)"
        )
    sources, references = texts["sources"], texts["references"]
    first = [[group] if isinstance(group, str) else group[:1] for group in references]
    normalizer = get_translator(model, bundle.metadata).normalizer
    beam, greedy = (
        translate(model, list(sources), metadata=bundle.metadata, beam_width=width)
        for width in (REPORT_BEAM_WIDTH, 1)
    )
    return {
        "bleu": bleu_score(beam, references, normalizer=normalizer),
        "bleu_single_reference": bleu_score(beam, first, normalizer=normalizer),
        "bleu_greedy": bleu_score(greedy, references, normalizer=normalizer),
        "bleu_sentences": float(len(sources)),
        "bleu_sentences_with_several_references": float(
            sum(not isinstance(group, str) and len(group) > 1 for group in references)
        ),
    }
