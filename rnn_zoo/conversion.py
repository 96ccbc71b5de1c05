"""LiteRT and ONNX exports: a family's numeric core, converted, with its assets beside it.

A family declares what converts beside its serving module: a
:class:`Conversion` subclass in ``rnn_zoo/models/<family>/conversion.py``, named by its
registry entry (``ModelSpec.conversion``). It builds the functions to convert from the
serving module's model and metadata — the raw-input signature where the converters
can carry it (uint8 images, windows in raw units), numeric inputs otherwise (token
ids, step functions for decoding) — and the assets their inputs need (vocabularies,
class names). :func:`write_export` converts every function with the format's
converter and writes the folder :mod:`rnn_zoo.runtimes` reads:

- LiteRT: ``tf.lite.TFLiteConverter`` on the frozen function, builtin ops only. A
  recurrent layer's time loop becomes a ``WHILE`` loop over tensor lists, which the
  converter lowers to builtin ops only when each list element has a static shape
  (``[batch, units]``): a function with a time loop is converted for a batch of 1
  (its inputs declare it), and :mod:`rnn_zoo.runtimes` runs a larger batch row by
  row. A batch of any size would need the Flex ops ``TensorListReserve``,
  ``TensorListSetItem`` and ``TensorListStack`` (``SELECT_TF_OPS``), which need an
  interpreter with the Flex delegate: neither ``ai-edge-litert`` 2.3 nor TensorFlow
  2.21's ``tf.lite.Interpreter`` has one. Functions without a loop (the decoding steps,
  the image classifier) take a batch of any size. ``quantize=True`` writes the
  dynamic-range-quantized variant (int8 weights, float activations).
- ONNX: ``tf2onnx`` on the frozen graph, opset :data:`ONNX_OPSET`, with the two
  TensorFlow ops it lacks, ``Log1p`` and ``Expm1``, written as ``Log(1 + x)`` and
  ``Exp(x) - 1``.

Keras builds the dropout masks of a recurrent layer on every call, training or not,
which advances a seed variable inside the graph; a graph that assigns a variable
cannot be frozen. Inference never uses the masks, so functions are traced with the
recurrent dropout rates set to 0 (:class:`PortableFunction`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.runtimes import FORMATS, MANIFEST
from rnn_zoo.serving import ServingModule

CONVERTED_FORMATS = FORMATS[1:]
SUFFIXES = {"litert": ".tflite", "onnx": ".onnx"}
ONNX_OPSET = 17
MEASURES = ("labels", "values", "texts")
# What each converter needs; ``pip install 'rnn_zoo[export]'`` installs them.
REQUIREMENTS = {"litert": ("ai_edge_litert",), "onnx": ("tf2onnx", "onnx", "onnxruntime")}


@contextlib.contextmanager
def _without_recurrent_dropout(model: keras.Model) -> Iterator[None]:
    cells = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if hasattr(layer, "get_dropout_mask")
    ]
    rates = [(cell.dropout, cell.recurrent_dropout) for cell in cells]
    try:
        for cell in cells:
            cell.dropout, cell.recurrent_dropout = 0.0, 0.0
        yield
    finally:
        for cell, (dropout, recurrent) in zip(cells, rates, strict=True):
            cell.dropout, cell.recurrent_dropout = dropout, recurrent


_LOOPS = ("While", "StatelessWhile")


class PortableFunction:
    """A function of named tensors to convert, traced with the model in inference mode.

    Args:
        model: The Keras model the function calls (its recurrent dropout is set aside
            while tracing: see the module docstring).
        function: ``(**inputs) -> {output name: tensor}``; call the model with
            ``training=False``.
        specs: Input name → spec, in argument order. The names become the converted
            model's input names, the returned keys its output names; a ``None`` first
            dimension is the batch.

    Example:
        >>> step = PortableFunction(model, self._step, {"ids": tf.TensorSpec([None], tf.int32)})
        ... # doctest: +SKIP
    """

    def __init__(
        self,
        model: keras.Model,
        function: Callable[..., dict[str, tf.Tensor]],
        specs: Mapping[str, tf.TensorSpec],
    ):
        self.model = model
        self.function = function
        self.specs = dict(specs)
        self._traced: dict[int | None, Any] = {}

    def traced(self, batch: int | None = None):
        """The function traced for a batch of any size (``None``) or a fixed one.

        Args:
            batch: The batch size the first dimension of every batched input takes.

        Returns:
            A traced ``tf.function`` with that input signature.
        """
        if batch not in self._traced:
            named = [
                tf.TensorSpec(
                    [batch, *spec.shape[1:]]
                    if spec.shape.rank and spec.shape[0] is None
                    else spec.shape,
                    spec.dtype,
                    name=name,
                )
                for name, spec in self.specs.items()
            ]
            function, names = self.function, list(self.specs)

            def traced(*args):
                return function(**dict(zip(names, args, strict=True)))

            compiled = tf.function(traced, input_signature=named)
            with _without_recurrent_dropout(self.model):
                compiled.get_concrete_function()
            self._traced[batch] = compiled
        return self._traced[batch]

    def loops_over_time(self) -> bool:
        """Whether the graph holds a loop (a recurrent layer's time loop)."""
        graph = self.traced().get_concrete_function().graph.as_graph_def()
        nodes = [*graph.node, *(node for f in graph.library.function for node in f.node_def)]
        return any(node.op in _LOOPS for node in nodes)


def split_examples(dataset, count: int) -> Any:
    """The inputs of a split's first ``count`` examples, as NumPy.

    Args:
        dataset: A batched ``tf.data.Dataset`` of ``(inputs, targets)`` (a
            ``DataBundle``'s ``test``).
        count: How many examples; fewer if the split is smaller.

    Returns:
        The inputs (an array, or a dict of arrays), ``count`` rows.

    Example:
        >>> images = split_examples(bundle.test, 1000)  # doctest: +SKIP
    """
    inputs = dataset.unbatch().take(count).map(lambda inputs, targets: inputs)
    return next(iter(inputs.batch(count).as_numpy_iterator()))


class Conversion:
    """What a family's LiteRT and ONNX exports hold; subclass it beside the serving module.

    Args:
        module: The family's serving module (the trained model and its metadata).

    Attributes:
        formats: The formats the family converts to.
        measure: How its agreement with the SavedModel is measured: ``"labels"`` (the
            share of examples given the same label), ``"values"`` (the largest
            absolute difference) or ``"texts"`` (the share of identical outputs).
        preprocessing: In words, what the functions' inputs are and how raw inputs
            become them (written to the manifest and the README's export table).
        test_data_options: Loader options, over the run's, for :meth:`test_inputs`'
            bundle (raw texts instead of token ids, say).
    """

    formats: tuple[str, ...] = CONVERTED_FORMATS
    measure: str = "labels"
    preprocessing: str = ""
    test_data_options: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, module: ServingModule):
        self.module = module
        self.model = module.model
        self.metadata = module.metadata

    def functions(self) -> dict[str, Any]:
        """Returns the functions to convert, file stem → :class:`PortableFunction`.

        Returns:
            E.g. ``{"model": PortableFunction(...)}``.
        """
        raise NotImplementedError(f"{type(self).__name__} declares no functions")

    def assets(self) -> dict[str, Any]:
        """Returns the JSON assets written beside the model files, name → content.

        Returns:
            E.g. ``{"vocabulary": [...]}``; none by default.
        """
        return {}

    def decoding(self) -> dict[str, Any] | None:
        """How :func:`rnn_zoo.runtimes.greedy_decode` loops a step function, if it does.

        Returns:
            ``None`` (no decoding) by default; see :mod:`rnn_zoo.runtimes`.
        """
        return None

    def test_inputs(self, bundle, data_dir, count: int) -> Any:
        """Real test examples, as the SavedModel's main signature takes them.

        Args:
            bundle: The run's dataset, loaded with :attr:`test_data_options`.
            data_dir: Where the dataset files are (``None``: the loader's lookup).
            count: How many examples.

        Returns:
            The family's raw inputs (what :meth:`expected` and :meth:`request` take).
        """
        raise NotImplementedError(f"{type(self).__name__} reads no test inputs")

    def expected(self, inputs: Any) -> np.ndarray:
        """The answers of the SavedModel's graph (the serving module, in process).

        Args:
            inputs: What :meth:`test_inputs` returned.

        Returns:
            One answer per example: labels, values or texts.
        """
        raise NotImplementedError

    def request(self, inputs: Any) -> dict[str, np.ndarray]:
        """The same examples as a request for :func:`rnn_zoo.runtimes.answer`.

        Args:
            inputs: What :meth:`test_inputs` returned.

        Returns:
            The request: the numeric inputs the converted functions take.
        """
        raise NotImplementedError

    def answers(self, outputs: Mapping[str, np.ndarray], inputs: Any) -> np.ndarray:
        """Reads the runtime's outputs as answers comparable with :meth:`expected`.

        Args:
            outputs: What the runtime answered.
            inputs: What :meth:`test_inputs` returned.

        Returns:
            One answer per example.
        """
        raise NotImplementedError


