"""What the command line keeps out of its processes before TensorFlow loads.

Keras imports matplotlib's pyplot at its own import whenever matplotlib is installed, for
`keras.visualization`, which falls back to nothing without it. The project installs matplotlib
only for the font files it ships (pipelines/fonts.py finds them without importing it) and
never plots, so in `main.py`'s processes that import is pure start-up cost, paid by every
command that loads TensorFlow (BUILD.md, "The test suite's time").
TensorFlow-free on purpose.
"""

from __future__ import annotations

import sys
from typing import MutableMapping

UNUSED_PACKAGES = ("matplotlib",)


def keep_unused_packages_out(modules: MutableMapping[str, object] = sys.modules) -> None:
    """Makes `import matplotlib` fail with ImportError in this process (a None entry in
    `sys.modules`), so that Keras skips it; packages already imported are left alone. Only
    for processes that never plot: the command line's."""
    for name in UNUSED_PACKAGES:
        modules.setdefault(name, None)
