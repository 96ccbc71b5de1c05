"""IMDB time-to-accuracy: reviews padded to a fixed length vs batched by length.

For each ``--sequence-length``, the registered ``gru_classifier`` (its recipe and
seed) trains ``--epochs`` epochs twice on the same reviews: fed fixed-length batches
(every review cut or padded to ``sequence_length``, the loader's default) and fed
length-bucketed batches (``load_imdb(bucket_by_length=True)``: each review cut to its
own length, batched with reviews of similar length). After every epoch the test
accuracy is measured, outside the timed training; the table gives the training wall
time to each epoch and the accuracy reached.

The defaults are the registry's: the recipe's epochs and the ``sequence_length`` of
``gru_classifier``'s data options.

Usage:
    .venv/bin/python benchmarks/imdb_bucketing.py [--epochs 3] [--sequence-length 600]

Prints a table and writes ``benchmarks/results/imdb_bucketing.json``.
"""

from __future__ import annotations

import time

import harness
import keras

from rnn_zoo import get_spec
from rnn_zoo.data import load_imdb
from rnn_zoo.training import compile_model, count_batches

TARGET_ACCURACY = 0.88  # issue 8: wall time to reach it


def run(sequence_length: int, bucketed: bool, epochs: int, fraction: float) -> dict:
    spec = get_spec("gru_classifier")
    bundle = load_imdb(
        sequence_length=sequence_length,
        bucket_by_length=bucketed,
        fraction=fraction,
        batch_size=spec.recipe.batch_size,
    )
    keras.utils.set_random_seed(0)
    model = compile_model(
        spec.build(**bundle.model_kwargs), spec.recipe, count_batches(bundle.train)
    )
    model.evaluate(bundle.test.take(1), verbose=0)  # builds the test function
    elapsed, epochs_seen = 0.0, []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.fit(bundle.train, epochs=1, verbose=0, shuffle=False)
        elapsed += time.perf_counter() - started
        accuracy = model.evaluate(bundle.test, verbose=0, return_dict=True)["accuracy"]
        epochs_seen.append(
            {
                "epoch": epoch,
                "train_seconds": round(elapsed, 1),
                "test_accuracy": round(accuracy, 4),
            }
        )
        print(sequence_length, "bucketed" if bucketed else "fixed", epochs_seen[-1], flush=True)
    reached = [e["train_seconds"] for e in epochs_seen if e["test_accuracy"] >= TARGET_ACCURACY]
    return {
        "sequence_length": sequence_length,
        "bucketed": bucketed,
        "epochs": epochs_seen,
        "seconds_to_target": reached[0] if reached else None,
    }


def main() -> None:
    spec = get_spec("gru_classifier")
    parser = harness.parser(__doc__.splitlines()[0])
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
        run(length, bucketed, epochs, fraction)
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
            + (f"{seconds} s of training to {TARGET_ACCURACY}" if seconds else "target not reached")
        )
    payload = {"target_accuracy": TARGET_ACCURACY, "runs": runs}
    print(harness.save("imdb_bucketing", payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
