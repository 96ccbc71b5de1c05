"""The peer: Darts' BlockRNNModel with QuantileRegression on the same PM2.5 split and origins.

Not part of the test suite, and not run with the project's environment: Darts needs
PyTorch. Run it in a separate one, with PyTorch's CPU build first:

    python3 -m venv /work/venv-darts
    /work/venv-darts/bin/pip install torch==2.13.0
    /work/venv-darts/bin/pip install darts==0.48.1
    /work/venv-darts/bin/python benchmarks/darts_peer.py --seeds 0 1 2

It trains two models per seed, each as `load_horizon_windows` sees the data: the same
rows split 70/20/10, PM2.5 as ``log(1 + x)`` normalized with the train rows'
statistics, the weather and the one-hot wind direction as past covariates, the calendar
(hour, day of the week, month) as future covariates, the registered window (24 hours in,
24 out), learning rate, batch size and epochs, an LSTM of 32 units, the quantiles 0.1,
0.25, 0.5, 0.75 and 0.9:

* ``stock``: Darts' own head, which for output step ``k`` reads the LSTM output after
  input hour ``k`` (in 0.48.1), so the 1 h forecast never sees the last 23 hours;
* ``last_state``: a head on the LSTM's last state, built with Darts' public
  ``CustomBlockRNNModule``, the last state repeated for each step beside that step's
  future covariates.

Each keeps its best validation epoch (``save_checkpoints`` / ``load_from_checkpoint``).
Then ``historical_forecasts`` forecasts from every origin of the test span with the model
fixed (``retrain=False``, ``stride=1``, ``overlap_end=True``), and the forecasts are scored
by the same code as rnn_zoo's backtest (:func:`rnn_zoo.rolling.score_forecasts`, which
needs neither Keras nor TensorFlow), so the origins and figures are the same. Writes
``benchmarks/results/darts_peer.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import darts
import numpy as np
import pandas as pd
import torch
from darts import TimeSeries
from darts.models import BlockRNNModel
from darts.models.forecasting.block_rnn_model import CustomBlockRNNModule
from darts.models.forecasting.pl_forecasting_module import PLModuleOutput, io_processor
from darts.utils.likelihood_models import QuantileRegression

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnn_zoo.blocks.levels import DEFAULT_LEVELS  # noqa: E402
from rnn_zoo.registry import get_spec  # noqa: E402
from rnn_zoo.rolling import score_forecasts, summarize  # noqa: E402

PM25 = "PRSA_data_2010.1.1-2014.12.31.csv"
SPLIT = (0.7, 0.2, 0.1)
WEATHER = ["DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"]
WIND = ["NE", "NW", "SE", "cv"]
PEER = get_spec("probabilistic_forecaster")  # its Keras-free entry: the window and recipe
WIDTH, HORIZONS = PEER.data_options["input_width"], PEER.data_options["horizons"]
UNITS = 32  # the registered model's GRU; the peer runs an LSTM as Darts' examples do


def read_series(data_dir: Path):
    """The table as rnn_zoo's loader reads it: rows in time order, inputs forward-filled."""
    table = pd.read_csv(data_dir / PM25, na_values=["NA"])
    table.index = pd.to_datetime(table[["year", "month", "day", "hour"]])
    rows = len(table)
    train = round(rows * SPLIT[0])
    validation = round(rows * (SPLIT[0] + SPLIT[1]))
    return table, rows, train, validation


def calendar(index: pd.DatetimeIndex) -> pd.DataFrame:
    """Hour, day of the week and month as sines and cosines."""
    parts = {"hour": (index.hour, 24), "weekday": (index.weekday, 7), "month": (index.month, 12)}
    columns = {}
    for name, (values, period) in parts.items():
        angle = 2 * np.pi * np.asarray(values) / period
        columns[f"{name}_sin"], columns[f"{name}_cos"] = np.sin(angle), np.cos(angle)
    return pd.DataFrame(columns, index=index)


def darts_series(table: pd.DataFrame, train: int):
    """Target, past and future covariates as Darts TimeSeries, normalized on train rows."""
    target = np.log1p(table["pm2.5"].ffill().bfill())
    scale = (target.iloc[:train].mean(), target.iloc[:train].std())
    past = table[WEATHER].ffill().bfill()
    past = (past - past.iloc[:train].mean()) / past.iloc[:train].std()
    for wind in WIND:
        past[f"cbwd={wind}"] = (table["cbwd"] == wind).astype("float64")
    ahead = pd.date_range(table.index[0], periods=len(table) + HORIZONS, freq="h")
    series = TimeSeries.from_series(((target - scale[0]) / scale[1]).astype("float32"))
    past_series = TimeSeries.from_dataframe(past.astype("float32"))
    future_series = TimeSeries.from_dataframe(calendar(ahead).astype("float32"))
    return series, past_series, future_series, scale


