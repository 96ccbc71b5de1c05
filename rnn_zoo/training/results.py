"""What a training run leaves: test metrics, a plot, a model card and ``metrics.json``."""

from __future__ import annotations

import dataclasses
import platform
import time
from pathlib import Path

import keras

from rnn_zoo.device import check_cudnn_eligible, describe_devices
from rnn_zoo.files import write_text_atomically
from rnn_zoo.runs import HISTORY_PNG, METRICS_FILE, MODEL_CARD, MODEL_FILE, finish_run, read_history
from rnn_zoo.training.callbacks import Throughput
from rnn_zoo.training.evaluate import evaluate_test_split
from rnn_zoo.training.prepare import PreparedRun


@dataclasses.dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        model: The trained model, restored to its best validation checkpoint.
        history: Metric name → per-epoch values, over every epoch of the run
            (resumed epochs included).
        test_metrics: Metric name → value on the held-out test split.
        run_dir: The run directory; ``None`` on a multi-worker run's non-chief worker.
        wall_time: Seconds spent training in this process.
        samples_per_second: Training examples per second in this process.
        metrics_path: Path of ``metrics.json``.
    """

    model: keras.Model
    history: dict[str, list[float]]
    test_metrics: dict[str, float]
    run_dir: Path | None
    wall_time: float
    samples_per_second: float

    @property
    def metrics_path(self) -> Path:
        """Path of the run's ``metrics.json``."""
        return self.run_dir / METRICS_FILE


def _versions() -> dict[str, str]:
    import tensorflow as tf

    from rnn_zoo import __version__

    return {
        "rnn_zoo": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def _load_snippet(run: PreparedRun) -> str:
    """Python that loads the run's model in a fresh process.

    A registered family's model module is imported first: it registers the custom
    layers and metrics that ``model.keras`` names.
    """
    lines = ["import keras"]
    if run.spec:
        lines.append(f"import {run.spec.factory_module}  # registers its custom layers")
    lines.append(f"model = keras.saving.load_model({str(run.run_dir / MODEL_FILE)!r})")
    return "\n".join(lines)


def _model_card(run: PreparedRun, test_metrics: dict[str, float], epochs: int) -> str:
    description = run.spec.description if run.spec else run.model.name
    recipe = ", ".join(f"{key}={value}" for key, value in run.recipe.to_dict().items())
    results = "\n".join(f"| {key} | {value:.4f} |" for key, value in test_metrics.items())
    return f"""# {run.name}

{description}.

- Data: `{run.data.name}` (test split held out; validation picks the best epoch)
- Recipe: {recipe}
- Epochs run: {epochs}; seed {run.options.seed}

## Test results

| metric | value |
| --- | --- |
{results}

## How to load

```python
{_load_snippet(run)}
```

`data.json` beside the model holds the preprocessing (vocabulary, normalization,
class names) that raw inputs need; `history.csv` and `history.png` show training.
"""


def _summary(run: PreparedRun, model, test_metrics, epochs, wall_time, throughput) -> dict:
    """What ``metrics.json`` records (the file hashes are added when the run finishes)."""
    return {
        "model": run.name,
        "dataset": run.data.name,
        "test": test_metrics,
        "epochs": epochs,
        "wall_time_s": round(wall_time, 3),
        "samples_per_second": round(throughput.samples_per_second, 2),
        "seed": run.options.seed,
        "recipe": run.recipe.to_dict(),
        "parameters": model.count_params(),
        "device": run.placement.device,
        "precision": run.precision,
        "strategy": run.options.strategy,
        "replicas": run.distribution.num_replicas_in_sync,
        "cudnn_fallbacks": check_cudnn_eligible(model),
        "hardware": describe_devices(),
        "versions": _versions(),
    }


def finish(run: PreparedRun, throughput: Throughput, started: float) -> TrainResult:
    """Evaluates the best checkpoint and writes the run's results; closes the run.

    Args:
        run: The prepared run, trained.
        throughput: The training loop's counter.
        started: ``time.perf_counter()`` when training was asked for.

    Returns:
        The :class:`TrainResult`.

    Example:
        >>> result = finish(run, throughput, started)  # doctest: +SKIP
    """
    from rnn_zoo.plotting import plot_history

    history = read_history(run.run_dir)
    model = keras.saving.load_model(run.run_dir / MODEL_FILE)
    test_metrics = evaluate_test_split(model, run.data, run.spec)
    run.data.save_metadata(run.run_dir)
    plot_history(history, save_path=run.run_dir / HISTORY_PNG, title=run.name)
    epochs = len(history.get("loss", []))
    write_text_atomically(run.run_dir / MODEL_CARD, _model_card(run, test_metrics, epochs))
    wall_time = time.perf_counter() - started
    summary = _summary(run, model, test_metrics, epochs, wall_time, throughput)
    finish_run(run.run_dir, run.lock, summary)
    return TrainResult(
        model, history, test_metrics, run.run_dir, wall_time, throughput.samples_per_second
    )
