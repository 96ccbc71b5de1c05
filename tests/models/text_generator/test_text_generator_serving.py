"""The character generator's signatures against ``generate_text`` and the model."""

from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

from rnn_zoo.export import load_serving_module
from rnn_zoo.models.text_generator.generation import CharGenerator, generate_text


def test_generate_equals_generate_text(trained_run):
    result = trained_run("text_generator")
    vocabulary = json.loads((result.run_dir / "data.json").read_text())["metadata"]["vocabulary"]
    module, _ = load_serving_module(result.run_dir)
    arguments = module.example_inputs()
    served = module.generate(**arguments)["text"].numpy().decode()
    expected = generate_text(
        result.model,
        str(arguments["prompt"]),
        num_chars=int(arguments["num_chars"]),
        temperature=float(arguments["temperature"]),
        seed=int(arguments["seed"]),
        vocabulary=vocabulary,
    )
    assert served == expected


def test_next_char_logits_match_the_model(trained_run):
    result = trained_run("text_generator")
    vocabulary = json.loads((result.run_dir / "data.json").read_text())["metadata"]["vocabulary"]
    module, _ = load_serving_module(result.run_dir)
    prompts = tf.constant(["To be", "or"])
    served = module.next_char_logits(prompts=prompts)["logits"]
    generator = CharGenerator(result.model, vocabulary)  # kept: its tf.function holds it weakly
    expected = generator.next_char_logits(prompts)
    np.testing.assert_allclose(served.numpy(), expected.numpy(), atol=1e-5)
