"""Building blocks several families share.

Recurrent options and stacks, ``HoistedLSTM``, masked layers, pooling and metrics.
"""
