"""Training and inference speed of rnn_zoo's models vs plain Keras twins, side by side.

For each registered model with a twin below, in one process on this machine's CPU:

* rnn_zoo's path: the registered factory built from the loader's ``model_kwargs``,
  compiled by :func:`rnn_zoo.training.compile_model` with the registry recipe (cosine
  schedule included), fed the loader's own ``tf.data`` training pipeline;
* the plain twin: the same architecture written here with ``keras.Sequential`` /
  the functional API and nothing from rnn_zoo, compiled with ``model.compile`` and the
  same optimizer, loss and metrics, fed the same batches.

The twins' parameter counts must equal rnn_zoo's (checked). Each model trains
``--steps`` batches per timing after a warm-up fit (tracing), the two paths
interleaved ``--repeats`` times in ABBA order; the median wins. Training throughput is examples/s
and achieved GFLOP/s, counting the matmuls of the dense, convolution and recurrent
layers (2 multiply-adds per weight per position, x3 for forward + backward).
Inference is ``predict_on_batch`` on one batch. In the same run a ``4096 x 4096``
float32 ``tf.linalg.matmul`` measures the CPU's matmul peak.

The text generator's twin is not fed the loader: both read the same random 100-id
sequences (its loader is cheap, but one 64 x 100 batch of the 1024-unit LSTM takes
seconds, so fewer, identical batches keep the run short).

Usage:
    .venv/bin/python benchmarks/training_speed.py [--steps 20] [--repeats 3] [--quick]
        [--models NAME ...]

Prints a table and writes ``benchmarks/results/training_speed.json``, or
``training_speed_<names>.json`` for a subset of the models.
"""

from __future__ import annotations

import time

import harness
import keras
import numpy as np
import tensorflow as tf

from rnn_zoo import get_spec
from rnn_zoo.data import load_dataset
from rnn_zoo.training import compile_model

DATA_OPTIONS = {
    "baseline": {},
    "lstm": {},
    "gru_classifier": {},
    "text_generator": {},
    "sequence_tagger": {"char_features": False},
}


def plain_baseline(kwargs):
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10),
        ]
    )


def plain_lstm(kwargs):
    width, features = kwargs["input_shape"]
    return keras.Sequential(
        [
            keras.Input((width, features)),
            keras.layers.LSTM(20),
            keras.layers.Dense(kwargs.get("output_steps", 1)),
            keras.layers.Reshape((kwargs.get("output_steps", 1), 1)),
        ]
    )


def plain_gru_classifier(kwargs):
    """Bidirectional GRU(64) over every step, average and max pooled, as the default.

    Keras' ``GlobalMaxPooling1D`` ignores the padding mask, where rnn_zoo's pooling
    masks it: one elementwise ``where`` per position, no weights.
    """
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(kwargs["vocab_size"], 128, mask_zero=True)(ids)
    x = keras.layers.Bidirectional(keras.layers.GRU(64, dropout=0.5, return_sequences=True))(x)
    pooled = keras.layers.Concatenate()(
        [keras.layers.GlobalAveragePooling1D()(x), keras.layers.GlobalMaxPooling1D()(x)]
    )
    probability = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dropout(0.5)(pooled))
    return keras.Model(ids, probability)


def plain_text_generator(kwargs):
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(kwargs["vocab_size"], 256),
            keras.layers.LSTM(1024, return_sequences=True),
            keras.layers.Dense(kwargs["vocab_size"]),
        ]
    )


def plain_sequence_tagger(kwargs):
    words = keras.Input((None,), dtype="int32", name="word_ids")
    x = keras.layers.Embedding(kwargs["vocab_size"], 100, mask_zero=True)(words)
    for _ in range(2):
        x = keras.layers.Bidirectional(keras.layers.LSTM(128, return_sequences=True, dropout=0.25))(
            x
        )
    outputs = keras.layers.Dense(kwargs["num_tags"], activation="softmax")(x)
    return keras.Model({"word_ids": words}, outputs)


TWINS = {
    "baseline": plain_baseline,
    "lstm": plain_lstm,
    "gru_classifier": plain_gru_classifier,
    "text_generator": plain_text_generator,
    "sequence_tagger": plain_sequence_tagger,
}


def layer_flops(layer, steps: int) -> int:
    """Forward FLOPs per example of one layer's matmuls: 2 per weight per position."""
    if isinstance(layer, keras.layers.Bidirectional):
        return layer_flops(layer.forward_layer, steps) + layer_flops(layer.backward_layer, steps)
    if isinstance(layer, keras.layers.RNN):
        weights = int(np.prod(layer.cell.kernel.shape) + np.prod(layer.cell.recurrent_kernel.shape))
        return 2 * weights * steps
    if isinstance(layer, keras.layers.Dense):
        positions = steps if len(layer.input.shape) == 3 else 1
        return 2 * int(np.prod(layer.kernel.shape)) * positions
    return 0


def training_flops(model: keras.Model, steps: int) -> float:
    """Forward + backward FLOPs per example (3 x forward), recurrent and dense matmuls."""
    return 3.0 * sum(layer_flops(layer, steps) for layer in model.layers)


def batches(name: str, bundle, quick: bool):
    if name != "text_generator":
        return bundle.train
    ids = np.random.default_rng(0).integers(0, 65, (64, 101)).astype("int32")
    return tf.data.Dataset.from_tensors((ids[:, :-1], ids[:, 1:])).repeat()


