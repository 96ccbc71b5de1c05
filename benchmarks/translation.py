"""Does attention pay? seq2seq with and without attention, same recipe, on Tatoeba fra-eng.

Trains the registered `seq2seq` (GRU encoder-decoder, additive attention) and the same
model with `attention=False` on the same data with the same registry recipe, one after
the other in one process, then scores each on the first `bleu_sentences` (1,000) test
pairs: sacrebleu corpus BLEU of greedy and of beam-search (width 4) translations, and
decoding throughput. Writes benchmarks/results/translation.json.

    .venv/bin/python benchmarks/translation.py            # 34 min measured, 2 shared CPU cores
    .venv/bin/python benchmarks/translation.py --quick    # smoke run, writes nothing
"""

from __future__ import annotations

import tempfile
import time

from harness import machine, number, parser, save, table, use_shared_data

BEAM_WIDTH = 4


def score(model, report, beam_width: int) -> tuple[float, float]:
    """BLEU of the report's test sentences and the decoding speed in sentences/s."""
    from rnn_zoo.decoding import translate

    translate(model, report.sources[:8], metadata=report.metadata, beam_width=beam_width)  # trace
    started = time.perf_counter()
    bleu = report(model, beam_width=beam_width)["bleu"]
    return bleu, len(report.sources) / (time.perf_counter() - started)


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--seed", type=int, default=0)
    args = arguments.parse_args()
    use_shared_data()
    info = machine()

    from rnn_zoo import get_spec
    from rnn_zoo.data import load_dataset
    from rnn_zoo.training import train

    spec = get_spec("seq2seq")
    options = {**spec.data_options, **({"fraction": 0.05} if args.quick else {})}
    data = load_dataset(spec.dataset, batch_size=spec.recipe.batch_size, seed=args.seed, **options)
    rows = []
    with tempfile.TemporaryDirectory() as output_dir:
        for attention in (True, False):
            result = train(
                "seq2seq",
                data,
                seed=args.seed,
                epochs=1 if args.quick else None,
                steps_per_epoch=5 if args.quick else None,
                model_options={"attention": attention},
                output_dir=output_dir,
                resume=False,
                verbose=2,
            )
            greedy_bleu, greedy_speed = score(result.model, data.test_report, 1)
            beam_bleu, beam_speed = score(result.model, data.test_report, BEAM_WIDTH)
            rows.append(
                {
                    "attention": attention,
                    "parameters": result.model.count_params(),
                    "epochs": len(result.history["loss"]),
                    "best_val_loss": min(result.history["val_loss"]),
                    "test_loss": result.test_metrics["loss"],
                    "bleu_greedy": greedy_bleu,
                    f"bleu_beam{BEAM_WIDTH}": beam_bleu,
                    "train_pairs_per_second": result.samples_per_second,
                    "train_wall_time_s": result.wall_time,
                    "decode_sentences_per_second_greedy": greedy_speed,
                    f"decode_sentences_per_second_beam{BEAM_WIDTH}": beam_speed,
                }
            )
            print(rows[-1], flush=True)
    with_attention, without = rows
    gain = {
        key: (with_attention[key] / without[key] - 1.0) if without[key] else None
        for key in ("bleu_greedy", f"bleu_beam{BEAM_WIDTH}")
    }
    meta = data.metadata
    payload = {
        "configuration": {
            "recipe": spec.recipe.to_dict(),
            "model": spec.factory_arguments(),
            "max_length": meta["max_length"],
            "source_vocabulary": len(meta["source_vocabulary"]),
            "target_vocabulary": len(meta["target_vocabulary"]),
            "examples": meta["examples"],
            "dropped_too_long": meta["dropped_too_long"],
            "bleu_sentences": len(data.test_report.sources),
            "beam_width": BEAM_WIDTH,
            "seed": args.seed,
        },
        "rows": rows,
        "relative_bleu_gain_of_attention": gain,
    }
    print(
        table(
            [
                "model",
                "parameters",
                "BLEU greedy",
                f"BLEU beam {BEAM_WIDTH}",
                "train pairs/s",
                "greedy sent/s",
                f"beam {BEAM_WIDTH} sent/s",
            ],
            [
                [
                    "attention" if row["attention"] else "no attention",
                    f"{row['parameters']:,}",
                    f"{row['bleu_greedy']:.2f}",
                    f"{row[f'bleu_beam{BEAM_WIDTH}']:.2f}",
                    number(row["train_pairs_per_second"]),
                    number(row["decode_sentences_per_second_greedy"]),
                    number(row[f"decode_sentences_per_second_beam{BEAM_WIDTH}"]),
                ]
                for row in rows
            ],
        )
    )
    print("relative BLEU gain of attention:", gain)
    print(save("translation", payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
