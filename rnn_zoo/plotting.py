"""Figures: training curves (one subplot per metric), and a backtest's errors and fan chart.

The figure is built with matplotlib's object-oriented API (``matplotlib.figure.Figure``),
without pyplot and without choosing a backend, so it works headless (tests, CI, scripts)
and in Jupyter, where a figure returned as the last expression of a cell renders inline.
"""

from __future__ import annotations

import csv
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rnn_zoo.blocks.levels import central_intervals
from rnn_zoo.files import atomic_path
from rnn_zoo.validation import check_float, check_name

VALIDATION_PREFIX = "val_"
EPOCH_COLUMN = "epoch"
# CSVLogger writes "NA" for a metric that an epoch did not log; drawn as a gap.
MISSING_CELLS = ("", "NA")
HISTORY_KINDS = "a keras History, its .history dict, or the path of a CSVLogger file"


def plot_history(
    history: Any,
    metrics: str | Iterable[str] | None = None,
    *,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    save_path: str | os.PathLike | None = None,
) -> Figure:
    """Draws training curves: one subplot per metric, training against validation.

    Each subplot shows a metric's training values and, when the history holds them,
    its ``val_`` values, against epoch numbers 1, 2, ... with integer ticks.

    Args:
        history: A ``keras.callbacks.History`` (what ``model.fit`` returns), its
            ``.history`` dict (metric name -> one value per epoch), or the path of a
            ``keras.callbacks.CSVLogger`` file (columns ``epoch,<metric>,...,val_<metric>``;
            the ``epoch`` column is required, rows are drawn in file order as epochs
            1, 2, ..., and ``NA`` cells are drawn as gaps).
        metrics: The metric names to draw, without the ``val_`` prefix: one name or a
            sequence of names, drawn left to right. By default every training metric
            (every name without the ``val_`` prefix), ``loss`` first, the others in the
            history's order.
        title: A title above all subplots, or ``None`` for none.
        figsize: ``(width, height)`` in inches; by default 5 x 4 inches per subplot.
        save_path: Where to also write the figure as a PNG (the name must end in
            ``.png``). Parent directories are created; the file is written to a
            temporary name in the same directory and renamed into place, so a failure
            leaves no partial file.

    Returns:
        The ``matplotlib.figure.Figure``, one axes per metric.

    Raises:
        TypeError: If ``history``, ``metrics``, ``title``, ``figsize`` or ``save_path``
            has the wrong type, or a history value is not a sequence of numbers.
        ValueError: If the history is empty, its metrics have different lengths, a CSV
            file has no ``epoch`` column or a non-numeric cell, a requested metric is
            not in the history (the message lists the available ones), ``figsize`` is
            not two positive numbers, or ``save_path`` does not end in ``.png``.
        OSError: If the CSV file cannot be read or the PNG cannot be written.

    Example:
        >>> history = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}
        >>> figure = plot_history(history, title="baseline")
        >>> [axes.get_title() for axes in figure.axes]
        ['loss']
    """
    selection = _check_metric_names(metrics)
    if title is not None:
        check_name("title", title)
    size = None if figsize is None else _check_figsize(figsize)
    target = None if save_path is None else _check_save_path(save_path)
    values = _check_values(_history_dict(history))
    names = _select_metrics(values, selection)
    figure = Figure(figsize=size or (5.0 * len(names), 4.0), layout="constrained")
    _draw(figure, values, names)
    if title is not None:
        figure.suptitle(title)
    if target is not None:
        _save_png(figure, target)
    return figure


def _check_metric_names(metrics: Any) -> list[str] | None:
    if metrics is None:
        return None
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, Iterable):
        raise TypeError(
            f"metrics={metrics!r} (type {type(metrics).__name__}) is not accepted; expected "
            "a metric name, a sequence of metric names, or None for every metric"
        )
    names = [check_name("metrics", name) for name in metrics]
    if not names:
        raise ValueError("metrics=[] is empty; expected at least one metric name or None")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics={names!r} names a metric twice; expected distinct names")
    return names


def _check_figsize(figsize: Any) -> tuple[float, float]:
    if not isinstance(figsize, (tuple, list)):
        raise TypeError(
            f"figsize={figsize!r} (type {type(figsize).__name__}) is not accepted; "
            "expected (width, height) in inches"
        )
    if len(figsize) != 2:
        raise ValueError(f"figsize={figsize!r} is not accepted; expected (width, height)")
    width, height = (
        check_float("figsize", size, minimum=0.0, include_minimum=False) for size in figsize
    )
    return width, height


