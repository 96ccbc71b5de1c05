"""LiteRT and ONNX exports against the SavedModel: size, latency, throughput, agreement.

For every registered model (``list_models()``), in one process: a run directory is
trained through the public API at the factory's defaults, briefly (``train(name,
epochs=1, steps_per_epoch=--steps, data_options={"fraction": --fraction})``: a
barely trained model has near-ties between its top scores, which any change in
float rounding flips, so agreement is measured on models past that; ``--recipe``
trains each with its whole registry recipe instead, ``--seeds`` as many times), then exported
as a SavedModel, as LiteRT (float, and dynamic-range quantized) and as ONNX with
``rnn_zoo.export.export_model``. For each export:

* **size**: the model files (``.tflite``, ``.onnx``; the SavedModel's
  ``saved_model.pb`` and ``variables/``), assets left out;
* **agreement** with the SavedModel on real test examples, the export run by its own
  runtime in a fresh process (``rnn_zoo.agreement.check_agreement``): the first
  ``--examples`` test examples for labels and values, the first ``--texts`` prompts or
  sentences for texts (100 greedy characters after a 20-character prompt; greedy
  translations);
* **latency** of one example and **throughput** of a batch of 32, medians of
  ``--calls`` (``--batch-calls``) interleaved calls after warm-up calls. The
  SavedModel side is its graph called from Python on raw inputs (the serving
  module's signature, the function the SavedModel holds; for the decoding families,
  the greedy decoding of the same module its signatures wrap: ``generate(top_k=1)``,
  ``translate(beam_width=1)``); the export side is ``rnn_zoo.runtimes.answer`` in
  this process on the numeric inputs (token ids, ...), prepared beforehand. A LiteRT
  function that loops over time takes one row, so its batch of 32 runs row by row;
  greedy decoding runs row by row in both runtimes.

The raw-input SavedModel signature itself is also put through each converter
(LiteRT with builtin ops, LiteRT with Flex ops, tf2onnx): what converts, the Flex
ops it needs, and the converter's own first error line otherwise; what converts is
run on the family's example inputs (a Flex model with TensorFlow's
``tf.lite.Interpreter``, as ``ai-edge-litert`` has no Flex delegate) and compared with
the SavedModel.

Usage:
    .venv/bin/python benchmarks/conversion.py [--quick] [--models NAME ...]
        [--steps 60] [--fraction 0.25 | --recipe] [--seeds 0 ...] [--examples 1000]
        [--texts 20] [--calls 20] [--batch-calls 5]

Prints markdown tables and writes ``benchmarks/results/conversion.json``, or
``conversion_<names>.json`` for a subset of the models (``..._recipe.json`` with
``--recipe``).
"""

from __future__ import annotations

import functools
import re
import tempfile
import time
from pathlib import Path

import harness

harness.use_shared_data()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from rnn_zoo import get_spec, list_models  # noqa: E402
from rnn_zoo.agreement import check_agreement, load_test_inputs  # noqa: E402
from rnn_zoo.conversion import ONNX_OPSET  # noqa: E402
from rnn_zoo.export import export_model, load_serving_module  # noqa: E402
from rnn_zoo.runtimes import answer, open_export  # noqa: E402
from rnn_zoo.training import train  # noqa: E402

VARIANTS = (("saved_model", False), ("litert", False), ("litert", True), ("onnx", False))
BATCH = 32
WARMUP_CALLS = 3


def variant_name(format: str, quantize: bool) -> str:
    return f"{format} (dynamic-range int8)" if quantize else format


def model_bytes(folder: Path) -> int:
    """The bytes of an export's model files, assets (``.json``) left out."""
    files = [path for path in folder.rglob("*") if path.is_file() and path.suffix != ".json"]
    return sum(path.stat().st_size for path in files if path.name != "fingerprint.pb")


def rows_of(inputs, count: int):
    """The first ``count`` examples of a family's raw inputs (an array or a list)."""
    return inputs[:count]


def timings(callers: dict) -> dict:
    """Median milliseconds of each ``key: (function, calls)``, called in turn."""
    for function, _ in callers.values():
        for _ in range(WARMUP_CALLS):
            function()
    times = {key: [] for key in callers}
    for index in range(max(calls for _, calls in callers.values())):
        for key, (function, calls) in callers.items():
            if index < calls:
                started = time.perf_counter()
                function()
                times[key].append(time.perf_counter() - started)
    return {key: harness.median(values) * 1000 for key, values in times.items()}


def flex_ops(model: bytes) -> list[str]:
    """The Flex (TensorFlow) ops a LiteRT flatbuffer names."""
    return sorted({name.decode() for name in re.findall(rb"Flex[A-Z][A-Za-z0-9]+", model)})


