"""The registry entry of the Fashion-MNIST Dense baseline: dataset, recipe, results.

Kept apart from ``model`` so that listing the zoo imports neither Keras nor TensorFlow:
the factory is named by a ``"module:attribute"`` reference, resolved on first use.
"""

from __future__ import annotations

from rnn_zoo.recipe import Recipe
from rnn_zoo.registry import ModelSpec, PlainTwin, register

SPEC = register(
    ModelSpec(
        name="baseline",
        factory="rnn_zoo.models.baseline.model:build_baseline",
        task="image_classification",
        dataset="fashion_mnist",
        loader="rnn_zoo.data.fashion_mnist:load_fashion_mnist",
        serving="rnn_zoo.models.baseline.serving:ImageClassifierServing",
        conversion="rnn_zoo.models.baseline.conversion:ImageClassifierConversion",
        head="logits",
        read_inputs="rnn_zoo.models.baseline.serving:read_images",
        plain_twin=PlainTwin("rnn_zoo.models.baseline.twin:build_plain_baseline"),
        description="Flatten/Dense classifier on Fashion-MNIST (TensorFlow basic classification)",
        recipe=Recipe(
            optimizer="adam",
            learning_rate=2e-3,
            loss={"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
            metrics=("accuracy",),
            epochs=10,
            batch_size=32,
            monitor="val_accuracy",
            schedule="cosine",
        ),
        # BENCHMARKS.md: `rnn-zoo train baseline --seed S`, S = 0, 1, 2, on the test split.
        parameters=101_770,
        anchor="TensorFlow basic classification tutorial: ~0.88 test accuracy",
        results={"test_accuracy": 0.8866, "test_accuracy_std": 0.0010, "seeds": 3},
    )
)
