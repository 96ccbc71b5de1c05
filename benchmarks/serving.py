"""Single-example latency: the exported SavedModel against ``model.predict``.

For every registered model (``list_models()``), in one process: a run directory is
written through the public API without real training (``train(name, epochs=1,
steps_per_epoch=1, data_options={"fraction": 0.02}, ...)``: speed does not depend on
the weights), exported with ``export_saved_model`` and loaded back with
``tf.saved_model.load``. Everything family-specific comes from the registry entry and
the family's serving module (built in process by ``build_serving_module``, as
``load_serving_module`` does): no table here names a model. Then, after
``WARMUP_CALLS`` warm-up calls of each (fewer for the direct call), ``--calls``
interleaved calls time:

* the export's main signature (``module.signature_name``) on the family's own raw
  example (``module.example_inputs()``), cut to ONE example: every argument with a
  leading (batch) axis keeps its first entry, scalars (the text generator's prompt,
  ``num_chars``, ...) are passed as they are;
* ``model.predict(x, verbose=0)`` on ONE example as the model takes it: the model
  inputs of the first example of the test split, from the registry's loader
  (``spec.load_data(batch_size=1, fraction=0.02)``) with the run's data options;
* for context, the Keras model called directly (eagerly), ``model(x, training=False)``,
  on the first ``CONTEXT_CALLS`` rounds only (an eager recurrent layer over hundreds
  of masked tokens takes seconds a call).

The two sides see the same example's shape where the preprocessing fixes it (images,
reviews padded to the run's length, windows); elsewhere they differ, and both are
printed: a tagger sentence has its own length, and the export of the text generator
and of the translator decodes (generates ``num_chars`` characters; beam-searches a
translation), while ``predict`` runs the model once over a test sequence. Whether
the export calls the model at all is observed, not declared: the model's calls are
counted while the serving module traces its signatures. A module that never calls it
(it steps the model's layers itself, as decoding does) gets no verdict on the goal.

Medians are reported; outputs are fetched to NumPy inside each timed call. The goal is
a serving latency at most 0.1x that of ``predict``.

Usage:
    .venv/bin/python benchmarks/serving.py [--quick] [--calls 200] [--models NAME ...]

Prints a markdown table and writes ``benchmarks/results/serving.json``, or
``serving_<names>.json`` for a subset of the models.
"""

from __future__ import annotations

import contextlib
import tempfile
import time

import harness

harness.use_shared_data()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnn_zoo import get_spec, list_models  # noqa: E402
from rnn_zoo.data import load_metadata  # noqa: E402
from rnn_zoo.export import build_serving_module, export_saved_model  # noqa: E402
from rnn_zoo.training import train  # noqa: E402

GOAL = 0.1
FRACTION = 0.02
WARMUP_CALLS = 10
CONTEXT_CALLS = 10


