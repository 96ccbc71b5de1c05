import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo import build_text_generator
from rnn_zoo.limits import (
    FLOAT32_MAX,
    MAX_GENERATED_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_STREAMS,
)
from rnn_zoo.models.text_generator.generation import CharGenerator, generate_text

VOCABULARY = list("abcdefgh ")


def randomized(model):
    """``model`` with every weight drawn at random, biases included (they start at 0)."""
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.fixture(scope="module", params=["lstm", "gru", "simple_rnn"])
def model(request):
    built = build_text_generator(
        vocab_size=len(VOCABULARY), embedding_dim=8, units=16, cell=request.param, num_layers=2
    )
    return randomized(built)


def other_generator(recurrent_layer):
    """Embedding → ``recurrent_layer`` → Dense, built outside build_text_generator."""
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(len(VOCABULARY), 8)(ids)
    logits = keras.layers.Dense(len(VOCABULARY))(recurrent_layer(x))
    return randomized(keras.Model(ids, logits))


@pytest.fixture(
    params=[
        keras.layers.GRU(16, reset_after=False, return_sequences=True),
        keras.layers.LSTM(16, activation="relu", use_bias=False, return_sequences=True),
        keras.layers.SimpleRNN(16, activation="sigmoid", return_sequences=True),
    ],
    ids=["gru_reset_before", "lstm_relu_no_bias", "simple_rnn_sigmoid"],
)
def other_model(request):
    return other_generator(request.param)


def assert_stepping_matches_the_full_model(model):
    generator = CharGenerator(model, VOCABULARY)
    stepped = generator.next_char_logits(tf.constant(["abcdh", "ba"])).numpy()
    full_long = model(np.array([[0, 1, 2, 3, 7]])).numpy()[0, -1]
    full_short = model(np.array([[1, 0]])).numpy()[0, -1]
    np.testing.assert_allclose(stepped[0], full_long, atol=1e-5)
    np.testing.assert_allclose(stepped[1], full_short, atol=1e-5)


def test_stepping_matches_the_full_model(model):
    assert_stepping_matches_the_full_model(model)


def test_stepping_matches_with_other_cell_settings(other_model):
    assert_stepping_matches_the_full_model(other_model)


def test_same_seed_same_text_and_prompt_is_kept(model):
    first = generate_text(model, "abc", num_chars=30, seed=5, vocabulary=VOCABULARY)
    again = generate_text(model, "abc", num_chars=30, seed=5, vocabulary=VOCABULARY)
    other = generate_text(model, "abc", num_chars=30, seed=6, vocabulary=VOCABULARY)
    assert first == again != other
    assert first.startswith("abc") and len(first) == 33
    assert set(first) <= set(VOCABULARY)


def test_batched_prompts_and_streams(model):
    texts = generate_text(model, ["a", "hhh "], num_chars=4, vocabulary=VOCABULARY)
    assert [len(t) for t in texts] == [5, 8]
    streams = generate_text(model, "ab", num_chars=20, num_streams=4, seed=1, vocabulary=VOCABULARY)
    assert len(streams) == 4 and len(set(streams)) > 1


def test_top_k_one_is_greedy(model):
    generator = CharGenerator(model, VOCABULARY)
    text = generate_text(model, "ab", num_chars=1, top_k=1, seed=3, vocabulary=VOCABULARY)
    greedy = VOCABULARY[int(np.argmax(generator.next_char_logits(tf.constant(["ab"]))[0]))]
    assert text == "ab" + greedy


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"prompt": "xyz"}, ValueError, r"outside the vocabulary: \['x', 'y', 'z'\]"),
        ({"prompt": ""}, ValueError, "prompt='' is empty"),
        ({"temperature": 0}, ValueError, "temperature=0"),
        ({"temperature": -1.0}, ValueError, "temperature=-1.0"),
        # Positive, but 0 in float32.
        ({"temperature": 1e-50}, ValueError, r"temperature=1e-50 .*\[1e-06, inf\)"),
        ({"num_chars": 0}, ValueError, "num_chars=0"),
        ({"num_chars": 2.5}, TypeError, "num_chars=2.5"),
        ({"top_k": 100}, ValueError, "top_k=100"),
        ({"prompt": ["a", "b"], "num_streams": 2}, ValueError, "num_streams=2"),
        ({"prompt": 5}, TypeError, "prompt=5"),
        ({"vocabulary": None}, TypeError, "vocabulary=None"),
    ],
)
def test_bad_arguments_raise_before_work(model, kwargs, error, message):
    arguments = {"prompt": "ab", "vocabulary": VOCABULARY, **kwargs}
    with pytest.raises(error, match=message):
        generate_text(model, arguments.pop("prompt"), **arguments)