def first_line(error: Exception) -> str:
    """The converter's or runtime's own first error line, MLIR's ``error:`` line if any."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [repr(error)]
    line = next((line for line in lines if "error:" in line), lines[0])
    return line[line.index("error:") :] if "error:" in line else line[:240]


class SavedFunction:
    """Hands tf2onnx's ``from_function`` the SavedModel's concrete function as it is."""

    def __init__(self, concrete):
        self.concrete = concrete

    def get_concrete_function(self, *specs):
        return self.concrete


def raw_signature_report(module) -> dict:
    """The SavedModel's raw-input main signature through each converter, as a user would.

    LiteRT: ``TFLiteConverter.from_concrete_functions`` with builtin ops, then with
    Flex ops, each model run on the family's example inputs (builtins with
    ``ai-edge-litert``, Flex with ``tf.lite.Interpreter``). ONNX: ``tf2onnx``.
    """
    served = module.signatures()[module.signature_name]
    inputs = {key: np.asarray(value) for key, value in module.example_inputs().items()}
    report = {}
    for name, ops in (
        ("litert_builtin", [tf.lite.OpsSet.TFLITE_BUILTINS]),
        ("litert_flex", [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]),
    ):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([served], module)
        converter.target_spec.supported_ops = ops
        try:
            flatbuffer = converter.convert()
        except Exception as error:  # the converter's own error, recorded as it is
            report[name] = {"converts": False, "error": first_line(error)}
            continue
        report[name] = {"converts": True, "flex_ops": flex_ops(flatbuffer)}
        report[name]["runs"] = run_raw_model(flatbuffer, module, inputs, flex=bool(ops[1:]))
    try:
        proto, _ = tf2onnx.convert.from_function(
            SavedFunction(served), input_signature=[], opset=ONNX_OPSET
        )
    except Exception as error:  # tf2onnx's own error
        report["onnx"] = {"converts": False, "error": first_line(error)}
        return report
    report["onnx"] = {"converts": True, "runs": run_raw_onnx(proto, module, inputs)}
    return report


def same_as_saved_model(outputs: dict, module, inputs: dict) -> str:
    expected = module.signatures()[module.signature_name](**inputs)
    same = all(
        np.array_equal(
            np.asarray(outputs[key]).astype(expected[key].numpy().dtype), expected[key].numpy()
        )
        or np.allclose(np.asarray(outputs[key], float), expected[key].numpy(), atol=1e-4)
        for key in expected
    )
    return "runs, same outputs as the SavedModel" if same else "runs, outputs differ"


def run_raw_onnx(proto, module, inputs: dict) -> str:
    """Runs a raw-signature ONNX model with onnxruntime on the example inputs."""
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(proto.SerializeToString())
        names = [output.name for output in session.get_outputs()]
        feeds = {feed.name: inputs[feed.name.split(":")[0]] for feed in session.get_inputs()}
        values = session.run(names, feeds)
        outputs = dict(zip([name.split(":")[0] for name in names], values, strict=True))
    except Exception as error:  # the runtime's own error
        return f"fails to run: {first_line(error)}"
    return same_as_saved_model(outputs, module, inputs)


def run_raw_model(flatbuffer: bytes, module, inputs: dict, *, flex: bool) -> str:
    """Runs a raw-signature LiteRT model on the example inputs against the SavedModel."""
    try:
        if flex:  # ai-edge-litert has no Flex delegate; TensorFlow's interpreter may
            interpreter = tf.lite.Interpreter(model_content=flatbuffer)
        else:
            interpreter = Interpreter(model_content=flatbuffer)
        outputs = interpreter.get_signature_runner()(**inputs)
    except Exception as error:  # the interpreter's own error
        return f"fails to run: {first_line(error)}"
    return same_as_saved_model(outputs, module, inputs)


def measure(name: str, workdir: str, args, seed: int) -> dict:
    """Exports of one registered model: sizes, agreement, latency, throughput."""
    brief = {
        "epochs": 1,
        "steps_per_epoch": args.steps,
        "data_options": {"fraction": args.fraction},
    }
    result = train(name, seed=seed, output_dir=workdir, verbose=0, **({} if args.recipe else brief))
    module, spec = load_serving_module(result.run_dir)
    conversion = spec.get_conversion("onnx")(module)
    count = args.texts if conversion.measure == "texts" else args.examples
    inputs = load_test_inputs(result.run_dir, conversion, max(count, BATCH))
    request = {size: conversion.request(rows_of(inputs, size)) for size in (1, BATCH)}
    raw = {size: rows_of(inputs, size) for size in (1, BATCH)}
    row = {
        "model": name,
        "seed": seed,
        "measure": conversion.measure,
        "test_metrics": result.test_metrics,
    }
    exports, callers = {}, {}
    for format, quantize in VARIANTS:
        variant = variant_name(format, quantize)
        started = time.perf_counter()
        exports[variant] = export_model(
            result.run_dir, format, output_dir=workdir, quantize=quantize
        )
        row.setdefault("export_seconds", {})[variant] = time.perf_counter() - started
        row.setdefault("bytes", {})[variant] = model_bytes(exports[variant])
        export = None if format == "saved_model" else open_export(exports[variant])
        for size, calls in ((1, args.calls), (BATCH, args.batch_calls)):
            if export is None:
                function = functools.partial(conversion.expected, raw[size])
            else:
                function = functools.partial(answer, export, request[size])
            callers[variant, size] = (function, calls)
    for variant, folder in exports.items():
        if variant != "saved_model":
            agreement = check_agreement(folder, conversion, rows_of(inputs, count))
            row.setdefault("agreement", {})[variant] = {
                "value": agreement.value,
                "examples": agreement.examples,
                "met": agreement.met,
                "mismatches": [list(map(str, pair)) for pair in agreement.mismatches],
            }
    # What the SavedModel answers on the first examples: a check on what agreement means.
    row["first_answers"] = [str(value) for value in conversion.expected(rows_of(inputs, 3))]
    medians = timings(callers)
    row["latency_ms"] = {variant: medians[variant, 1] for variant in exports}
    row["batch_per_second"] = {
        variant: BATCH / medians[variant, BATCH] * 1000 for variant in exports
    }
    row["manifest"] = {
        stem: {key: function[key] for key in ("inputs", "outputs")}
        for stem, function in open_export(exports["litert"]).manifest["functions"].items()
    }
    row["raw_signature"] = raw_signature_report(module)
    print(f"  {name}: {row['bytes']} {row['latency_ms']} {row.get('agreement')}", flush=True)
    return row


def agreement_cell(row: dict, variant: str) -> str:
    if variant == "saved_model":
        return "-"
    agreement = row["agreement"][variant]
    if row["measure"] == "values":
        shown = f"max abs diff {agreement['value']:.2g}"
    else:
        shown = f"{agreement['value']:.2%} same"
    return f"{shown} ({agreement['examples']:,} {row['measure']}){'' if agreement['met'] else ' ✗'}"


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="registered names")
    parser.add_argument("--steps", type=int, default=60, help="training steps per model")
    parser.add_argument("--fraction", type=float, default=0.25, help="share of each split")
    parser.add_argument(
        "--recipe",
        action="store_true",
        help="train each model with its registry recipe on all its data (`rnn-zoo train "
        "NAME`) instead of --steps on --fraction",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
    parser.add_argument("--examples", type=int, default=1000, help="test examples (labels)")
    parser.add_argument("--texts", type=int, default=20, help="prompts or sentences")
    parser.add_argument("--calls", type=int, default=20, help="timed one-example calls (median)")
    parser.add_argument("--batch-calls", type=int, default=5, help=f"timed calls of {BATCH}")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.examples, args.texts, args.calls, args.batch_calls = 3, 64, 4, 3, 1
    info = harness.machine()
    with tempfile.TemporaryDirectory(prefix="rnn-zoo-conversion-") as workdir:
        rows = [
            measure(name, workdir, args, seed)
            for name in args.models or list_models()
            for seed in args.seeds
        ]
    variants = [variant_name(*variant) for variant in VARIANTS]
    print(
        harness.table(
            [
                "model",
                "format",
                "model files (MB)",
                "1 example (ms)",
                f"batch of {BATCH} (examples/s)",
                "agreement with the SavedModel",
            ],
            [
                (
                    row["model"] + (f" (seed {row['seed']})" if len(args.seeds) > 1 else ""),
                    variant,
                    f"{row['bytes'][variant] / 1e6:.2f}",
                    harness.number(row["latency_ms"][variant]),
                    harness.number(row["batch_per_second"][variant]),
                    agreement_cell(row, variant),
                )
                for row in rows
                for variant in variants
            ],
        )
    )
    print(
        "\n"
        + harness.table(
            ["model", "raw signature: LiteRT builtins", "LiteRT + Flex", "tf2onnx"],
            [
                (
                    row["model"],
                    *(
                        f"converts ({', '.join(report.get('flex_ops') or ['no Flex ops'])}); "
                        f"{report['runs']}"
                        if report["converts"]
                        else f"`{report['error']}`"
                        for report in row["raw_signature"].values()
                    ),
                )
                for row in rows
                if row["seed"] == args.seeds[0]  # the same graph for every seed
            ],
        )
    )
    payload = {
        "training": "registry recipe"
        if args.recipe
        else {"steps": args.steps, "fraction": args.fraction},
        "seeds": args.seeds,
        "examples": args.examples,
        "texts": args.texts,
        "calls": args.calls,
        "batch_calls": args.batch_calls,
        "batch": BATCH,
        "quick": args.quick,
        "specs": {row["model"]: get_spec(row["model"]).description for row in rows},
        "models": rows,
    }
    name = harness.results_name("conversion", args.models, list_models())
    name += "_recipe" if args.recipe else ""
    print("\n" + harness.save(name, payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
