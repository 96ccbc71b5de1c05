"""Running a LiteRT or ONNX export with its own runtime: NumPy and the runtime only.

This module imports neither TensorFlow nor the rest of rnn_zoo, so it runs where an
export is shipped: a LiteRT export through the ``ai-edge-litert`` interpreter, an ONNX
export through ``onnxruntime``. :mod:`rnn_zoo.conversion` writes the export folder:

- one model file per function (``model.tflite``, or ``encoder.onnx`` and
  ``decoder_step.onnx`` for a family that decodes step by step);
- ``export.json``, the manifest: each function's file, inputs and outputs (name,
  dtype, shape; ``null`` for a dimension of any size, ``1`` for the batch of a LiteRT
  function that loops over time, which :meth:`Export.call` runs row by row), the
  assets and, for a family that decodes, how its step function is looped
  (:func:`greedy_decode`);
- the assets, JSON files of the preprocessing the numeric inputs need (vocabularies,
  class names, feature names).

Example:
    >>> export = open_export("saved_models/lstm/onnx/1")  # doctest: +SKIP
    >>> export.call("model", windows=windows)["forecast"]  # doctest: +SKIP

Run as a script, it answers a request in another process (``python -m rnn_zoo.runtimes
EXPORT REQUEST.npz ANSWER.npz``): :mod:`rnn_zoo.agreement` checks exports that way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "export.json"
# What `rnn-zoo export --format` accepts: the SavedModel, then the converted formats.
FORMATS = ("saved_model", "litert", "onnx")


def _litert_function(path: Path) -> Callable[..., dict[str, np.ndarray]]:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return lambda **inputs: runner(**inputs)


def _onnx_function(path: Path) -> Callable[..., dict[str, np.ndarray]]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return lambda **inputs: dict(zip(names, session.run(names, inputs), strict=True))


_OPENERS = {".tflite": _litert_function, ".onnx": _onnx_function}


class Export:
    """A LiteRT or ONNX export folder, its functions opened with their runtime.

    Args:
        folder: A folder written by :func:`rnn_zoo.conversion.write_export`.

    Attributes:
        manifest: ``export.json`` as a dict.
        folder: The export folder.

    Raises:
        FileNotFoundError: If the folder has no ``export.json``.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        manifest = self.folder / MANIFEST
        if not manifest.is_file():
            raise FileNotFoundError(f"{manifest} not found; an export folder holds {MANIFEST}")
        self.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        self._functions: dict[str, Callable[..., dict[str, np.ndarray]]] = {}

    def function(self, name: str) -> Callable[..., dict[str, np.ndarray]]:
        """Returns one of the export's functions, opened with its runtime on first use.

        Args:
            name: A function of the manifest (``"model"``, ``"decoder_step"``, ...).

        Returns:
            ``(**inputs) -> {output name: array}``.

        Raises:
            ValueError: If the export has no such function.
        """
        functions = self.manifest["functions"]
        if name not in functions:
            raise ValueError(
                f"function {name!r} is not in {self.folder}; it has: {', '.join(functions)}"
            )
        if name not in self._functions:
            path = self.folder / functions[name]["file"]
            self._functions[name] = _OPENERS[path.suffix](path)
        return self._functions[name]

    def call(self, name: str, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Calls a function on NumPy inputs cast to the dtypes the manifest declares.

        A function whose inputs declare a batch of 1 (a LiteRT function with a time
        loop) is called row by row, and its outputs are stacked.

        Args:
            name: The function.
            **inputs: Input name → array, every one with the same number of rows (at
                least one).

        Returns:
            Output name → array.

        Raises:
            ValueError: If the inputs are not the function's (the message lists its
                inputs), have different numbers of rows, or none.
        """
        specs = self.manifest["functions"][name]["inputs"]
        declared = {spec["name"]: spec["dtype"] for spec in specs}
        if set(inputs) != set(declared):
            raise ValueError(
                f"function {name!r} was given inputs {sorted(inputs)}; expected exactly "
                f"{sorted(declared)}"
            )
        cast = {key: np.asarray(value, declared[key]) for key, value in inputs.items()}
        rows = {key: len(value) for key, value in cast.items()}
        if len(set(rows.values())) != 1 or 0 in rows.values():
            raise ValueError(
                f"function {name!r} was given rows {rows}; expected the same number of "
                "rows, at least one, in every input"
            )
        function = self.function(name)
        count = next(iter(rows.values()))
        if not all(spec["shape"][:1] == [1] for spec in specs) or count == 1:
            return function(**cast)
        answers = [
            function(**{key: value[row : row + 1] for key, value in cast.items()})
            for row in range(count)
        ]
        return {key: np.concatenate([answer[key] for answer in answers]) for key in answers[0]}

    def asset(self, name: str) -> Any:
        """Reads one of the export's JSON assets.

        Args:
            name: An asset of the manifest, e.g. ``"vocabulary"``.

        Returns:
            The asset's content.
        """
        return json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))


def open_export(folder: str | Path) -> Export:
    """Opens a LiteRT or ONNX export folder.

    Args:
        folder: The folder (``saved_models/<name>/<format>/<version>``).

    Returns:
        An :class:`Export`.

    Raises:
        FileNotFoundError: If the folder has no ``export.json``.

    Example:
        >>> open_export("saved_models/baseline/litert/1").manifest["format"]  # doctest: +SKIP
        'litert'
    """
    return Export(folder)


def _zeros(spec: Mapping[str, Any], rows: int) -> np.ndarray:
    shape = [rows if size is None else size for size in spec["shape"]]
    return np.zeros(shape, spec["dtype"])


def greedy_decode(
    export: Export, forced: Sequence[int], steps: int, source: Mapping[str, np.ndarray] = ()
) -> list[int]:
    """Greedy decoding of one sequence with the export's step function.

    The manifest's ``decoding`` says how: the ``step`` function takes the previous
    ``token`` and the ``states`` (each state input is replaced by its output after
    every step) and returns ``logits``; an optional ``encoder`` runs once on
    ``source`` and its outputs give the first states and the step's other inputs
    (attention values, say). States the encoder does not give start at zero.

    Args:
        export: An export whose manifest has ``decoding``.
        forced: Tokens fed before decoding starts (a prompt; a start token), >= 1.
        steps: Most tokens to produce; decoding stops early at ``end_id``.
        source: The encoder's inputs, one row.

    Returns:
        The tokens produced, ``end_id`` included when reached.

    Raises:
        ValueError: If ``forced`` is empty.
    """
    if len(forced) == 0:
        raise ValueError("forced=[] holds no token; expected a prompt or a start token, >= 1")
    decoding = export.manifest["decoding"]
    step_inputs = {
        spec["name"]: spec for spec in export.manifest["functions"][decoding["step"]]["inputs"]
    }
    fixed = export.call(decoding["encoder"], **source) if decoding.get("encoder") else {}
    fixed = {name: value for name, value in fixed.items() if name in step_inputs}
    states = {name: fixed.pop(name, None) for name in decoding["states"]}
    states = {
        name: _zeros(step_inputs[name], 1) if value is None else value
        for name, value in states.items()
    }

    def step(token: int) -> np.ndarray:
        outputs = export.call(decoding["step"], **{decoding["token"]: [token]}, **states, **fixed)
        states.update({name: outputs[new] for name, new in decoding["states"].items()})
        return outputs[decoding["logits"]][0]

    for token in forced:
        logits = step(token)
    produced = []
    for _ in range(steps):
        token = int(np.argmax(logits))
        produced.append(token)
        if token == decoding.get("end_id") or len(produced) == steps:
            break
        logits = step(token)
    return produced


def answer(export: Export, request: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Answers a request: one function call, or greedy decoding of each row.

    Args:
        export: The export.
        request: ``"function"`` (a function name) with its inputs as the other
            entries; or ``"decode"`` with ``"forced"`` (object array of token lists),
            ``"steps"`` and the encoder's inputs as ``"source/<name>"`` entries (one
            row per sequence) where the export has an encoder.

    Returns:
        The function's outputs, or ``{"tokens": object array of token lists}``.
    """
    request = dict(request)
    if "function" in request:
        name = str(request.pop("function"))
        return export.call(name, **request)
    forced, steps = request.pop("forced"), int(request.pop("steps"))
    sources = {
        key.split("/", 1)[1]: value for key, value in request.items() if key.startswith("source/")
    }
    tokens = [
        greedy_decode(
            export,
            [int(token) for token in row],
            steps,
            {name: value[index : index + 1] for name, value in sources.items()},
        )
        for index, row in enumerate(forced)
    ]
    return {"tokens": np.array(tokens + [None], dtype=object)[:-1]}


def main(argv: Sequence[str] | None = None) -> int:
    """Answers ``REQUEST.npz`` with ``EXPORT``'s runtime and writes ``ANSWER.npz``.

    Args:
        argv: ``[EXPORT, REQUEST, ANSWER]``; defaults to ``sys.argv[1:]``.

    Returns:
        0.
    """
    folder, request, target = sys.argv[1:] if argv is None else argv
    with np.load(request, allow_pickle=True) as loaded:
        outputs = answer(open_export(folder), {key: loaded[key] for key in loaded.files})
    np.savez(target, **outputs)
    if "tensorflow" in sys.modules:
        raise RuntimeError("the export's runtime imported TensorFlow; expected it not to")
    return 0


if __name__ == "__main__":
    sys.exit(main())
