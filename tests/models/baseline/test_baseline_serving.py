"""The image classifier's serving module against the model called directly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo import get_model
from rnn_zoo.export import load_serving_module
from rnn_zoo.models.baseline.serving import ImageClassifierServing

CLASS_NAMES = [f"class {index}" for index in range(10)]


def test_images_give_softmax_probabilities_and_class_names(trained_run):
    result = trained_run("baseline")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    module, _ = load_serving_module(result.run_dir)
    images = module.example_inputs()["images"]
    outputs = module.serving_default(images=images)
    probabilities = tf.nn.softmax(result.model(images.astype("float32"))).numpy()
    names = np.array([metadata["class_names"][i] for i in probabilities.argmax(1)])
    np.testing.assert_allclose(outputs["probabilities"].numpy(), probabilities, atol=1e-6)
    assert outputs["class_name"].numpy().astype(str).tolist() == names.tolist()


@pytest.mark.parametrize("head", ["logits", "probabilities"])
def test_serving_follows_the_declared_head(head):
    model = get_model("baseline", num_classes=10)
    images = np.random.default_rng(1).integers(0, 256, (2, 28, 28)).astype("uint8")
    module = ImageClassifierServing(model, {"class_names": CLASS_NAMES}, head=head)
    served = module.serving_default(images=images)["probabilities"].numpy()
    outputs = model(images.astype("float32")).numpy()
    expected = tf.nn.softmax(outputs).numpy() if head == "logits" else outputs
    np.testing.assert_allclose(served, expected, atol=1e-6)


def test_a_head_the_module_cannot_serve_is_refused():
    with pytest.raises(ValueError, match="head='values' is not one of"):
        ImageClassifierServing(get_model("baseline"), {"class_names": CLASS_NAMES}, head="values")


@pytest.mark.parametrize("shape", [(2, 28, 27), (2, 28, 28, 1), (28, 28)])
def test_a_wrong_image_shape_is_refused_at_the_signature(shape):
    module = ImageClassifierServing(
        get_model("baseline"), {"class_names": CLASS_NAMES}, head="logits"
    )
    with pytest.raises(TypeError, match=r"images.*shape=\(None, 28, 28\)"):
        module.serving_default(images=np.zeros(shape, "uint8"))


def test_an_empty_batch_of_images_gives_empty_outputs():
    module = ImageClassifierServing(
        get_model("baseline"), {"class_names": CLASS_NAMES}, head="logits"
    )
    outputs = module.serving_default(images=np.zeros((0, 28, 28), "uint8"))
    assert outputs["probabilities"].shape == (0, 10)
    assert outputs["class_name"].shape == (0,)
