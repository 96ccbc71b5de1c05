"""Property-based bad input for every public factory: clear errors, never deep TF ones."""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import re
import tempfile
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_zoo import get_model, get_spec, list_models
from rnn_zoo.cli import main
from rnn_zoo.export import export_saved_model
from rnn_zoo.limits import INT32_MAX
from rnn_zoo.models.text_generator.generation import generate_text
from rnn_zoo.training import train

# Values of the wrong type or range for any factory argument.
BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(max_value=0),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not float(v).is_integer()),
    st.text(max_size=5),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def accepts(spec, argument, value) -> bool:
    """Whether a drawn value happens to be valid for the argument (then skip it)."""
    default = spec.factory_arguments()[argument]
    if isinstance(default, bool):
        return isinstance(value, bool)
    if argument == "input_shape":
        return isinstance(value, list) and len(value) == 2 and all(v >= 1 for v in value)
    if argument in spec.choices:
        return isinstance(value, str) and value in spec.choices[argument]
    if argument == "char_widths":  # distinct integers from 1
        return (
            isinstance(value, list)
            and bool(value)
            and min(value) >= 1
            and len(set(value)) == len(value)
        )
    if argument == "residual_feature":
        return value is None
    if argument == "name":
        return isinstance(value, str) and bool(value.strip())
    if argument.endswith("dropout"):  # dropout, recurrent_dropout, word_dropout: rates
        return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value < 1
    return False


@pytest.mark.parametrize("name", list_models())
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_factories_refuse_bad_values_with_the_argument_named(name, data, layers_built):
    spec = get_spec(name)
    argument = data.draw(st.sampled_from(sorted(spec.factory_arguments())))
    value = data.draw(BAD_VALUES)
    if accepts(spec, argument, value):
        return
    with layers_built() as built, pytest.raises((ValueError, TypeError)) as error:
        spec.build(**{argument: value})
    assert f"{argument}=" in str(error.value), str(error.value)
    assert built == []


def test_every_factory_argument_is_documented():
    for name in list_models():
        factory = get_spec(name).get_factory()
        doc = inspect.getdoc(factory)
        for argument in get_spec(name).factory_arguments():
            assert f"{argument}:" in doc, f"{factory.__name__} does not document {argument}"


# Everything past the factories: a drawn bad value either is refused with an error that
# names its argument, before any file is read, or passes validation and the call then
# reports the missing data or run directory it was pointed at. Anything else (a deep
# TensorFlow error, a hang, a file written) fails.
MISSING = "/nonexistent/rnn_zoo_fuzz"
FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def refused_naming(call, argument: str) -> bool:
    """Calls with one drawn value: True when refused naming ``argument``, False if accepted."""
    try:
        call()
    except FileNotFoundError:  # validation passed; the missing path is what stops it
        return False
    except (ValueError, TypeError) as error:
        assert argument in str(error), f"{argument}: {error}"
        return True
    raise AssertionError(f"{argument}: the call neither refused the value nor reached a file")


def keyword_arguments(function, *excluded: str) -> list[str]:
    parameters = inspect.signature(function).parameters.values()
    return sorted(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in excluded)


LOADERS = {get_spec(name).get_loader() for name in list_models()}


@pytest.mark.parametrize(
    "loader", sorted(LOADERS, key=lambda f: f.__name__), ids=lambda loader: loader.__name__
)
@FUZZ_SETTINGS
@given(data=st.data())
def test_loaders_refuse_bad_values_before_reading(loader, data):
    argument = data.draw(st.sampled_from(keyword_arguments(loader)))
    value = data.draw(BAD_VALUES)
    refused_naming(lambda: loader(MISSING, **{argument: value}), argument)


TRAIN_ARGUMENTS = keyword_arguments(train, "output_dir", "data_dir")


@FUZZ_SETTINGS
@given(data=st.data())
def test_train_refuses_bad_values_before_loading_or_writing(data, tmp_path):
    argument = data.draw(st.sampled_from(TRAIN_ARGUMENTS))
    value = data.draw(BAD_VALUES)
    output = tmp_path / "runs"
    call = partial(train, "lstm", data_dir=MISSING, output_dir=output, **{argument: value})
    refused_naming(call, argument)
    assert not output.exists(), f"{argument}={value!r} wrote {list(output.rglob('*'))}"


@pytest.fixture(scope="module")
def tiny_generator():
    vocabulary = [chr(c) for c in range(32, 97)]
    return get_model("text_generator", vocab_size=len(vocabulary), units=8), vocabulary


