"""Character generation speed: the TensorFlow tutorial's one-step loop vs generate_text.

The model is the default text generator, ``build_text_generator()`` (Embedding(65, 256)
→ LSTM(1024) → Dense(65)), untrained: speed does not depend on the weights. The
vocabulary is tiny Shakespeare's (``load_text_corpus().metadata["vocabulary"]``). In
one process, after a warm-up call of each, ``--rounds`` interleaved rounds (medians
reported) time the generation of ``--chars`` characters after the prompt ``ROMEO:`` by:

(a) the reference, TensorFlow's text-generation tutorial's ``OneStep``: a functional
    Keras model whose LSTM has ``return_state=True`` and takes initial states (the
    same weights), and a ``tf.function``-ed ``generate_one_step`` that maps characters
    to ids, runs the model, samples one character from the last logits and maps it
    back, called once per character from a Python loop, the states carried between
    calls (the tutorial's ``[UNK]`` mask is left out: this vocabulary has no
    out-of-vocabulary id), single stream;
(b) ``rnn_zoo.models.text_generator.generation.generate_text``, single stream;
(c) ``generate_text`` with ``num_streams=32``: total characters/s of all streams;
(d) naive re-feeding, for context: the whole growing sequence through the model for
    every new character (a ``tf.function`` with a ``[1, None]`` signature, sampled in
    Python);
(e), (f) floors, for context: only the recurrent steps, in one ``tf.function`` (see
    :func:`cell_floor`), with the model's own Keras cell (how ``generate_text`` stepped
    before it folded the embedding) and with the folded, hand-written step it now takes;
(g) the matmul floor (:func:`matmul_floor`): per character, only the one
    ``[1, units] x [units, 4 units]`` recurrent matmul and the output layer that any
    single-stream step must do, in one ``tf.function``.

The warm-up call of each generates ``WARMUP_CHARS`` characters (it traces the
functions; the timed calls reuse them).

Goals: (b) at least 3x (a); (c) at least 10x (a) in total characters/s; (b) at least
85% of (g)'s characters/s (issue 21), the share taken within each round, where (b) and
(g) are called in turn ``PAIRED_CALLS`` times each (so a slow spell of the machine slows
both), and given as the median of the rounds with a 95% bootstrap interval.

Usage:
    .venv/bin/python benchmarks/generation.py [--quick] [--rounds 3] [--chars 200]

Prints a markdown table and writes ``benchmarks/results/generation.json``.
"""

from __future__ import annotations

import harness

harness.use_shared_data()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnn_zoo import build_text_generator  # noqa: E402
from rnn_zoo.data import load_text_corpus  # noqa: E402
from rnn_zoo.data.text_corpus import char_lookups  # noqa: E402
from rnn_zoo.models.text_generator.generation import CharGenerator, generate_text  # noqa: E402

PROMPT = "ROMEO:"
STREAMS = 32
WARMUP_CHARS = 10
GOALS = {"generate_text, 1 stream": 3.0, f"generate_text, {STREAMS} streams": 10.0}
SINGLE_STREAM = "(b) generate_text, 1 stream"
MATMUL_FLOOR = "(g) floor: the recurrent matmul and the output layer alone, in one tf.function"
FLOOR_SHARE_GOAL = 0.85  # of the matmul floor's characters/s, single stream (issue 21)
PAIRED_CALLS = 5  # alternating calls of (b) and (g) in each round


def _layer(model: keras.Model, kind: type) -> keras.layers.Layer:
    (layer,) = [layer for layer in model.layers if isinstance(layer, kind)]
    return layer


def stateful_twin(model: keras.Model) -> keras.Model:
    """The tutorial's model: ``(ids, h, c) → (logits, h, c)``, with ``model``'s weights."""
    embedding = _layer(model, keras.layers.Embedding)
    lstm = _layer(model, keras.layers.LSTM)
    dense = _layer(model, keras.layers.Dense)
    ids = keras.Input((None,), dtype="int32", name="ids")
    state_h = keras.Input((lstm.units,), name="state_h")
    state_c = keras.Input((lstm.units,), name="state_c")
    twin_embedding = keras.layers.Embedding(embedding.input_dim, embedding.output_dim)
    twin_lstm = keras.layers.LSTM(lstm.units, return_sequences=True, return_state=True)
    twin_dense = keras.layers.Dense(dense.units)
    x, h, c = twin_lstm(twin_embedding(ids), initial_state=[state_h, state_c])
    twin = keras.Model([ids, state_h, state_c], [twin_dense(x), h, c])
    for source, target in ((embedding, twin_embedding), (lstm, twin_lstm), (dense, twin_dense)):
        target.set_weights(source.get_weights())
    return twin


