"""Does attention pay? seq2seq with and without attention, same recipe, on Tatoeba fra-eng.

Trains the registered `seq2seq` (GRU encoder-decoder, additive attention) and the same
model with `attention=False` on the same data with the same registry recipe, one after
the other in one process, then scores each on the test split's English sentences (which
never occur in training: the loader splits by English sentence): sacrebleu corpus BLEU
of greedy and of beam-search (width 4) translations against all the French references
of each sentence, the beam's BLEU against the first reference alone, and decoding
throughput. Each seed draws its own split, initialisation and shuffle, as
`rnn-zoo train seq2seq --seed N` does; the summary gives mean ± std over the seeds.
Writes benchmarks/results/translation.json, each seed's run with the machine facts of
its invocation; with ``--add`` the runs of other seeds already there (same
configuration) are kept, so the seeds can be run one sitting each.

    .venv/bin/python benchmarks/translation.py            # seed 0: 34 min measured, 2 CPUs
    .venv/bin/python benchmarks/translation.py --seeds 1 2 --add
    .venv/bin/python benchmarks/translation.py --quick    # smoke run, writes nothing
"""

from __future__ import annotations

import tempfile
import time

from harness import (
    earlier_seeds,
    machine,
    mean_and_std,
    number,
    parser,
    save,
    source_commit,
    table,
    use_shared_data,
)

MODEL = "seq2seq"  # the subject of this study
BEAM_WIDTH = 4
BLEU_KEYS = ("bleu_greedy", f"bleu_beam{BEAM_WIDTH}", f"bleu_beam{BEAM_WIDTH}_single_reference")


def score(model, data, beam_width: int) -> tuple[float, float, float]:
    """Multi- and single-reference BLEU of the test sentences, and sentences/s decoded."""
    from rnn_zoo.models.translator.bleu import bleu_score
    from rnn_zoo.models.translator.decoding import translate

    sources, references = data.test_texts["sources"], data.test_texts["references"]
    translate(model, sources[:8], metadata=data.metadata, beam_width=beam_width)  # trace
    started = time.perf_counter()
    hypotheses = translate(model, sources, metadata=data.metadata, beam_width=beam_width)
    speed = len(sources) / (time.perf_counter() - started)
    first = [group[:1] for group in references]
    return bleu_score(hypotheses, references), bleu_score(hypotheses, first), speed


def train_and_score(data, seed: int, attention: bool, quick: bool) -> dict:
    """Trains seq2seq with or without attention on ``data``; its row of the table."""
    from rnn_zoo.training import train

    with tempfile.TemporaryDirectory() as output_dir:
        result = train(
            MODEL,
            data,
            seed=seed,
            epochs=1 if quick else None,
            steps_per_epoch=5 if quick else None,
            model_options={"attention": attention},
            output_dir=output_dir,
            resume=False,
            verbose=2,
        )
    greedy_bleu, _, greedy_speed = score(result.model, data, 1)
    beam_bleu, beam_single, beam_speed = score(result.model, data, BEAM_WIDTH)
    row = {
        "attention": attention,
        "parameters": result.model.count_params(),
        "epochs": len(result.history["loss"]),
        "best_val_loss": min(result.history["val_loss"]),
        "test_loss": result.test_metrics["loss"],
        "bleu_greedy": greedy_bleu,
        f"bleu_beam{BEAM_WIDTH}": beam_bleu,
        f"bleu_beam{BEAM_WIDTH}_single_reference": beam_single,
        "train_pairs_per_second": result.samples_per_second,
        "train_wall_time_s": result.wall_time,
        "decode_sentences_per_second_greedy": greedy_speed,
        f"decode_sentences_per_second_beam{BEAM_WIDTH}": beam_speed,
    }
    print(row, flush=True)
    return row


def attention_gain(rows: list[dict]) -> dict:
    """Relative BLEU gain of the attention row over the other one."""
    with_attention, without = rows
    return {
        key: (with_attention[key] / without[key] - 1.0) if without[key] else None
        for key in BLEU_KEYS
    }


def summary(runs: list[dict]) -> dict:
    """Mean ± std over the seeds of each model's BLEU and of the gain of attention."""
    result = {
        name: {key: mean_and_std([run["rows"][index][key] for run in runs]) for key in BLEU_KEYS}
        for index, name in enumerate(("attention", "no attention"))
    }
    result["relative_bleu_gain_of_attention"] = {
        key: mean_and_std([run["relative_bleu_gain_of_attention"][key] for run in runs])
        for key in BLEU_KEYS
    }
    return result


def configuration(spec, data) -> dict:
    """What every seed's runs share: recipe, model, data sizes and scoring."""
    meta = data.metadata
    return {
        "recipe": spec.recipe.to_dict(),
        "model": spec.factory_arguments(),
        "max_length": meta["max_length"],
        "source_vocabulary": len(meta["source_vocabulary"]),
        "target_vocabulary": len(meta["target_vocabulary"]),
        "examples": meta["examples"],
        "split_by": meta["split_by"],
        "sentences": meta["sentences"],
        "sentences_with_several_references": meta["sentences_with_several_references"],
        "dropped_too_long": meta["dropped_too_long"],
        "bleu_sentences": len(data.test_texts["sources"]),
        "beam_width": BEAM_WIDTH,
    }


def print_table(rows: list[dict], seed: int) -> None:
    """One seed's two rows, as a table."""
    headers = ["model", "parameters", "BLEU greedy", f"BLEU beam {BEAM_WIDTH}", "train pairs/s"]
    headers += ["greedy sent/s", f"beam {BEAM_WIDTH} sent/s"]
    print(f"seed {seed}")
    print(
        table(
            headers,
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


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--seeds", type=int, nargs="+", default=[0])
    arguments.add_argument(
        "--add", action="store_true", help="keep the other seeds' runs already in the results"
    )
    args = arguments.parse_args()
    use_shared_data()
    info = {**machine(), "commit": source_commit()}

    from rnn_zoo import get_spec

    spec = get_spec(MODEL)
    options = {"fraction": 0.05} if args.quick else {}
    shared, runs, earlier = None, [], []
    for seed in args.seeds:
        data = spec.load_data(batch_size=spec.recipe.batch_size, seed=seed, **options)
        if shared is None:
            shared = configuration(spec, data)
            if args.add and not args.quick:  # before training: a mismatch costs nothing
                earlier = earlier_seeds("translation", {"configuration": shared}, args.seeds)
        rows = [train_and_score(data, seed, attention, args.quick) for attention in (True, False)]
        gain = attention_gain(rows)
        runs.append(
            {"seed": seed, "machine": info, "rows": rows, "relative_bleu_gain_of_attention": gain}
        )
        print_table(rows, seed)
    runs = sorted(earlier + runs, key=lambda run: run["seed"])
    result = summary(runs)
    print(f"seeds {[run['seed'] for run in runs]}:", result)
    payload = {"configuration": shared, "runs": runs, "summary": result}
    print(save("translation", payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
