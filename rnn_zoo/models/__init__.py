"""Model families: one folder each, ``rnn_zoo/models/<family>/``.

Importing this package imports every family folder found here, and each registers
its :class:`~rnn_zoo.registry.ModelSpec`: adding a family is adding its folder.
"""

import importlib
import pkgutil

FAMILIES = tuple(
    module.name for module in pkgutil.iter_modules(__path__, f"{__name__}.") if module.ispkg
)

for _family in FAMILIES:
    importlib.import_module(_family)
