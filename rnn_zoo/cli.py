"""The ``rnn-zoo`` command line: train, predict, forecast, backtest, export and the rest.

Commands: list, train, evaluate, predict, generate, tag, forecast, backtest, export
(their flags: :mod:`rnn_zoo.cli_parser`).

Exit codes: 0 on success, 2 for a usage error (bad flag or value; the message names
it and what is accepted), 1 for missing data, a changed or damaged run directory
(``RunIntegrityError``, which names the file), a failed write (a full disk) or another
failure, with one readable line and no Python traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence

from rnn_zoo.cli_parser import EXIT_USAGE, build_parser

EXIT_FAILURE = 1
_TF_IO_ERRORS = (
    "ResourceExhaustedError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "NotFoundError",
    "DataLossError",
)


def _format_recipe(spec) -> str:
    recipe = spec.recipe
    schedule = "" if recipe.schedule == "constant" else f" {recipe.schedule}"
    precision = "" if spec.precision == "float32" else f" precision={spec.precision}"
    return (
        f"{recipe.optimizer} lr={recipe.learning_rate:g}{schedule} {recipe.epochs}ep "
        f"bs={recipe.batch_size}{precision}"
    )


def _list(args) -> int:
    from rnn_zoo.registry import get_spec, list_models

    rows = [("name", "dataset", "parameters (defaults)", "recipe", "measured")]
    for name in list_models(args.pattern):
        spec = get_spec(name)
        measured = ", ".join(f"{k}={v}" for k, v in spec.results.items()) or "-"
        parameters = "-" if spec.parameters is None else f"{spec.parameters:,}"
        rows.append((name, spec.dataset, parameters, _format_recipe(spec), measured))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _multi_worker_conflicts(args) -> list[str]:
    """The train flags that the multi-worker (custom loop) path does not take."""
    flags = {"--early-stopping": args.early_stopping is not None, "--tensorboard": args.tensorboard}
    return [flag for flag, given in flags.items() if given]


def _fit_or_loop(args, options):
    """``train`` (Keras fit), or ``train_custom_loop`` for ``--strategy multi_worker``."""
    from rnn_zoo.training import train, train_custom_loop

    if args.strategy != "multi_worker":
        return train(args.name, options=options)
    conflicts = _multi_worker_conflicts(args)
    if conflicts:
        raise ValueError(
            f"{' and '.join(conflicts)} cannot be used with --strategy multi_worker, which "
            "trains with a custom loop (Keras fit fails under MultiWorkerMirroredStrategy)"
        )
    return train_custom_loop(args.name, options=options)


def _train_options(args):
    """The ``train`` flags as one :class:`~rnn_zoo.training.TrainOptions`."""
    from rnn_zoo.training import TrainOptions

    return TrainOptions(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        output_dir=args.output_dir,
        resume=args.resume,
        early_stopping_patience=args.early_stopping,
        tensorboard=args.tensorboard,
        data_dir=args.data_dir,
        data_options={} if args.fraction is None else {"fraction": args.fraction},
        model_options=dict(args.overrides),
        steps_per_epoch=args.steps_per_epoch,
        device=args.device,
        precision=args.precision,
        strategy=args.strategy,
    )


def _train(args) -> int:
    result = _fit_or_loop(args, _train_options(args))
    summary = ", ".join(f"{key} {value:.4f}" for key, value in result.test_metrics.items())
    if result.run_dir is None:  # a non-chief worker: the chief writes the run and exports
        print(f"{args.name}: test {summary} ({result.wall_time:.1f} s); worker done")
        return 0
    print(f"{args.name}: test {summary} ({result.wall_time:.1f} s) -> {result.run_dir}")
    if args.export:
        from rnn_zoo.export import export_saved_model

        print(f"exported: {export_saved_model(result.run_dir, output_dir=args.output_dir)}")
    return 0


def _evaluate(args) -> int:
    from rnn_zoo.training import evaluate_run

    metrics = evaluate_run(args.run_dir, data_dir=args.data_dir, safe_mode=args.safe_mode)
    print(json.dumps(metrics, indent=2))
    return 0


def _predict(args) -> int:
    from rnn_zoo.predict import predict

    for prediction in predict(args.run_dir, args.inputs, safe_mode=args.safe_mode):
        given = prediction["input"]  # a file's whole path; a text's first 60 characters
        print(json.dumps({**prediction, "input": given if os.path.isfile(given) else given[:60]}))
    return 0


def _generate(args) -> int:
    from rnn_zoo.registry import find_verb

    texts = find_verb("generate")(
        args.run_dir,
        args.prompt,
        num_chars=args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=args.seed,
        num_streams=args.num_streams,
        safe_mode=args.safe_mode,
    )
    print("\n\n".join([texts] if isinstance(texts, str) else texts))
    return 0


def _tag(args) -> int:
    from rnn_zoo.registry import find_verb

    tagged = find_verb("tag")(
        args.run_dir,
        args.input,
        args.output,
        batch_size=args.batch_size,
        safe_mode=args.safe_mode,
    )
    print(
        f"tagged {tagged.sentences} sentences, {tagged.words} words ({tagged.input_format} "
        f"input) -> {tagged.path}"
    )
    return 0


def _forecast(args) -> int:
    from rnn_zoo.registry import find_verb

    result = find_verb("forecast")(
        args.run_dir,
        args.input,
        calibration=args.calibration,
        step_size=args.step_size,
        safe_mode=args.safe_mode,
    )
    levels = result["levels"]
    print("  ".join(["hours ahead", *(f"q{level:g}".rjust(8) for level in levels)]))
    for hour, values in enumerate(result["quantiles"], start=1):
        print("  ".join([f"{hour:>11}", *(f"{value:8.1f}" for value in values)]))
    print(
        f"calibration {args.calibration}: {result['origins']} forecasts from the file's rows, "
        f"{result['feedbacks'][0]} to {result['feedbacks'][-1]} of their targets observed"
    )
    return 0


_BACKTEST_COLUMNS = ("horizon", "count", "mae", "persistence_mae", "seasonal_naive_mae")


def _backtest(args) -> int:
    from rnn_zoo.backtest import BACKTEST_CSV, BACKTEST_PNG
    from rnn_zoo.registry import find_verb

    table = find_verb("backtest")(
        args.run_dir,
        start=args.start,
        stop=args.stop,
        week=args.week,
        data_dir=args.data_dir,
        safe_mode=args.safe_mode,
        calibration=args.calibration,
        step_size=args.step_size,
    )
    coverage = ("coverage_", "online_coverage_")
    columns = [*_BACKTEST_COLUMNS, *(key for key in table[0] if key.startswith(coverage))]
    print("  ".join(f"{column:>18}" for column in columns))
    for row in table:
        print("  ".join(f"{row[column]:>18.4g}" for column in columns))
    print(f"-> {os.path.join(args.run_dir, BACKTEST_CSV)}, {BACKTEST_PNG}")
    return 0


def _export(args) -> int:
    from rnn_zoo.export import export_model

    print(
        export_model(
            args.run_dir,
            args.format,
            output_dir=args.output_dir,
            version=args.version,
            quantize=args.quantize,
            safe_mode=args.safe_mode,
        )
    )
    return 0


def _devices(args) -> int:
    from rnn_zoo.device import describe_devices

    print(json.dumps(describe_devices(), indent=2))
    return 0


# Commands that answer from the registry alone: they never import TensorFlow.
_WITHOUT_TENSORFLOW = frozenset({"list"})

_COMMANDS = {
    "devices": _devices,
    "list": _list,
    "train": _train,
    "evaluate": _evaluate,
    "predict": _predict,
    "generate": _generate,
    "tag": _tag,
    "backtest": _backtest,
    "forecast": _forecast,
    "export": _export,
}


class _StderrHandler(logging.StreamHandler):
    """Writes each record to ``sys.stderr`` as it is then, not as it was when created."""

    @property
    def stream(self):
        """The current ``sys.stderr`` (a notebook or a test may have replaced it)."""
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _show_rnn_zoo_logs() -> None:
    """Prints rnn_zoo's own info lines (e.g. the CPU fallback) and nobody else's."""
    logger = logging.getLogger("rnn_zoo")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("rnn-zoo: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@contextlib.contextmanager
def _stderr_discarded():
    """Sends file descriptor 2 to /dev/null for the block: C++ logs bypass ``sys.stderr``."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _start_tensorflow_quietly(verbose: bool) -> None:
    """Starts TensorFlow without its start-up lines, unless asked for them.

    TensorFlow prints oneDNN notices, ``cudart_stub`` lines and, on a machine with no
    GPU, a ``failed call to cuInit`` error while it imports and first looks for
    devices, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. They are hidden by importing it
    and listing its GPUs once with stderr discarded. Its Python logger is set to errors
    only, which hides the deprecation warnings converters such as tf2onnx set off.
    ``--verbose``, or a ``TF_CPP_MIN_LOG_LEVEL`` the user set, shows them all.
    """
    if verbose or "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    with _stderr_discarded():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    tf.get_logger().setLevel("ERROR")


