"""Exports loaded in a fresh Python process that never imports rnn_zoo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo import get_model, get_spec, list_models
from rnn_zoo.data.imdb import build_vectorizer
from rnn_zoo.data.time_series import denormalize_target, normalize
from rnn_zoo.data.ud_treebank import TokenEncoder
from rnn_zoo.decoding import translate
from rnn_zoo.export import EXPORT_BEAM_WIDTH, export_saved_model, next_version
from rnn_zoo.generation import CharGenerator, generate_text

# Loads the export, calls one signature with arguments saved as .npy files, saves the outputs.
CALL_EXPORT = """
import json, sys
import numpy as np
import tensorflow as tf
export, signature, folder = sys.argv[1:]
loaded = tf.saved_model.load(export)
arguments = json.load(open(f"{folder}/arguments.json"))
inputs = {n: tf.constant(np.load(f"{folder}/{n}.npy", allow_pickle=True)) for n in arguments}
outputs = loaded.signatures[signature](**inputs)
for name, value in outputs.items():
    np.save(f"{folder}/out_{name}.npy", value.numpy(), allow_pickle=True)
json.dump(sorted(outputs), open(f"{folder}/outputs.json", "w"))
assert "rnn_zoo" not in sys.modules, "the export must not need rnn_zoo"
"""

REVIEWS = [
    "A wonderful, moving film.<br /><br />I loved every minute of it!",
    "Dull, far too long, and the acting was wooden.",
]


def call_in_fresh_process(export: Path, signature: str, inputs: dict, folder: Path) -> dict:
    folder.mkdir()
    for name, value in inputs.items():
        np.save(folder / f"{name}.npy", value, allow_pickle=True)
    (folder / "arguments.json").write_text(json.dumps(sorted(inputs)))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [sys.executable, "-c", CALL_EXPORT, str(export), signature, str(folder)],
        check=True,
        env=env,
        cwd=folder,
        capture_output=True,
    )
    names = json.loads((folder / "outputs.json").read_text())
    return {name: np.load(folder / f"out_{name}.npy", allow_pickle=True) for name in names}


def image_case(result, metadata):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype("uint8")
    probabilities = tf.nn.softmax(result.model(images.astype("float32"))).numpy()
    names = np.array([metadata["class_names"][i] for i in probabilities.argmax(1)])
    return (
        "serving_default",
        {"images": images},
        {"probabilities": probabilities, "class_name": names.astype(bytes)},
    )


def text_case(result, metadata):
    vectorizer = build_vectorizer(metadata["vocabulary"], metadata["sequence_length"])
    probability = result.model(vectorizer(tf.constant(REVIEWS))).numpy()[:, 0]
    return (
        "serving_default",
        {"texts": np.array(REVIEWS, dtype=object)},
        {"probability": probability},
    )


def forecast_case(result, metadata):
    rng = np.random.default_rng(0)
    mean, std = np.array(metadata["mean"]), np.array(metadata["std"])
    width = metadata["input_width"]
    raw = mean + std * rng.normal(size=(4, width, len(mean)))
    logged = [metadata["features"].index(name) for name in metadata["log_features"]]
    raw[..., logged] = np.expm1(raw[..., logged])  # back from log(1 + x) to raw units
    raw = raw.astype("float32")
    forecast = denormalize_target(result.model(normalize(raw, metadata)).numpy(), metadata)[:, 0]
    return "serving_default", {"windows": raw}, {"forecast": forecast}


def generation_case(result, metadata):
    vocabulary = metadata["vocabulary"]
    text = generate_text(
        result.model, "ROMEO:", num_chars=40, temperature=0.8, seed=3, vocabulary=vocabulary
    )
    inputs = {
        "prompt": np.array("ROMEO:", dtype=object),
        "num_chars": np.int32(40),
        "temperature": np.float32(0.8),
        "seed": np.int32(3),
    }
    return "generate", inputs, {"text": np.array(text.encode())}


SENTENCES = ["The cat sat on the mat .", "Zorblat   runs", ""]


def tagging_case(result, metadata):
    words = [sentence.split() for sentence in SENTENCES]
    width = max(len(row) for row in words)
    padded = tf.constant([row + [""] * (width - len(row)) for row in words])
    probabilities = result.model(TokenEncoder(metadata)(padded)).numpy()
    names = np.array(metadata["tag_names"])[probabilities[..., 1:].argmax(-1) + 1]
    tags = np.where(padded.numpy() != b"", names, "")
    return (
        "serving_default",
        {"sentences": np.array(SENTENCES, dtype=object)},
        {"tags": tags.astype(bytes), "num_words": np.array([7, 2, 0], "int32")},
    )


ENGLISH = ["Hello.", "I am cold.", "Tom is here!"]


def translation_case(result, metadata):
    translations = translate(result.model, ENGLISH, metadata=metadata, beam_width=EXPORT_BEAM_WIDTH)
    return (
        "translate",
        {"texts": np.array(ENGLISH, dtype=object)},
        {"translation": np.array([text.encode() for text in translations], dtype=object)},
    )


CASES = {
    "image_classification": image_case,
    "text_classification": text_case,
    "forecasting": forecast_case,
    "text_generation": generation_case,
    "sequence_tagging": tagging_case,
    "translation": translation_case,
}
INPUT_DTYPES = {
    "image_classification": "DT_UINT8",
    "text_classification": "DT_STRING",
    "forecasting": "DT_FLOAT",
    "text_generation": "DT_STRING",
    "sequence_tagging": "DT_STRING",
    "translation": "DT_STRING",
}


@pytest.mark.parametrize("name", list_models())
def test_export_answers_raw_inputs_in_another_process(name, trained_run, tmp_path):
    result = trained_run(name)
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    export = export_saved_model(result.run_dir, output_dir=tmp_path)
    assert export == tmp_path / result.run_dir.parent.name / "1"
    signature, inputs, expected = CASES[get_spec(name).task](result, metadata)
    outputs = call_in_fresh_process(export, signature, inputs, tmp_path / "call")
    assert set(outputs) == set(expected)
    for key, value in expected.items():
        if value.dtype.kind in "SO":
            assert outputs[key].tolist() == value.tolist()
        else:
            np.testing.assert_allclose(outputs[key], value, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list_models())
def test_saved_model_cli_lists_the_documented_signature(name, trained_run, tmp_path):
    export = export_saved_model(trained_run(name).run_dir, output_dir=tmp_path)
    shown = subprocess.run(
        [
            str(Path(sys.executable).with_name("saved_model_cli")),
            "show",
            "--dir",
            str(export),
            "--all",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "signature_def['serving_default']" in shown
    assert INPUT_DTYPES[get_spec(name).task] in shown


def test_next_char_logits_signature_matches_the_model(trained_run, tmp_path):
    result = trained_run("text_generator")
    vocabulary = json.loads((result.run_dir / "data.json").read_text())["metadata"]["vocabulary"]
    export = export_saved_model(result.run_dir, output_dir=tmp_path)
    outputs = call_in_fresh_process(
        export,
        "next_char_logits",
        {"prompts": np.array(["To be", "or"], dtype=object)},
        tmp_path / "call",
    )
    generator = CharGenerator(result.model, vocabulary)
    expected = generator.next_char_logits(tf.constant(["To be", "or"]))
    np.testing.assert_allclose(outputs["logits"], expected.numpy(), atol=1e-5)


def test_a_model_with_recurrent_dropout_exports(tmp_path):
    # Dropout keeps a seed variable that the inference graph references; it must be saved.
    model = get_model("lstm", units=4, dropout=0.3)
    metadata = {"mean": [0.0], "std": [1.0], "target_index": 0, "input_width": 10}
    export = export_saved_model(model, tmp_path, metadata=metadata, task="forecasting")
    windows = np.random.default_rng(0).normal(size=(2, 10, 1)).astype("float32")
    forecast = tf.saved_model.load(str(export)).signatures["serving_default"](windows=windows)
    np.testing.assert_allclose(forecast["forecast"].numpy(), model(windows).numpy()[:, 0], 1e-5)


def test_versions_are_numbered_and_never_overwritten(trained_run, tmp_path):
    run_dir = trained_run("lstm").run_dir
    first = export_saved_model(run_dir, tmp_path / "lstm")
    second = export_saved_model(run_dir, tmp_path / "lstm")
    assert (first.name, second.name) == ("1", "2")
    assert next_version(tmp_path / "lstm") == 3
    with pytest.raises(ValueError, match="version=2 already exists"):
        export_saved_model(run_dir, tmp_path / "lstm", version=2)
    assert sorted(p.name for p in (tmp_path / "lstm").iterdir()) == ["1", "2"]


def test_a_failed_export_leaves_nothing_behind(trained_run, tmp_path, monkeypatch):
    run_dir = trained_run("lstm").run_dir

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_saved_model(run_dir, tmp_path / "lstm")
    assert list((tmp_path / "lstm").iterdir()) == []


def test_bad_export_arguments(trained_run, tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics.json not found"):
        export_saved_model(tmp_path)
    with pytest.raises(TypeError, match="model_or_run_dir=42"):
        export_saved_model(42)
    model = trained_run("lstm").model
    with pytest.raises(TypeError, match="metadata="):
        export_saved_model(model, tmp_path)
    with pytest.raises(ValueError, match="task='forecast' is not one of"):
        export_saved_model(model, tmp_path, metadata={}, task="forecast")
    with pytest.raises(ValueError, match="version=0"):
        export_saved_model(trained_run("lstm").run_dir, tmp_path, version=0)
