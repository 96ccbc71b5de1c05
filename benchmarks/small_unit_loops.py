"""Does hoisting pay for small GRU layers? A hand-written loop against Keras' own.

``HoistedLSTM`` trains the 1024-unit character LSTM about 2x faster than Keras by
taking the input projections and the weight gradients out of the time loop. The
review classifier's layer is a bidirectional GRU of 64 units over 600 steps, where
each step's matmuls are tiny and the loop's per-step cost may dominate instead. This
script measures that directly: the gradient of one ``[64, 600, 128]`` batch through

- Keras: ``keras.layers.GRU`` (one direction) or ``Bidirectional(GRU)``, and
- a hoisted GRU (``reset_after=True``, Keras' weight layout): the input projections of
  every step and direction in one matmul before the loop; a hand-written backward
  loop doing one matmul a step (``d_gates @ recurrent_kernelᵀ``); input and weight
  gradients in one matmul each after it. Both directions of a bidirectional layer
  step together in one loop, with batched matmuls, halving the number of steps.

Each round times both, one right after the other; the gradients are checked equal
first. The prototype lives here, not in the package: it did not pay (BENCHMARKS.md).

    .venv/bin/python benchmarks/small_unit_loops.py            # 64 and 128 units
    .venv/bin/python benchmarks/small_unit_loops.py --quick
"""

from __future__ import annotations

import json
import time

import keras
import numpy as np
import tensorflow as tf
from harness import RESULTS, machine, paired_ratio, parser, source_commit

BATCH, STEPS, FEATURES = 64, 600, 128


def _forward(projected, recurrent_kernel, recurrent_bias, initial):
    """Steps ``D`` GRU directions together; ``projected`` is ``[time, D, batch, 3u]``."""

    def step(carry, projected_step):
        h = carry[0]
        recurrent = tf.matmul(h, recurrent_kernel) + recurrent_bias
        x_z, x_r, x_h = tf.split(projected_step, 3, axis=-1)
        h_z, h_r, h_candidate = tf.split(recurrent, 3, axis=-1)
        z = tf.sigmoid(x_z + h_z)
        r = tf.sigmoid(x_r + h_r)
        candidate = tf.tanh(x_h + r * h_candidate)
        return (z * h + (1 - z) * candidate, z, r, candidate, h_candidate)

    return tf.scan(step, projected, initializer=(initial,) * 5)


def _backward(saved, d_hs, recurrent_kernel, initial):
    """The gradient of every step's input and recurrent pre-activations, last step first."""
    transposed = tf.transpose(recurrent_kernel, (0, 2, 1))

    def step(carry, inputs):
        d_output, z, r, candidate, h_candidate, h_previous = inputs
        d_h = d_output + carry[0]
        d_z = d_h * (h_previous - candidate) * z * (1 - z)
        d_candidate = d_h * (1 - z) * (1 - candidate * candidate)
        d_r = d_candidate * h_candidate * r * (1 - r)
        d_recurrent = tf.concat([d_z, d_r, d_candidate * r], axis=-1)
        d_previous = d_h * z + tf.matmul(d_recurrent, transposed)
        return (d_previous, tf.concat([d_z, d_r, d_candidate], axis=-1), d_recurrent)

    gates = tf.zeros_like(tf.concat([initial] * 3, axis=-1))
    _, d_projected, d_recurrent = tf.scan(
        step, (d_hs, *saved), initializer=(initial, gates, gates), reverse=True
    )
    return d_projected, d_recurrent


