"""A training recipe: optimizer, learning rate and schedule, loss, metrics, epochs, batch.

Plain data, so that a registry entry can carry one, ``rnn-zoo list`` can show it, a
run directory can record it and a user can override any field of it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rnn_zoo.validation import check_choice, check_float, check_int, check_name

SCHEDULES = ("constant", "cosine")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A training recipe, kept as plain data so it can be shown, saved and overridden.

    Attributes:
        optimizer: A Keras optimizer identifier, e.g. ``"adam"``.
        learning_rate: The optimizer's learning rate.
        loss: A Keras loss identifier: a name or a ``{"class_name", "config"}`` dict.
        metrics: Keras metric identifiers: names, or ``{"class_name", "config"}`` dicts
            (registered classes such as ``"rnn_zoo>MaskedAccuracy"``).
        epochs: Number of epochs.
        batch_size: Examples per batch.
        monitor: The validation quantity that picks the best checkpoint.
        schedule: ``"constant"`` learning rate, or ``"cosine"`` decay to zero over
            all the recipe's training steps.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    loss: str | dict = "mse"
    metrics: tuple[str | dict, ...] = ()
    epochs: int = 10
    batch_size: int = 32
    monitor: str = "val_loss"
    schedule: str = "constant"

    def __post_init__(self):
        check_name("optimizer", self.optimizer)
        check_float("learning_rate", self.learning_rate, minimum=0.0, include_minimum=False)
        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size)
        check_name("monitor", self.monitor)
        check_choice("schedule", self.schedule, SCHEDULES)

    def replace(self, **changes: Any) -> Recipe:
        """Returns a copy with some fields changed; ``None`` values are ignored.

        Args:
            **changes: Field names and new values.

        Returns:
            A new, validated :class:`Recipe`.

        Raises:
            TypeError: If a name is not a recipe field.

        Example:
            >>> Recipe(epochs=10).replace(epochs=2, batch_size=None).epochs
            2
        """
        fields = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise TypeError(
                f"recipe field(s) {', '.join(unknown)} not known; "
                f"accepted: {', '.join(sorted(fields))}"
            )
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Returns the recipe as a JSON-serializable dict.

        Returns:
            The recipe's fields.

        Example:
            >>> Recipe().to_dict()["optimizer"]
            'adam'
        """
        data = dataclasses.asdict(self)
        data["metrics"] = list(self.metrics)
        return data
