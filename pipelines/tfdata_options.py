"""tf.data options shared by every dataset the project iterates."""

from __future__ import annotations

import tensorflow as tf


def without_autotuning(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` without tf.data's autotuning: no model thread beside its iterators, whose
    destruction would otherwise wait for that thread and stall the process (docs/tf-notes.md).
    Datasets read record by record from Python use it; the input pipeline sets the same
    option through `InputConfig.autotune`."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
