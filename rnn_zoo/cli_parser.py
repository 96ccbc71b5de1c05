"""The ``rnn-zoo`` command line's argument parser: every command, flag and default.

Kept apart from :mod:`rnn_zoo.cli`, which runs the commands, so that the flags can be
read (and tested) in one place; building the parser imports neither Keras nor
TensorFlow.
"""

from __future__ import annotations

import argparse
import ast

from rnn_zoo.device import PRECISIONS, STRATEGIES
from rnn_zoo.limits import (
    INT32_MAX,
    MAX_BATCH_CHARS,
    MAX_GENERATED_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_STREAMS,
)
from rnn_zoo.online_calibration import CALIBRATIONS, DEFAULT_STEP_SIZE
from rnn_zoo.runtimes import FORMATS

EXIT_USAGE = 2
RUN_DIR_HELP = "a run directory written by `rnn-zoo train` (e.g. saved_models/NAME/latest)"


INT32_RANGE = f"1 to {INT32_MAX}"


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (exit 2), like rnn_zoo's own.

    argparse prints the whole usage before its error; here the error names the flag and
    the bad value, and points at ``--help`` for the rest.
    """

    def error(self, message):
        """Prints ``message`` as one line and exits with the usage code, 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parse_assignment(text: str) -> tuple[str, object]:
    key, separator, raw = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"--set {text!r} is not of the form key=value")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def _add_data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="folder holding the dataset files")
    parser.add_argument(
        "--fraction",
        type=float,
        help="use a leading fraction (0, 1] of each split, for quick runs",
    )


def _add_calibration_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--calibration",
        choices=CALIBRATIONS,
        default="online",
        help="online: calibrate the quantiles from the errors already known (default); "
        "none: as trained",
    )
    parser.add_argument(
        "--step-size",
        type=float,
        default=DEFAULT_STEP_SIZE,
        help=f"the online calibration's step size, > 0 (default {DEFAULT_STEP_SIZE})",
    )


def _add_unsafe_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--unsafe",
        dest="safe_mode",
        action="store_false",
        help="load a model.keras that carries code (Lambda layers); only for files you trust",
    )


