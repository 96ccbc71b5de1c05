"""Quality of the default recipes on the real test splits, next to published anchors.

Trains a registered model with its registry recipe (exactly what `rnn-zoo train NAME`
does) for one or more seeds and reports the test metrics as mean ± std, the wall time
and the epochs, next to the registry entry's outside reference (``spec.anchor``), then
writes benchmarks/results/quality_<name>.json. With ``--add`` the
runs of other seeds already in that file (same recipe and data options) are kept and
counted in the mean, so a long recipe can be run a seed at a time; runs of a different
recipe, data options or model arguments (the factory's, with the entry's
``model_options``) are refused rather than averaged. ``--add`` also keeps what else the
file records (the runs of an earlier recipe, candidates not adopted), and reads the file
again before writing it, so seeds run at once in separate processes (one per core,
``taskset -c 0 ... --seeds 0 --add`` beside ``taskset -c 1 ... --seeds 1 --add``) all
land in it unless two finish within the same instant.

    .venv/bin/python benchmarks/quality.py baseline --seeds 0 1 2
    .venv/bin/python benchmarks/quality.py lstm --seeds 0 1 2
    .venv/bin/python benchmarks/quality.py gru_classifier --seeds 0
    .venv/bin/python benchmarks/quality.py text_generator --seeds 0
    .venv/bin/python benchmarks/quality.py text_generator --seeds 1 2 --add
    .venv/bin/python benchmarks/quality.py text_generator --precision mixed_bfloat16

The precision is the entry's own unless ``--precision`` (any choice ``rnn-zoo train``
takes) says otherwise; ``"auto"`` is resolved on this machine first. A run that trains
in anything but float32 writes quality_<name>_<precision>.json, so its runs are never
averaged with float32's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile

from harness import RESULTS, earlier_seeds, machine, mean_and_std, other_records, source_commit

from rnn_zoo.device import PRECISIONS, resolve_precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, help="override the recipe (not the default)")
    parser.add_argument("--precision", choices=PRECISIONS, help="default: the entry's own")
    parser.add_argument(
        "--add", action="store_true", help="keep the other seeds' runs already in the results"
    )
    args = parser.parse_args()

    from rnn_zoo.registry import get_spec
    from rnn_zoo.training import train

    spec = get_spec(args.name)
    precision = resolve_precision(args.precision or spec.precision)
    recipe = {**spec.recipe.to_dict(), **({"epochs": args.epochs} if args.epochs else {})}
    results_name = f"quality_{args.name}" + ("" if precision == "float32" else f"_{precision}")
    recorded = {
        **({} if precision == "float32" else {"precision": precision}),
        "recipe": recipe,
        "data_options": spec.data_options,
        "model_arguments": spec.factory_arguments(),
    }
    earlier = earlier_seeds(results_name, recorded, args.seeds) if args.add else []
    runs = []
    commit, this_machine = source_commit(), machine()
    with tempfile.TemporaryDirectory() as output_dir:
        for seed in args.seeds:
            result = train(
                args.name,
                seed=seed,
                epochs=args.epochs,
                precision=precision,
                output_dir=output_dir,
            )
            runs.append(
                {
                    "seed": seed,
                    "test": result.test_metrics,
                    "best_validation": {
                        key: (max if "acc" in key else min)(values)
                        for key, values in result.history.items()
                        if key.startswith("val_")
                    },
                    "epochs": len(result.history["loss"]),
                    "wall_time_s": round(result.wall_time, 1),
                    "commit": commit,
                    "machine": this_machine,
                    "samples_per_second": round(result.samples_per_second, 1),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
    if args.add:  # read again: another seed's process may have written the file since
        earlier = earlier_seeds(results_name, recorded, args.seeds)
    runs = sorted(earlier + runs, key=lambda run: run["seed"])
    summary = {key: mean_and_std(run["test"][key] for run in runs) for key in runs[0]["test"]}
    report = {
        "model": args.name,
        **recorded,
        "anchor": spec.anchor,
        "runs": runs,
        "test_summary": summary,
    }
    if args.add:
        report.update(other_records(results_name, report))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{results_name}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"| {args.name} | seeds {[run['seed'] for run in runs]} | "
        + " | ".join(
            f"{key} {value['mean']:.4f} ± {value['std']:.4f}" for key, value in summary.items()
        )
        + f" | {statistics.fmean(r['wall_time_s'] for r in runs):.0f} s | {runs[0]['epochs']} |"
    )


if __name__ == "__main__":
    main()