def one_example(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The first example of a signature's raw inputs: batched arguments cut to one entry."""
    return {name: value[:1] if np.ndim(value) else value for name, value in inputs.items()}


@contextlib.contextmanager
def counting_calls(model):
    """Counts the calls of ``model`` (traced ones included) inside the ``with`` block."""
    calls = []
    original = model.call

    def call(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    model.call = call
    try:
        yield calls
    finally:
        del model.call  # back to the class's method


def first_test_inputs(spec):
    """The model inputs of the first example of the test split (batch 1), from the loader."""
    bundle = spec.load_data(batch_size=1, fraction=FRACTION)
    inputs = next(iter(bundle.test))[0]
    return tf.nest.map_structure(lambda tensor: tensor.numpy(), inputs)


def describe_raw(raw: dict[str, np.ndarray]) -> str:
    """A signature's raw inputs in words: ``uint8 images [1, 28, 28]``, scalars by value."""
    parts = []
    for name, value in raw.items():
        value = np.asarray(value)
        if value.ndim == 0:
            shown = value.item()
            shown = shown.decode() if isinstance(shown, bytes) else shown
            parts.append(f"{name}={shown!r}" if isinstance(shown, str) else f"{name}={shown:g}")
        else:
            dtype = "string" if value.dtype.kind in "OSU" else value.dtype.name
            parts.append(f"{dtype} {name} {list(value.shape)}")
    return ", ".join(parts)


def describe_model_inputs(inputs) -> str:
    """The model inputs in words: ``int32 [1, 600]``, or one such entry per named input."""
    if isinstance(inputs, dict):
        return ", ".join(f"{describe_model_inputs(value)} {key}" for key, value in inputs.items())
    if isinstance(inputs, (list, tuple)):
        return " + ".join(describe_model_inputs(value) for value in inputs)
    return f"{inputs.dtype.name} {list(inputs.shape)}"


def _fetch(outputs) -> None:
    for tensor in tf.nest.flatten(outputs):
        np.asarray(tensor)


def latencies(functions: dict, calls: int) -> dict[str, list[float]]:
    """Seconds per call of each ``name: (function, most calls)``, called in turn."""
    for function, most in functions.values():
        for _ in range(max(1, min(WARMUP_CALLS, most // 2))):
            _fetch(function())
    times = {name: [] for name in functions}
    for index in range(calls):
        for name, (function, most) in functions.items():
            if index < most:
                started = time.perf_counter()
                _fetch(function())
                times[name].append(time.perf_counter() - started)
    return times


def measure(name: str, workdir: str, calls: int) -> dict:
    """Serving, ``predict`` and direct-call latencies of one registered model."""
    result = train(
        name,
        epochs=1,
        steps_per_epoch=1,
        data_options={"fraction": FRACTION},
        output_dir=workdir,
        verbose=0,
    )
    spec = get_spec(name)
    model = result.model
    with counting_calls(model) as model_calls:  # a module traces its signatures when built
        module = build_serving_module(model, load_metadata(result.run_dir)["metadata"], spec)
    raw = one_example(module.example_inputs())
    raw_tensors = {key: tf.constant(value) for key, value in raw.items()}
    preprocessed = first_test_inputs(spec)
    export_dir = export_saved_model(result.run_dir, output_dir=workdir)
    signature = tf.saved_model.load(str(export_dir)).signatures[module.signature_name]
    times = latencies(
        {
            "serving": (lambda: signature(**raw_tensors), calls),
            "predict": (lambda: model.predict(preprocessed, verbose=0), calls),
            "call": (lambda: model(preprocessed, training=False), min(calls, CONTEXT_CALLS)),
        },
        calls,
    )
    medians = {key: harness.median(values) * 1000 for key, values in times.items()}
    print(f"  {name}: {medians}", flush=True)
    return {
        "model": name,
        "task": spec.task,
        "signature": module.signature_name,
        "export_calls_model": bool(model_calls),
        "input": describe_raw(raw),
        "model_input": describe_model_inputs(preprocessed),
        "serving_ms": medians["serving"],
        "predict_ms": medians["predict"],
        "call_ms": medians["call"],
        "ratio_serving_to_predict": medians["serving"] / medians["predict"],
        "p90_ms": {key: float(np.percentile(values, 90)) * 1000 for key, values in times.items()},
    }


def verdict(row: dict) -> str:
    """Whether the goal is met; not judged when the export never calls the model."""
    if not row["export_calls_model"]:
        return "n/a (no model call)"
    return "met" if row["ratio_serving_to_predict"] <= GOAL else "MISSED"


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="timed calls of each (median)")
    parser.add_argument("--models", nargs="*", default=None, help="registered names")
    args = parser.parse_args()
    if args.quick:
        args.calls = 20
    info = harness.machine()
    with tempfile.TemporaryDirectory(prefix="rnn-zoo-serving-") as workdir:
        rows = [measure(name, workdir, args.calls) for name in args.models or list_models()]
    print(
        harness.table(
            [
                "model",
                "export signature, input",
                "model input (predict)",
                "export (ms)",
                "predict (ms)",
                "model(x) (ms)",
                "export ÷ predict",
                f"goal ≤ {GOAL:g}×",
            ],
            [
                (
                    row["model"],
                    f"`{row['signature']}`, {row['input']}",
                    row["model_input"],
                    harness.number(row["serving_ms"]),
                    harness.number(row["predict_ms"]),
                    harness.number(row["call_ms"]),
                    f"{row['ratio_serving_to_predict']:.3f}×",
                    verdict(row),
                )
                for row in rows
            ],
        )
    )
    payload = {"goal_ratio": GOAL, "calls": args.calls, "quick": args.quick, "models": rows}
    name = harness.results_name("serving", args.models, list_models())
    print("\n" + harness.save(name, payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