def build_parser() -> argparse.ArgumentParser:
    """Builds the ``rnn-zoo`` parser: one sub-command per verb, each with its flags.

    Returns:
        An ``argparse.ArgumentParser`` whose usage errors are one line and exit with 2.

    Example:
        >>> build_parser().parse_args(["train", "lstm", "--epochs", "2"]).epochs
        2
    """
    parser = _Parser(
        prog="rnn-zoo", description="Train, evaluate and ship recurrent models on real data."
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up lines (oneDNN, CUDA) and its log, hidden by default",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("devices", help="show the devices TensorFlow sees")

    listing = commands.add_parser("list", help="list registered models")
    listing.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern (default *)")

    training = commands.add_parser("train", help="train a registered model on its real dataset")
    training.add_argument("name", help="registered model name (see `rnn-zoo list`)")
    training.add_argument("--epochs", type=int, help=INT32_RANGE)
    training.add_argument("--batch-size", type=int, help=INT32_RANGE)
    training.add_argument(
        "--learning-rate", type=float, help="a finite number > 0 (float32: at most 3.4e38)"
    )
    training.add_argument("--seed", type=int, default=0, help=f"0 to {MAX_SEED} (default 0)")
    training.add_argument("--output-dir", default="saved_models")
    training.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue an interrupted run of the same configuration (default: yes)",
    )
    training.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_parse_assignment,
        default=[],
        metavar="KEY=VALUE",
        help="factory override, e.g. --set bidirectional=True (repeatable)",
    )
    training.add_argument(
        "--early-stopping", type=int, metavar="PATIENCE", help=f"epochs, {INT32_RANGE}"
    )
    training.add_argument("--tensorboard", action="store_true")
    training.add_argument(
        "--steps-per-epoch", type=int, help=f"limit batches per epoch, {INT32_RANGE}"
    )
    training.add_argument("--device", default="auto", help="auto, cpu, gpu or gpu:N")
    training.add_argument(
        "--precision", choices=PRECISIONS, help="default: the entry's own (rnn-zoo list)"
    )
    training.add_argument(
        "--strategy",
        default="default",
        choices=STRATEGIES,
        help="multi_worker: run once per worker, each with its TF_CONFIG (custom loop, no resume)",
    )
    training.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="export a SavedModel taking raw inputs after training (default: yes)",
    )
    _add_data_flags(training)

    evaluating = commands.add_parser("evaluate", help="evaluate a run on its test split")
    evaluating.add_argument("run_dir", help=RUN_DIR_HELP)
    evaluating.add_argument("--data-dir", help="folder holding the dataset files")
    _add_unsafe_flag(evaluating)

    predicting = commands.add_parser("predict", help="predict from raw inputs with a run")
    predicting.add_argument("run_dir", help=RUN_DIR_HELP)
    predicting.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files (.npy/.png), review texts (or @file), or CSV files of readings",
    )
    _add_unsafe_flag(predicting)

    generating = commands.add_parser("generate", help="generate text with a text generator run")
    generating.add_argument("run_dir", help=RUN_DIR_HELP)
    generating.add_argument(
        "--prompt", required=True, help=f"1 to {MAX_PROMPT_CHARS:,} known characters"
    )
    generating.add_argument(
        "--length",
        type=int,
        default=200,
        help=f"characters to add, 1 to {MAX_GENERATED_CHARS:,} (default 200)",
    )
    generating.add_argument(
        "--temperature", type=float, default=1.0, help="a finite number >= 1e-06 (default 1)"
    )
    generating.add_argument("--top-k", type=int, help="1 to the vocabulary's size (default: all)")
    generating.add_argument("--seed", type=int, default=0, help=f"0 to {MAX_SEED} (default 0)")
    generating.add_argument(
        "--num-streams",
        type=int,
        default=1,
        help=(
            f"continuations of the prompt, 1 to {MAX_STREAMS}; streams x (prompt + length) "
            f"at most {MAX_BATCH_CHARS:,} characters (default 1)"
        ),
    )
    _add_unsafe_flag(generating)

    tagging = commands.add_parser(
        "tag", help="tag a CoNLL-U file (UPOS column) or text, one sentence a line"
    )
    tagging.add_argument("run_dir", help=RUN_DIR_HELP)
    tagging.add_argument(
        "input",
        metavar="INPUT",
        help="a *.conllu file, or UTF-8 text of one sentence a line (words split on spaces)",
    )
    tagging.add_argument(
        "-o", "--output", required=True, help="the CoNLL-U file to write (may be INPUT)"
    )
    tagging.add_argument(
        "--batch-size", type=int, default=32, help=f"sentences per model call, {INT32_RANGE}"
    )
    _add_unsafe_flag(tagging)

    backtesting = commands.add_parser(
        "backtest", help="forecast from every hour of a run's test span and score it"
    )
    backtesting.add_argument("run_dir", help=RUN_DIR_HELP)
    backtesting.add_argument(
        "--start",
        type=int,
        default=0,
        help="first hour of the test span, 0 to its hours - 1 (default 0)",
    )
    backtesting.add_argument(
        "--stop", type=int, help="hour of the test span to stop before, --start + 1 to its hours"
    )
    backtesting.add_argument(
        "--week", type=int, help="first hour of the fan chart's week, in the span (default --start)"
    )
    _add_calibration_flags(backtesting)
    backtesting.add_argument("--data-dir", help="folder holding the dataset files")
    _add_unsafe_flag(backtesting)

    forecasting = commands.add_parser(
        "forecast",
        help="forecast the hours after a CSV's last row, calibrated online over the file",
    )
    forecasting.add_argument("run_dir", help=RUN_DIR_HELP)
    forecasting.add_argument(
        "input", help="a CSV of readings in time order, the training file's columns"
    )
    _add_calibration_flags(forecasting)
    _add_unsafe_flag(forecasting)

    exporting = commands.add_parser(
        "export", help="export a run as a SavedModel, a LiteRT or an ONNX model"
    )
    exporting.add_argument("run_dir", help=RUN_DIR_HELP)
    exporting.add_argument(
        "--format",
        default="saved_model",
        choices=FORMATS,
        help=(
            f"{', '.join(FORMATS)} (default saved_model); litert and onnx go to "
            "OUTPUT_DIR/NAME/FORMAT/VERSION"
        ),
    )
    exporting.add_argument(
        "--quantize",
        action="store_true",
        help="with --format litert: dynamic-range quantization (int8 weights)",
    )
    exporting.add_argument("--output-dir", default="saved_models")
    exporting.add_argument(
        "--version", type=int, help=f"version number, {INT32_RANGE} (default: next free)"
    )
    _add_unsafe_flag(exporting)
    return parser