def hoisted_gru(inputs, kernel, recurrent_kernel, bias):
    """``D`` GRU directions over ``inputs`` ``[batch, time, features]``, hoisted.

    Args:
        inputs: The sequences; direction 1 (if any) reads them backwards.
        kernel: ``[D, features, 3u]``; recurrent_kernel ``[D, u, 3u]``; bias
            ``[D, 2, 3u]`` (input and recurrent biases), as ``GRUCell`` holds them.

    Returns:
        Every step's output ``[batch, time, D·u]``, directions concatenated.
    """
    directions, units = kernel.shape[0], recurrent_kernel.shape[1]

    @tf.custom_gradient
    def run(inputs, kernel, recurrent_kernel, bias):
        time_major = tf.transpose(inputs, (1, 0, 2))
        read = tf.stack([time_major[::-1] if d else time_major for d in range(directions)])
        flat = tf.reshape(read, (directions, -1, FEATURES))
        projected = tf.matmul(flat, kernel) + bias[:, :1]
        projected = tf.reshape(projected, (directions, STEPS, BATCH, -1))
        projected = tf.transpose(projected, (1, 0, 2, 3))
        initial = tf.zeros((directions, BATCH, units))
        hs, *gates = _forward(projected, recurrent_kernel, bias[:, 1:], initial)
        outputs = tf.concat([hs[::-1, d] if d else hs[:, d] for d in range(directions)], axis=-1)

        def gradient(d_outputs):
            d_time_major = tf.transpose(d_outputs, (1, 0, 2))
            d_hs = tf.split(d_time_major, directions, axis=-1)
            d_hs = tf.stack([d_h[::-1] if d else d_h for d, d_h in enumerate(d_hs)], axis=1)
            h_previous = tf.concat([initial[None], hs[:-1]], axis=0)
            d_projected, d_recurrent = _backward(
                (*gates, h_previous), d_hs, recurrent_kernel, initial
            )

            def by_direction(values, width):
                return tf.reshape(tf.transpose(values, (1, 0, 2, 3)), (directions, -1, width))

            d_projected = by_direction(d_projected, 3 * units)
            d_recurrent = by_direction(d_recurrent, 3 * units)
            d_read = tf.reshape(
                tf.matmul(d_projected, kernel, transpose_b=True), (directions, STEPS, BATCH, -1)
            )
            d_inputs = d_read[0] + (d_read[1][::-1] if directions == 2 else 0)
            return (
                tf.transpose(d_inputs, (1, 0, 2)),
                tf.matmul(flat, d_projected, transpose_a=True),
                tf.matmul(by_direction(h_previous, units), d_recurrent, transpose_a=True),
                tf.stack([tf.reduce_sum(d_projected, 1), tf.reduce_sum(d_recurrent, 1)], axis=1),
            )

        return tf.transpose(outputs, (1, 0, 2)), gradient

    return run(inputs, kernel, recurrent_kernel, bias)


def _contenders(units: int, bidirectional: bool):
    """Two ``tf.function`` s returning the weight gradients of ``sum(outputs²)``."""
    inputs = tf.constant(np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)), tf.float32)
    layer = keras.layers.GRU(units, return_sequences=True)
    if bidirectional:
        layer = keras.layers.Bidirectional(layer)
    layer.build(inputs.shape)
    cells = [layer.forward_layer.cell, layer.backward_layer.cell] if bidirectional else [layer.cell]
    weights = [w for cell in cells for w in (cell.kernel, cell.recurrent_kernel, cell.bias)]

    @tf.function
    def keras_gradients():
        with tf.GradientTape() as tape:
            outputs = layer(inputs, training=True)
            loss = tf.reduce_sum(outputs * outputs)
        return tape.gradient(loss, [w.value for w in weights])

    @tf.function
    def hoisted_gradients():
        values = [w.value for w in weights]
        with tf.GradientTape() as tape:
            tape.watch(values)
            stacked = [tf.stack(values[kind::3]) for kind in range(3)]
            outputs = hoisted_gru(inputs, *stacked)
            loss = tf.reduce_sum(outputs * outputs)
        return tape.gradient(loss, values)

    return keras_gradients, hoisted_gradients


def _seconds(function) -> float:
    start = time.perf_counter()
    function()[0].numpy()
    return time.perf_counter() - start


def measure(units: int, bidirectional: bool, rounds: int) -> dict:
    """Checks the gradients agree, then times both in ``rounds`` paired rounds."""
    keras_gradients, hoisted_gradients = _contenders(units, bidirectional)
    worst = max(
        float(tf.reduce_max(tf.abs(a - b)) / tf.reduce_max(tf.abs(a)))
        for a, b in zip(keras_gradients(), hoisted_gradients(), strict=True)
    )
    if worst > 1e-4:
        raise AssertionError(f"gradients differ: relative {worst:.2e}")
    keras_s, hoisted_s = [], []
    for _ in range(rounds):
        keras_s.append(_seconds(keras_gradients))
        hoisted_s.append(_seconds(hoisted_gradients))
    return {
        "units": units,
        "bidirectional": bidirectional,
        "gradient_relative_difference": worst,
        "keras_s": keras_s,
        "hoisted_s": hoisted_s,
        "speedup": paired_ratio(keras_s, hoisted_s),
    }


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    rounds = 3 if args.quick else 9
    results = [
        measure(units, bidirectional, rounds)
        for units in ((64,) if args.quick else (64, 128))
        for bidirectional in (False, True)
    ]
    for result in results:
        print(
            f"| GRU({result['units']}){' bidirectional' if result['bidirectional'] else ''} | "
            f"{np.median(result['keras_s']):.3f} | {np.median(result['hoisted_s']):.3f} | "
            f"{result['speedup']['median']:.2f} "
            f"({result['speedup']['low']:.2f}–{result['speedup']['high']:.2f}) |"
        )
    report = {"commit": source_commit(), "machine": machine(), "rounds": rounds, "results": results}
    name = "small_unit_loops_quick" if args.quick else "small_unit_loops"
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
