"""Input-pipeline throughput against training throughput, for every registered model.

For each registered model, in one process, its dataset is loaded with the registry's
default batch size (``get_spec(name).recipe.batch_size``) and data options, and then,
in ``--rounds`` interleaved rounds (medians reported):

* pipeline throughput, in elements/s, of whole passes over the train split: consumed
  inside a ``tf.function`` (how ``model.fit`` pulls batches) and from a Python ``for``
  loop (how ``tensorflow_datasets.benchmark`` iterates), each after a warm-up pass;
* training throughput, in samples/s, of ``model.fit`` on the same pipeline
  (``.repeat()``-ed) for a fixed number of steps, timed from the end of the first
  batch to the end of the last one (``fit``'s setup and the first batch, which waits
  for the shuffle buffer to fill once per epoch, are left out). The model is
  ``get_spec(name).build(**bundle.model_kwargs)`` compiled with
  ``rnn_zoo.training.compile_model(model, spec.recipe, steps_per_epoch=...)`` (the
  epoch length matters to a cosine schedule only); the steps per round (at least
  ``WARMUP_STEPS``) are set by a warm-up ``fit`` of ``WARMUP_STEPS`` steps, to last
  about ``--seconds`` each.

The goal is a pipeline at least 5x faster than training. A second table takes each
train pipeline apart (see :func:`stages`) to show where its time goes.

Usage:
    .venv/bin/python benchmarks/data_pipelines.py [--quick] [--rounds 3] [--seconds 4]

Prints markdown tables and writes ``benchmarks/results/data_pipelines.json``, or
``data_pipelines_<names>.json`` for a subset of the models (``--models``).
"""

from __future__ import annotations

import time

import harness

harness.use_shared_data()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnn_zoo import get_spec, list_models  # noqa: E402
from rnn_zoo.data.windows import count_batches  # noqa: E402
from rnn_zoo.training import compile_model  # noqa: E402

GOAL = 5.0
WARMUP_STEPS = 3


def _batch_length(element) -> tf.Tensor:
    return tf.shape(tf.nest.flatten(element)[0])[0]


def graph_pass(dataset: tf.data.Dataset):
    """A ``tf.function`` that consumes one pass of ``dataset`` and counts its elements."""

    @tf.function
    def consume():
        count = tf.constant(0)
        for element in dataset:
            count += _batch_length(element)
        return count

    return lambda: int(consume())


def python_pass(dataset: tf.data.Dataset):
    """A function that consumes one pass of ``dataset`` from Python and counts elements."""

    def consume():
        return sum(int(_batch_length(element)) for element in dataset)

    return consume


def rate(consume, min_seconds: float) -> float:
    """Elements per second of whole passes, repeated until ``min_seconds`` have passed."""
    elements, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < min_seconds or not elements:
        elements += consume()
    return elements / elapsed


def fit_rate(model, dataset, steps: int, batch_size: int) -> float:
    """Training samples per second of ``model.fit`` over ``steps`` steps, the first left out."""
    timer = harness.timed_fit(model, dataset, steps)
    return timer.steps * batch_size / timer.seconds


def stages(train: tf.data.Dataset, batch_size: int) -> dict[str, tf.data.Dataset]:
    """The loader's train pipeline beside rebuilt ones, from its own elements in memory.

    The train split's examples are read once from the loader's pipeline into arrays
    (already vectorized, normalized or windowed), then fed back through variants that
    differ in one stage each: no shuffle, a per-element shuffle of all examples (what
    every loader does), and a shuffle of indices with one batched ``tf.gather`` per
    batch (the same uniform, per-epoch reshuffle, done per batch instead of per example).
    """
    batches = list(train.as_numpy_iterator())
    arrays = tuple(np.concatenate(parts) for parts in zip(*batches, strict=True))
    count = len(arrays[0])
    examples = tf.data.Dataset.from_tensor_slices(arrays)
    tensors = tuple(tf.constant(array) for array in arrays)

    def gather(indices):
        return tuple(tf.gather(tensor, indices) for tensor in tensors)

    return {
        "the loader's train pipeline": train,
        "slices → batch → prefetch (no shuffle)": examples.batch(batch_size).prefetch(-1),
        "slices → shuffle(all) → batch → prefetch": (
            examples.shuffle(count, seed=0).batch(batch_size).prefetch(-1)
        ),
        "range → shuffle(all) → batch → map(gather) → prefetch": (
            tf.data.Dataset.range(count)
            .shuffle(count, seed=0)
            .batch(batch_size)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(-1)
        ),
    }


def interleaved_rates(functions: dict, rounds: int) -> dict[str, list[float]]:
    """Rate of each ``name: function() -> rate`` over ``rounds`` rounds, called in turn."""
    rates = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            rates[name].append(function())
    return rates


