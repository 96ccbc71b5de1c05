"""The character generator's signatures against ``generate_text`` and the model."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_export import call_in_clean_process

from rnn_zoo.export import load_serving_module
from rnn_zoo.limits import MAX_GENERATED_CHARS
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


def test_the_saved_model_refuses_num_chars_over_the_cap_without_aborting(served, tmp_path):
    module, export = served("text_generator")
    arguments = {**module.example_inputs(), "num_chars": np.int32(2_000_000_000)}
    with pytest.raises(subprocess.CalledProcessError) as caught:
        call_in_clean_process(export, "generate", arguments, tmp_path / "call")
    assert caught.value.returncode == 1, "the process must raise, not abort (bad_alloc)"
    stderr = caught.value.stderr.decode()
    assert "InvalidArgumentError" in stderr
    assert (
        f"num_chars=2000000000 is over the cap MAX_GENERATED_CHARS={MAX_GENERATED_CHARS}" in stderr
    )
    assert not list((tmp_path / "call").glob("out_*.npy"))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(num_chars=st.integers(MAX_GENERATED_CHARS + 1, 2**31 - 1))
def test_generate_refuses_any_num_chars_over_the_cap(trained_run, num_chars):
    module, _ = load_generator(trained_run)
    arguments = {**module.example_inputs(), "num_chars": np.int32(num_chars)}
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        module.generate(**arguments)
    message = str(caught.value)
    assert (
        f"num_chars={num_chars} is over the cap MAX_GENERATED_CHARS={MAX_GENERATED_CHARS}"
        in message
    )
    assert f"expected 1 to {MAX_GENERATED_CHARS}" in message


def test_next_char_logits_of_an_empty_batch_is_empty(trained_run):
    module, vocabulary = load_generator(trained_run)
    logits = module.next_char_logits(prompts=tf.constant([], tf.string))["logits"]
    assert logits.shape == (0, len(vocabulary))


def load_generator(trained_run):
    result = trained_run("text_generator")
    vocabulary = json.loads((result.run_dir / "data.json").read_text())["metadata"]["vocabulary"]
    return load_serving_module(result.run_dir)[0], vocabulary


def test_next_char_logits_refuse_a_prompt_over_the_cap_in_the_graph(trained_run):
    from rnn_zoo.limits import MAX_PROMPT_CHARS

    module, _ = load_serving_module(trained_run("text_generator").run_dir)
    too_long = tf.constant(["a" * (MAX_PROMPT_CHARS + 1)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="a prompt of 100001 characters"):
        module.next_char_logits(prompts=too_long)
    assert module.next_char_logits(prompts=tf.constant(["a" * 50]))["logits"].shape[0] == 1


def test_next_char_logits_refuse_more_prompts_than_the_cap_in_the_graph(trained_run):
    from rnn_zoo.limits import MAX_STREAMS

    module, _ = load_serving_module(trained_run("text_generator").run_dir)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{MAX_STREAMS + 1} prompts"):
        module.next_char_logits(prompts=tf.constant(["a"] * (MAX_STREAMS + 1)))
