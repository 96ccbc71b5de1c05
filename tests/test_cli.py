"""The rnn-zoo command line on real data: every registered model, errors, a killed run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnn_zoo import get_spec, list_models
from rnn_zoo.cli import main


def rnn_zoo(*args, cwd):
    """Runs the installed console script in a fresh process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = Path(sys.executable).with_name("rnn-zoo")
    return subprocess.Popen(
        [str(script), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_list_shows_every_model_with_dataset_and_parameters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in list_models():
        assert name in out
    assert "fashion_mnist" in out and "101,770" in out and "3,724,097" in out
    text_generator_row = next(line for line in out.splitlines() if line.startswith("text_gen"))
    assert "adam lr=0.002 cosine 15ep bs=64" in text_generator_row
    for name in list_models():
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        precision = get_spec(name).precision
        assert (f"precision={precision}" in row) == (precision != "float32"), row


@pytest.mark.parametrize("name", list_models())
def test_train_writes_a_run_directory_and_an_export(name, trained_run):
    # The session's trained runs are made by `rnn-zoo train` itself (tests/conftest.py).
    run_dir = trained_run(name).run_dir
    out = trained_run.printed(name)
    assert run_dir == (run_dir.parent / "latest").resolve()
    for file in (
        "model.keras",
        "history.csv",
        "history.png",
        "metrics.json",
        "data.json",
        "README.md",
    ):
        assert (run_dir / file).is_file(), file
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["model"] == name
    assert f"{name}: test " in out and f"loss {metrics['test']['loss']:.4f}" in out
    assert (trained_run.export(name) / "saved_model.pb").is_file()
    assert "\x1b" not in out and "\r" not in out  # one plain line per epoch when not a TTY


def test_predict_reads_image_files(trained_run, tmp_path, capsys):
    run_dir = trained_run("baseline").run_dir
    capsys.readouterr()
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype("uint8")
    batch, single = str(tmp_path / "images.npy"), str(tmp_path / "one.npy")
    np.save(batch, images[:2])
    np.save(single, images[2])
    assert main(["predict", str(run_dir), batch, single]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    class_names = json.loads((run_dir / "data.json").read_text())["metadata"]["class_names"]
    assert [(row["input"], row.get("example")) for row in rows] == [
        (batch, 0),
        (batch, 1),
        (single, None),
    ]
    assert all(row["class_name"] in class_names for row in rows)


def test_predict_reads_review_texts(trained_run, capsys):
    run_dir = trained_run("gru_classifier").run_dir
    capsys.readouterr()
    reviews = ["An absolute delight, funny and warm.", "Boring. I walked out."]
    assert main(["predict", str(run_dir), *reviews]) == 0
    probabilities = [
        json.loads(line)["probability"] for line in capsys.readouterr().out.strip().splitlines()
    ]
    assert len(probabilities) == 2 and all(0 <= p <= 1 for p in probabilities)


def test_predict_reads_a_csv_of_readings(trained_run, shared_data, tmp_path, capsys):
    run_dir = trained_run("lstm").run_dir
    capsys.readouterr()
    with open(shared_data / "PRSA_data_2010.1.1-2014.12.31.csv") as source:
        rows = list(csv.reader(source))
    (tmp_path / "day.csv").write_text("\n".join(",".join(r) for r in [rows[0], *rows[1000:1030]]))
    assert main(["predict", str(run_dir), str(tmp_path / "day.csv")]) == 0
    forecast = json.loads(capsys.readouterr().out)["forecast"]
    assert np.isfinite(forecast)


def test_predict_tags_each_word_of_raw_sentences(trained_run, capsys):
    from rnn_zoo.data.ud_treebank import UPOS_TAGS

    run_dir = trained_run("sequence_tagger").run_dir
    capsys.readouterr()
    assert main(["predict", str(run_dir), "The cat sat on the mat .", "Hello"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["num_words"] for line in lines] == [7, 1]
    assert [len(line["tags"]) for line in lines] == [7, 1]
    assert all(tag in UPOS_TAGS for line in lines for tag in line["tags"])
    assert main(["predict", str(run_dir), "   "]) == 2
    assert "is empty; expected a non-empty text" in capsys.readouterr().err


def test_generate_prints_the_prompt_and_its_continuation(trained_run, capsys):
    run_dir = str(trained_run("text_generator").run_dir)
    assert main(["generate", run_dir, "--prompt", "ROMEO:", "--length", "30", "--seed", "4"]) == 0
    first = capsys.readouterr().out.rstrip("\n")
    assert main(["generate", run_dir, "--prompt", "ROMEO:", "--length", "30", "--seed", "4"]) == 0
    assert first.startswith("ROMEO:") and len(first) == 36
    assert capsys.readouterr().out.rstrip("\n") == first


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "lstn"], "model 'lstn' is not registered (did you mean 'lstm'?)"),
        (["train", "lstm", "--epochs", "0"], "epochs=0 is out of range"),
        (["train", "lstm", "--learning-rate", "-1"], "learning_rate=-1.0"),
        (["train", "lstm", "--set", "unitz=3"], "'unitz' are not arguments of build_lstm"),
        (["train", "lstm", "--set", "cell=lstn"], "cell='lstn' is not one of"),
        (["train", "lstm", "--fraction", "1.5"], "fraction=1.5"),
        (["generate", "nowhere", "--prompt", "a", "--temperature", "0"], "temperature=0.0"),
        (["generate", "nowhere", "--prompt", "a", "--length", "0"], "num_chars=0"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(argv, message, capsys, tmp_path, shared_data):
    argv = [*argv, "--data-dir", str(shared_data)] if argv[0] == "train" else argv
    code = main([*argv, "--output-dir", str(tmp_path)] if argv[0] == "train" else argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.rglob("*.keras"))


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "lstm", "--epochs", "many"])
    assert exit_info.value.code == 2
    assert "--epochs: invalid int value: 'many'" in capsys.readouterr().err


def test_missing_data_exits_1_and_says_where_it_looked(tmp_path, capsys):
    code = main(
        ["train", "lstm", "--data-dir", str(tmp_path / "nowhere"), "--output-dir", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "nowhere" in err and "does not exist" in err and "Traceback" not in err


def test_missing_run_directory_exits_1(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "metrics.json not found" in capsys.readouterr().err


def test_a_killed_training_resumes_at_the_epoch_it_reached(shared_data, tmp_path):
    args = [
        "train",
        "lstm",
        "--epochs",
        "12",
        "--no-export",
        "--data-dir",
        str(shared_data),
        "--output-dir",
        str(tmp_path),
        "--fraction",
        "0.2",
        "--steps-per-epoch",
        "12",
        "--set",
        "units=8",
    ]
    first = rnn_zoo(*args, cwd=tmp_path)
    history = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.poll() is None:
        histories = list(tmp_path.glob("lstm/*/history.csv"))
        if histories and len(histories[0].read_text().splitlines()) >= 3:  # header + 2 epochs
            history = histories[0]
            break
        time.sleep(0.05)
    assert first.poll() is None, "the run ended before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (history.parent / "metrics.json").exists()
    done_before = len(history.read_text().splitlines()) - 1

    second = rnn_zoo(*args, cwd=tmp_path)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    run_dirs = [p for p in (tmp_path / "lstm").iterdir() if not p.is_symlink()]
    assert run_dirs == [history.parent]  # the same run continued, no new one
    epochs = [int(row["epoch"]) for row in csv.DictReader(open(history))]
    assert epochs == list(range(12))
    assert f"Epoch {done_before + 1}/12" in out and "Epoch 1/12" not in out
    assert json.loads((history.parent / "metrics.json").read_text())["epochs"] == 12


def test_predict_on_a_family_without_a_reader_names_its_verbs(trained_run, capsys):
    run_dir = trained_run("text_generator").run_dir
    capsys.readouterr()
    assert main(["predict", str(run_dir), "ROMEO:"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "no raw-input prediction" in error[0]
    assert "`rnn-zoo generate`" in error[0]


def test_generate_on_a_run_of_another_family_is_refused(trained_run, capsys):
    run_dir = trained_run("lstm").run_dir
    capsys.readouterr()
    assert main(["generate", str(run_dir), "--prompt", "a"]) == 2
    assert "not of a text generator" in capsys.readouterr().err


def rnn_zoo_command(*arguments: str) -> subprocess.CompletedProcess:
    """Runs the installed console script as a user would, TF_CPP_MIN_LOG_LEVEL unset."""
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    script = Path(sys.executable).with_name("rnn-zoo")
    return subprocess.run(
        [str(script), *arguments], capture_output=True, text=True, env=environment, check=True
    )


def test_the_command_line_hides_tensorflow_start_up_lines_unless_verbose():
    quiet = rnn_zoo_command("devices")
    assert "tensorflow" in quiet.stdout
    assert [line for line in quiet.stderr.splitlines() if not line.startswith("rnn-zoo")] == []
    verbose = rnn_zoo_command("--verbose", "devices")
    assert verbose.stdout == quiet.stdout
    assert len(verbose.stderr.splitlines()) > len(quiet.stderr.splitlines())


def test_list_answers_from_the_registry_without_importing_tensorflow_or_keras():
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from rnn_zoo.cli import main; code = main(['--verbose', 'list']); "
            "print(sorted({'tensorflow', 'keras'} & set(sys.modules))); sys.exit(code)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    *rows, imported = listing.stdout.splitlines()
    assert imported == "[]"
    assert {row.split()[0] for row in rows[1:]} == set(list_models())
    assert listing.stderr == ""


def test_predict_refuses_more_inputs_than_the_cap_before_loading_the_run(tmp_path, capsys):
    from rnn_zoo.limits import MAX_PREDICT_INPUTS

    inputs = ["a review"] * (MAX_PREDICT_INPUTS + 1)
    assert main(["predict", str(tmp_path / "no-run"), *inputs]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"{MAX_PREDICT_INPUTS + 1} inputs given" in error[0]
    assert list(tmp_path.iterdir()) == []