def _is_io_failure(error: Exception) -> bool:
    """A failed read or write (full disk, file too large, no permission), Python's or TF's.

    TensorFlow's file writers (SavedModel, checkpoints) raise its own errors: ENOSPC
    arrives as ``ResourceExhaustedError``, EFBIG as ``OutOfRangeError``.
    """
    if isinstance(error, OSError):
        return True
    tensorflow = sys.modules.get("tensorflow")
    return tensorflow is not None and isinstance(
        error, tuple(getattr(tensorflow.errors, name) for name in _TF_IO_ERRORS)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``rnn-zoo`` command line.

    Args:
        argv: The arguments (without the program name); defaults to ``sys.argv[1:]``.

    Returns:
        The process exit code.

    Example:
        >>> main(["list"])  # doctest: +SKIP
        0
    """
    args = build_parser().parse_args(argv)
    if args.command not in _WITHOUT_TENSORFLOW:
        _start_tensorflow_quietly(args.verbose)
    _show_rnn_zoo_logs()
    from rnn_zoo.data.sources import ChecksumError
    from rnn_zoo.runs import RunIntegrityError

    try:
        return _COMMANDS[args.command](args)
    except (
        ChecksumError,
        RunIntegrityError,
        FileNotFoundError,
        FloatingPointError,
        ImportError,
    ) as error:
        print(f"rnn-zoo {args.command}: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except (ValueError, TypeError) as error:
        print(f"rnn-zoo {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        if not _is_io_failure(error):
            raise
        print(f"rnn-zoo {args.command}: {error}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