class OneStep(tf.Module):
    """TensorFlow's tutorial ``OneStep``: one character in, the next one out."""

    def __init__(self, model: keras.Model, vocabulary: list[str], temperature: float = 1.0):
        super().__init__()
        self.model = model
        self.ids_from_chars, self.chars_from_ids = char_lookups(vocabulary)
        self.temperature = temperature

    @tf.function
    def generate_one_step(self, inputs, states):
        input_ids = self.ids_from_chars(tf.strings.unicode_split(inputs, "UTF-8")).to_tensor()
        logits, state_h, state_c = self.model([input_ids, *states], training=False)
        logits = logits[:, -1, :] / self.temperature
        predicted_ids = tf.squeeze(tf.random.categorical(logits, num_samples=1), axis=-1)
        return self.chars_from_ids(predicted_ids), [state_h, state_c]


def tutorial_loop(one_step: OneStep, units: int, num_chars: int) -> str:
    """Generates as the tutorial does: one ``generate_one_step`` call per character."""
    states = [tf.zeros((1, units)), tf.zeros((1, units))]
    next_char = tf.constant([PROMPT])
    result = [next_char]
    for _ in range(num_chars):
        next_char, states = one_step.generate_one_step(next_char, states)
        result.append(next_char)
    return tf.strings.join(result)[0].numpy().decode("utf-8")


def naive_generator(model: keras.Model, vocabulary: list[str]):
    """Generation that feeds the whole growing sequence to the model for every character."""

    @tf.function(input_signature=[tf.TensorSpec([1, None], tf.int32)])
    def last_logits(ids):
        return model(ids, training=False)[:, -1, :]

    def generate(num_chars: int) -> str:  # the prompt, then num_chars model calls
        ids = [vocabulary.index(char) for char in PROMPT]
        for _ in range(num_chars):
            logits = last_logits(tf.constant([ids], tf.int32))
            ids.append(int(tf.random.categorical(logits, 1)[0, 0]))
        return "".join(vocabulary[index] for index in ids)

    return generate


def cell_floor(model: keras.Model, vocabulary: list[str], *, folded: bool):
    """The recurrent steps alone, in one ``tf.function``: a floor for any generator.

    Each step maps the previous character's id (greedy ``argmax``, so the steps depend
    on each other) through the embedding, the recurrent cell and the output layer of
    ``model``: with ``folded``, through ``CharGenerator``'s own
    step (the embedding folded into the input kernel, the gates written out); without,
    through the model's Keras cell, as ``generate_text`` stepped before folding.
    """
    embedding = _layer(model, keras.layers.Embedding)
    cell = _layer(model, keras.layers.LSTM).cell
    dense = _layer(model, keras.layers.Dense)
    generator = CharGenerator(model, vocabulary)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def run(num_chars):
        projections = generator.input_projections()
        states = [tf.zeros((1, cell.units)), tf.zeros((1, cell.units))]
        ids = tf.zeros((1,), tf.int64)
        for _ in tf.range(num_chars):
            if folded:
                logits, (states,) = generator.step(ids, [states], projections)
            else:
                x, states = cell(embedding(ids), states, training=False)
                logits = dense(x)
            ids = tf.argmax(logits, axis=-1)
        return ids

    return lambda num_chars: run(tf.constant(num_chars)).numpy()


def matmul_floor(model: keras.Model):
    """Per character only ``h @ recurrent_kernel`` and the output layer: the least work.

    The first ``units`` columns of the product stand in for the next state, and the
    logits feed back into it (times zero), so no step can start before the previous
    one ends, as in generation; no gates, embedding or sampling.
    """
    lstm = _layer(model, keras.layers.LSTM)
    dense = _layer(model, keras.layers.Dense)
    units = lstm.units

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def run(num_chars):
        h = tf.zeros((1, units))
        for _ in tf.range(num_chars):
            h = tf.matmul(h, lstm.cell.recurrent_kernel)[:, :units]
            logits = dense(h)
            h = h + logits[:, :1] * 0.0
        return h

    return lambda num_chars: run(tf.constant(num_chars)).numpy()


