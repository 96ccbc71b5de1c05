"""read_images on real Fashion-MNIST images, and on the arrays and files a careless user has.

Integer arrays with values 0-255 and PNG/JPEG/GIF/BMP files are read (by content, not by
name); float, complex, boolean and object arrays, values out of 0-255, files of another
format, files that do not decode and files over the size cap are refused naming the
input, before any model is called.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rnn_zoo.data import raw_inputs
from rnn_zoo.data.fashion_mnist import read_idx
from rnn_zoo.models.baseline.serving import read_images

FASHION = Path("/usr/share/datasets/fashion-mnist")
SHAPE = (28, 28)
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Eight real test images, uint8 [8, 28, 28]."""
    if not FASHION.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    return read_idx(FASHION / "t10k-images-idx3-ubyte.gz", ndim=3)[:8]


def png(image: np.ndarray) -> bytes:
    return tf.io.encode_png(image[..., None]).numpy()


def test_a_batch_and_a_png_of_real_images_are_read_as_they_are(images, tmp_path):
    np.save(tmp_path / "batch.npy", images)
    (tmp_path / "shoe.png").write_bytes(png(images[0]))
    read = read_images([str(tmp_path / "batch.npy"), str(tmp_path / "shoe.png")], {}, SHAPE)
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, np.concatenate([images, images[:1]]))


def test_the_format_comes_from_the_content_not_the_name(images, tmp_path):
    (tmp_path / "really_a_png.npy").write_bytes(png(images[1]))
    np.save(tmp_path / "array.npy", images[2].astype(np.int64))
    (tmp_path / "array.npy").rename(tmp_path / "array.png")
    read = read_images([str(tmp_path / "really_a_png.npy"), str(tmp_path / "array.png")], {}, SHAPE)
    np.testing.assert_array_equal(read, images[1:3])


NOT_INTEGER = st.one_of(
    hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64]), SHAPE,
               elements=st.floats(0, 1, width=16)),
    hnp.arrays(np.float64, SHAPE, elements=st.just(np.nan)),
    hnp.arrays(st.sampled_from([np.complex64, np.complex128]), SHAPE,
               elements=st.complex_numbers(max_magnitude=255, width=64)),
    hnp.arrays(np.bool_, SHAPE),
)  # fmt: skip


@FUZZ
@given(array=NOT_INTEGER)
def test_an_array_that_is_not_integer_is_refused_not_cast(tmp_path, array):
    np.save(tmp_path / "image.npy", array)
    with pytest.raises(ValueError) as caught:
        read_images([str(tmp_path / "image.npy")], {}, SHAPE)
    message = str(caught.value)
    assert "image.npy" in message and f"holds a {array.dtype} array" in message
    assert "expected a .npy array of integers 0-255" in message


OUT_OF_RANGE = st.sampled_from([np.int16, np.int32, np.int64]).flatmap(
    lambda dtype: st.tuples(
        st.just(dtype),
        st.one_of(st.integers(-(2**15), -1), st.integers(256, 2**15 - 1)),
        st.integers(0, 27),
        st.integers(0, 27),
    )
)


@FUZZ
@given(case=OUT_OF_RANGE)
def test_an_integer_value_out_of_0_to_255_is_refused(images, tmp_path, case):
    dtype, value, row, column = case
    array = images[0].astype(dtype)
    array[row, column] = value
    np.save(tmp_path / "image.npy", array)
    expected = rf"image\.npy' has values in \[.*{value}.*expected pixel values 0-255"
    with pytest.raises(ValueError, match=expected):
        read_images([str(tmp_path / "image.npy")], {}, SHAPE)


@pytest.mark.parametrize("name", ["notes.png", "notes.jpg", "notes.npy", "notes"])
def test_a_text_file_under_an_image_name_is_refused_by_its_first_bytes(tmp_path, name):
    (tmp_path / name).write_text("a shopping list, not an image")
    with pytest.raises(ValueError, match=rf"{name}' is not an image: it starts with b'a shoppi"):
        read_images([str(tmp_path / name)], {}, SHAPE)


def test_a_truncated_png_is_refused_without_a_tensorflow_traceback(images, tmp_path):
    (tmp_path / "cut.png").write_bytes(png(images[0])[:40])
    with pytest.raises(ValueError, match=r"cut\.png' starts like a PNG image but does not decode"):
        read_images([str(tmp_path / "cut.png")], {}, SHAPE)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"\x93NUMPY\x01\x00garbage", "is not a readable .npy array"),
        ("object", "is not a readable .npy array (Object arrays cannot be loaded"),
        (np.zeros((0, 28, 28), np.uint8), "has shape (0, 28, 28); expected one image"),
        (np.zeros((28, 27), np.uint8), "has shape (1, 28, 27); expected one image"),
        (np.zeros((2, 3, 28, 28), np.uint8), "has shape (2, 3, 28, 28)"),
    ],
    ids=["truncated", "object", "empty-batch", "wrong-shape", "extra-axis"],
)
def test_a_malformed_npy_is_refused_naming_the_input(tmp_path, content, problem):
    file = tmp_path / "images.npy"
    if isinstance(content, bytes):
        file.write_bytes(content)
    elif isinstance(content, str):
        np.save(file, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        np.save(file, content)
    with pytest.raises(ValueError) as caught:
        read_images([str(file)], {}, SHAPE)
    assert f"input {str(file)!r}" in str(caught.value) and problem in str(caught.value)


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as handle:
        handle.truncate(raw_inputs.MAX_INPUT_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    with pytest.raises(ValueError, match=r"huge\.npy' holds 10,485,761 bytes, more than the 10,48"):
        read_images([str(huge)], {}, SHAPE)


@pytest.mark.parametrize("where", ["missing.png", "."], ids=["missing", "directory"])
def test_a_name_that_is_no_file_is_refused(tmp_path, where):
    name = os.fspath(tmp_path / where)
    with pytest.raises(ValueError, match=re.escape(f"input {name!r} is not a file; expected a")):
        read_images([name], {}, SHAPE)