def _check_save_path(save_path: Any) -> Path:
    if not isinstance(save_path, (str, os.PathLike)):
        raise TypeError(
            f"save_path={save_path!r} (type {type(save_path).__name__}) is not accepted; "
            "expected a path ending in .png, or None"
        )
    path = Path(save_path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_path={os.fspath(save_path)!r} does not end in .png")
    return path


def _history_dict(history: Any) -> Mapping[Any, Any]:
    if isinstance(history, (str, os.PathLike)):
        return _read_csv_log(Path(history))
    if isinstance(history, Mapping):
        return history
    if isinstance(getattr(history, "history", None), Mapping):
        return history.history
    raise TypeError(
        f"history={history!r} (type {type(history).__name__}) is not accepted; "
        f"expected {HISTORY_KINDS}"
    )


def _read_csv_log(path: Path) -> dict[str, list[float]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if EPOCH_COLUMN not in columns:
            raise ValueError(
                f"history={os.fspath(path)!r} has columns {columns}, with no "
                f"{EPOCH_COLUMN!r} column; expected a keras CSVLogger file"
            )
        rows = [(reader.line_num, row) for row in reader]
    if not rows:
        raise ValueError(f"history={os.fspath(path)!r} has a header but no epochs")
    return {
        metric: [_parse_cell(path, line, metric, row[metric]) for line, row in rows]
        for metric in columns
        if metric != EPOCH_COLUMN
    }


def _parse_cell(path: Path, line: int, metric: str, cell: str | None) -> float:
    if cell is None:
        raise ValueError(f"history={os.fspath(path)!r} line {line} has no {metric!r} cell")
    if cell.strip() in MISSING_CELLS:
        return float("nan")
    try:
        return float(cell)
    except ValueError:
        raise ValueError(
            f"history={os.fspath(path)!r} line {line} has {metric}={cell!r}; expected a number"
        ) from None


def _check_values(history: Mapping[Any, Any]) -> dict[str, list[float]]:
    if not history:
        raise ValueError(f"history is empty; expected {HISTORY_KINDS} with at least one metric")
    values = {_check_key(key): _check_series(key, series) for key, series in history.items()}
    lengths = {len(series) for series in values.values()}
    if lengths == {0}:
        raise ValueError(f"history has no epochs: {values}; expected one value per epoch")
    if len(lengths) > 1:
        counts = ", ".join(f"{key}: {len(series)}" for key, series in values.items())
        raise ValueError(
            f"history has metrics of different lengths ({counts}); "
            "expected one value per epoch for every metric"
        )
    return values


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"history has a metric named {key!r}; expected string metric names")
    return key


def _check_series(key: str, series: Any) -> list[float]:
    if isinstance(series, (str, bytes, Mapping)) or not isinstance(series, Iterable):
        raise TypeError(
            f"history[{key!r}]={series!r} (type {type(series).__name__}) is not accepted; "
            "expected a list with one number per epoch"
        )
    series = list(series)
    for value in series:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"history[{key!r}] holds {value!r} (type {type(value).__name__}); "
                "expected one number per epoch"
            )
    return [float(value) for value in series]


def _select_metrics(history: Mapping[str, list[float]], selection: list[str] | None) -> list[str]:
    available = [key for key in history if not key.startswith(VALIDATION_PREFIX)]
    available.sort(key=lambda name: name != "loss")  # stable: loss first, then history order
    if not available:
        raise ValueError(
            f"history has only validation metrics {list(history)}; expected training metrics"
        )
    for name in selection or ():
        if name not in available:
            raise ValueError(
                f"metrics={name!r} is not in the history; available metrics: "
                f"{', '.join(available)} (give names without the {VALIDATION_PREFIX!r} prefix)"
            )
    return selection or available


def _draw(figure: Figure, history: Mapping[str, list[float]], metrics: list[str]) -> None:
    epochs = range(1, len(history[metrics[0]]) + 1)
    grid = figure.subplots(1, len(metrics), squeeze=False)
    for axes, metric in zip(grid[0], metrics, strict=True):
        axes.plot(epochs, history[metric], marker="o", label="training")
        validation = history.get(VALIDATION_PREFIX + metric)
        if validation is not None:
            axes.plot(epochs, validation, marker="o", label="validation")
        axes.set_title(metric)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend()


