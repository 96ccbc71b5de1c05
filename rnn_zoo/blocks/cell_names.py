"""The recurrent cell kinds every recurrent factory accepts, by name.

Kept apart from :mod:`rnn_zoo.blocks.layers` (which maps them to Keras layers) so that
registry entries can list them without importing Keras.
"""

CELL_NAMES = ("simple_rnn", "lstm", "gru")
