"""Multi-worker training: two real processes on localhost, each with its own TF_CONFIG."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from rnn_zoo.cli import main
from rnn_zoo.runs import verify_run
from rnn_zoo.training import train, train_custom_loop

WORKERS = 2
TIMEOUT_S = 150
QUICK = {
    "epochs": 2,
    "steps_per_epoch": 4,
    "data_options": {"fraction": 0.05},
    "model_options": {"units": 8},
}

# One worker: trains through the public API, then writes what it ended with.
WORKER = """
import hashlib, json, sys
import numpy as np
from rnn_zoo.training import train_custom_loop

output_dir, data_dir, report, quick = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
result = train_custom_loop(
    "lstm", output_dir=output_dir, data_dir=data_dir, strategy="multi_worker", **quick
)
weights = b"".join(np.asarray(w).tobytes() for w in result.model.get_weights())
with open(report, "w") as handle:
    json.dump(
        {
            "weights_sha256": hashlib.sha256(weights).hexdigest(),
            "history": result.history,
            "run_dir": None if result.run_dir is None else str(result.run_dir),
        },
        handle,
    )
"""


def free_ports(count: int) -> list[int]:
    """Ports the OS says are free now (bound, read, released)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]


def weights_sha256(model) -> str:
    import hashlib

    return hashlib.sha256(
        b"".join(np.asarray(w).tobytes() for w in model.get_weights())
    ).hexdigest()


def run_workers(tmp_path, shared_data) -> list[dict]:
    """Starts the workers, waits for all, kills every one left if any fails or hangs."""
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(WORKERS)]}
    (tmp_path / "tmp").mkdir()
    processes = []
    try:
        for index in range(WORKERS):
            env = {
                **os.environ,
                "TF_CONFIG": json.dumps(
                    {"cluster": cluster, "task": {"type": "worker", "index": index}}
                ),
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "CUDA_VISIBLE_DEVICES": "",
                "TMPDIR": str(tmp_path / "tmp"),  # where a non-chief's private files go
            }
            arguments = [tmp_path / "runs", shared_data, tmp_path / f"worker{index}.json"]
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, *map(str, arguments), json.dumps(QUICK)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        outputs = [process.communicate(timeout=TIMEOUT_S)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for index, (process, output) in enumerate(zip(processes, outputs, strict=True)):
        assert process.returncode == 0, f"worker {index} failed:\n{output[-3000:]}"
    return [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(WORKERS)]


def test_two_workers_end_with_identical_weights_and_one_run_directory(tmp_path, shared_data):
    chief, other = run_workers(tmp_path, shared_data)

    # The same weights in both processes: gradients were summed across the workers.
    assert chief["weights_sha256"] == other["weights_sha256"]
    assert chief["history"] == other["history"]

    # Only the chief wrote a run directory; the other's private folder is gone.
    assert other["run_dir"] is None
    runs = tmp_path / "runs" / "lstm"
    assert sorted(path.name for path in runs.iterdir()) == sorted(
        [os.path.basename(chief["run_dir"]), "latest"]
    )
    verify_run(runs / "latest")
    saved = keras.saving.load_model(runs / "latest" / "model.keras")
    assert weights_sha256(saved) == chief["weights_sha256"]
    assert list((tmp_path / "tmp").iterdir()) == []

    # Each global batch was split over the two workers: one process on the same batches
    # (the same seed, so the same shuffle) follows the same losses.
    single = train_custom_loop(
        "lstm", output_dir=tmp_path / "single", data_dir=shared_data, **QUICK
    )
    assert chief["history"]["loss"] == pytest.approx(single.history["loss"], rel=1e-5)
    assert chief["history"]["val_loss"] == pytest.approx(single.history["val_loss"], rel=1e-5)


def test_fit_refuses_multi_worker_and_points_at_the_custom_loop(tmp_path):
    with pytest.raises(ValueError, match=r"train_custom_loop\(\.\.\., strategy='multi_worker'\)"):
        train("lstm", strategy="multi_worker", output_dir=tmp_path)
    assert not tmp_path.joinpath("lstm").exists()


def test_cli_routes_multi_worker_to_the_custom_loop(monkeypatch, tmp_path, capsys):
    import rnn_zoo.training

    calls = []

    def fake_loop(model_or_name, data=None, *, options):
        calls.append(options)
        raise FileNotFoundError("stop here")

    monkeypatch.setattr(rnn_zoo.training, "train_custom_loop", fake_loop)
    argv = ["train", "lstm", "--strategy", "multi_worker", "--output-dir", str(tmp_path)]
    assert main(argv) == 1
    assert calls and calls[0].strategy == "multi_worker"
    capsys.readouterr()
    assert main([*argv, "--tensorboard"]) == 2
    assert "--tensorboard cannot be used with --strategy multi_worker" in capsys.readouterr().err