def _save_png(figure: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # exclusive create, permissions from the umask
    with atomic_path(path) as temporary, open(temporary, "xb") as handle:
        figure.savefig(handle, format="png")


WEEK = 7 * 24


def plot_backtest(
    table: Sequence[Mapping[str, float]],
    *,
    origins: np.ndarray,
    quantiles: np.ndarray,
    levels: Sequence[float],
    truth: np.ndarray,
    week: int = 0,
    title: str | None = None,
    save_path: str | os.PathLike | None = None,
) -> Figure:
    """Draws a backtest: error by horizon against the baselines, coverage, a fan chart.

    The fan chart shows one week of the test span: from its first hour, one forecast
    every 24 hours (the median, and each central interval as a band) against the truth.
    Where the table holds online-calibrated figures (``online_coverage_80``...), the
    coverage panel draws them dashed beside the coverage as trained.

    Args:
        table: The backtest's rows (:func:`rnn_zoo.rolling.score_forecasts`).
        origins: Each forecast's first target hour, in hours into the test span.
        quantiles: ``[origins, horizons, levels]`` forecasts (for the fan chart).
        levels: Their levels.
        truth: The target over the test span, NaN where missing.
        week: The fan chart's first hour, in hours into the test span.
        title: A title above the figure.
        save_path: Where to also write the figure as a PNG (beside, then renamed).

    Returns:
        The ``matplotlib.figure.Figure``.

    Example:
        >>> figure = plot_backtest(table, origins=o, quantiles=q, levels=l, truth=y)
        ... # doctest: +SKIP
    """
    target = None if save_path is None else _check_save_path(save_path)
    figure = Figure(figsize=(15.0, 4.0), layout="constrained")
    error, coverage, fan = figure.subplots(1, 3, width_ratios=(1, 1, 2.2))
    horizons = [row["horizon"] for row in table]
    for key, label in (
        ("mae", "median"),
        ("persistence_mae", "persistence"),
        ("seasonal_naive_mae", "seasonal naive (24 h)"),
    ):
        error.plot(horizons, [row[key] for row in table], marker=".", label=label)
    error.set(xlabel="hours ahead", ylabel="MAE", title="error by horizon")
    error.legend()
    intervals = central_intervals(levels)
    calibrated = "online_mae" in table[0]
    for width in intervals:
        line = coverage.plot(horizons, [row[f"coverage_{width}"] for row in table], marker=".")
        color = line[0].get_color()
        coverage.axhline(width / 100, color=color, linestyle=":")
        line[0].set_label(f"{width}% interval (nominal dotted)")
        if calibrated:
            coverage.plot(
                horizons,
                [row[f"online_coverage_{width}"] for row in table],
                color=color,
                linestyle="--",
                label=f"{width}%, calibrated online",
            )
    coverage.set(xlabel="hours ahead", ylabel="share of targets inside", title="coverage")
    coverage.set_ylim(0, 1)
    coverage.legend()
    median = list(levels).index(0.5)
    chosen = [
        i
        for i, hour in enumerate(origins)
        if week <= hour < week + WEEK and (hour - week) % 24 == 0
    ]
    for number, index in enumerate(chosen):
        hours = origins[index] + np.arange(quantiles.shape[1])
        for width, (low, high) in intervals.items():
            fan.fill_between(
                hours,
                quantiles[index, :, low],
                quantiles[index, :, high],
                color="tab:blue",
                alpha=0.15 + 0.2 * (width < 80),
                label=f"{width}% interval" if number == 0 else None,
            )
        fan.plot(
            hours,
            quantiles[index, :, median],
            color="tab:blue",
            label="median" if number == 0 else None,
        )
    shown = np.arange(week, min(week + WEEK, len(truth)))
    fan.plot(shown, truth[shown], color="black", linewidth=1, label="observed")
    fan.set(xlabel="hours into the test span", title="a forecast every 24 hours, one week")
    fan.legend(loc="upper left")
    if title is not None:
        figure.suptitle(title)
    if target is not None:
        _save_png(figure, target)
    return figure
