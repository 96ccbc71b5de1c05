"""Backtests of a finished run, like Darts' ``historical_forecasts``: files and a plot.

:func:`backtest` loads a run and its data, forecasts from every origin of the test span
with the model fixed (:mod:`rnn_zoo.rolling`, which also defines the figures), and
writes ``backtest.csv`` and ``backtest.png`` in the run directory. ``rnn-zoo backtest
RUN_DIR`` runs it; a family offers it by declaring the ``backtest`` verb.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rnn_zoo.files import write_text_atomically
from rnn_zoo.online_calibration import DEFAULT_STEP_SIZE, check_calibration
from rnn_zoo.rolling import check_span, score_origins
from rnn_zoo.validation import check_int

BACKTEST_CSV = "backtest.csv"
BACKTEST_PNG = "backtest.png"


def _csv_text(table: Sequence[Mapping[str, float]]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({key: f"{value:.6g}" for key, value in row.items()})
    return text.getvalue()


def backtest(
    run_dir: str | os.PathLike,
    *,
    start: int = 0,
    stop: int | None = None,
    week: int | None = None,
    data_dir: str | os.PathLike | None = None,
    safe_mode: bool = True,
    calibration: str = "online",
    step_size: float = DEFAULT_STEP_SIZE,
) -> list[dict[str, float]]:
    """Backtests a finished run over its test span, with the model fixed.

    Every test hour in ``[start, stop)`` is the first hour ahead of one forecast origin
    (see the module docstring). Writes ``backtest.csv`` (one row per horizon) and
    ``backtest.png`` (error by horizon against the baselines, coverage by horizon, and
    a fan chart of one test week: a forecast every 24 hours) into ``run_dir``, each
    written beside its name and renamed over it. By default the table also scores the
    forecasts calibrated online (the ``online_`` columns, see
    :mod:`rnn_zoo.online_calibration`), and the fan chart draws them.

    Args:
        run_dir: A run directory of a family that declares the ``backtest`` verb.
        start: First hour of the test span backtested, from 0. Defaults to 0.
        stop: Hour of the test span to stop before; ``None`` (default) for its end.
        week: First hour of the fan chart's week, within ``[start, stop)``; defaults to
            ``start``.
        data_dir: Where the dataset files are (see :mod:`rnn_zoo.data.sources`).
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).
        calibration: ``"online"`` (default) or ``"none"``
            (:func:`rnn_zoo.rolling.score_origins`).
        step_size: The online calibration's step size, > 0.

    Returns:
        The rows of ``backtest.csv``, as numbers.

    Raises:
        ValueError: If the run's family does not declare ``backtest``, or the span is
            outside the test span, or ``week`` outside the span, or ``calibration``
            or ``step_size`` is not accepted; checked before the model or the data is
            loaded (a negative or empty span and the calibration before any file is
            read).
        FileNotFoundError: If ``run_dir`` is not a finished run directory.

    Example:
        >>> rows = backtest("saved_models/probabilistic_forecaster/latest")  # doctest: +SKIP
        >>> rows[5]["mae"], rows[5]["persistence_mae"]  # doctest: +SKIP
        (29.1, 37.5)
        >>> rows[5]["coverage_80"], rows[5]["online_coverage_80"]  # doctest: +SKIP
        (0.76, 0.79)
    """
    from rnn_zoo.data.bundle import load_metadata
    from rnn_zoo.export import load_serving_module
    from rnn_zoo.plotting import plot_backtest
    from rnn_zoo.registry import get_spec
    from rnn_zoo.runs import read_config
    from rnn_zoo.training.prepare import load_registered_data

    check_int("start", start, minimum=0)
    check_calibration(calibration, step_size)
    if stop is not None:
        check_int("stop", stop, minimum=start + 1)
    week = start if week is None else check_int("week", week, minimum=start)
    config = read_config(run_dir)
    get_spec(config["model"]).get_verb("backtest")
    hours = load_metadata(run_dir)["metadata"]["rows"]["test"]
    check_int("week", week, minimum=start, maximum=check_span(start, stop, hours) - 1)
    module, spec = load_serving_module(run_dir, safe_mode=safe_mode)
    bundle = load_registered_data(
        spec, data_dir, config["recipe"]["batch_size"], config["seed"], config["data_options"]
    )
    table, origins, quantiles, levels = score_origins(
        module, bundle, start, stop, calibration, step_size
    )
    run_dir = Path(run_dir)
    first_row = bundle.metadata["rows"]["train"] + bundle.metadata["rows"]["validation"]
    plot_backtest(
        table,
        origins=origins - first_row + 1,
        quantiles=quantiles,
        levels=levels,
        truth=bundle.series["target"][first_row:],
        week=week,
        title=config["model"],
        save_path=run_dir / BACKTEST_PNG,
    )
    # After the plot, whose drawing is likelier to fail: a failed backtest leaves the
    # earlier pair of files as it was.
    write_text_atomically(run_dir / BACKTEST_CSV, _csv_text(table))
    return table
