"""An LSTM layer whose backward pass does its weight matmuls once per sequence.

Keras' LSTM on a CPU steps ``keras.layers.LSTMCell`` through time, and its gradient
comes from differentiating that loop. Every backward step then does, besides the one
matmul that must wait for the next step (``dz_t @ recurrent_kernelᵀ``), three small
ones whose inner dimension is the batch: the input gradient ``dz_t @ kernelᵀ`` and
the weight gradients ``x_tᵀ @ dz_t`` and ``h_{t-1}ᵀ @ dz_t``, the latter two added
into ``[features, 4·units]`` and ``[units, 4·units]`` accumulators at every step.

:func:`hoisted_lstm` computes the same outputs and gradients with those three taken
out of the loop, as cuDNN does on a GPU: the backward loop does only
``dz_t @ recurrent_kernelᵀ`` (the transpose taken once, not per step), and the input
gradient and both weight gradients are one matmul each over all the steps. The
forward loop is Keras' own step. :class:`HoistedLSTM` is ``keras.layers.LSTM`` with
that training pass; weights, configuration, inference and cuDNN on a GPU are Keras'.
"""

from __future__ import annotations

import keras
from keras import ops

# Below this many units the loops' per-step bookkeeping costs more than the hoisted
# matmuls save: 0.87× Keras' training pass at 64 units, 1.15× at 256, 1.78× at 1024 on
# a 2-core AMD EPYC (BENCHMARKS.md, "Training and inference", the character LSTM).
HOIST_MIN_UNITS = 256


def _gates(z):
    """Splits pre-activations ``[..., 4·units]`` into Keras' activated ``i, f, g, o``."""
    i, f, g, o = ops.split(z, 4, axis=-1)
    return ops.sigmoid(i), ops.sigmoid(f), ops.tanh(g), ops.sigmoid(o)


def _forward(inputs, initial_h, initial_c, kernel, recurrent_kernel, bias):
    """Steps the LSTM through time-major inputs, as ``keras.layers.LSTMCell`` does.

    Returns:
        Every step's ``h``, ``c`` and gate pre-activations ``z``, stacked on axis 0.
    """

    def step(carry, step_input):
        h, c, _ = carry
        z = ops.matmul(step_input, kernel) + ops.matmul(h, recurrent_kernel) + bias
        i, f, g, o = _gates(z)
        c = f * c + i * g
        state = (o * ops.tanh(c), c, z)
        # Keras' TF scan stacks outputs shaped like its carry, so z rides along.
        return state, state

    no_z = ops.zeros((ops.shape(inputs)[1], ops.shape(kernel)[1]), dtype=inputs.dtype)
    return ops.scan(step, (initial_h, initial_c, no_z), inputs)[1]


def _backward(saved, upstream, recurrent_kernel):
    """Steps the gradient back through time, with one matmul per step.

    Args:
        saved: ``(z, c, c_previous)`` of every step, time-major.
        upstream: ``(d_outputs, d_last_h, d_last_c)``, ``d_outputs`` time-major.
        recurrent_kernel: ``[units, 4·units]``.

    Returns:
        ``(d_z, d_initial_h, d_initial_c)``: the gradient of every step's gate
        pre-activations ``[time, batch, 4·units]`` and of the initial states.
    """
    d_outputs, d_last_h, d_last_c = upstream
    recurrent_transposed = ops.transpose(recurrent_kernel)

    def step(carry, step_inputs):
        d_h_later, d_c_later, _ = carry
        z, c, c_previous, d_output = step_inputs
        i, f, g, o = _gates(z)
        d_h = d_output + d_h_later
        tanh_c = ops.tanh(c)
        d_c = d_c_later + d_h * o * (1 - tanh_c * tanh_c)
        d_z = ops.concatenate(
            [
                d_c * g * i * (1 - i),
                d_c * c_previous * f * (1 - f),
                d_c * i * (1 - g * g),
                d_h * tanh_c * o * (1 - o),
            ],
            axis=-1,
        )
        state = (ops.matmul(d_z, recurrent_transposed), d_c * f, d_z)
        return state, state

    last = (d_last_h, d_last_c, ops.zeros_like(saved[0][0]))
    (d_initial_h, d_initial_c, _), (_, _, d_z) = ops.scan(
        step, last, (*saved, d_outputs), reverse=True
    )
    return d_z, d_initial_h, d_initial_c


