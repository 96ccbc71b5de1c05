"""What a user waits for each registered recipe: rnn_zoo's time to its quality, and Keras'.

Trains nothing: it joins what two other benchmarks measured and recorded.

* ``quality_<name>.json`` (``quality.py``): the wall time of each seed's run of the
  registry recipe through rnn_zoo's path, to the test quality the registry reports,
  with the commit and the CPU it ran on.
* ``training_speed*.json`` (``training_speed.py``): the paired-round speed-up of
  rnn_zoo's training steps over the model's plain Keras twin (the twin's seconds over
  rnn_zoo's, same architecture, same batches), from the results file committed last
  that measured the model.

The twin trains the same epochs on the same data, so its time to the same quality is
estimated as rnn_zoo's measured recipe time times that ratio (and its 95% interval). It
is an estimate from two measurements, not a run of the twin's recipe; the table says so.

    .venv/bin/python benchmarks/time_to_quality.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

from harness import RESULTS, ROOT, number, table

from rnn_zoo.registry import ModelSpec


def committed_at(path: Path) -> int:
    """When ``path`` was last committed (Unix seconds); 0 when it never was."""
    stamp = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%ct", "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return int(stamp or 0)


def latest_speed(name: str) -> tuple[dict[str, Any], str] | None:
    """The newest recorded training-speed measurement of ``name`` and its file's name."""
    measured = []
    for path in RESULTS.glob("training_speed*.json"):
        for entry in json.loads(path.read_text(encoding="utf-8")).get("models", []):
            if entry["model"] == name:
                measured.append((committed_at(path), path.name, entry))
    if not measured:
        return None
    _, file_name, entry = max(measured, key=lambda found: found[:2])
    return entry, file_name


def run_cpu(run: dict[str, Any], recorded: dict[str, Any]) -> str:
    """The CPU a quality run names, from its own record or its file's."""
    facts = run.get("machine") or recorded.get("machine") or {}
    if isinstance(facts, str):
        return facts
    if "cpu_family" in facts:
        family, model = facts["cpu_family"], facts["cpu_model_number"]
        return f"{facts.get('cpu')} (family {family}, model {model})"
    return str(run.get("cpu") or facts.get("cpu") or "not recorded")


def headline(results: dict[str, Any]) -> str:
    """The registry's first test figure of a model (its first figure if none is a test's)."""
    key = next((key for key in results if key.startswith("test_")), next(iter(results)))
    return f"{key} {results[key]}"


def row(spec: ModelSpec) -> list[str]:
    """One table row: what the model's recorded runs say, or what was not measured."""
    quality = RESULTS / f"quality_{spec.name}.json"
    speed = latest_speed(spec.name)
    wall = cpus = None
    if quality.exists():
        recorded = json.loads(quality.read_text(encoding="utf-8"))
        times = [run["wall_time_s"] for run in recorded["runs"]]
        wall = statistics.median(times)
        cpus = "; ".join(sorted({run_cpu(run, recorded) for run in recorded["runs"]}))
    cells = [
        spec.name,
        f"{headline(spec.results)} ({spec.results.get('seeds', '?')} seeds)",
        f"{number(wall)} s ({number(min(times))}–{number(max(times))})"
        if wall
        else f"no {quality.name}",
    ]
    if speed is None:
        return [*cells, "no twin speed-up recorded", "—", cpus or "—"]
    ratio, speed_file = speed
    ratio = ratio["train_ratio"]
    estimate = (
        f"≈ {number(wall * ratio['median'])} s "
        f"[{number(wall * ratio['low'])}, {number(wall * ratio['high'])}]"
        if wall
        else "—"
    )
    return [
        *cells,
        f"{ratio['median']:.2f}× [{ratio['low']:.2f}, {ratio['high']:.2f}] ({speed_file})",
        estimate,
        cpus or "—",
    ]


def main() -> None:
    from rnn_zoo.registry import get_spec, list_models

    rows = [row(get_spec(name)) for name in list_models()]
    print(
        table(
            [
                "model",
                "registry result",
                "rnn_zoo: recipe wall time, median (range)",
                "speed-up over plain Keras (median [95%])",
                "plain Keras twin to the same quality (estimate)",
                "CPU of the quality runs",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
