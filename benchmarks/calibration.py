"""Does the validation-fitted calibration improve coverage on the test span? Before and after.

Trains a registered quantile forecaster with its registry recipe (what `rnn-zoo train
NAME` does, the calibration fitted on the validation split after the best epoch) for
each seed, then scores the rolling forecasts of every validation and test origin
(:mod:`rnn_zoo.rolling`) twice with the same trained weights: as calibrated, and with
the calibration's offsets set back to zero (the model before calibration). It prints
and records, per horizon, the coverage of each central interval and the median's MAE,
in benchmarks/results/calibration_<name>.json.

    .venv/bin/python benchmarks/calibration.py probabilistic_forecaster --seeds 0 1 2
"""

from __future__ import annotations

import tempfile

import harness
import numpy as np

from rnn_zoo.blocks.calibration import QuantileCalibration
from rnn_zoo.rolling import rolling_forecasts, score_forecasts


def scores(module, bundle, split: str) -> list[dict[str, float]]:
    """The per-horizon scores of the served forecasts at every origin of one split."""
    origins = np.asarray(bundle.series["origins"][split])
    width = bundle.metadata["input_width"]
    quantiles, levels = rolling_forecasts(module, bundle.series, origins, width)
    return score_forecasts(quantiles, levels, bundle.series, origins, bundle.metadata)


def columns(table: list[dict[str, float]]) -> dict[str, list[float]]:
    """The coverage and MAE columns of a score table, one value per horizon."""
    keys = [key for key in table[0] if key.startswith("coverage_")] + ["mae", "pinball"]
    return {key: [round(row[key], 4) for row in table] for key in keys}


def before_and_after(spec, result, bundle) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Both splits' scores, calibrated and with the offsets zeroed (same weights)."""
    module = spec.get_serving()(result.model, bundle.metadata, head=spec.head)
    layers = [layer for layer in result.model.layers if isinstance(layer, QuantileCalibration)]
    fitted = [layer.offsets.numpy() for layer in layers]
    found = {"calibrated": {}, "uncalibrated": {}}
    for split in ("validation", "test"):
        found["calibrated"][split] = columns(scores(module, bundle, split))
        for layer in layers:
            layer.offsets.assign(np.zeros_like(layer.offsets.numpy()))
        found["uncalibrated"][split] = columns(scores(module, bundle, split))
        for layer, offsets in zip(layers, fitted, strict=True):
            layer.offsets.assign(offsets)
    return found


def summary(runs: list[dict], goals: dict[str, tuple[float, float]]) -> dict:
    """Per state and split: each interval's coverage per horizon (mean over seeds) and
    its range, the horizons within the goal, and the worst distance from the nominal."""
    table = {}
    for state in ("uncalibrated", "calibrated"):
        for split in ("validation", "test"):
            entry = {}
            for key, (low, high) in goals.items():
                values = np.array([run[state][split][key] for run in runs])
                nominal = (low + high) / 2
                entry[key] = {
                    "mean_by_horizon": np.round(values.mean(axis=0), 4).tolist(),
                    "min": float(values.min()),
                    "max": float(values.max()),
                    "horizons_in_goal_by_seed": [
                        int(((row >= low) & (row <= high)).sum()) for row in values
                    ],
                    "worst_error": round(float(np.abs(values - nominal).max()), 4),
                    "mean_error": round(float(np.abs(values - nominal).mean()), 4),
                }
            mae = np.array([run[state][split]["mae"] for run in runs]).mean(axis=0)
            entry["mae_1h_6h_24h"] = [round(float(mae[h - 1]), 3) for h in (1, 6, 24)]
            table[f"{state}_{split}"] = entry
    return table


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    harness.use_shared_data()

    from rnn_zoo.registry import get_spec
    from rnn_zoo.training import train

    spec = get_spec(args.name)
    options = {"data_options": {"fraction": 0.05}, "epochs": 1} if args.quick else {}
    runs, commit, info = [], harness.source_commit(), harness.machine()
    with tempfile.TemporaryDirectory() as output_dir:
        for seed in args.seeds:
            result = train(args.name, seed=seed, output_dir=output_dir, verbose=0, **options)
            bundle = spec.load_data(
                batch_size=spec.recipe.batch_size, seed=seed, **options.get("data_options", {})
            )
            runs.append({"seed": seed, "commit": commit, **before_and_after(spec, result, bundle)})
            print(f"seed {seed}: trained in {result.wall_time:.0f} s", flush=True)
    goals = {"coverage_80": (0.78, 0.82), "coverage_50": (0.48, 0.52)}
    table = summary(runs, goals)
    for name, entry in table.items():
        print(
            name,
            " | ".join(
                f"{key} {entry[key]['min']:.3f}-{entry[key]['max']:.3f} in goal "
                f"{entry[key]['horizons_in_goal_by_seed']}/24, worst error "
                f"{entry[key]['worst_error']:.3f}, mean error {entry[key]['mean_error']:.3f}"
                for key in goals
            ),
            f"| MAE 1/6/24 h {entry['mae_1h_6h_24h']}",
        )
    payload = {"model": args.name, "recipe": spec.recipe.to_dict(), "runs": runs, "summary": table}
    print(harness.save(f"calibration_{args.name}", payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
