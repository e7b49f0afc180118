"""How `train` shares its draws among the globs of `--train_data` when no weights are given.

Kept free of TensorFlow: the flag checks name the rules before TensorFlow starts.
"""

from __future__ import annotations

import math

# equal: every glob the same share, whatever its size (DTRB's 0.5-0.5 batches of MJSynth and
#   SynthText; tf.data's `sample_from_datasets` without weights). A user's few thousand real
#   crops beside 100,000 synthetic words are half of what training sees.
# sqrt: in proportion to the square root of each glob's records (sampling at a temperature
#   of 2): those crops are about an eighth.
# records: in proportion to each glob's records, as if the globs were one (those crops: 2%).
SHARE_RULES = ("equal", "sqrt", "records")
DEFAULT_SHARE_RULE = "equal"


def names_a_share_rule(values: list[str]) -> bool:
    """True if a --train_data_weights value (a list of strings) is one rule's name."""
    return len(values) == 1 and values[0] in SHARE_RULES


def source_shares(record_counts: list[float], rule: str = DEFAULT_SHARE_RULE
                  ) -> tuple[float, ...]:
    """Each source's share of the draws under `rule` (one of SHARE_RULES); they sum to 1."""
    if rule not in SHARE_RULES:
        raise ValueError(f"unknown share rule {rule!r}; rules: {', '.join(SHARE_RULES)}")
    if not record_counts or any(n <= 0 for n in record_counts):
        raise ValueError(f"every source needs records, got counts {record_counts}")
    weights = {"equal": lambda n: 1.0, "sqrt": math.sqrt, "records": float}[rule]
    raw = [weights(n) for n in record_counts]
    return tuple(w / sum(raw) for w in raw)