class LastStateHead(CustomBlockRNNModule):
    """A BlockRNN head that reads the LSTM's last state at every output step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rnn = torch.nn.LSTM(
            self.input_size, self.hidden_dim, self.num_layers, batch_first=True
        )
        self.fc = torch.nn.Linear(
            self.hidden_dim + self.future_cov_dim, self.target_size * self.nr_params
        )

    @io_processor
    def forward(self, x_in):
        past = x_in.concatenate_past_features()
        out, _ = self.rnn(past)
        state = out[:, -1:, :].repeat(1, self.output_chunk_length, 1)
        if x_in.future_covariates is not None:
            state = torch.cat([state, x_in.future_covariates], dim=-1)
        prediction = self.fc(state)
        return PLModuleOutput(
            prediction=prediction.view(
                past.shape[0], self.output_chunk_length, self.target_size, self.nr_params
            )
        )


def train_and_forecast(variant, seed, epochs, data, work_dir):
    """Fits one model, keeps its best validation epoch, forecasts every test origin."""
    table, rows, train, validation = data["split"]
    series, past, future = data["series"]
    name = f"{variant}_{seed}"
    model = BlockRNNModel(
        input_chunk_length=WIDTH,
        output_chunk_length=HORIZONS,
        model="LSTM" if variant == "stock" else LastStateHead,
        hidden_dim=UNITS,
        n_rnn_layers=1,
        likelihood=QuantileRegression(quantiles=list(DEFAULT_LEVELS)),
        batch_size=PEER.recipe.batch_size,
        n_epochs=epochs,
        optimizer_kwargs={"lr": PEER.recipe.learning_rate},
        random_state=seed,
        model_name=name,
        work_dir=str(work_dir),
        save_checkpoints=True,
        force_reset=True,
        pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False},
    )
    started = time.perf_counter()
    model.fit(
        series[:train],
        past_covariates=past,
        future_covariates=future,
        val_series=series[train - WIDTH : validation],
        val_past_covariates=past,
        val_future_covariates=future,
        verbose=False,
    )
    seconds = time.perf_counter() - started
    with darts.utils.serialization.safe_globals([LastStateHead]):  # our own class, trusted
        model = BlockRNNModel.load_from_checkpoint(name, work_dir=str(work_dir), best=True)
    started = time.perf_counter()
    forecasts = model.historical_forecasts(
        series,
        past_covariates=past,
        future_covariates=future,
        start=series.time_index[validation],
        forecast_horizon=HORIZONS,
        stride=1,
        retrain=False,
        overlap_end=True,
        last_points_only=False,
        predict_likelihood_parameters=True,
        verbose=False,
    )
    forecast_seconds = time.perf_counter() - started
    forecasts = [f for f in forecasts if f.start_time() <= table.index[-1]]  # a target known
    quantiles = np.stack([forecast.values() for forecast in forecasts])  # [n, 24, levels]
    mean, std = data["scale"]
    quantiles = np.maximum(np.expm1(quantiles * std + mean), 0.0)
    origins = np.array([table.index.get_loc(f.start_time()) - 1 for f in forecasts])
    return quantiles, origins, seconds, forecast_seconds


def scored(quantiles, origins, table, train):
    """rnn_zoo's backtest figures of these forecasts (the same code, the same origins)."""
    filled = table["pm2.5"].ffill().bfill().to_numpy()
    hours = calendar(table.index)
    rows = np.stack([filled, hours["hour_sin"], hours["hour_cos"]], axis=1)
    series = {"rows": rows, "target": table["pm2.5"].to_numpy(dtype="float64")}
    metadata = {
        "target_index": 0,
        "features": ["pm2.5", "hour_sin", "hour_cos"],
        "rows": {"train": train},
    }
    return score_forecasts(quantiles, DEFAULT_LEVELS, series, origins, metadata)


def commit() -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=PEER.recipe.epochs, help="the recipe's")
    parser.add_argument("--variants", nargs="+", default=["stock", "last_state"])
    parser.add_argument("--data-dir", default=os.environ.get("RNN_ZOO_DATA_DIR", "../shared/data"))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="PyTorch threads; on the shared 2-core machine 2 threads made a training step "
        "22x slower than 1 (1.87 s against 0.084 s), so 1",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table, rows, train, validation = read_series(Path(args.data_dir))
    series, past, future, scale = darts_series(table, train)
    data = {
        "split": (table, rows, train, validation),
        "series": (series, past, future),
        "scale": scale,
    }
    runs = []
    with tempfile.TemporaryDirectory() as work_dir:
        for variant in args.variants:
            for seed in args.seeds:
                quantiles, origins, seconds, forecast_seconds = train_and_forecast(
                    variant, seed, args.epochs, data, Path(work_dir)
                )
                expected = np.arange(validation - 1, rows - 1)
                if not np.array_equal(origins, expected):
                    raise AssertionError(f"{variant}: origins differ from the test span's")
                table_rows = scored(quantiles, origins, table, train)
                run = {
                    "variant": variant,
                    "seed": seed,
                    "train_s": round(seconds, 1),
                    "backtest_s": round(forecast_seconds, 1),
                    "summary": summarize(table_rows),
                    "by_horizon": table_rows,
                }
                runs.append(run)
                print(json.dumps({key: run[key] for key in run if key != "by_horizon"}), flush=True)
    report = {
        "darts": darts.__version__,
        "torch": torch.__version__,
        "epochs": args.epochs,
        "threads": args.threads,
        "commit": commit(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg(),
        "runs": runs,
    }
    out = REPO / "benchmarks" / "results" / "darts_peer.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("->", out)


if __name__ == "__main__":
    main()