def measure(name: str, args) -> dict:
    """Pipeline and training throughput of one registered model's default data."""
    spec = get_spec(name)
    batch_size = spec.recipe.batch_size
    options = {"fraction": 0.1} if args.quick else {}
    load_seconds = time.perf_counter()
    bundle = spec.load_data(batch_size=batch_size, **options)
    load_seconds = time.perf_counter() - load_seconds
    in_graph, from_python = graph_pass(bundle.train), python_pass(bundle.train)
    elements = in_graph()  # warm-up passes: trace, and fill any cache
    from_python()
    keras.utils.set_random_seed(0)
    model = spec.build(**bundle.model_kwargs)
    compile_model(model, spec.recipe, steps_per_epoch=count_batches(bundle.train))
    repeated = bundle.train.repeat()
    steps = harness.steps_for(model, repeated, 2 if args.quick else WARMUP_STEPS, args.seconds)
    rates = interleaved_rates(
        {
            "graph": lambda: rate(in_graph, args.min_seconds),
            "python": lambda: rate(from_python, args.min_seconds),
            "fit": lambda: fit_rate(model, repeated, steps, batch_size),
        },
        args.rounds,
    )
    medians = {key: harness.median(values) for key, values in rates.items()}
    print(f"  {name}: {medians}", flush=True)
    consumers = {
        label: graph_pass(dataset) for label, dataset in stages(bundle.train, batch_size).items()
    }
    for consume in consumers.values():
        consume()
    stage_rates = interleaved_rates(
        {
            label: lambda c=consume: rate(c, args.min_seconds)
            for label, consume in consumers.items()
        },
        args.rounds,
    )
    return {
        "model": name,
        "dataset": spec.dataset,
        "batch_size": batch_size,
        "train_elements": elements,
        "load_seconds": round(load_seconds, 2),
        "fit_steps_per_round": steps,
        "pipeline_graph_elements_per_s": medians["graph"],
        "pipeline_python_elements_per_s": medians["python"],
        "fit_samples_per_s": medians["fit"],
        "ratio_graph": medians["graph"] / medians["fit"],
        "ratio_python": medians["python"] / medians["fit"],
        "rounds": {key: [round(value, 1) for value in values] for key, values in rates.items()},
        "stages": [
            {
                "pipeline": label,
                "graph_elements_per_s": harness.median(values),
                "ratio_to_fit": harness.median(values) / medians["fit"],
                "rounds": [round(value, 1) for value in values],
            }
            for label, values in stage_rates.items()
        ],
    }


def verdict(ratio_graph: float, ratio_python: float) -> str:
    """Whether the pipeline keeps ``GOAL`` times ahead of training, as fit reads it."""
    if ratio_graph < GOAL:
        return "MISSED"
    return "met" if ratio_python >= GOAL else "met in graph (not from a Python loop)"


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--seconds", type=float, default=4.0, help="fit seconds per round")
    parser.add_argument("--models", nargs="*", default=None, help="registered names")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 1.0
    args.min_seconds = 0.2 if args.quick else 0.5
    info = harness.machine()
    rows = [measure(name, args) for name in args.models or list_models()]
    print(
        harness.table(
            [
                "model",
                "dataset",
                "batch",
                "pipeline, in graph (el/s)",
                "pipeline, Python loop (el/s)",
                "fit (samples/s)",
                "ratio, in graph",
                "ratio, Python loop",
                f"goal ≥ {GOAL:g}×",
            ],
            [
                (
                    row["model"],
                    row["dataset"],
                    row["batch_size"],
                    harness.number(row["pipeline_graph_elements_per_s"]),
                    harness.number(row["pipeline_python_elements_per_s"]),
                    harness.number(row["fit_samples_per_s"]),
                    f"{harness.number(row['ratio_graph'])}×",
                    f"{harness.number(row['ratio_python'])}×",
                    verdict(row["ratio_graph"], row["ratio_python"]),
                )
                for row in rows
            ],
        )
    )
    print("\nTrain pipelines by stage (in graph; the train split's examples held in memory):\n")
    print(
        harness.table(
            ["dataset", "batch", "pipeline", "in graph (el/s)", "× fit"],
            [
                (
                    row["dataset"],
                    row["batch_size"],
                    stage["pipeline"],
                    harness.number(stage["graph_elements_per_s"]),
                    f"{harness.number(stage['ratio_to_fit'])}×",
                )
                for row in rows
                for stage in row["stages"]
            ],
        )
    )
    payload = {"goal_ratio": GOAL, "rounds": args.rounds, "quick": args.quick, "models": rows}
    name = harness.results_name("data_pipelines", args.models, list_models())
    print("\n" + harness.save(name, payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
