"""The registry entry of the tiny-Shakespeare character generator: dataset, recipe, results.

Kept apart from ``model`` so that listing the zoo imports neither Keras nor TensorFlow:
the factory is named by a ``"module:attribute"`` reference, resolved on first use.
"""

from __future__ import annotations

from rnn_zoo.blocks.cell_names import CELL_NAMES
from rnn_zoo.registry import ModelSpec, PlainTwin, Recipe, register

SPEC = register(
    ModelSpec(
        name="text_generator",
        factory="rnn_zoo.models.text_generator.model:build_text_generator",
        task="text_generation",
        dataset="text_corpus",
        loader="rnn_zoo.data.text_corpus:load_text_corpus",
        serving="rnn_zoo.models.text_generator.serving:TextGeneratorServing",
        conversion="rnn_zoo.models.text_generator.conversion:TextGeneratorConversion",
        head="logits",
        verbs={"generate": "rnn_zoo.models.text_generator.generation:generate_text"},
        choices={"cell": CELL_NAMES},
        plain_twin=PlainTwin("rnn_zoo.models.text_generator.twin:build_plain_text_generator"),
        description="Character LSTM on tiny Shakespeare (TensorFlow text generation)",
        recipe=Recipe(
            optimizer="adam",
            # Validation loss 1.59-1.61 nats/char after 3 of the 6 epochs, 1.50-1.53
            # after 6 (BENCHMARKS.md, 3 seeds); the tutorial's constant 1e-3 for 20
            # epochs is a GPU recipe.
            learning_rate=2e-3,
            loss={"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
            metrics=(),
            epochs=6,
            batch_size=64,
            monitor="val_loss",
            schedule="cosine",
        ),
        # BENCHMARKS.md "Quality": nats per character after the recipe's 6 epochs, on
        # the validation text and on the held-out test text (the corpus' last 10%),
        # means over seeds 0-2 (benchmarks/results/quality_text_generator.json).
        parameters=5_330_241,
        anchor="TensorFlow text-generation tutorial / char-rnn: validation loss per char",
        results={
            "validation_loss": 1.516,
            "validation_loss_std": 0.009,
            "test_loss": 1.684,
            "test_loss_std": 0.009,
            "seeds": 3,
        },
    )
)