def methods(model: keras.Model, vocabulary: list[str]) -> dict:
    """Method name → (function of the number of characters, number of streams)."""
    units = _layer(model, keras.layers.LSTM).units
    one_step = OneStep(stateful_twin(model), vocabulary)

    def streams(count: int):
        return lambda num_chars: generate_text(
            model, PROMPT, num_chars=num_chars, num_streams=count, vocabulary=vocabulary
        )

    return {
        "(a) tutorial OneStep, Python loop (reference)": (
            lambda num_chars: tutorial_loop(one_step, units, num_chars),
            1,
        ),
        SINGLE_STREAM: (streams(1), 1),
        f"(c) generate_text, {STREAMS} streams": (streams(STREAMS), STREAMS),
        "(d) naive re-feeding of the whole sequence": (naive_generator(model, vocabulary), 1),
        "(e) floor: the model's Keras cell steps alone, in one tf.function": (
            cell_floor(model, vocabulary, folded=False),
            1,
        ),
        "(f) floor: generate_text's folded step alone, in one tf.function": (
            cell_floor(model, vocabulary, folded=True),
            1,
        ),
        MATMUL_FLOOR: (matmul_floor(model), 1),
    }


def paired_seconds(timed: dict, names: tuple[str, str], chars: int, round_: int) -> dict:
    """Median seconds per call of two methods, timed in turn ``PAIRED_CALLS`` times each.

    Calls of 200 characters last a tenth of a second, about as long as this shared
    machine's slow spells: alternating them call by call (which goes first alternates
    by round), and keeping the median, makes their ratio a comparison of the same
    moments.
    """
    calls = {name: [] for name in names}
    for call in range(PAIRED_CALLS):
        for name in names if (round_ + call) % 2 == 0 else names[::-1]:
            function = timed[name][0]
            calls[name].append(harness.seconds(lambda function=function: function(chars)))
    return {name: harness.median(values) for name, values in calls.items()}


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--chars", type=int, default=200, help="characters to generate")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.chars = 1, 20
    info = harness.machine()
    vocabulary = load_text_corpus().metadata["vocabulary"]
    keras.utils.set_random_seed(0)
    model = build_text_generator(vocab_size=len(vocabulary))
    timed = methods(model, vocabulary)
    for function, _ in timed.values():
        function(WARMUP_CHARS)  # warm-up: trace every tf.function
    times = {name: [] for name in timed}
    paired = (SINGLE_STREAM, MATMUL_FLOOR)
    for round_ in range(args.rounds):
        for name, (function, _) in timed.items():
            if name not in paired:
                times[name].append(harness.seconds(lambda function=function: function(args.chars)))
                print(f"  {name}: {times[name][-1]:.2f} s", flush=True)
        for name, seconds in paired_seconds(timed, paired, args.chars, round_).items():
            times[name].append(seconds)
            print(f"  {name}: {seconds:.3f} s (median of {PAIRED_CALLS})", flush=True)
    reference = args.chars / harness.median(times[next(iter(timed))])
    rows = []
    for name, (_, count) in timed.items():
        chars_per_s = args.chars * count / harness.median(times[name])
        goal = next((value for key, value in GOALS.items() if key in name), None)
        ratio = chars_per_s / reference
        rows.append(
            {
                "method": name,
                "streams": count,
                "seconds": harness.median(times[name]),
                "chars_per_s": chars_per_s,
                "ratio_to_reference": ratio,
                "goal_ratio": goal,
                "rounds_seconds": [round(value, 3) for value in times[name]],
            }
        )
    print(
        harness.table(
            ["method", "streams", "s per call", "chars/s (all streams)", "× (a)", "goal"],
            [
                (
                    row["method"],
                    row["streams"],
                    harness.number(row["seconds"]),
                    harness.number(row["chars_per_s"]),
                    f"{harness.number(row['ratio_to_reference'])}×",
                    "—"
                    if row["goal_ratio"] is None
                    else f"≥ {row['goal_ratio']:g}×: "
                    + ("met" if row["ratio_to_reference"] >= row["goal_ratio"] else "MISSED"),
                )
                for row in rows
            ],
        )
    )
    share = harness.paired_ratio(times[MATMUL_FLOOR], times[SINGLE_STREAM])
    verdict = harness.verdict(share, FLOOR_SHARE_GOAL)
    print(
        f"\n(b) / (g), single stream: {share['median']:.1%} of the matmul floor "
        f"[{share['low']:.1%}, {share['high']:.1%}]; ≥ {FLOOR_SHARE_GOAL:.0%}: {verdict}"
    )
    payload = {
        "single_stream_share_of_matmul_floor": {
            **share,
            "goal": FLOOR_SHARE_GOAL,
            "verdict": verdict,
        },
        "prompt": PROMPT,
        "chars": args.chars,
        "rounds": args.rounds,
        "quick": args.quick,
        "parameters": model.count_params(),
        "methods": rows,
    }
    print("\n" + harness.save("generation", payload, info, quick=args.quick))


if __name__ == "__main__":
    main()
