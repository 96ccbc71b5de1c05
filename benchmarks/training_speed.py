"""Training and inference speed of rnn_zoo's models vs plain Keras twins, side by side.

For each registered model whose entry has a plain twin (``spec.plain_twin``), in one
process on this machine's CPU:

* rnn_zoo's path: the registered factory built from the loader's ``model_kwargs``,
  compiled by :func:`rnn_zoo.training.compile_model` with the registry recipe (cosine
  schedule included), fed the loader's own ``tf.data`` training pipeline;
* the plain twin: the same architecture written in the family's ``twin.py`` with
  ``keras.Sequential`` / the functional API and nothing from rnn_zoo (built by
  ``resolve(spec.plain_twin.build)(model_kwargs)``), compiled with ``model.compile`` and the
  same optimizer, loss and metrics, fed the same batches.

The twins' parameter counts must equal rnn_zoo's (checked). After a warm-up fit
(tracing), which also sets how many batches last about ``--seconds`` (at least 2),
each model trains in ``--rounds`` rounds; a round times those batches of one path and
then of the other (the order alternates between rounds), each fit
timed from the end of an extra first batch to the end of its last (see
``harness.StepTimer``), and then one square float32 ``tf.linalg.matmul``
measures the CPU's matmul peak, at the square size (of ``PEAK_SIZES``) that ran fastest
in a search at the start. The ratio rnn_zoo / plain is taken within each round,
and the table gives the median of those ratios with a 95% bootstrap interval
(``harness.paired_ratio``): a slow spell of the machine slows both sides of a round.
Training throughput is examples/s and achieved GFLOP/s, counting the matmuls of the
dense and recurrent layers (2 multiply-adds per weight per position, x3
for forward + backward), at the first batch's lengths where batches vary (the tagger's
and the translator's, whose encoder reads the source and the rest the target); its
share of the peak is likewise taken per round. Inference
is ``predict_on_batch`` on one batch, called for about half a second in each round.
Last, the matmuls of the text generator's LSTM training step (1024 units, batch 64,
100 steps), in Keras' loop and in rnn_zoo's ``HoistedLSTM``, are timed alone, to show
how far below the peak they run.

Both sides load the data with the registry's data options and the twin's
(``spec.plain_twin.data_options``: the tagger's twin reads no character features).
When one training step of the first batch costs more than ``FIXED_BATCH_GFLOP``
(the text generator's 1024-unit LSTM: about 200 GFLOP, seconds per step on a CPU),
both sides read that batch alone, repeated (``batches``): a round then holds few
steps, the pipeline's cost is nothing beside them, and every round does the same work.

Usage:
    .venv/bin/python benchmarks/training_speed.py [--seconds 2] [--rounds 20] [--quick]
        [--models NAME ...]

Prints a table and writes ``benchmarks/results/training_speed.json``, or
``training_speed_<names>.json`` for a subset of the models.
"""

from __future__ import annotations

import harness
import keras
import numpy as np
import tensorflow as tf

from rnn_zoo import get_spec, list_models
from rnn_zoo.registry import resolve
from rnn_zoo.training import compile_model

PEAK_SIZES = (1024, 2048, 3072, 4096, 6144)
FIXED_BATCH_GFLOP = 50.0  # a training step above this trains on one repeated batch


def twinned_models() -> list[str]:
    """The registered models whose entry has a plain twin (``spec.plain_twin``)."""
    return [name for name in list_models() if get_spec(name).plain_twin is not None]


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


def training_flops(model: keras.Model, lengths: list[int]) -> float:
    """Forward + backward FLOPs per example (3 x forward), recurrent and dense matmuls.

    ``lengths`` are the steps of each input. Layers of a nested model (the translator's
    encoder) run over the first input's steps, all others over the last input's.
    """
    forward = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            forward += sum(layer_flops(inner, lengths[0]) for inner in layer.layers)
        else:
            forward += layer_flops(layer, lengths[-1])
    return 3.0 * forward


def batches(bundle, model: keras.Model):
    """The training batches both sides read, repeated, and the FLOPs of one of them.

    The loader's own training pipeline; but when one training step of the first batch
    costs more than ``FIXED_BATCH_GFLOP`` (seconds per step on a CPU), that batch
    alone, repeated: a round then holds only a few steps, the pipeline's cost is
    nothing beside them, and every round does identical work.

    Returns:
        ``(dataset, flops)``: an endless ``tf.data.Dataset`` and the forward + backward
        FLOPs of one step on the first batch.
    """
    first = next(iter(bundle.train))
    inputs, _ = first
    batch = int(tf.nest.flatten(inputs)[0].shape[0])
    flops = batch * training_flops(model, input_lengths(inputs))
    if flops / 1e9 > FIXED_BATCH_GFLOP:
        return tf.data.Dataset.from_tensors(first).repeat(), flops
    return bundle.train.repeat(), flops


