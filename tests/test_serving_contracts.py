"""The serving contract, the same for every registered family and its exported SavedModel.

Every family builds its signatures with ``ServingModule.signature``: an empty batch gives
empty outputs, a wrong shape is refused at the signature (``EnsureShape`` on each input,
before any preprocessing), and a row gets the same answer at any batch size; the
classifier's compiled model call sees bucket batch sizes only (``call_in_buckets``).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_export import call_in_clean_process

from rnn_zoo import list_models
from rnn_zoo.serving import BATCH_BUCKETS, ServingModule, call_in_buckets, graph_check, pad_rows

FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def main_specs(module: ServingModule) -> dict[str, tf.TensorSpec]:
    """The main signature's arguments, name → spec."""
    return signature_specs(module.signatures()[module.signature_name])


def signature_specs(function) -> dict[str, tf.TensorSpec]:
    """A concrete function's arguments, name → spec (the names its specs carry)."""
    return {spec.name: spec for spec in tf.nest.flatten(function.structured_input_signature)}


def is_batched(spec: tf.TensorSpec) -> bool:
    return bool(spec.shape.rank) and spec.shape[0] is None


def empty_batch(module: ServingModule) -> dict[str, np.ndarray]:
    """The example's batched arguments cut to 0 rows; scalars as they are."""
    specs = main_specs(module)
    return {
        name: value[:0] if is_batched(specs[name]) else value
        for name, value in module.example_inputs().items()
    }


def declared(spec: tf.TensorSpec) -> str:
    """A spec's shape as EnsureShape writes it: ``[?,28,28]``, ``[]``."""
    return "[" + ",".join("?" if dim is None else str(dim) for dim in spec.shape.as_list()) + "]"


def shown(shape) -> str:
    return "[" + ",".join(str(dim) for dim in shape) + "]"


def filled(shape, spec: tf.TensorSpec) -> np.ndarray:
    """An array of ``shape`` with values the spec's dtype takes."""
    if spec.dtype == tf.string:
        return np.full(shape, "a", dtype=object)
    return np.zeros(shape, spec.dtype.as_numpy_dtype)


def refusal(call) -> subprocess.CalledProcessError:
    """Runs a fresh-process call that must fail with a Python exception (not an abort)."""
    with pytest.raises(subprocess.CalledProcessError) as caught:
        call()
    assert caught.value.returncode == 1, "the process must raise, not abort"
    return caught.value


@pytest.mark.parametrize("name", list_models())
def test_an_empty_batch_gives_empty_outputs_in_another_process(name, served, tmp_path):
    module, export = served(name)
    inputs = empty_batch(module)
    expected = module.signatures()[module.signature_name](**inputs)
    outputs = call_in_clean_process(export, module.signature_name, inputs, tmp_path / "call")
    assert set(outputs) == set(expected)
    batched = any(is_batched(spec) for spec in main_specs(module).values())
    for key, value in expected.items():
        assert outputs[key].shape == tuple(value.shape), key
        if batched:
            assert outputs[key].shape[0] == 0, key
        else:  # a signature without a batch (generate) answers its scalars as usual
            assert outputs[key].size == 1, key


@pytest.mark.parametrize("name", list_models())
def test_a_wrong_shape_is_refused_by_the_signature_in_another_process(name, served, tmp_path):
    module, export = served(name)
    argument, spec = next(iter(main_specs(module).items()))
    inputs = module.example_inputs()
    wrong = np.expand_dims(inputs[argument], -1)  # one axis too many
    failed = refusal(
        lambda: call_in_clean_process(
            export, module.signature_name, {**inputs, argument: wrong}, tmp_path / "call"
        )
    )
    stderr = failed.stderr.decode()
    assert "InvalidArgumentError" in stderr
    assert f"Shape of tensor {argument} {shown(wrong.shape)}" in stderr
    assert f"expected shape {declared(spec)}" in stderr
    assert not list(tmp_path.glob("call/out_*.npy"))


@pytest.mark.parametrize("name", list_models())
@FUZZ
@given(data=st.data())
def test_any_wrong_shape_is_refused_before_the_graph_runs(name, served, loaded, data):
    module, _ = served(name)
    signature = loaded(name).signatures[module.signature_name]
    specs = main_specs(module)
    argument = data.draw(st.sampled_from(sorted(specs)))
    spec = specs[argument]
    near = sorted({0, 1, 2, *(d + k for d in spec.shape.as_list() if d for k in (-1, 0, 1))})
    shape = data.draw(
        st.lists(st.sampled_from(near), max_size=4).filter(
            lambda dims: not tf.TensorShape(dims).is_compatible_with(spec.shape)
        )
    )
    inputs = {**module.example_inputs(), argument: filled(shape, spec)}
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        signature(**{key: tf.constant(value) for key, value in inputs.items()})
    message = str(caught.value)
    assert f"Shape of tensor {argument} {shown(shape)}" in message
    assert f"expected shape {declared(spec)}" in message


