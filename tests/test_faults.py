"""Faults while working: SIGKILL at random and chosen moments, a full disk, two trainings.

Every process here is a real ``rnn-zoo`` command (or the CLI's ``main`` in a fresh
interpreter with one save function wrapped to die half-way through its write). After
each kill the same command is run again; it must finish the job, losing at most the
epoch in progress, and leave only complete run directories and export versions.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from rnn_zoo.runs import verify_run

TIMEOUT_S = 180
EPOCHS = 4
LSTM = ["--set", "units=8", "--fraction", "0.2", "--steps-per-epoch", "12"]

# Runs the CLI with one keras.Model method (or tf.saved_model.save) wrapped: its Nth call
# runs, cuts every file it wrote to half its size (a write cut short) and SIGKILLs the
# process.
DIE_WHILE_SAVING = """
import os, signal, sys
from pathlib import Path

target, nth, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
calls = 0

def dying(original):
    def wrapper(owner, *args, **kwargs):
        global calls
        calls += 1
        result = original(owner, *args, **kwargs)
        if calls == nth:
            path = args[0] if args else None  # where a save function writes
            if isinstance(path, (str, os.PathLike)):
                path = Path(path)
                files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
                for file in files:
                    os.truncate(file, file.stat().st_size // 2)
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapper

import keras
if target == "saved_model":
    import tensorflow as tf
    tf.saved_model.save = dying(tf.saved_model.save)
else:
    setattr(keras.Model, target, dying(getattr(keras.Model, target)))
from rnn_zoo.cli import main
sys.exit(main(argv))
"""

# Runs the CLI with files limited to a size (RLIMIT_FSIZE: no root needed); a write past
# it fails with EFBIG ("File too large") as a full disk fails with ENOSPC.
SMALL_FILES_ONLY = """
import resource, signal, sys
limit, argv = int(sys.argv[1]), sys.argv[2:]
from rnn_zoo.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.exit(main(argv))
"""


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONUNBUFFERED": "1",  # what a killed process printed is in its log
    }


class Command:
    """``rnn-zoo ARGS`` (or ``python -c SCRIPT ARGS``) in a fresh process, output to files."""

    count = 0

    def __init__(self, arguments: list[str], cwd: Path, script: str | None = None):
        Command.count += 1
        self.out_path = cwd / f"command{Command.count}.out"
        self.err_path = cwd / f"command{Command.count}.err"
        program = (
            [str(Path(sys.executable).with_name("rnn-zoo"))]
            if script is None
            else [sys.executable, "-c", script]
        )
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.process = subprocess.Popen(
                [*program, *arguments], cwd=cwd, env=environment(), stdout=out, stderr=err
            )

    @property
    def out(self) -> str:
        return self.out_path.read_text()

    def wait_for(self, text: str) -> bool:
        """Waits until the output shows ``text``; False if the process ended first."""
        deadline = time.monotonic() + TIMEOUT_S
        while text not in self.out:
            if self.process.poll() is not None:
                return False
            assert time.monotonic() < deadline, f"no {text!r} after {TIMEOUT_S} s"
            time.sleep(0.02)
        return True

    def finish(self, kill: bool = False) -> tuple[int, str, str]:
        """Kills the process (or waits for it, killing it if it hangs); code and output."""
        if kill:
            self.process.send_signal(signal.SIGKILL)
        try:
            self.process.wait(timeout=TIMEOUT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.process.returncode, self.out, self.err_path.read_text()


def run(arguments: list[str], cwd: Path, script: str | None = None) -> tuple[int, str, str]:
    return Command(arguments, cwd, script).finish()


def train_args(tmp_path: Path, shared_data: Path, *extra: str) -> list[str]:
    return [
        "train",
        "lstm",
        "--epochs",
        str(EPOCHS),
        *LSTM,
        "--data-dir",
        str(shared_data),
        "--output-dir",
        str(tmp_path / "runs"),
        *extra,
    ]


def run_dirs(model_dir: Path) -> list[Path]:
    """The run directories (not ``latest``, not the numbered export versions)."""
    return sorted(
        path
        for path in model_dir.iterdir()
        if path.is_dir() and not path.is_symlink() and not path.name.isdigit()
    )


def epochs_logged(run_dir: Path) -> list[int]:
    path = run_dir / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def backed_up_epochs(run_dir: Path) -> int:
    progress = run_dir / "backup" / "current" / "training_metadata.json"
    return json.loads(progress.read_text())["epoch"] if progress.exists() else 0


def assert_finished(model_dir: Path) -> Path:
    """One run directory, complete and verified, that ``latest`` points at."""
    [run_dir] = run_dirs(model_dir)
    assert (model_dir / "latest").resolve() == run_dir.resolve()
    verify_run(run_dir)  # metrics.json's hashes match model.keras and data.json
    assert epochs_logged(run_dir) == list(range(EPOCHS))
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == EPOCHS
    assert not (run_dir / "backup").exists() and not (run_dir / ".lock").exists()
    assert not list(run_dir.glob(".staged-*"))
    keras.saving.load_model(run_dir / "model.keras")
    return run_dir


def first_epoch(out: str) -> int | None:
    """The first epoch (1-based) a training process started, from its Keras log."""
    match = re.search(rf"^Epoch (\d+)/{EPOCHS}$", out, re.MULTILINE)
    return int(match.group(1)) if match else None


def assert_resumed_at(out: str, epoch: int) -> None:
    """The first epoch trained is ``epoch``: nothing earlier was trained again."""
    assert first_epoch(out) == epoch, out[-2000:]


def numbered_versions(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir() if p.name.isdigit()) if base.exists() else []


def assert_versions_load(base: Path, expected: list[str]) -> None:
    assert numbered_versions(base) == expected
    for version in expected:
        loaded = tf.saved_model.load(str(base / version))
        windows = tf.zeros([1, 24, 15], tf.float32)
        assert loaded.signatures["serving_default"](windows=windows)["forecast"].shape == [1]


def test_sigkill_at_random_moments_then_the_same_command_finishes(tmp_path, shared_data):
    arguments = train_args(tmp_path, shared_data, "--no-export")
    model_dir = tmp_path / "runs" / "lstm"
    rng = random.Random(20260101)
    resume_at = 1  # the epoch a rerun must start with
    for _ in range(3):  # three kills, at seeded random moments
        if resume_at > EPOCHS:
            break  # every epoch is backed up: the rerun only finishes the run
        command = Command(arguments, tmp_path)
        # in epoch N (its steps, its saves at the end, or the run's finishing after it)
        command.wait_for(f"Epoch {rng.randint(resume_at, EPOCHS)}/{EPOCHS}")
        time.sleep(rng.uniform(0.0, 1.0))
        _, out, _ = command.finish(kill=True)
        if first_epoch(out) is not None:
            assert_resumed_at(out, resume_at)  # the killed rerun had resumed correctly
        [run_dir] = run_dirs(model_dir)  # every rerun continues the same directory
        if (run_dir / "metrics.json").exists():
            break  # the kill came after the end: the run is complete (checked below)
        assert not (model_dir / "latest").exists()
        logged, backed_up = epochs_logged(run_dir), backed_up_epochs(run_dir)
        assert logged == list(range(len(logged)))
        assert backed_up <= len(logged) <= backed_up + 1  # at most the epoch being saved
        resume_at = backed_up + 1
    if not list(model_dir.glob("*/metrics.json")):
        code, out, err = run(arguments, tmp_path)  # the same command, to the end this time
        assert code == 0, err[-3000:]
        if resume_at <= EPOCHS:
            assert_resumed_at(out, resume_at)
    assert_finished(model_dir)


@pytest.mark.parametrize(
    "target, nth, resumes_at",
    [
        ("save_weights", 2, 2),  # the backup of epoch 2, cut short: resumes after epoch 1
        ("save", 1, 1),  # the first best-model checkpoint, cut short: resumes at the start
        ("evaluate", EPOCHS + 1, None),  # the test split, after the last validation: finishing
    ],
    ids=["backup", "best-checkpoint", "finishing"],
)
def test_sigkill_while_writing_a_checkpoint(target, nth, resumes_at, tmp_path, shared_data):
    arguments = train_args(tmp_path, shared_data, "--no-export")
    code, _, err = run([target, str(nth), *arguments], tmp_path, DIE_WHILE_SAVING)
    assert code == -signal.SIGKILL, err[-3000:]
    model_dir = tmp_path / "runs" / "lstm"
    [run_dir] = run_dirs(model_dir)
    assert not (run_dir / "metrics.json").exists() and not (model_dir / "latest").exists()
    if (run_dir / "model.keras").exists():  # what is there is whole
        keras.saving.load_model(run_dir / "model.keras")

    code, out, err = run(arguments, tmp_path)
    assert code == 0, err[-3000:]
    assert first_epoch(out) == resumes_at, out[-2000:]
    assert_finished(model_dir)


def test_sigkill_during_export_then_export_again(trained_run, tmp_path):
    run_dir = trained_run("lstm").run_dir
    arguments = ["export", str(run_dir), "--output-dir", str(tmp_path)]
    code, _, err = run(["saved_model", "1", *arguments], tmp_path, DIE_WHILE_SAVING)
    assert code == -signal.SIGKILL, err[-3000:]
    base = tmp_path / "lstm"
    assert numbered_versions(base) == []  # the half-written export is no version
    assert [p.name.split("-")[1] for p in base.glob(".export-*")] != []  # its staging folder
    code, out, err = run(arguments, tmp_path)
    assert code == 0, err[-3000:]
    assert out.strip() == str(base / "1")
    assert_versions_load(base, ["1"])
    assert list(base.glob(".export-*")) == []  # the killed export's staging folder is swept


def test_a_full_disk_during_export_leaves_no_partial_version(trained_run, tmp_path):
    run_dir = trained_run("lstm").run_dir
    arguments = ["export", str(run_dir), "--output-dir", str(tmp_path)]
    code, out, err = run(["20000", *arguments], tmp_path, SMALL_FILES_ONLY)
    assert code == 1, err[-3000:]
    lines = err.strip().splitlines()
    assert lines[-1].startswith("rnn-zoo export: ") and "File too large" in lines[-1], err
    assert "Traceback" not in err
    assert list((tmp_path / "lstm").iterdir()) == []  # no version, no staging folder


def test_two_trainings_of_one_model_at_once_keep_their_own_runs(tmp_path, shared_data):
    arguments = train_args(tmp_path, shared_data)
    commands = [Command(arguments, tmp_path) for _ in range(2)]
    results = [command.finish() for command in commands]
    for code, _, err in results:
        assert code == 0, err[-3000:]
    model_dir = tmp_path / "runs" / "lstm"
    runs = run_dirs(model_dir)
    assert len(runs) == 2
    for run_dir in runs:
        verify_run(run_dir)
        assert epochs_logged(run_dir) == list(range(EPOCHS))
    assert (model_dir / "latest").resolve() in [run.resolve() for run in runs]
    assert sorted(out.strip().splitlines()[-1] for _, out, _ in results) == [
        f"exported: {model_dir / version}" for version in ("1", "2")
    ]
    assert_versions_load(model_dir, ["1", "2"])
