"""Mixed precision on this machine's CPU: training throughput and matmul speed.

In one process, on the CPU:

* training throughput (sequences/s) of the default text generator
  (``build_text_generator()``: Embedding(65, 256) -> LSTM(1024) -> Dense(65)) with its
  registry recipe, batch 64, 100 characters of random ids, timed over 10 steps after 2
  warm-up steps, under each Keras dtype policy;
* ``tf.linalg.matmul`` of two 4096x4096 matrices in GFLOP/s per dtype.

``mixed_float16`` is measured with ``keras.mixed_precision.set_global_policy`` directly,
because :func:`rnn_zoo.device.resolve_precision` refuses it on a CPU.

Usage:
    .venv/bin/python benchmarks/precision.py [--steps 10] [--size 4096]

Prints a table and writes ``benchmarks/results/precision.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import harness
import keras
import numpy as np
import tensorflow as tf

from rnn_zoo import build_text_generator, get_spec
from rnn_zoo.device import describe_devices, select_device
from rnn_zoo.training import compile_model

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
DTYPES = ("float32", "bfloat16", "float16")
RESULTS = Path(__file__).resolve().parent / "results" / "precision.json"


def train_throughput(policy: str, *, batch: int, length: int, warmup: int, steps: int) -> dict:
    """Sequences per second of the default text generator under one dtype policy."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        recipe = get_spec("text_generator").recipe
        model = compile_model(build_text_generator(), recipe, steps_per_epoch=warmup + steps)
        ids = np.random.default_rng(0).integers(0, 65, size=(batch, length + 1), dtype="int32")
        inputs, targets = ids[:, :-1], ids[:, 1:]
        for _ in range(warmup):
            model.train_on_batch(inputs, targets)
        started = time.perf_counter()
        for _ in range(steps):
            loss = model.train_on_batch(inputs, targets)
        seconds = time.perf_counter() - started
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return {
        "policy": policy,
        "sequences_per_second": round(batch * steps / seconds, 2),
        "seconds_per_step": round(seconds / steps, 3),
        "final_loss": float(np.asarray(loss).ravel()[0]),
        "optimizer": type(model.optimizer).__name__,
        "output_dtype": str(model.outputs[0].dtype),
    }


def matmul_speed(dtype: str, *, size: int, repeats: int) -> dict:
    """GFLOP/s of one ``size`` x ``size`` matmul in ``dtype`` (best of ``repeats``)."""
    generator = tf.random.Generator.from_seed(0)
    a = tf.cast(generator.normal((size, size)), dtype)
    b = tf.cast(generator.normal((size, size)), dtype)
    gflops = harness.best_gflops(a, b, calls=repeats)
    return {
        "dtype": dtype,
        "size": size,
        "gflops": round(gflops, 1),
        "seconds_best": round(2 * size**3 / gflops / 1e9, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    devices = describe_devices()
    load_before = os.getloadavg()
    with select_device("cpu") as device:
        training = [
            train_throughput(
                policy,
                batch=args.batch,
                length=args.length,
                warmup=args.warmup,
                steps=args.steps,
            )
            for policy in POLICIES
        ]
        matmul = [matmul_speed(dtype, size=args.size, repeats=args.repeats) for dtype in DTYPES]
    result = {
        "device": device,
        "cpu": devices["cpu"],
        "tensorflow": devices["tensorflow"]["version"],
        "keras": keras.__version__,
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "settings": vars(args),
        "training": training,
        "matmul": matmul,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(
        f"CPU: {devices['cpu']['model']} ({devices['cpu']['logical_cores']} cores), "
        f"amx_bf16={devices['cpu']['amx_bf16']}, avx512_bf16={devices['cpu']['avx512_bf16']}"
    )
    print(f"\ntext generator, batch {args.batch} x {args.length}, {args.steps} steps")
    print(f"{'policy':<16}{'seq/s':>10}{'s/step':>10}{'vs f32':>9}  optimizer")
    base = training[0]["sequences_per_second"]
    for row in training:
        ratio = row["sequences_per_second"] / base
        print(
            f"{row['policy']:<16}{row['sequences_per_second']:>10.2f}"
            f"{row['seconds_per_step']:>10.3f}{ratio:>8.2f}x  {row['optimizer']}"
        )
    print(f"\nmatmul {args.size}x{args.size}, best of {args.repeats}")
    print(f"{'dtype':<16}{'GFLOP/s':>10}{'vs f32':>9}")
    for row in matmul:
        print(
            f"{row['dtype']:<16}{row['gflops']:>10.1f}{row['gflops'] / matmul[0]['gflops']:>8.2f}x"
        )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