def test_vocabulary_must_match_the_model(model):
    with pytest.raises(ValueError, match="vocabulary has 3 characters but the model predicts 9"):
        CharGenerator(model, list("abc"))


def test_in_graph_generation_refuses_a_temperature_below_the_minimum(model):
    """The exported `generate` signature checks in the graph what generate_text checks first."""
    generator = CharGenerator(model, VOCABULARY)
    arguments = [tf.constant(["ab"]), tf.constant(3), tf.constant(1e-40), tf.constant(0)]
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature must be >= 1e-06"):
        generator.generate(*arguments, tf.constant(0))


# --- Sizes and ranges (issue 26): refused before the run directory is even looked at ---

MISSING_RUN = "/nonexistent/text_generator_run"
OVER_CAPS = [
    ({"num_chars": MAX_GENERATED_CHARS + 1}, "num_chars=100001", r"\[1, 100000\]"),
    ({"num_chars": 2_000_000_000}, "num_chars=2000000000", r"\[1, 100000\]"),
    ({"num_chars": 3_000_000_000}, "num_chars=3000000000", r"\[1, 100000\]"),  # past int32
    ({"num_chars": 10_000_000}, "num_chars=10000000", r"\[1, 100000\]"),
    ({"seed": 2**31}, "seed=2147483648", r"\[0, 2147483647\]"),
    ({"seed": 4_294_967_296}, "seed=4294967296", r"\[0, 2147483647\]"),  # was seed 0's text
    ({"seed": -1}, "seed=-1", r"\[0, 2147483647\]"),
    ({"top_k": 2**31}, "top_k=2147483648", r"\[1, 2147483647\]"),
    ({"num_streams": MAX_STREAMS + 1}, "num_streams=1025", r"\[1, 1024\]"),
    ({"num_streams": 10**9}, "num_streams=1000000000", r"\[1, 1024\]"),
    ({"temperature": float("inf")}, "temperature=inf", r"\[1e-06, inf\)"),
    ({"temperature": float("nan")}, "temperature=nan", "nan excluded"),
    ({"temperature": 1e39}, "temperature=1e+39", r"3.4028234663852886e\+38 in magnitude"),
    ({"temperature": 10**400}, "temperature=<an integer of about 401 digits>", "inf"),
    ({"prompt": "a" * (MAX_PROMPT_CHARS + 1)}, "prompt 'aaaa", "at most 100000"),
    ({"prompt": ["a"] * (MAX_STREAMS + 1)}, "list of 1025 prompts", "at most 1024"),
    ({"num_streams": MAX_STREAMS, "num_chars": 1000}, "num_chars=1000 for 1024 rows", "1000000"),
    ({"prompt": "a" * 90_000, "num_streams": 12}, "90000-character prompt", "1000000"),
]


@pytest.mark.parametrize(
    "kwargs, named, accepted", OVER_CAPS, ids=[str(i) for i in range(len(OVER_CAPS))]
)
def test_sizes_over_the_caps_are_refused_before_loading(kwargs, named, accepted, tmp_path):
    arguments = {"prompt": "ab", **kwargs}
    with pytest.raises(ValueError) as error:  # not FileNotFoundError: checked before loading
        generate_text(tmp_path / "run", arguments.pop("prompt"), **arguments)
    message = str(error.value)
    assert named in message and re.search(accepted, message), message
    assert len(message) < 400 and "\n" not in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_chars": MAX_GENERATED_CHARS},
        {"seed": MAX_SEED},
        {"num_streams": MAX_STREAMS, "num_chars": 900},
        {"prompt": "a" * MAX_PROMPT_CHARS, "num_chars": MAX_GENERATED_CHARS},
        {"temperature": FLOAT32_MAX},
    ],
    ids=["num_chars", "seed", "num_streams", "prompt", "temperature"],
)
def test_sizes_at_the_caps_pass_the_checks(kwargs):
    """At a cap the checks pass, and it is the missing run directory that stops the call."""
    arguments = {"prompt": "ab", **kwargs}
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        generate_text(MISSING_RUN, arguments.pop("prompt"), **arguments)


def test_the_largest_seed_samples_its_own_text(model):
    """No wrap: 2**31 - 1 is its own seed, not seed 0 or -1 in disguise."""
    texts = {
        seed: generate_text(model, "ab", num_chars=40, seed=seed, vocabulary=VOCABULARY)
        for seed in (0, 1, MAX_SEED)
    }
    assert texts[MAX_SEED] == generate_text(
        model, "ab", num_chars=40, seed=MAX_SEED, vocabulary=VOCABULARY
    )
    assert len(set(texts.values())) == 3
