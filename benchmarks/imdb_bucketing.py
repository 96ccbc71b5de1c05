"""IMDB time-to-accuracy: reviews padded to a fixed length vs batched by length.

For each ``--sequence-length``, the registered model whose loader offers length
buckets (a ``bucket_by_length`` argument: the IMDB classifier's; ``--model`` names
another) trains ``--epochs`` epochs twice on the same reviews, with its recipe, its
entry's data options and seed 0: fed fixed-length batches (every review cut or padded
to ``sequence_length``, the loader's default) and fed length-bucketed batches
(``bucket_by_length=True``: each review cut to its own length, batched with reviews
of similar length). After every epoch the test accuracy is measured, outside the timed
training; the table gives the training wall time to each epoch and the accuracy
reached, and the time to the entry's recorded test accuracy (its ``results``).

The defaults are the registry's: the recipe's epochs and the entry's
``sequence_length``.

Usage:
    .venv/bin/python benchmarks/imdb_bucketing.py [--epochs 3] [--sequence-length 600]
        [--model NAME]

Prints a table and writes ``benchmarks/results/imdb_bucketing.json``.
"""

from __future__ import annotations

import inspect
import time

import harness
import keras

from rnn_zoo import get_spec, list_models
from rnn_zoo.data.windows import count_batches, with_known_cardinality
from rnn_zoo.training import compile_model


def bucketable_models() -> list[str]:
    """The registered models whose loader takes ``bucket_by_length``."""
    return [
        name
        for name in list_models()
        if "bucket_by_length" in inspect.signature(get_spec(name).get_loader()).parameters
    ]


def run(
    spec, sequence_length: int, bucketed: bool, epochs: int, fraction: float, target: float
) -> dict:
    bundle = spec.load_data(
        sequence_length=sequence_length,
        bucket_by_length=bucketed,
        fraction=fraction,
        batch_size=spec.recipe.batch_size,
    )
    train_batches, test_batches = map(with_known_cardinality, (bundle.train, bundle.test))
    keras.utils.set_random_seed(0)
    model = compile_model(
        spec.build(**bundle.model_kwargs), spec.recipe, count_batches(train_batches)
    )
    model.evaluate(test_batches.take(1), verbose=0)  # builds the test function
    elapsed, epochs_seen = 0.0, []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.fit(train_batches, epochs=1, verbose=0, shuffle=False)
        elapsed += time.perf_counter() - started
        accuracy = model.evaluate(test_batches, verbose=0, return_dict=True)["accuracy"]
        epochs_seen.append(
            {
                "epoch": epoch,
                "train_seconds": round(elapsed, 1),
                "test_accuracy": round(accuracy, 4),
            }
        )
        print(sequence_length, "bucketed" if bucketed else "fixed", epochs_seen[-1], flush=True)
    reached = [e["train_seconds"] for e in epochs_seen if e["test_accuracy"] >= target]
    return {
        "sequence_length": sequence_length,
        "bucketed": bucketed,
        "epochs": epochs_seen,
        "seconds_to_target": reached[0] if reached else None,
    }


def main() -> None:
    choices = bucketable_models()
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--model", choices=choices, default=choices[0])
    known, _ = parser.parse_known_args()
    spec = get_spec(known.model)
    target = spec.results["test_accuracy"]
    parser.add_argument("--epochs", type=int, default=spec.recipe.epochs)
    parser.add_argument(
        "--sequence-length", type=int, nargs="+", default=[spec.data_options["sequence_length"]]
    )
    args = parser.parse_args()
    harness.use_shared_data()
    info = harness.machine()
    fraction = 0.05 if args.quick else 1.0
    epochs = 1 if args.quick else args.epochs
    runs = [
        run(spec, length, bucketed, epochs, fraction, target)
        for length in args.sequence_length
        for bucketed in (False, True)
    ]
    rows = []
    for length in args.sequence_length:
        fixed, bucketed = (r for r in runs if r["sequence_length"] == length)
        for a, b in zip(fixed["epochs"], bucketed["epochs"], strict=True):
            speedup = a["train_seconds"] / b["train_seconds"]
            rows.append(
                [
                    length,
                    a["epoch"],
                    a["train_seconds"],
                    a["test_accuracy"],
                    b["train_seconds"],
                    b["test_accuracy"],
                    f"{speedup:.2f}",
                ]
            )
    print(
        harness.table(
            [
                "sequence_length",
                "epoch",
                "fixed: train s",
                "fixed: test acc",
                "bucketed: train s",
                "bucketed: test acc",
                "speed-up",
            ],
            rows,
        )
    )
    for r in runs:
        seconds = r["seconds_to_target"]
        print(
            f"{r['sequence_length']} {'bucketed' if r['bucketed'] else 'fixed'}: "
            + (f"{seconds} s of training to {target}" if seconds else "target not reached")
        )
    payload = {"model": spec.name, "target_accuracy": target, "runs": runs}
    print(harness.save("imdb_bucketing", payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
