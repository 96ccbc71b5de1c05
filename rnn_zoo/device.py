"""Where and how a model runs: devices, the cuDNN kernel, mixed precision, strategies.

* :func:`describe_devices` reports what TensorFlow sees (for ``metrics.json``).
* :func:`select_device` places model building, training and inference on one device.
* :func:`check_cudnn_eligible` lists the recurrent layers that cannot use the fused
  cuDNN kernel on a GPU, and why.
* :func:`resolve_precision` and :func:`precision_policy` choose and apply a Keras
  dtype policy (``float32``, ``mixed_float16``, ``mixed_bfloat16``).
* :func:`make_strategy` builds a ``tf.distribute`` strategy by name.

Arguments are validated before TensorFlow is imported, so a typo fails fast. TensorFlow
fixes its logical devices the first time they are listed:
``tf.config.set_logical_device_configuration`` must run before :func:`select_device`,
:func:`make_strategy` or any other TensorFlow op. :func:`describe_devices` and
:func:`resolve_precision` list physical devices only and leave that choice open.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import platform
import re
import shutil
import subprocess
from typing import Any

from rnn_zoo.validation import check_choice

logger = logging.getLogger(__name__)

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
STRATEGIES = ("default", "mirrored", "multi_worker")
CPUINFO = "/proc/cpuinfo"
CPU_DEVICE = "/device:CPU:0"

_DEVICE_PATTERN = re.compile(r"(auto|cpu|gpu)(?::(-?\d+))?")
_fallback_logged = False


# ---------------------------------------------------------------------------- devices


@functools.lru_cache(maxsize=1)
def _cpu_info() -> dict[str, Any]:
    """The CPU model, family and model numbers and bfloat16 features, from ``/proc/cpuinfo``."""
    model, flags, numbers = None, set(), {}
    try:
        with open(CPUINFO, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name" and model is None:
            model = value
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
        elif key in ("cpu family", "model"):
            numbers.setdefault(key, value)
    return {
        "model": model or platform.processor() or platform.machine(),
        "family": numbers.get("cpu family"),
        "model_number": numbers.get("model"),
        "logical_cores": os.cpu_count(),
        "amx_bf16": "amx_bf16" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
    }


def _nvidia_smi() -> list[dict[str, Any]] | None:
    """Name and total memory of each GPU as ``nvidia-smi`` lists them (PCI order)."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    query = [executable, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"]
    try:
        output = subprocess.run(query, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    gpus = []
    for row in output.stdout.strip().splitlines():
        index, name, memory = (cell.strip() for cell in row.split(","))
        gpus.append({"index": int(index), "name": name, "memory_total_mib": int(memory)})
    return gpus


def _gpu_details(device) -> dict[str, Any]:
    import tensorflow as tf

    try:
        details = tf.config.experimental.get_device_details(device)
    except (ValueError, RuntimeError):
        details = {}
    capability = details.get("compute_capability")
    return {
        "device_name": details.get("device_name"),
        "compute_capability": list(capability) if capability else None,
    }


def describe_devices() -> dict[str, Any]:
    """Describes the hardware TensorFlow sees, as JSON-serializable data.

    Physical devices only are listed, so calling this does not fix TensorFlow's
    logical device configuration. GPU memory is not reported by TensorFlow; when
    ``nvidia-smi`` is on the ``PATH`` its list (name, total MiB, PCI order) is added
    under ``"nvidia_smi"``.

    Returns:
        A dict with ``"tensorflow"`` (``version``, ``built_with_cuda``,
        ``cuda_version``, ``cudnn_version``), ``"cpu"`` (``model``, ``family``, ``model_number``,
        ``logical_cores``, ``amx_bf16``, ``avx512_bf16``), ``"devices"`` (one entry
        per physical device: ``name``, ``type`` and, for a GPU, ``device_name`` and
        ``compute_capability``), ``"gpus"`` (their count) and ``"nvidia_smi"``
        (``None`` without the tool).

    Example:
        >>> describe_devices()["devices"][0]["type"]  # doctest: +SKIP
        'CPU'
    """
    import tensorflow as tf

    build = dict(tf.sysconfig.get_build_info())
    devices = []
    for device in tf.config.list_physical_devices():
        entry = {"name": device.name, "type": device.device_type}
        if device.device_type == "GPU":
            entry.update(_gpu_details(device))
        devices.append(entry)
    return {
        "tensorflow": {
            "version": tf.__version__,
            "built_with_cuda": bool(tf.test.is_built_with_cuda()),
            "cuda_version": build.get("cuda_version"),
            "cudnn_version": build.get("cudnn_version"),
        },
        "cpu": dict(_cpu_info()),
        "devices": devices,
        "gpus": sum(entry["type"] == "GPU" for entry in devices),
        "nvidia_smi": _nvidia_smi(),
    }


def _parse_device(spec: Any) -> tuple[str, int | None]:
    """Checks a device spec's form, without TensorFlow: ``(kind, index or None)``."""
    accepted = "'auto', 'cpu', 'gpu' or 'gpu:N' with N >= 0"
    if not isinstance(spec, str):
        raise TypeError(
            f"device={spec!r} (type {type(spec).__name__}) is not accepted; expected {accepted}"
        )
    match = _DEVICE_PATTERN.fullmatch(spec.strip().lower())
    if match is None or (match.group(2) is not None and match.group(1) != "gpu"):
        raise ValueError(f"device={spec!r} is not accepted; expected {accepted}")
    index = None if match.group(2) is None else int(match.group(2))
    if index is not None and index < 0:
        raise ValueError(f"device={spec!r} has a negative GPU index; expected {accepted}")
    return match.group(1), index


def _available(gpu_count: int) -> str:
    return ", ".join(["cpu", *(f"gpu:{index}" for index in range(gpu_count))])


def _log_cpu_fallback() -> None:
    global _fallback_logged
    if not _fallback_logged:
        _fallback_logged = True
        logger.info("device='auto': no GPU is visible to TensorFlow; running on %s", CPU_DEVICE)


def _choose_device(spec: Any, gpu_count: int) -> str:
    """The TensorFlow device name for a spec, given how many GPUs there are."""
    kind, index = _parse_device(spec)
    if kind == "cpu":
        return CPU_DEVICE
    if kind == "auto":
        if gpu_count:
            return "/device:GPU:0"
        _log_cpu_fallback()
        return CPU_DEVICE
    index = 0 if index is None else index
    if index >= gpu_count:
        problem = (
            f"is out of range ({gpu_count} GPU(s) visible)"
            if gpu_count
            else "needs a GPU, and none is visible to TensorFlow"
        )
        raise ValueError(
            f"device={spec!r} {problem}; available: {_available(gpu_count)} "
            "(check the CUDA driver, CUDA_VISIBLE_DEVICES and that TensorFlow was built "
            "with CUDA, see describe_devices())"
        )
    return f"/device:GPU:{index}"


class DevicePlacement(contextlib.AbstractContextManager):
    """A chosen device; entering it places new ops there with ``tf.device``.

    Attributes:
        spec: The spec it was chosen from, e.g. ``"auto"``.
        device: The TensorFlow device name, e.g. ``"/device:CPU:0"``.
    """

    def __init__(self, spec: str, device: str):
        self.spec = spec
        self.device = device
        self._stack: list[contextlib.ExitStack] = []

    def __enter__(self) -> str:
        import tensorflow as tf

        stack = contextlib.ExitStack()
        stack.enter_context(tf.device(self.device))
        self._stack.append(stack)
        return self.device

    def __exit__(self, *exc_info) -> bool | None:
        return self._stack.pop().__exit__(*exc_info)

    def __repr__(self) -> str:
        return f"DevicePlacement(spec={self.spec!r}, device={self.device!r})"


def select_device(spec: str = "auto") -> DevicePlacement:
    """Chooses the device to build, train and run a model on.

    The spec is checked before TensorFlow is touched; the GPU count comes from
    ``tf.config.list_logical_devices("GPU")``, which fixes TensorFlow's logical
    devices. With ``"auto"`` and no GPU, one ``logging.info`` line (logger
    ``rnn_zoo.device``) says so, once per process; it shows only where logging is
    configured (e.g. ``logging.basicConfig(level=logging.INFO)``). Use the placement
    with the default strategy only: a ``MirroredStrategy`` places its own replicas.

    Args:
        spec: ``"auto"`` (GPU 0 if there is one, else the CPU), ``"cpu"``, ``"gpu"``
            (GPU 0) or ``"gpu:N"``. Case is ignored. Defaults to ``"auto"``.

    Returns:
        A :class:`DevicePlacement`: ``.device`` holds the chosen TensorFlow device
        name, and ``with`` yields it while placing ops there.

    Raises:
        TypeError: If ``spec`` is not a string.
        ValueError: If ``spec`` is not an accepted form, or names a GPU that is not
            there; the message lists the available devices.

    Example:
        >>> with select_device("cpu") as device:  # doctest: +SKIP
        ...     model = get_model("lstm")
        >>> device  # doctest: +SKIP
        '/device:CPU:0'
    """
    _parse_device(spec)
    import tensorflow as tf

    gpu_count = len(tf.config.list_logical_devices("GPU"))
    return DevicePlacement(spec, _choose_device(spec, gpu_count))


# ------------------------------------------------------------------------------ cuDNN


def _function_name(function: Any) -> str:
    return getattr(function, "__name__", repr(function))


def _cudnn_blockers(layer) -> list[str]:
    """Why one recurrent layer cannot use cuDNN: the checks of Keras 3's TF backend.

    Mirrors ``keras/src/backend/tensorflow/rnn.py`` (``_do_lstm_arguments_support_cudnn``,
    ``_do_gru_arguments_support_cudnn``) and the ``use_cudnn`` / ``recurrent_dropout``
    tests in ``LSTM.inner_loop`` and ``GRU.inner_loop``.
    """
    import keras
    import tensorflow as tf

    if not isinstance(layer, keras.layers.LSTM | keras.layers.GRU):
        return [f"{type(layer).__name__} has no cuDNN kernel (only LSTM and GRU have one)"]
    tanh = (keras.activations.tanh, tf.tanh, keras.ops.tanh)
    sigmoid = (keras.activations.sigmoid, tf.sigmoid, keras.ops.sigmoid)
    checks = [
        (getattr(layer, "use_cudnn", "auto") is False, "use_cudnn=False"),
        (
            layer.activation not in tanh,
            f"activation={_function_name(layer.activation)} (needs tanh)",
        ),
        (
            layer.recurrent_activation not in sigmoid,
            f"recurrent_activation={_function_name(layer.recurrent_activation)} (needs sigmoid)",
        ),
        (bool(layer.recurrent_dropout), f"recurrent_dropout={layer.recurrent_dropout} (needs 0)"),
        (bool(layer.unroll), "unroll=True (needs False)"),
        (not layer.use_bias, "use_bias=False (needs True)"),
        (
            isinstance(layer, keras.layers.GRU) and not layer.reset_after,
            "reset_after=False (needs True)",
        ),
    ]
    reasons = [reason for failed, reason in checks if failed]
    if reasons:
        return [f"{type(layer).__name__} cannot use the cuDNN kernel: " + "; ".join(reasons)]
    return []


def _recurrent_layers(layer, path: str):
    """Yields ``(path, layer)`` for every ``keras.layers.RNN`` inside ``layer``."""
    import keras

    if isinstance(layer, keras.layers.Bidirectional):
        for inner in (layer.forward_layer, layer.backward_layer):
            yield from _recurrent_layers(inner, f"{path}/{inner.name}")
    elif isinstance(layer, keras.layers.RNN):
        yield path, layer
    elif isinstance(layer, keras.layers.Wrapper):
        yield from _recurrent_layers(layer.layer, f"{path}/{layer.layer.name}")
    elif isinstance(layer, keras.Model):
        for child in layer.layers:
            yield from _recurrent_layers(child, f"{path}/{child.name}" if path else child.name)


def check_cudnn_eligible(model) -> list[str]:
    """Lists the recurrent layers that cannot use the fused cuDNN kernel, and why.

    Checks every ``keras.layers.RNN`` in the model, inside ``Bidirectional``,
    ``TimeDistributed`` and nested models too, against Keras 3's conditions for the
    cuDNN path: ``activation`` tanh, ``recurrent_activation`` sigmoid,
    ``recurrent_dropout`` 0, ``unroll`` False, ``use_bias`` True, GRU ``reset_after``
    True, and ``use_cudnn`` not False. ``SimpleRNN`` and other RNN layers have no
    cuDNN kernel. Two conditions are only known at run time and are not checked
    here: a GPU must be visible, and masked input must be strictly right-padded (in
    Keras 3 a mask that is not fails on the cuDNN path instead of falling back).

    Args:
        model: A ``keras.Model`` (or a single layer).

    Returns:
        One line per recurrent layer that falls back to the generic loop, naming the
        layer's path and every reason; an empty list when all are eligible.

    Example:
        >>> check_cudnn_eligible(get_model("lstm", recurrent_dropout=0.2))  # doctest: +SKIP
        ['lstm_1: LSTM cannot use the cuDNN kernel: recurrent_dropout=0.2 (needs 0)']
    """
    start = "" if hasattr(model, "layers") else model.name
    return [
        f"{path}: {reason}"
        for path, layer in _recurrent_layers(model, start)
        for reason in _cudnn_blockers(layer)
    ]


# -------------------------------------------------------------------------- precision


def _gpu_capability(index: int) -> tuple[int, int] | None:
    """Compute capability of physical GPU ``index``, ``None`` if there is no such GPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if index >= len(gpus):
        return None
    capability = _gpu_details(gpus[index])["compute_capability"]
    return tuple(capability) if capability else (0, 0)


def _auto_precision(capability: tuple[int, int] | None) -> str:
    if capability is None:
        return "mixed_bfloat16" if _cpu_info()["amx_bf16"] else "float32"
    if capability >= (8, 0):
        return "mixed_bfloat16"
    if capability >= (7, 0):
        return "mixed_float16"
    return "float32"


def resolve_precision(precision: str = "float32", device: str = "auto") -> str:
    """Turns a precision choice into a Keras dtype policy name for a device.

    ``"auto"`` picks ``"mixed_bfloat16"`` on a CPU with Intel AMX (``amx_bf16`` in
    ``/proc/cpuinfo``) or a GPU of compute capability 8.0 or more (bfloat16 needs no
    loss scaling, and TensorFlow registers bfloat16 GPU kernels for the cuDNN RNN ops),
    ``"mixed_float16"`` on a GPU of capability 7.x, and ``"float32"`` otherwise. A CPU
    without AMX gains nothing from bfloat16 (see ``benchmarks/precision.py``).

    Args:
        precision: ``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"`` or
            ``"auto"``. Defaults to ``"float32"``.
        device: The device the model will run on, as given to :func:`select_device`;
            ``"auto"`` (default) means GPU 0 if there is one, else the CPU.

    Returns:
        ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.

    Raises:
        ValueError: If ``precision`` or ``device`` is not accepted, or
            ``"mixed_float16"`` is asked for on a CPU, where float16 math is not
            accelerated and runs slower than float32.
        TypeError: If ``device`` is not a string.

    Example:
        >>> resolve_precision("auto", device="cpu")  # doctest: +SKIP
        'float32'
    """
    check_choice("precision", precision, PRECISIONS)
    kind, index = _parse_device(device)
    if precision in ("float32", "mixed_bfloat16"):
        return precision
    capability = None if kind == "cpu" else _gpu_capability(index or 0)
    if precision == "auto":
        return _auto_precision(capability)
    if capability is None:
        raise ValueError(
            f"precision='mixed_float16' needs a GPU and device={device!r} runs on the CPU, "
            "where float16 math is not accelerated and is slower than float32; "
            "accepted on a CPU: 'float32', 'mixed_bfloat16' (fast only with Intel AMX) "
            "or 'auto'"
        )
    return precision


@contextlib.contextmanager
def precision_policy(precision: str = "float32", device: str = "auto"):
    """Sets Keras' global dtype policy for the duration of a ``with`` block.

    Build *and* compile the model inside the block: a layer takes its policy when it
    is created, and ``model.compile`` wraps the optimizer in a
    ``keras.optimizers.LossScaleOptimizer`` when the model's policy is
    ``mixed_float16``. The previous policy is restored on exit, also after an
    exception. The policy is process-global: do not use this from several threads.

    Args:
        precision: A name :func:`resolve_precision` accepts, ``"auto"`` included.
            Defaults to ``"float32"``.
        device: The device the model will run on (see :func:`resolve_precision`).

    Yields:
        The policy name that is in force.

    Raises:
        ValueError: If :func:`resolve_precision` refuses the choice; nothing is
            changed then.

    Example:
        >>> with precision_policy("mixed_bfloat16"):  # doctest: +SKIP
        ...     model = get_model("lstm")
        >>> model.dtype_policy.name  # doctest: +SKIP
        'mixed_bfloat16'
    """
    name = resolve_precision(precision, device)
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield name
    finally:
        keras.mixed_precision.set_global_policy(previous)


# ------------------------------------------------------------------------- strategies


def _check_tf_config() -> dict[str, Any]:
    """Parses ``TF_CONFIG`` for a multi-worker run, with a clear message if it is bad."""
    example = (
        'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        raise ValueError(f"strategy='multi_worker' needs the TF_CONFIG variable, unset; {example}")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}); {example}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(cluster.get("worker"), list):
        raise ValueError(f"TF_CONFIG has no 'cluster' with a 'worker' list; {example}")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(
            f"TF_CONFIG task={task!r} does not name a job of the cluster "
            f"({', '.join(cluster)}); {example}"
        )
    index, size = task.get("index"), len(cluster[task["type"]])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise ValueError(
            f"TF_CONFIG task index={index!r} is not in [0, {size}) for job {task['type']!r}"
        )
    return config


def make_strategy(name: str = "default"):
    """Builds a ``tf.distribute`` strategy by name.

    * ``"default"``: ``tf.distribute.get_strategy()``, one device.
    * ``"mirrored"``: ``MirroredStrategy`` over every local GPU, or over the logical
      CPU devices when there is no GPU (two or more only after
      ``tf.config.set_logical_device_configuration`` split the CPU).
    * ``"multi_worker"``: ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``; create
      it at program start, before any other TensorFlow op.

    Build and compile the model inside ``strategy.scope()``; ``model.fit`` then splits
    each global batch over the replicas.

    Args:
        name: ``"default"``, ``"mirrored"`` or ``"multi_worker"``. Defaults to
            ``"default"``.

    Returns:
        A ``tf.distribute.Strategy``.

    Raises:
        ValueError: If ``name`` is not accepted (the message lists the names), or
            ``TF_CONFIG`` is unset or invalid for ``"multi_worker"``.

    Example:
        >>> strategy = make_strategy("mirrored")  # doctest: +SKIP
        >>> with strategy.scope():  # doctest: +SKIP
        ...     model = get_model("lstm")
    """
    check_choice("strategy", name, STRATEGIES)
    if name == "multi_worker":
        _check_tf_config()
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy(devices=[device.name for device in devices])