def hoisted_lstm(inputs, initial_h, initial_c, kernel, recurrent_kernel, bias):
    """Runs an LSTM whose gradient does its weight matmuls once per sequence.

    The LSTM is Keras' (tanh, sigmoid gates, ``[i, f, c, o]`` weight layout). Every
    step's gate pre-activations are kept for the backward pass: ``time × batch ×
    4·units`` values (105 MB for the text generator's 100 × 64 × 4096 in float32).

    Args:
        inputs: ``[batch, time, features]``.
        initial_h: ``[batch, units]``, the hidden state before the first step.
        initial_c: ``[batch, units]``, the cell state before the first step.
        kernel: ``[features, 4·units]``, as ``keras.layers.LSTMCell.kernel``.
        recurrent_kernel: ``[units, 4·units]``, as ``LSTMCell.recurrent_kernel``.
        bias: ``[4·units]``, as ``LSTMCell.bias``.

    Returns:
        ``(outputs, last_h, last_c)``: every step's hidden state ``[batch, time,
        units]`` and the final states ``[batch, units]``, equal (to float rounding)
        to what ``keras.layers.LSTM`` with these weights returns.

    Example:
        >>> kernel, recurrent = keras.ops.ones((3, 8)), keras.ops.ones((2, 8))
        >>> outputs, h, c = hoisted_lstm(keras.ops.ones((4, 5, 3)), keras.ops.zeros((4, 2)),
        ...                              keras.ops.zeros((4, 2)), kernel, recurrent,
        ...                              keras.ops.zeros((8,)))
        >>> tuple(outputs.shape), tuple(h.shape)
        ((4, 5, 2), (4, 2))
    """

    @ops.custom_gradient
    def run(inputs, initial_h, initial_c, kernel, recurrent_kernel, bias):
        time_major = ops.transpose(inputs, (1, 0, 2))
        hs, cells, z = _forward(time_major, initial_h, initial_c, kernel, recurrent_kernel, bias)

        def gradient(d_outputs, d_last_h, d_last_c):
            steps, batch, features = ops.shape(time_major)
            previous_cells = ops.concatenate([initial_c[None], cells[:-1]], axis=0)
            d_z, d_initial_h, d_initial_c = _backward(
                (z, cells, previous_cells),
                (ops.transpose(d_outputs, (1, 0, 2)), d_last_h, d_last_c),
                recurrent_kernel,
            )
            d_z = ops.reshape(d_z, (steps * batch, -1))
            d_inputs = ops.reshape(ops.matmul(d_z, ops.transpose(kernel)), (steps, batch, features))
            # Both weight gradients in one product over every step. It is taken as
            # (d_zᵀ @ [x, h])ᵀ: an output 4·units wide ran at half speed (BENCHMARKS.md).
            previous_hs = ops.concatenate([initial_h[None], hs[:-1]], axis=0)
            step_inputs = ops.concatenate([time_major, previous_hs], axis=-1)
            step_inputs = ops.reshape(step_inputs, (steps * batch, -1))
            d_weights = ops.transpose(ops.matmul(ops.transpose(d_z), step_inputs))
            return (
                ops.transpose(d_inputs, (1, 0, 2)),
                d_initial_h,
                d_initial_c,
                d_weights[:features],
                d_weights[features:],
                ops.sum(d_z, axis=0),
            )

        return (ops.transpose(hs, (1, 0, 2)), hs[-1], cells[-1]), gradient

    return run(inputs, initial_h, initial_c, kernel, recurrent_kernel, bias)


@keras.saving.register_keras_serializable(package="rnn_zoo")
class HoistedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` that trains through :func:`hoisted_lstm` on a CPU.

    Same arguments, weights, configuration and outputs as ``keras.layers.LSTM``. When
    training without a GPU, with at least ``HOIST_MIN_UNITS`` (256) units, Keras'
    default gates (``tanh``, ``sigmoid``, a bias), no mask, no ``recurrent_dropout``
    and no ``unroll``, the layer runs :func:`hoisted_lstm`. Otherwise (inference, a
    GPU and its cuDNN kernel, masked steps, small layers...) it runs
    ``keras.layers.LSTM``'s own loop. Input ``dropout`` is applied as Keras applies
    it, one mask per sequence.

    Example:
        >>> layer = HoistedLSTM(256, return_sequences=True)
        >>> tuple(layer(keras.ops.ones((2, 5, 3)), training=True).shape)
        (2, 5, 256)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """Runs :func:`hoisted_lstm` where it applies, else ``keras.layers.LSTM``'s loop."""
        if not self._hoists(mask, training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if self.dropout:
            kept = self.cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(kept, axis=1)
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
        weights = (self.cell.kernel, self.cell.recurrent_kernel, self.cell.bias)
        # Read as tensors (at the compute dtype), so the custom gradient sees no variables.
        outputs, h, c = hoisted_lstm(
            sequences, *initial_state, *(ops.copy(weight) for weight in weights)
        )
        return h, outputs, [h, c]

    def _hoists(self, mask, training) -> bool:
        cell = self.cell
        return bool(
            training
            and mask is None
            and not self.unroll
            and not cell.recurrent_dropout
            and cell.use_bias
            and cell.units >= HOIST_MIN_UNITS
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            and not keras.distribution.list_devices("gpu")
        )