def input_lengths(inputs) -> list[int]:
    """The steps of each model input (1 for an input without a time axis)."""
    return [int(x.shape[1]) if len(x.shape) > 1 else 1 for x in tf.nest.flatten(inputs)]


def seconds_per_step(model, dataset, steps: int) -> float:
    """Seconds per training step over ``steps`` steps, after one untimed step."""
    timer = harness.timed_fit(model, dataset, steps + 1)
    return timer.seconds / timer.steps


def predict_seconds(model, inputs, calls: int) -> float:
    """Seconds per ``predict_on_batch`` call, over ``calls`` calls."""
    return harness.seconds(lambda: [model.predict_on_batch(inputs) for _ in range(calls)]) / calls


def operands(rows: int, inner: int, columns: int):
    """Random float32 ``[rows, inner]`` and ``[inner, columns]`` matrices."""
    return tf.random.normal((rows, inner), seed=0), tf.random.normal((inner, columns), seed=1)


def peak_size(sizes=PEAK_SIZES) -> int:
    """The square size whose float32 matmul runs fastest here.

    Sizes that are powers of two can run far below the others (4096 ran at about half
    the speed of 3072 on an AMD EPYC guest), so the peak is searched for.
    """
    rates = {size: harness.best_gflops(*operands(size, size, size)) for size in sizes}
    print("square float32 matmul GFLOP/s by size:", {k: round(v) for k, v in rates.items()})
    return max(rates, key=rates.get)


def lstm_matmuls(name: str = "text_generator", steps: int = 100) -> dict:
    """The matmuls of one training step of a registered model's LSTM, each timed alone.

    At the model's default size, its recipe batch and ``steps`` time steps. Keras' loop
    does six matmuls per time step, each with only ``batch`` rows or ``batch`` inner
    terms; ``HoistedLSTM`` does three per time step and the other three as two products
    over every step (``rnn_zoo.blocks.hoisted_lstm``).

    Returns:
        ``{"gflops": {matmul: GFLOP/s}, "keras_loop_bound": ..., "hoisted_bound": ...}``:
        a bound is the rate that training pass would reach if it did nothing but its
        matmuls (total FLOPs over the sum of each matmul's time alone).
    """
    spec = get_spec(name)
    cell = next(layer.cell for layer in spec.build().layers if hasattr(layer, "cell"))
    batch, features, units = spec.recipe.batch_size, cell.kernel.shape[0], cell.units
    gates, rows = 4 * units, batch * steps
    per_step = {
        "x_t @ W": (batch, features, gates),
        "h @ U": (batch, units, gates),
        "dz_t @ U^T": (batch, gates, units),
    }
    keras_only = {
        "dz_t @ W^T": (batch, gates, features),
        "x_t^T @ dz_t": (features, batch, gates),
        "h^T @ dz_t": (units, batch, gates),
    }
    hoisted_only = {
        "dz @ W^T, all steps": (rows, gates, features),
        "dz^T @ [x, h], all steps": (gates, rows, features + units),
    }
    shapes = {**per_step, **keras_only, **hoisted_only}
    rates = {label: harness.best_gflops(*operands(*shape)) for label, shape in shapes.items()}

    def bound(labels) -> float:
        repeats = {label: 1 if label in hoisted_only else steps for label in labels}
        flops = {label: 2.0 * np.prod(shapes[label]) * repeats[label] for label in labels}
        seconds = sum(flops[label] / (rates[label] * 1e9) for label in labels)
        return round(float(sum(flops.values()) / seconds / 1e9), 1)

    return {
        "gflops": {label: round(rate, 1) for label, rate in rates.items()},
        "keras_loop_bound": bound({**per_step, **keras_only}),
        "hoisted_bound": bound({**per_step, **hoisted_only}),
    }


def build_pair(name: str, quick: bool):
    """rnn_zoo's compiled model, its compiled plain twin and their training batches."""
    spec = get_spec(name)
    options = dict(spec.plain_twin.data_options)
    if quick:
        options["fraction"] = 0.05
    bundle = spec.load_data(batch_size=spec.recipe.batch_size, **options)
    keras.utils.set_random_seed(0)
    ours = compile_model(spec.build(**bundle.model_kwargs), spec.recipe, steps_per_epoch=100)
    keras.utils.set_random_seed(0)
    twin = resolve(spec.plain_twin.build)(bundle.model_kwargs)
    twin.compile(
        optimizer=keras.optimizers.get(
            {"class_name": spec.recipe.optimizer, "config": {"learning_rate": 1e-3}}
        ),
        loss=keras.losses.get(spec.recipe.loss),
        metrics=[keras.metrics.get(m) if isinstance(m, dict) else m for m in spec.recipe.metrics],
    )
    if twin.count_params() != ours.count_params():
        raise AssertionError(f"{name}: twin has {twin.count_params()} != {ours.count_params()}")
    data, _ = batches(bundle, ours)
    return ours, twin, data