def litert_batch(function: PortableFunction) -> int | None:
    """The batch size a function is converted to LiteRT for: 1 with a time loop, else any.

    Args:
        function: The function.

    Returns:
        1 or ``None``.
    """
    return 1 if function.loops_over_time() else None


def _frozen(function):
    """The function with its variables and captured tensors as constants, outputs named.

    LiteRT cannot read a variable inside a ``WHILE`` loop.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    concrete = function.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    names = sorted(concrete.structured_outputs)  # the order tf.nest flattens a dict in
    return tf.function(
        lambda *args: dict(zip(names, frozen(*args), strict=True)),
        input_signature=function.input_signature,
    )


def to_litert(
    function: PortableFunction, *, quantize: bool = False, select_tf_ops: bool = False
) -> bytes:
    """Converts a function to a LiteRT flatbuffer, with builtin ops only by default.

    Args:
        function: The function; traced for :func:`litert_batch`.
        quantize: Dynamic-range quantization (int8 weights). Defaults to False.
        select_tf_ops: Allow Flex (TensorFlow) ops where no builtin converts, and keep
            tensor lists as Flex ops, for a batch of any size. The model then needs
            an interpreter with the Flex delegate, which neither ``ai-edge-litert``
            2.3 nor TensorFlow 2.21's ``tf.lite.Interpreter`` has. Defaults to False;
            exports never use it (``benchmarks/conversion.py`` reports what it gives).

    Returns:
        The ``.tflite`` file's bytes: one signature, ``serving_default``.

    Raises:
        tf.lite ConverterError: If an op has no kernel (the message names it).
    """
    batch = None if select_tf_ops else litert_batch(function)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [_frozen(function.traced(batch)).get_concrete_function()], tf.Module()
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if select_tf_ops:
        converter.target_spec.supported_ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
        converter._experimental_lower_tensor_list_ops = False
    else:
        converter._experimental_default_to_single_batch_in_tensor_list_ops = True
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def _constant_like(ctx, node, value: float) -> str:
    from tf2onnx import utils

    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
    return ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(value, dtype)).output[0]


def _log1p(ctx, node, name, args):
    """``Log1p(x)`` as ``Log(x + 1)``: tf2onnx has no handler for ``Log1p``."""
    one = _constant_like(ctx, node, 1.0)
    shifted = ctx.make_node("Add", [node.input[0], one])
    ctx.replace_input(node, node.input[0], shifted.output[0], 0)
    node.type = "Log"


def _expm1(ctx, node, name, args):
    """``Expm1(x)`` as ``Exp(x) - 1``: tf2onnx has no handler for ``Expm1``."""
    one = _constant_like(ctx, node, 1.0)
    node.type = "Exp"
    ctx.insert_new_node_on_output("Sub", node.output[0], inputs=[node.output[0], one])


def to_onnx(function: PortableFunction) -> bytes:
    """Converts a traced function to an ONNX model with ``tf2onnx``.

    The function is frozen as tf2onnx freezes one (control flow kept as ``While``,
    functions inlined), here rather than inside tf2onnx, which would turn a captured
    tensor (a string table) into a model input; inputs and outputs keep their names.

    Args:
        function: The function; traced for a batch of any size.

    Returns:
        The ``.onnx`` file's bytes.

    Raises:
        Exception: tf2onnx's own, if an op cannot be converted.
    """
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    function = function.traced()
    concrete = function.get_concrete_function()
    frozen = convert_variables_to_constants_v2(
        concrete, lower_control_flow=False, aggressive_inlining=True
    )
    inputs = [tensor.name for tensor in frozen.inputs]
    outputs = [tensor.name for tensor in frozen.outputs]
    names = [spec.name for spec in function.input_signature]
    names += sorted(concrete.structured_outputs)  # the order tf.nest flattens a dict in
    proto, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(add_shapes=True),
        input_names=inputs,
        output_names=outputs,
        opset=ONNX_OPSET,
        custom_op_handlers={"Log1p": (_log1p, []), "Expm1": (_expm1, [])},
        tensors_to_rename=dict(zip(inputs + outputs, names, strict=True)),
    )
    return proto.SerializeToString()


def _tensor_spec(name: str, spec) -> dict[str, Any]:
    return {
        "name": name,
        "dtype": tf.as_dtype(spec.dtype).name,
        "shape": [None if size is None else int(size) for size in spec.shape],
    }


def describe_function(function) -> dict[str, list[dict[str, Any]]]:
    """A traced function's inputs and outputs as the manifest lists them.

    Args:
        function: A traced ``tf.function`` (:meth:`PortableFunction.traced`).

    Returns:
        ``{"inputs": [...], "outputs": [...]}``, each ``{"name", "dtype", "shape"}``.
    """
    concrete = function.get_concrete_function()
    outputs = concrete.structured_outputs
    return {
        "inputs": [_tensor_spec(spec.name, spec) for spec in function.input_signature],
        "outputs": [_tensor_spec(name, outputs[name]) for name in sorted(outputs)],
    }


def check_requirements(format: str) -> None:
    """Checks that the converter and runtime of a format are installed.

    Args:
        format: One of :data:`CONVERTED_FORMATS`.

    Raises:
        ImportError: If a package is missing; the message says how to install it.
    """
    import importlib.util

    missing = [name for name in REQUIREMENTS[format] if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"format={format!r} needs {', '.join(missing)}, which is not installed; "
            "install the export extra: pip install 'rnn_zoo[export]'"
        )


def write_export(
    conversion: Conversion, format: str, folder: Path, *, name: str, quantize: bool = False
) -> None:
    """Converts a family's functions and writes them, the manifest and the assets.

    Args:
        conversion: The family's :class:`Conversion`.
        format: ``"litert"`` or ``"onnx"``.
        folder: An empty folder (the export's staging folder).
        name: The registered model name, recorded in the manifest.
        quantize: With ``"litert"``: dynamic-range quantization.

    Example:
        >>> write_export(conversion, "onnx", staging, name="lstm")  # doctest: +SKIP
    """
    functions = conversion.functions()
    described = {}
    for stem, function in functions.items():
        if format == "litert":
            data, batch = to_litert(function, quantize=quantize), litert_batch(function)
        else:
            data, batch = to_onnx(function), None
        file = f"{stem}{SUFFIXES[format]}"
        (folder / file).write_bytes(data)
        described[stem] = {"file": file, **describe_function(function.traced(batch))}
    assets = conversion.assets()
    for asset, content in assets.items():
        (folder / f"{asset}.json").write_text(
            json.dumps(content, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    manifest = {
        "format": format,
        "model": name,
        "quantization": "dynamic_range" if quantize else None,
        "preprocessing": conversion.preprocessing,
        "functions": described,
        "assets": sorted(assets),
        "decoding": conversion.decoding(),
        "tensorflow": tf.__version__,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
