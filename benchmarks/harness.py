"""Helpers shared by the benchmark scripts: machine facts, timing, tables and results.

Every script measures the things it compares side by side, interleaved in one
process, so that the ratios hold even on a noisy, shared machine; absolute numbers
from different runs are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.device import describe_devices

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
RESULTS = BENCHMARKS / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"


def use_shared_data() -> None:
    """Points the loaders at ``../shared/data`` when it exists and nothing else is set."""
    if "RNN_ZOO_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["RNN_ZOO_DATA_DIR"] = str(SHARED_DATA)


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the ``--quick`` smoke-run flag every script takes."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--quick", action="store_true", help="a smoke run: less data, fewer repeats"
    )
    return result


def _cpu_generation() -> dict[str, Any]:
    """The CPU's family and model numbers and bfloat16 flags (``rnn_zoo.device``).

    The model name alone ("AMD EPYC") does not tell a Zen 3 guest from a Zen 5 one,
    whose matmuls run several times faster.
    """
    cpu = describe_devices()["cpu"]
    return {
        "cpu_family": cpu["family"],
        "cpu_model_number": cpu["model_number"],
        "bf16_flags": [flag for flag in ("amx_bf16", "avx512_bf16") if cpu[flag]],
    }


def _cpu_model() -> str:
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in output.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def source_commit() -> str:
    """The checkout's commit, ``+dirty`` when tracked files differ from it, for results."""
    root = Path(__file__).resolve().parent.parent

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *arguments], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def machine() -> dict[str, Any]:
    """Facts about this machine and its software, recorded beside every result.

    Called when a benchmark starts, so ``commit`` is the code the measurements ran.
    """
    return {
        "commit": source_commit(),
        "cpu": _cpu_model(),
        **_cpu_generation(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def seconds(function: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def median(values: Iterable[float]) -> float:
    """The median of some measurements."""
    return statistics.median(list(values))


def matmul_gflops(a, b) -> float:
    """GFLOP/s of one ``tf.linalg.matmul(a, b)``."""
    flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    return flops / seconds(lambda: tf.linalg.matmul(a, b).numpy()) / 1e9


def best_gflops(a, b, calls: int = 3) -> float:
    """The best GFLOP/s of ``calls`` products ``a @ b``, after one warm-up product."""
    matmul_gflops(a, b)
    return max(matmul_gflops(a, b) for _ in range(calls))


def mean_and_std(values: Iterable[float | None]) -> dict[str, float] | None:
    """``{"mean": ..., "std": ...}`` of results over seeds (population std).

    Returns:
        The mean and standard deviation, or None when any value is None (undefined).

    Example:
        >>> mean_and_std([1.0, 3.0])
        {'mean': 2.0, 'std': 1.0}
    """
    values = list(values)
    if None in values:
        return None
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values)}


def paired_ratio(
    numerators: Sequence[float], denominators: Sequence[float], *, resamples: int = 2000
) -> dict[str, float]:
    """The median of per-round ratios, with a 95% percentile-bootstrap interval of it.

    Each round measures both sides one right after the other, so a slow spell of the
    machine slows both and cancels out of that round's ratio.

    Returns:
        ``{"median": ..., "low": ..., "high": ...}``, rounded to 3 decimals.
    """
    ratios = np.asarray(numerators, dtype=float) / np.asarray(denominators, dtype=float)
    draws = np.random.default_rng(0).choice(ratios, (resamples, len(ratios)))
    low, high = np.quantile(np.median(draws, axis=1), [0.025, 0.975])
    return {
        "median": round(float(np.median(ratios)), 3),
        "low": round(float(low), 3),
        "high": round(float(high), 3),
    }


def verdict(ratio: dict[str, float], goal: float) -> str:
    """Whether a :func:`paired_ratio`'s interval clears ``goal``, falls short or straddles it."""
    if ratio["low"] >= goal:
        return "met"
    if ratio["high"] < goal:
        return "not met"
    return "unresolved"


class StepTimer(keras.callbacks.Callback):
    """Times ``fit`` from the end of its first batch to the end of its last one.

    The first batch is left out: it waits for ``fit``'s setup and for the pipeline's
    shuffle buffer to fill, a cost paid once per epoch, not once per step. So is what
    ``fit`` does after its last batch: deleting the ``tf.data`` iterator there
    sometimes waits up to about 5 s (seen on TF 2.21; not seen with tf.data's
    autotuning off), which would swamp a round of a few steps.
    """

    def on_train_begin(self, logs=None):
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())

    @property
    def steps(self) -> int:
        return len(self.ends) - 1

    @property
    def seconds(self) -> float:
        return self.ends[-1] - self.ends[0]


