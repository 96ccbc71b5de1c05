"""The review classifier's serving module: two classes and more, in and out of process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from clean_python import run_clean

from rnn_zoo import build_gru_classifier
from rnn_zoo.data.imdb import build_vectorizer
from rnn_zoo.export import export_saved_model, load_serving_module
from rnn_zoo.models.classifier.serving import REVIEWS
from rnn_zoo.serving import BATCH_BUCKETS

VOCABULARY = ["", "[UNK]", "film", "a", "wonderful", "dull", "long", "the", "acting"]
CLASS_NAMES = ["awful", "poor", "good", "great"]

LOAD_AND_CALL = """
import json, sys
import tensorflow as tf
serving = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
outputs = serving(texts=tf.constant(json.loads(sys.argv[2])))
plain = {key: value.numpy().tolist() for key, value in outputs.items()}
print(json.dumps(plain, default=bytes.decode))
assert "rnn_zoo" not in sys.modules
"""


def test_reviews_give_the_positive_probability(trained_run):
    result = trained_run("gru_classifier")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    module, _ = load_serving_module(result.run_dir)
    texts = module.example_inputs()["texts"]
    served = module.serving_default(texts=texts)["probability"].numpy()
    vectorizer = build_vectorizer(metadata["vocabulary"], metadata["sequence_length"])
    expected = result.model(vectorizer(tf.constant(texts))).numpy()[:, 0]
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)


def four_class_metadata(**changes):
    return {"vocabulary": VOCABULARY, "sequence_length": 12, "class_names": CLASS_NAMES, **changes}


def test_a_four_class_classifier_exports_probabilities_and_class_names(tmp_path):
    model = build_gru_classifier(vocab_size=len(VOCABULARY), units=4, num_classes=4)
    export = export_saved_model(
        model, tmp_path / "clf", metadata=four_class_metadata(), spec="gru_classifier"
    )
    texts = ["A wonderful film", "dull , long and the acting", "film"]
    shown = run_clean(LOAD_AND_CALL, export, json.dumps(texts), check=True).stdout
    outputs = json.loads(shown.splitlines()[-1])
    probabilities = np.array(outputs["probabilities"])
    vectorizer = build_vectorizer(VOCABULARY, 12)
    expected = model(vectorizer(tf.constant(texts))).numpy()
    assert probabilities.shape == (3, 4)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-4, atol=1e-5)
    assert outputs["class_name"] == [CLASS_NAMES[i] for i in expected.argmax(1)]


def test_a_multi_class_export_without_a_name_per_class_is_refused(tmp_path):
    model = build_gru_classifier(vocab_size=len(VOCABULARY), units=4, num_classes=4)
    with pytest.raises(ValueError, match="names 2 classes, but the model has 4 outputs"):
        export_saved_model(
            model,
            tmp_path / "clf",
            metadata=four_class_metadata(class_names=["neg", "pos"]),
            spec="gru_classifier",
        )
    assert not (tmp_path / "clf").exists()


@pytest.mark.parametrize("rows", [0, 1, 3, 130])
def test_any_batch_size_gives_the_model_s_answer(trained_run, rows):
    # 3 runs padded to the bucket of 4; 130 as a chunk of 128 and 2 padded to 2.
    result = trained_run("gru_classifier")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    module, _ = load_serving_module(result.run_dir)
    texts = np.array([f"{REVIEWS[i % 2]} {i}" for i in range(rows)], dtype=object)
    served = module.serving_default(texts=texts)["probability"].numpy()
    vectorizer = build_vectorizer(metadata["vocabulary"], metadata["sequence_length"])
    expected = result.model(vectorizer(tf.constant(texts, tf.string))).numpy()[:, 0] if rows else []
    assert served.shape == (rows,)
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)


def test_the_compiled_model_call_sees_bucket_batch_sizes_only(trained_run):
    module, _ = load_serving_module(trained_run("gru_classifier").run_dir)
    seen = []

    def recording(ids):  # stands in for the XLA call, eagerly: it sees real batch sizes
        seen.append(int(ids.shape[0]))
        return tf.zeros([ids.shape[0], 1])

    module._model_call = recording
    for rows in (1, 3, 5, 33, 129, 300):
        assert module._classify(tf.constant(["film"] * rows))["probability"].shape == (rows,)
    assert seen and set(seen) <= set(BATCH_BUCKETS), seen
