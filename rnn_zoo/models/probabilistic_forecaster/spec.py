"""The registry entry of the probabilistic forecaster: dataset, recipe, results.

Kept apart from ``model`` so that listing the zoo imports neither Keras nor TensorFlow:
the factory is named by a ``"module:attribute"`` reference, resolved on first use.
"""

from __future__ import annotations

from rnn_zoo.blocks.cell_names import CELL_NAMES
from rnn_zoo.blocks.levels import DEFAULT_LEVELS
from rnn_zoo.recipe import Recipe
from rnn_zoo.registry import ModelSpec, PlainTwin, register

FAMILY = "rnn_zoo.models.probabilistic_forecaster"

SPEC = register(
    ModelSpec(
        name="probabilistic_forecaster",
        factory=f"{FAMILY}.model:build_probabilistic_forecaster",
        task="probabilistic_forecasting",
        dataset="time_series_horizons",
        loader="rnn_zoo.data.horizons:load_horizon_windows",
        serving=f"{FAMILY}.serving:ProbabilisticForecasterServing",
        conversion=f"{FAMILY}.conversion:ProbabilisticForecasterConversion",
        head="values",
        read_inputs="rnn_zoo.data.window_reader:read_windows",
        verbs={"backtest": "rnn_zoo.backtest:backtest", "forecast": "rnn_zoo.forecast:forecast"},
        choices={"cell": CELL_NAMES},
        test_report=f"{FAMILY}.report:backtest_report",
        plain_twin=PlainTwin(f"{FAMILY}.twin:build_plain_probabilistic_forecaster"),
        description=(
            "GRU encoder forecasting Beijing PM2.5 every hour 1 to 24 ahead as quantiles "
            "(median, 50% and 80% intervals) from the past 24 hours and the calendar ahead"
        ),
        data_options={"input_width": 24, "horizons": 24, "log_columns": ("pm2.5",)},
        # Four independent encoders and heads, their quantiles averaged (BENCHMARKS.md,
        # session 18: validation pinball 0.0983 against 0.0992 for one, seed 0).
        model_options={"members": 4},
        recipe=Recipe(
            optimizer="adam",
            learning_rate=1e-3,
            loss={
                "class_name": "rnn_zoo>PinballLoss",
                "config": {"levels": list(DEFAULT_LEVELS), "horizon_exponent": 1.5},
            },
            metrics=(),
            epochs=12,
            batch_size=64,
            monitor="val_loss",
        ),
        # BENCHMARKS.md: benchmarks/quality.py probabilistic_forecaster --seeds 0 1 2 at
        # c2c00c3 (members=4), the backtest of the whole test span (µg/m³, means over the
        # seeds; coverage: the lowest and highest over the 24 horizons); online_: the same
        # forecasts calibrated online (rnn_zoo.online_calibration, step size 0.005), the
        # backtest's default.
        parameters=35_564,
        anchor=(
            "persistence and 24 h seasonal naive (MAE of the median, µg/m³, per horizon), "
            "climatology by hour of day (pinball loss), Darts BlockRNNModel"
        ),
        results={
            "mae_1h": 10.29,
            "mae_6h": 30.54,
            "mae_24h": 55.23,
            "skill_1h": 0.071,
            "skill_6h": 0.185,
            "skill_24h": 0.167,
            "coverage_80": "0.746-0.823",
            "coverage_50": "0.457-0.538",
            "pinball": 13.80,
            "online_coverage_80": "0.789-0.798",
            "online_coverage_50": "0.486-0.499",
            "online_pinball": 13.88,
            "climatology_pinball": 22.54,
            "seeds": 3,
        },
    )
)
