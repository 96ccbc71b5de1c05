"""Single-example latency: the exported SavedModel against ``model.predict``.

For every registered model (``list_models()``), in one process: a run directory is
written through the public API without real training (``train(name, epochs=1,
steps_per_epoch=1, data_options={"fraction": 0.02}, ...)``: speed does not depend on
the weights), exported with ``export_saved_model`` and loaded back with
``tf.saved_model.load``. Then, after ``WARMUP_CALLS`` warm-up calls of each (fewer for
the direct call), ``--calls`` interleaved calls time, on ONE example of the test split:

* the export's signature on the raw input (``serving_default``: a uint8 image, a
  review text, a window in raw units; for the text generator the ``generate``
  signature with the prompt ``"R"`` and ``num_chars=1``);
* ``model.predict(x, verbose=0)`` on the same example preprocessed as the model takes
  it (image as is, review vectorized with the run's vocabulary, window normalized with
  the run's statistics; for the text generator the id of ``"R"``, shape ``[1, 1]``);
* for context, the Keras model called directly (eagerly), ``model(x, training=False)``,
  on the first ``CONTEXT_CALLS`` rounds only (an eager recurrent layer over 200 masked
  tokens takes about a second a call).

Medians are reported; outputs are fetched to NumPy inside each timed call. The goal is
a serving latency at most 0.1x that of ``predict``.

Usage:
    .venv/bin/python benchmarks/serving.py [--quick] [--calls 200] [--models NAME ...]

Prints a markdown table and writes ``benchmarks/results/serving.json``, or
``serving_<names>.json`` for a subset of the models.
"""

from __future__ import annotations

import tempfile
import time

import harness

harness.use_shared_data()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnn_zoo import get_spec, list_models  # noqa: E402
from rnn_zoo.data import load_dataset, load_metadata  # noqa: E402
from rnn_zoo.data.imdb import build_vectorizer  # noqa: E402
from rnn_zoo.data.time_series import normalize  # noqa: E402
from rnn_zoo.export import export_saved_model  # noqa: E402
from rnn_zoo.training import train  # noqa: E402

GOAL = 0.1
FRACTION = 0.02
WARMUP_CALLS = 10
CONTEXT_CALLS = 10
PROMPT = "R"


def first_test_example(spec, **options):
    """The first ``(inputs, target)`` of the test split of a model's dataset, batch 1."""
    options = {**spec.data_options, "fraction": FRACTION, **options}
    bundle = load_dataset(spec.dataset, batch_size=1, **options)
    return next(iter(bundle.test))


def image_inputs(spec, metadata):
    images = first_test_example(spec)[0]
    return "serving_default", {"images": images}, images.numpy()


def review_inputs(spec, metadata):
    texts = first_test_example(spec, vectorize=False)[0]
    vectorizer = build_vectorizer(metadata["vocabulary"], metadata["sequence_length"])
    return "serving_default", {"texts": texts}, vectorizer(texts).numpy()


def window_inputs(spec, metadata):
    normalized = first_test_example(spec)[0].numpy()
    raw = (normalized * np.asarray(metadata["std"]) + np.asarray(metadata["mean"])).astype(
        "float32"
    )
    return "serving_default", {"windows": tf.constant(raw)}, normalize(raw, metadata)


def prompt_inputs(spec, metadata):
    arguments = {
        "prompt": tf.constant(PROMPT),
        "num_chars": tf.constant(1),
        "temperature": tf.constant(1.0),
        "seed": tf.constant(0),
    }
    ids = np.array([[metadata["vocabulary"].index(PROMPT)]], dtype="int32")
    return "generate", arguments, ids


INPUTS = {
    "image_classification": image_inputs,
    "text_classification": review_inputs,
    "forecasting": window_inputs,
    "text_generation": prompt_inputs,
}


def describe(raw: dict) -> str:
    """The raw input in words: ``uint8 images [1, 28, 28]``, or the prompt."""
    if "prompt" in raw:
        return f"prompt {raw['prompt'].numpy().decode()!r}, num_chars={int(raw['num_chars'])}"
    ((name, tensor),) = raw.items()
    return f"{tensor.dtype.name} {name} {list(tensor.shape)}"


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
    spec = get_spec(name)
    result = train(
        name,
        epochs=1,
        steps_per_epoch=1,
        data_options={"fraction": FRACTION},
        output_dir=workdir,
        verbose=0,
    )
    export_dir = export_saved_model(result.run_dir, output_dir=workdir)
    signature_name, raw, preprocessed = INPUTS[spec.task](
        spec, load_metadata(result.run_dir)["metadata"]
    )
    signature = tf.saved_model.load(str(export_dir)).signatures[signature_name]
    model = result.model
    times = latencies(
        {
            "serving": (lambda: signature(**raw), calls),
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
        "signature": signature_name,
        "input": describe(raw),
        "serving_ms": medians["serving"],
        "predict_ms": medians["predict"],
        "call_ms": medians["call"],
        "ratio_serving_to_predict": medians["serving"] / medians["predict"],
        "p90_ms": {key: float(np.percentile(values, 90)) * 1000 for key, values in times.items()},
    }


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
                    harness.number(row["serving_ms"]),
                    harness.number(row["predict_ms"]),
                    harness.number(row["call_ms"]),
                    f"{row['ratio_serving_to_predict']:.3f}×",
                    "met" if row["ratio_serving_to_predict"] <= GOAL else "MISSED",
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
