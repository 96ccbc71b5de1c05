"""The registry entry of the English→French translator: dataset, recipe, results.

Kept apart from ``model`` so that listing the zoo imports neither Keras nor TensorFlow:
the factory is named by a ``"module:attribute"`` reference, resolved on first use.
"""

from __future__ import annotations

from rnn_zoo.blocks.cell_names import CELL_NAMES
from rnn_zoo.registry import ModelSpec, PlainTwin, Recipe, register

SPEC = register(
    ModelSpec(
        name="seq2seq",
        factory="rnn_zoo.models.translator.model:build_seq2seq",
        task="translation",
        dataset="translation_pairs",
        loader="rnn_zoo.data.translation:load_translation_pairs",
        serving="rnn_zoo.models.translator.serving:TranslatorServing",
        head="logits",
        read_inputs="rnn_zoo.serving:read_texts",
        verbs={"translate": "rnn_zoo.models.translator.decoding:translate"},
        choices={"cell": CELL_NAMES},
        test_report="rnn_zoo.models.translator.decoding:bleu_report",
        plain_twin=PlainTwin("rnn_zoo.models.translator.twin:build_plain_seq2seq"),
        description="GRU encoder-decoder with additive attention, English to French (Tatoeba)",
        recipe=Recipe(
            optimizer="adam",
            learning_rate=1e-3,
            loss={
                "class_name": "SparseCategoricalCrossentropy",
                "config": {"from_logits": True, "ignore_class": 0},
            },
            metrics=({"class_name": "rnn_zoo>MaskedAccuracy", "config": {}},),
            epochs=4,
            batch_size=128,
            monitor="val_loss",
        ),
        # BENCHMARKS.md, Translation: benchmarks/translation.py (default recipe and data,
        # seeds 0-2, each its own split), corpus BLEU on the first 1,000 test pairs,
        # mean and std; attention=False: 7.32 ± 0.17 greedy, 7.81 ± 0.43 beam 4.
        parameters=2_060_936,
        anchor="the same recipe without attention, trained beside it (benchmarks/translation.py)",
        results={
            "test_bleu_greedy": 10.50,
            "test_bleu_greedy_std": 0.78,
            "test_bleu_beam4": 11.72,
            "test_bleu_beam4_std": 1.10,
            "seeds": 3,
        },
    )
)