@pytest.mark.parametrize("name", list_models())
def test_every_signature_declares_its_non_batch_dimensions(name, served):
    module, _ = served(name)
    for signature_name, function in module.signatures().items():
        for spec in signature_specs(function).values():
            assert all(dim is not None for dim in spec.shape[1:]), (signature_name, spec)
    for argument, value in module.example_inputs().items():
        assert main_specs(module)[argument].shape.is_compatible_with(np.shape(value)), argument


@pytest.mark.parametrize("name", list_models())
def test_a_row_gets_the_same_answer_at_any_batch_size(name, served):
    module, _ = served(name)
    signature = module.signatures()[module.signature_name]
    specs = main_specs(module)
    inputs = module.example_inputs()
    whole = module.per_example(signature(**inputs))
    if not any(is_batched(spec) for spec in specs.values()):  # one answer, the same again
        assert module.per_example(signature(**inputs)) == whole
        return
    rows = len(whole)
    alone = [
        module.per_example(
            signature(**{k: v[i : i + 1] if is_batched(specs[k]) else v for k, v in inputs.items()})
        )[0]
        for i in range(rows)
    ]
    tiled = module.per_example(
        signature(
            **{k: np.concatenate([v] * 3) if is_batched(specs[k]) else v for k, v in inputs.items()}
        )
    )
    for index, example in enumerate(alone + tiled):
        expected = whole[index % rows]
        assert example.keys() == expected.keys()
        for key, value in expected.items():
            if isinstance(value, (float, list)) and np.asarray(value).dtype.kind == "f":
                np.testing.assert_allclose(example[key], value, rtol=1e-4, atol=1e-5)
            else:
                assert example[key] == value, (index, key)


# The shared mechanism, on toy functions.


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(min_value=1, max_value=3 * BATCH_BUCKETS[-1] + 5))
def test_call_in_buckets_equals_one_call_and_sees_bucket_sizes_only(rows):
    seen = []

    def function(batch):
        seen.append(int(batch.shape[0]))
        return batch * 2.0 + 1.0

    batch = tf.reshape(tf.range(rows * 3, dtype=tf.float32), [rows, 3])
    result = call_in_buckets(function, batch)
    np.testing.assert_array_equal(result.numpy(), batch.numpy() * 2.0 + 1.0)
    assert set(seen) <= set(BATCH_BUCKETS), seen


def _row_sums(chunk):
    return tf.reduce_sum(chunk, axis=1, keepdims=True)


@tf.function(input_signature=[tf.TensorSpec([None, 2], tf.int32)])
def _bucketed_row_sums(batch):
    return call_in_buckets(_row_sums, batch, buckets=(1, 2, 4))


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(min_value=1, max_value=20))
def test_call_in_buckets_in_a_graph_with_custom_buckets(rows):
    batch = np.arange(rows * 2, dtype=np.int32).reshape(rows, 2)
    np.testing.assert_array_equal(_bucketed_row_sums(batch).numpy(), batch.sum(1, keepdims=True))


def test_pad_rows_repeats_the_filler_and_keeps_a_full_batch():
    padded = pad_rows(tf.constant([[1, 2]]), 3, tf.constant([[7, 8]]))
    assert padded.numpy().tolist() == [[1, 2], [7, 8], [7, 8]]
    assert pad_rows(tf.constant([[1, 2]]), 1, tf.constant([[7, 8]])).numpy().tolist() == [[1, 2]]


def test_graph_check_names_the_values_in_full():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"n=\[1 2 3 4 5\] is over the cap 3"):
        graph_check(tf.constant(False), "n={} is over the cap 3", tf.constant([1, 2, 3, 4, 5]))


class FirstRowModule(ServingModule):
    """A family whose function breaks on an empty batch (it reads row 0), as the tagger did."""

    heads = ("values",)

    def __init__(self):
        super().__init__(keras_identity(), {}, head="values")
        self.serving_default = self.signature(
            lambda x, y: {"total": x + y + x[0]},
            {"x": tf.TensorSpec([None, 2], tf.float32), "y": tf.TensorSpec([None, 2], tf.float32)},
        )

    def example_inputs(self):
        return {"x": np.ones((2, 2), "float32"), "y": np.ones((2, 2), "float32")}


def keras_identity():
    import keras

    inputs = keras.Input((2,))
    return keras.Model(inputs, inputs)


def test_signature_serves_an_empty_batch_of_a_function_that_needs_a_row():
    module = FirstRowModule()
    empty = np.zeros((0, 2), "float32")
    assert module.serving_default(x=empty, y=empty)["total"].shape == (0, 2)
    full = np.arange(4, dtype="float32").reshape(2, 2)
    np.testing.assert_array_equal(
        module.serving_default(full, full)["total"].numpy(), full + full + full[0]
    )


def test_signature_refuses_batched_arguments_of_different_rows():
    module = FirstRowModule()
    with pytest.raises(tf.errors.InvalidArgumentError, match="y has 3 rows but x has 2"):
        module.serving_default(x=np.ones((2, 2), "float32"), y=np.ones((3, 2), "float32"))


def test_in_process_a_wrong_shape_is_refused_when_bound():
    module = FirstRowModule()
    with pytest.raises(TypeError, match=r"TensorSpec\(shape=\(None, 2\)"):
        module.serving_default(x=np.ones((2, 3), "float32"), y=np.ones((2, 3), "float32"))