def compare(name: str, seconds: float, rounds: int, quick: bool, peak_operands) -> dict:
    """One model's row: rnn_zoo's path against its twin, in paired rounds (module doc)."""
    ours, twin, data = build_pair(name, quick)
    inputs, _ = next(iter(data))
    batch = int(tf.nest.flatten(inputs)[0].shape[0])
    lengths = input_lengths(inputs)
    models = {"rnn_zoo": ours, "plain": twin}
    steps = harness.steps_for(ours, data, 2, seconds)  # also its warm-up (tracing)
    seconds_per_step(twin, data, 1)
    calls = max(1, round(0.5 / harness.seconds(lambda: ours.predict_on_batch(inputs))))
    twin.predict_on_batch(inputs)
    train = {label: [] for label in models}
    infer = {label: [] for label in models}
    peaks = []
    for round_ in range(rounds):
        order = list(models) if round_ % 2 == 0 else list(models)[::-1]
        for label in order:
            train[label].append(seconds_per_step(models[label], data, steps))
            infer[label].append(predict_seconds(models[label], inputs, calls))
        peaks.append(harness.matmul_gflops(*peak_operands))
    flops = training_flops(ours, lengths)
    gflops = [batch * flops / seconds / 1e9 for seconds in train["rnn_zoo"]]
    row = {
        "model": name,
        "batch": batch,
        "time_steps": lengths[0] if len(lengths) == 1 else lengths,
        "parameters": ours.count_params(),
        "steps_per_round": steps,
        "predict_calls_per_round": calls,
    }
    for label in models:
        row[f"{label}_train_examples_per_s"] = round(batch / harness.median(train[label]), 2)
        row[f"{label}_infer_examples_per_s"] = round(batch / harness.median(infer[label]), 1)
        row[f"{label}_train_seconds_per_step"] = [round(value, 5) for value in train[label]]
        spread = max(train[label]) / min(train[label])
        row[f"{label}_train_slowest_over_fastest"] = round(spread, 3)
    row["rnn_zoo_train_gflops"] = round(harness.median(gflops), 2)
    row["matmul_peak_gflops_per_round"] = [round(value, 1) for value in peaks]
    row["train_ratio"] = harness.paired_ratio(train["plain"], train["rnn_zoo"])
    row["infer_ratio"] = harness.paired_ratio(infer["plain"], infer["rnn_zoo"])
    row["share_of_matmul_peak"] = harness.paired_ratio(gflops, peaks)
    return row


def interval(ratio: dict, percent: bool = False) -> str:
    """``median [low, high]`` for a table cell."""
    shown = "{:.0%}" if percent else "{:.2f}"
    low, high = (shown.format(ratio[key]) for key in ("low", "high"))
    return f"{shown.format(ratio['median'])} [{low}, {high}]"


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="about how long one path's timed fit lasts"
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--models", nargs="*", default=twinned_models(), help="registered names with a twin"
    )
    args = parser.parse_args()
    harness.use_shared_data()
    info = harness.machine()
    size = 1024 if args.quick else peak_size()
    peak_operands = operands(size, size, size)
    harness.matmul_gflops(*peak_operands)  # warm-up
    rows = []
    for name in args.models:
        rounds = 2 if args.quick else args.rounds
        seconds = 0.1 if args.quick else args.seconds
        rows.append(compare(name, seconds, rounds, args.quick, peak_operands))
        print({key: value for key, value in rows[-1].items() if "per_" not in key}, flush=True)
    lstm = lstm_matmuls()
    print("the character LSTM's matmuls, GFLOP/s:", lstm)
    print(f"\npeak: float32 matmul {size} x {size} on {info['cpu']}; medians [95% intervals]")
    print(
        harness.table(
            [
                "model",
                "batch x steps",
                "rnn_zoo ex/s",
                "plain ex/s",
                "ratio",
                "≥ 0.95",
                "GFLOP/s",
                "of peak",
                "infer ratio",
            ],
            [
                [
                    r["model"],
                    f"{r['batch']} x {'/'.join(map(str, tf.nest.flatten(r['time_steps'])))}",
                    harness.number(r["rnn_zoo_train_examples_per_s"]),
                    harness.number(r["plain_train_examples_per_s"]),
                    interval(r["train_ratio"]),
                    harness.verdict(r["train_ratio"], 0.95),
                    harness.number(r["rnn_zoo_train_gflops"]),
                    interval(r["share_of_matmul_peak"], percent=True),
                    interval(r["infer_ratio"]),
                ]
                for r in rows
            ],
        )
    )
    name = harness.results_name("training_speed", args.models, twinned_models())
    payload = {"peak_matmul_size": size, "lstm_matmuls": lstm, "models": rows}
    print(harness.save(name, payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