def time_fit(model, dataset, steps: int) -> float:
    started = time.perf_counter()
    model.fit(dataset.take(steps), epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - started


def compare(name: str, steps: int, repeats: int, quick: bool) -> dict:
    spec = get_spec(name)
    options = {**spec.data_options, **DATA_OPTIONS[name]}
    if quick:
        options["fraction"] = 0.05
    bundle = load_dataset(spec.dataset, batch_size=spec.recipe.batch_size, **options)
    data = batches(name, bundle, quick).repeat()
    keras.utils.set_random_seed(0)
    ours = compile_model(spec.build(**bundle.model_kwargs), spec.recipe, steps_per_epoch=100)
    keras.utils.set_random_seed(0)
    twin = TWINS[name](bundle.model_kwargs)
    twin.compile(
        optimizer=keras.optimizers.get(
            {"class_name": spec.recipe.optimizer, "config": {"learning_rate": 1e-3}}
        ),
        loss=keras.losses.get(spec.recipe.loss),
        metrics=[keras.metrics.get(m) if isinstance(m, dict) else m for m in spec.recipe.metrics],
    )
    if twin.count_params() != ours.count_params():
        raise AssertionError(f"{name}: twin has {twin.count_params()} != {ours.count_params()}")
    inputs, _ = next(iter(data))
    batch = int(tf.nest.flatten(inputs)[0].shape[0])
    length = (
        int(tf.nest.flatten(inputs)[0].shape[1]) if len(tf.nest.flatten(inputs)[0].shape) > 1 else 1
    )
    for model in (ours, twin):
        time_fit(model, data, 2)  # warm-up: tracing
        model.predict_on_batch(inputs)
    train_seconds = {"rnn_zoo": [], "plain": []}
    infer_seconds = {"rnn_zoo": [], "plain": []}
    pair = (("rnn_zoo", ours), ("plain", twin))
    for repeat in range(repeats):  # ABBA order: a drifting machine load favours neither
        for label, model in pair if repeat % 2 == 0 else pair[::-1]:
            train_seconds[label].append(time_fit(model, data, steps))
            infer_seconds[label].append(harness.seconds(lambda m=model: m.predict_on_batch(inputs)))
    flops = training_flops(ours, length)
    row = {"model": name, "batch": batch, "time_steps": length, "parameters": ours.count_params()}
    for label in ("rnn_zoo", "plain"):
        per_second = batch * steps / harness.median(train_seconds[label])
        row[f"{label}_train_examples_per_s"] = round(per_second, 2)
        row[f"{label}_train_gflops"] = round(per_second * flops / 1e9, 2)
        row[f"{label}_infer_examples_per_s"] = round(
            batch / harness.median(infer_seconds[label]), 1
        )
        spread = max(train_seconds[label]) / min(train_seconds[label])
        row[f"{label}_train_slowest_over_fastest"] = round(spread, 3)
    row["train_ratio"] = round(
        row["rnn_zoo_train_examples_per_s"] / row["plain_train_examples_per_s"], 3
    )
    row["infer_ratio"] = round(
        row["rnn_zoo_infer_examples_per_s"] / row["plain_infer_examples_per_s"], 3
    )
    return row


def matmul_peak(size: int = 4096, repeats: int = 5) -> float:
    a = tf.random.normal((size, size), seed=0)
    b = tf.random.normal((size, size), seed=1)
    tf.linalg.matmul(a, b).numpy()
    best = min(harness.seconds(lambda: tf.linalg.matmul(a, b).numpy()) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--models", nargs="*", default=list(TWINS))
    args = parser.parse_args()
    harness.use_shared_data()
    info = harness.machine()
    peak_before = matmul_peak()
    rows = []
    for name in args.models:
        steps = 2 if name == "text_generator" else args.steps
        steps = 1 if args.quick else steps
        rows.append(compare(name, steps, 1 if args.quick else args.repeats, args.quick))
        print(rows[-1], flush=True)
    peak = max(peak_before, matmul_peak())
    for row in rows:
        row["share_of_matmul_peak"] = round(row["rnn_zoo_train_gflops"] / peak, 3)
    print(f"\nfloat32 matmul peak (4096 x 4096): {peak:.1f} GFLOP/s on {info['cpu']}")
    print(
        harness.table(
            [
                "model",
                "batch x steps",
                "rnn_zoo ex/s",
                "plain ex/s",
                "ratio",
                "GFLOP/s",
                "of peak",
                "infer ratio",
            ],
            [
                [
                    r["model"],
                    f"{r['batch']} x {r['time_steps']}",
                    harness.number(r["rnn_zoo_train_examples_per_s"]),
                    harness.number(r["plain_train_examples_per_s"]),
                    f"{r['train_ratio']:.2f}",
                    harness.number(r["rnn_zoo_train_gflops"]),
                    f"{r['share_of_matmul_peak']:.0%}",
                    f"{r['infer_ratio']:.2f}",
                ]
                for r in rows
            ],
        )
    )
    payload = {"matmul_peak_gflops": round(peak, 1), "models": rows}
    name = harness.results_name("training_speed", args.models, list(TWINS))
    print(harness.save(name, payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