@FUZZ_SETTINGS
@given(data=st.data())
def test_generate_text_refuses_bad_values_before_generating(data, tiny_generator):
    model, vocabulary = tiny_generator
    arguments = keyword_arguments(generate_text, "vocabulary", "safe_mode") + ["prompt"]
    argument = data.draw(st.sampled_from(arguments))
    value = data.draw(BAD_VALUES)
    call = {"prompt": "ABC", "vocabulary": vocabulary, argument: value}
    prompt = call.pop("prompt")
    try:
        generate_text(model, prompt, **{"num_chars": 5, **call})
    except (ValueError, TypeError) as error:
        assert argument in str(error), str(error)
    # else: a valid draw (seed=0, a positive temperature, top_k=None) generated text


@FUZZ_SETTINGS
@given(data=st.data())
def test_export_refuses_bad_values_and_writes_nothing(data, tmp_path):
    model = get_model("lstm", units=4)
    metadata = {"mean": [0.0], "std": [1.0], "target_index": 0, "input_width": 10}
    argument = data.draw(st.sampled_from(["task", "version", "metadata", "model_or_run_dir"]))
    value = data.draw(BAD_VALUES)
    call = {"model_or_run_dir": model, "metadata": metadata, "task": "forecasting"}
    call[argument] = value
    if argument == "version" and value is None:
        return  # None is the default: the next free version
    source = call.pop("model_or_run_dir")
    refused_naming(lambda: export_saved_model(source, tmp_path / "out", **call), argument)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# Every command-line flag that takes a value, with values argparse or rnn_zoo must refuse.
CLI_FLAGS = {
    "train": [
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--seed",
        "--steps-per-epoch",
        "--device",
        "--precision",
        "--strategy",
        "--set",
        "--fraction",
        "--early-stopping",
    ],
    "generate": ["--length", "--temperature", "--top-k", "--seed", "--num-streams"],
}
# The Python argument a flag sets, which a refusal names when the value reaches the API.
FLAG_ARGUMENTS = {"--length": "num_chars", "--set": "model_options", "--top-k": "top_k"}
CLI_BAD_TEXT = st.one_of(
    st.sampled_from(["", "-1", "0", "nan", "inf", "1e9999", "abc", "=", "x=", "1.5"]),
    st.text(alphabet="-=.,:x0123456789 ", min_size=1, max_size=6),
)


@pytest.mark.parametrize("command", sorted(CLI_FLAGS))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_cli_flags_with_bad_values_exit_2_with_one_line(command, data):
    flag = data.draw(st.sampled_from(CLI_FLAGS[command]))
    value = data.draw(CLI_BAD_TEXT)
    target = ["lstm", "--data-dir", MISSING] if command == "train" else [MISSING, "--prompt", "A"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([command, *target, flag, value])
        except SystemExit as exit_:  # argparse's own refusal
            code = exit_.code
    lines = stderr.getvalue().strip().splitlines()
    if code == 1:  # the value was valid; the missing data or run directory stopped it
        assert MISSING in stderr.getvalue(), stderr.getvalue()
        return
    assert code == 2, stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()
    named = (flag, flag.strip("-").replace("-", "_"), FLAG_ARGUMENTS.get(flag, flag))
    assert lines and any(name in lines[-1] for name in named), lines


# Issue 26: every integer that reaches an int32 tensor or a seed, and every float that
# reaches a float32 one, is refused past that type's range with a message stating the
# range, before any file is read or written; and the range stated is the range enforced.
PAST_INT32 = st.one_of(
    st.integers(min_value=INT32_MAX + 1, max_value=2**64),
    st.sampled_from([2**31, 2**32, 2**63, 10**20, 99999999999999999999]),
)
NOT_FLOAT32 = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan, 1e39, 10**39]),
    st.floats(min_value=3.5e38, allow_infinity=True),
)


def refused_before_reading(call, argument: str, value) -> str:
    """The ValueError message of a call refused for ``argument=value``, before any file."""
    with pytest.raises(ValueError) as error:  # FileNotFoundError would mean it went on
        call()
    message = str(error.value)
    assert f"{argument}=" in message and (repr(value) in message or "digits" in message), message
    return message


@pytest.mark.parametrize("argument", ["num_chars", "seed", "top_k", "num_streams"])
@FUZZ_SETTINGS
@given(value=PAST_INT32)
def test_generate_text_refuses_integers_past_int32(argument, value):
    call = partial(generate_text, MISSING, "ABC", **{argument: value})
    message = refused_before_reading(call, argument, value)
    assert re.search(r"\[[01], (2147483647|100000|1024)\]", message), message


