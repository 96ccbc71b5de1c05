"""Devices, cuDNN eligibility, precision policies and strategies on this CPU machine."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from rnn_zoo import device as device_module
from rnn_zoo import get_model, list_models
from rnn_zoo.device import (
    check_cudnn_eligible,
    describe_devices,
    make_strategy,
    precision_policy,
    resolve_precision,
    select_device,
)

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="no GPU visible to TensorFlow")
needs_no_gpu = pytest.mark.skipif(HAS_GPU, reason="checks the CPU-only behaviour")


def _has_amx() -> bool:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "amx_bf16" in text.split()


# ---------------------------------------------------------------------------- devices


def test_describe_devices_lists_the_cpu_and_is_json():
    described = describe_devices()
    assert any(entry["type"] == "CPU" for entry in described["devices"])
    assert described["gpus"] == len(tf.config.list_physical_devices("GPU"))
    assert described["tensorflow"]["version"] == tf.__version__
    assert isinstance(described["cpu"]["amx_bf16"], bool)
    assert json.loads(json.dumps(described)) == described


def test_select_cpu_places_tensors_on_the_cpu():
    placement = select_device("cpu")
    with placement as name:
        tensor = tf.constant([1.0, 2.0]) * 2.0
    assert name == placement.device == "/device:CPU:0"
    assert tensor.device.endswith("CPU:0")


@needs_no_gpu
def test_gpu_without_one_names_what_is_available():
    with pytest.raises(ValueError, match=r"device='gpu'.*available: cpu"):
        select_device("gpu")
    with pytest.raises(ValueError, match=r"device='gpu:1'.*available: cpu"):
        select_device("gpu:1")


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("gpu:-1", ValueError, "negative GPU index"),
        ("tpu", ValueError, "'tpu' is not accepted"),
        ("cpu:1", ValueError, "'cpu:1' is not accepted"),
        (5, TypeError, "device=5 \\(type int\\)"),
    ],
)
def test_bad_device_specs_are_refused(spec, error, message):
    with pytest.raises(error, match=message):
        select_device(spec)


@needs_no_gpu
def test_auto_falls_back_to_the_cpu_and_says_so_once(caplog, monkeypatch):
    monkeypatch.setattr(device_module, "_fallback_logged", False)
    with caplog.at_level(logging.INFO, logger="rnn_zoo.device"):
        chosen = [select_device("auto").device for _ in range(2)]
    assert chosen == ["/device:CPU:0"] * 2
    assert [record.getMessage() for record in caplog.records if "GPU" in record.getMessage()] == [
        "device='auto': no GPU is visible to TensorFlow; running on /device:CPU:0"
    ]


@needs_gpu
def test_gpu_places_tensors_on_the_gpu():
    with select_device("gpu") as name:
        tensor = tf.constant([1.0, 2.0]) * 2.0
    assert name == "/device:GPU:0" and tensor.device.endswith("GPU:0")


# ------------------------------------------------------------------------------ cuDNN


@pytest.mark.parametrize("name", list_models())
def test_registered_defaults_are_cudnn_eligible(name):
    assert check_cudnn_eligible(get_model(name)) == []


def test_recurrent_dropout_is_reported_inside_bidirectional():
    model = get_model("gru_classifier", units=8, bidirectional=True, recurrent_dropout=0.2)
    problems = check_cudnn_eligible(model)
    assert len(problems) == 2  # forward and backward GRU
    assert all("recurrent_dropout=0.2" in line for line in problems)


def test_simple_rnn_has_no_cudnn_kernel():
    assert check_cudnn_eligible(get_model("lstm", cell="simple_rnn", units=8)) == [
        "simple_rnn_1: SimpleRNN has no cuDNN kernel (only LSTM and GRU have one)"
    ]


@pytest.mark.parametrize(
    ("layer", "reason"),
    [
        (keras.layers.LSTM(4, activation="relu"), "activation=relu (needs tanh)"),
        (keras.layers.GRU(4, recurrent_activation="hard_sigmoid"), "recurrent_activation="),
        (keras.layers.LSTM(4, unroll=True), "unroll=True"),
        (keras.layers.GRU(4, use_bias=False), "use_bias=False"),
        (keras.layers.GRU(4, reset_after=False), "reset_after=False"),
        (keras.layers.LSTM(4, use_cudnn=False), "use_cudnn=False"),
    ],
    ids=["activation", "recurrent_activation", "unroll", "use_bias", "reset_after", "use_cudnn"],
)
def test_hand_built_layers_report_each_reason(layer, reason):
    model = keras.Sequential([keras.Input((5, 3)), layer, keras.layers.Dense(1)])
    (line,) = check_cudnn_eligible(model)
    assert line.startswith(f"{layer.name}: ") and reason in line


# -------------------------------------------------------------------------- precision


def test_auto_precision_on_the_cpu_follows_amx():
    expected = "mixed_bfloat16" if _has_amx() else "float32"
    assert resolve_precision("auto", device="cpu") == expected


@needs_no_gpu
def test_auto_precision_without_gpu_follows_amx():
    assert resolve_precision("auto") == ("mixed_bfloat16" if _has_amx() else "float32")


@needs_gpu
def test_auto_precision_on_a_gpu_follows_compute_capability():
    gpus = [entry for entry in describe_devices()["devices"] if entry["type"] == "GPU"]
    capability = tuple(gpus[0]["compute_capability"] or (0, 0))
    expected = "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"
    assert resolve_precision("auto", device="gpu") == (
        expected if capability >= (7, 0) else "float32"
    )


def test_float16_on_the_cpu_and_bad_names_are_refused():
    with pytest.raises(ValueError, match="needs a GPU.*slower than float32"):
        resolve_precision("mixed_float16", device="cpu")
    with pytest.raises(ValueError, match="'bf16' is not one of"):
        resolve_precision("bf16")
    assert resolve_precision("mixed_bfloat16", device="cpu") == "mixed_bfloat16"


def test_precision_policy_is_restored_even_after_an_error():
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(RuntimeError, match="boom"), precision_policy("mixed_bfloat16") as name:
        model = get_model("lstm", units=4)
        assert name == model.dtype_policy.name == "mixed_bfloat16"
        raise RuntimeError("boom")
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError), precision_policy("mixed_float16", device="cpu"):
        pass
    assert keras.mixed_precision.global_policy().name == "float32"


# ------------------------------------------------------------------------- strategies


def test_bad_strategy_names_and_tf_config_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="'default', 'mirrored', 'multi_worker'"):
        make_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG variable"):
        make_strategy("multi_worker")
    for config, message in [
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', "no 'cluster'"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief"}}', "does not name a job"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "index=1"),
    ]:
        monkeypatch.setenv("TF_CONFIG", config)
        with pytest.raises(ValueError, match=message):
            make_strategy("multi_worker")


def test_default_strategy_is_tensorflows():
    assert make_strategy() is tf.distribute.get_strategy()


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from rnn_zoo import get_model
    from rnn_zoo.data import load_time_series
    from rnn_zoo.device import make_strategy

    bundle = load_time_series(sys.argv[1], fraction=0.05, batch_size=64, seed=0)
    x, y = (np.concatenate(part)[:512] for part in zip(*bundle.train.as_numpy_iterator()))

    def fit(name):
        strategy = make_strategy(name)
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = get_model("lstm", units=8, **bundle.model_kwargs)
            model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        history = model.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
        return {"replicas": strategy.num_replicas_in_sync, "loss": history.history["loss"]}

    print(json.dumps({"mirrored": fit("mirrored"), "default": fit("default")}))
    """
)


def test_mirrored_on_two_logical_cpus_matches_the_default_strategy(shared_data):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    completed = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(shared_data)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["mirrored"]["replicas"] == 2 and result["default"]["replicas"] == 1
    mirrored, default = result["mirrored"]["loss"], result["default"]["loss"]
    assert default[-1] < default[0]  # it learned something
    assert mirrored[-1] == pytest.approx(default[-1], rel=1e-3)