def timed_fit(model, dataset, steps: int) -> StepTimer:
    """Runs ``model.fit`` for ``steps`` steps of ``dataset``; returns its timer."""
    timer = StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    return timer


def steps_for(model, dataset, warmup_steps: int, target_seconds: float) -> int:
    """Warms ``fit`` up with ``warmup_steps`` steps; returns steps lasting ``target_seconds``.

    At least ``warmup_steps`` and at most 2000.
    """
    timer = timed_fit(model, dataset, warmup_steps)
    per_step = timer.seconds / timer.steps
    return max(warmup_steps, min(2000, round(target_seconds / per_step)))


def number(value: float) -> str:
    """A measurement for a table: three significant digits, thousands separated."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def results_name(benchmark: str, chosen: Sequence[str] | None, every: Sequence[str]) -> str:
    """``benchmark``, or ``benchmark_<names>`` when only some models were measured.

    A run over a subset of the models then never replaces the full run's results.
    """
    if not chosen or sorted(chosen) == sorted(every):
        return benchmark
    return "_".join([benchmark, *chosen])


def earlier_seeds(name: str, same: dict[str, Any], seeds: Iterable[int]) -> list[dict[str, Any]]:
    """The runs of other seeds already in ``benchmarks/results/<name>.json``.

    A recipe too long to run for every seed in one sitting can then be run a seed at a
    time (``--add``). Call it before training, so that a mismatch stops the script
    before the expensive part: the earlier runs are kept only when every entry of
    ``same`` (the recipe, the data options, ...) is what the results file recorded, so
    runs of different recipes are never averaged together.

    Args:
        name: The results file's name, without ``.json``.
        same: What must not differ between the earlier runs and the new ones.
        seeds: The seeds about to be run; earlier runs of these are dropped.

    Returns:
        The earlier runs of the other seeds; empty when there is no results file.

    Raises:
        ValueError: If the results file recorded a different ``same``; it names the keys.

    Example:
        >>> earlier_seeds("no_such_results", {}, [1, 2])
        []
    """
    target = RESULTS / f"{name}.json"
    if not target.exists():
        return []
    earlier = json.loads(target.read_text(encoding="utf-8"))
    differing = [key for key, value in same.items() if earlier.get(key) != _as_json(value)]
    if differing:
        raise ValueError(
            f"{target.name} holds runs of a different {', '.join(differing)}; "
            "run without --add to replace them"
        )
    rerun = set(seeds)
    return [run for run in earlier.get("runs", []) if run["seed"] not in rerun]


def other_records(name: str, replaced: Iterable[str]) -> dict[str, Any]:
    """What ``benchmarks/results/<name>.json`` records besides the keys being rewritten.

    So that ``--add`` keeps what earlier sessions kept beside the runs (the runs of an
    earlier recipe, candidates not adopted) when it writes the file again.

    Args:
        name: The results file's name, without ``.json``.
        replaced: The keys the caller writes anew.

    Returns:
        The file's other entries, in its order; empty when there is no results file.

    Example:
        >>> other_records("no_such_results", ["runs"])
        {}
    """
    target = RESULTS / f"{name}.json"
    if not target.exists():
        return {}
    replaced = set(replaced)
    recorded = json.loads(target.read_text(encoding="utf-8"))
    return {key: value for key, value in recorded.items() if key not in replaced}


def _as_json(value: Any) -> Any:
    """``value`` as it reads back from a JSON file (tuples become lists, and so on)."""
    return json.loads(json.dumps(value))


def save(name: str, payload: dict[str, Any], info: dict[str, Any], *, quick: bool) -> str:
    """Writes ``benchmarks/results/<name>.json`` with the command and machine facts.

    A ``--quick`` smoke run writes nothing, so it never replaces measured results.

    Returns:
        A line saying what was written.
    """
    if quick:
        return "quick run: results not written"
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"{name}.json"
    command = ".venv/bin/python " + shlex.join(
        [os.path.relpath(os.path.abspath(sys.argv[0]), ROOT), *sys.argv[1:]]
    )
    document = {"benchmark": name, "command": command, "machine": info, **payload}
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return f"wrote {os.path.relpath(target, ROOT)}"