@pytest.mark.parametrize(
    "argument", ["epochs", "batch_size", "seed", "early_stopping_patience", "steps_per_epoch"]
)
@FUZZ_SETTINGS
@given(value=PAST_INT32)
def test_train_refuses_integers_past_int32_before_loading(argument, value, tmp_path):
    output = tmp_path / "runs"
    call = partial(train, "lstm", data_dir=MISSING, output_dir=output, **{argument: value})
    assert ", 2147483647]" in refused_before_reading(call, argument, value)
    assert not output.exists()


@pytest.mark.parametrize("argument", ["learning_rate", "temperature"])
@FUZZ_SETTINGS
@given(value=NOT_FLOAT32)
def test_floats_float32_cannot_hold_are_refused(argument, value, tmp_path):
    output = tmp_path / "runs"
    if argument == "learning_rate":
        call = partial(train, "lstm", data_dir=MISSING, output_dir=output, learning_rate=value)
    else:
        call = partial(generate_text, MISSING, "ABC", temperature=value)
    assert "float32" in refused_before_reading(call, argument, value)
    assert not output.exists()


@FUZZ_SETTINGS
@given(value=PAST_INT32)
def test_export_refuses_a_version_past_int32_and_writes_nothing(value, tmp_path):
    model = get_model("lstm", units=4)
    metadata = {"mean": [0.0], "std": [1.0], "target_index": 0, "input_width": 10}
    call = partial(
        export_saved_model, model, tmp_path / "out", metadata=metadata, task="forecasting"
    )
    refused_before_reading(partial(call, version=value), "version", value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def run_cli(argv) -> tuple[int, list[str]]:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own refusal
            code = exit_.code
    return code, stderr.getvalue().strip().splitlines()


# Integer flags, the Python argument each sets, and the command line around them.
INT_FLAGS = [
    ("train", "--epochs", "epochs"),
    ("train", "--batch-size", "batch_size"),
    ("train", "--seed", "seed"),
    ("train", "--steps-per-epoch", "steps_per_epoch"),
    ("train", "--early-stopping", "early_stopping_patience"),
    ("generate", "--length", "num_chars"),
    ("generate", "--seed", "seed"),
    ("generate", "--top-k", "top_k"),
    ("generate", "--num-streams", "num_streams"),
]


def cli_target(command, tmp_path):
    if command == "train":
        return ["lstm", "--data-dir", MISSING, "--output-dir", str(tmp_path / "runs")]
    return [MISSING, "--prompt", "A"]


@pytest.mark.parametrize("command, flag, argument", INT_FLAGS, ids=lambda v: str(v).strip("-"))
@settings(max_examples=15, deadline=None)
@given(value=PAST_INT32)
def test_cli_integer_flags_past_their_range_exit_2_naming_it(command, flag, argument, value):
    with tempfile.TemporaryDirectory() as folder:
        code, lines = run_cli([command, *cli_target(command, Path(folder)), flag, str(value)])
        assert code == 2 and len(lines) == 1, lines
        assert f"{argument}={value}" in lines[0] and "expected an integer in [" in lines[0]
        assert not (Path(folder) / "runs").exists()


@pytest.mark.parametrize("command, flag, argument", INT_FLAGS, ids=lambda v: str(v).strip("-"))
def test_cli_stated_range_is_the_enforced_range(command, flag, argument, tmp_path):
    """The bounds a refusal states: the top one passes the checks, one more is refused."""
    target = cli_target(command, tmp_path)
    _, lines = run_cli([command, *target, flag, str(2**40)])
    low, high = map(int, re.search(r"expected an integer in \[(\d+), (\d+)\]", lines[0]).groups())
    for edge in (low, high):  # valid: the missing data or run directory stops the call
        code, lines = run_cli([command, *target, flag, str(edge)])
        assert code == 1 and MISSING in lines[-1], (edge, lines)
    for outside in (low - 1, high + 1):
        code, lines = run_cli([command, *target, flag, str(outside)])
        assert code == 2 and len(lines) == 1 and f"{argument}={outside} " in lines[0], lines
    assert not (tmp_path / "runs").exists()


def test_argparse_refusals_are_one_line_too():
    code, lines = run_cli(["generate", MISSING, "--prompt", "A", "--length", "1e9"])
    assert code == 2 and len(lines) == 1, lines
    assert "--length: invalid int value: '1e9'" in lines[0] and "--help" in lines[0]
