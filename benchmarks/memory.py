"""Peak resident memory (RSS) of training, exporting and serving each default model.

For each registered model (``rnn_zoo.list_models()``), three fresh processes run one
after the other, and the peak RSS of each is read from the kernel when it ends
(``os.wait4``: ``ru_maxrss`` of that child alone):

* ``rnn-zoo train NAME --epochs 1 --steps-per-epoch 20 --no-export``: the full dataset
  is loaded (memory is set by the loading and by the test-split evaluation, not by the
  number of steps), the model trains 20 batches and is evaluated on the full test split;
* ``rnn-zoo export RUN_DIR``: the run is loaded and written as a SavedModel;
* serving: a Python process that imports only TensorFlow, loads the SavedModel with
  ``tf.saved_model.load`` and calls its ``serving_default`` once on a raw input.

For context, the peak RSS of ``python -c "import tensorflow"`` is measured too.
Memory, not speed, is measured, so a busy machine changes the figures little.

Usage:
    .venv/bin/python benchmarks/memory.py [--quick] [--models NAME ...]

``--quick`` trains 2 batches on 5% of each dataset and writes nothing. Prints a
markdown table and writes ``benchmarks/results/memory.json``, or ``memory_<names>.json``
for a subset of the models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

from rnn_zoo import list_models

harness.use_shared_data()

DEFAULT_MODELS = tuple(list_models())
GIB = 1024**3
TIMEOUT_S = 3600

# Loads an export with TensorFlow alone and calls serving_default once on a made-up
# raw input of the signature's dtypes (strings "a", numbers 1, unknown sizes 1).
SERVE = """
import sys
import tensorflow as tf
signature = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
inputs = {}
for name, spec in signature.structured_input_signature[1].items():
    shape = [1 if size is None else size for size in spec.shape]
    value = "a" if spec.dtype == tf.string else 1
    inputs[name] = tf.fill(shape, tf.constant(value, spec.dtype))
outputs = signature(**inputs)
print(sorted(outputs))
"""


def run_measured(command: list[str]) -> tuple[int, float, str]:
    """Runs a command to its end; returns its peak RSS (bytes), wall seconds and stdout."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{err.read()[-3000:]}")
        return usage.ru_maxrss * 1024, wall, out.read()  # ru_maxrss is in KiB on Linux


def rnn_zoo(*arguments: str) -> list[str]:
    return [str(Path(sys.executable).with_name("rnn-zoo")), *arguments]


def measure(name: str, workdir: Path, quick: bool) -> dict:
    """Peak RSS of training, exporting and serving one registered model."""
    quick_flags = ["--fraction", "0.05"] if quick else []
    steps = "2" if quick else "20"
    train = rnn_zoo(
        "train", name, "--epochs", "1", "--steps-per-epoch", steps, "--no-export",
        "--output-dir", str(workdir), *quick_flags,
    )  # fmt: skip
    train_rss, train_s, _ = run_measured(train)
    run_dir = (workdir / name / "latest").resolve()
    export_rss, export_s, out = run_measured(
        rnn_zoo("export", str(run_dir), "--output-dir", str(workdir))
    )
    version = out.strip().splitlines()[-1]
    serve_rss, serve_s, _ = run_measured([sys.executable, "-c", SERVE, version])
    files = [path for path in Path(version).rglob("*") if path.is_file()]
    row = {
        "model": name,
        "train_peak_rss_bytes": train_rss,
        "train_seconds": round(train_s, 1),
        "export_peak_rss_bytes": export_rss,
        "export_seconds": round(export_s, 1),
        "serve_peak_rss_bytes": serve_rss,
        "serve_seconds": round(serve_s, 1),
        "export_size_bytes": sum(path.stat().st_size for path in files),
    }
    print(f"  {name}: {json.dumps(row)}", flush=True)
    return row


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f}"


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="registered names")
    args = parser.parse_args()
    info = harness.machine()
    tensorflow_rss, _, _ = run_measured([sys.executable, "-c", "import tensorflow"])
    with tempfile.TemporaryDirectory(prefix="rnn-zoo-memory-") as workdir:
        rows = [measure(name, Path(workdir), args.quick) for name in args.models or DEFAULT_MODELS]
    print(f"\n`import tensorflow` alone: {mib(tensorflow_rss)} MiB peak RSS\n")
    print(
        harness.table(
            ["model", "train peak RSS (MiB)", "export (MiB)", "serve (MiB)", "export size (MiB)"],
            [
                [
                    row["model"],
                    mib(row["train_peak_rss_bytes"]),
                    mib(row["export_peak_rss_bytes"]),
                    mib(row["serve_peak_rss_bytes"]),
                    f"{row['export_size_bytes'] / 2**20:.2f}",
                ]
                for row in rows
            ],
        )
    )
    over = [
        f"{row['model']} ({key.split('_')[0]})"
        for row in rows
        for key in ("train_peak_rss_bytes", "export_peak_rss_bytes", "serve_peak_rss_bytes")
        if row[key] > 2 * GIB
    ]
    print("\nabove 2 GiB: " + (", ".join(over) if over else "none"))
    payload = {
        "quick": args.quick,
        "steps_per_epoch": 2 if args.quick else 20,
        "import_tensorflow_peak_rss_bytes": tensorflow_rss,
        "models": rows,
        "above_2_gib": over,
    }
    name = harness.results_name("memory", args.models, DEFAULT_MODELS)
    print(harness.save(name, payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
