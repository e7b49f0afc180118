"""The decoder: serialized records -> checked tensors (the decoder of
`official/vision/dataloaders`). A chunk of `tf.train.Example`s is parsed together, its text
looked up in the charset, and every record given a status; records that cannot train are
logged with their source and reason, counted and dropped, unless every record is kept.
Training labels leave out the punctuation and symbols the charset lacks, with their boxes,
as `convert` does (`pipelines/validation.py`), so that records written by other tools or
before that rule train as `convert`'s do.

Nothing here depends on the model's input size: the parser (`pipelines/parser.py`) turns
these tensors into model inputs and targets.
"""

from __future__ import annotations

import sys

import tensorflow as tf

from pipelines import schema
from textscanner.charset import Charset
from textscanner.charset_tf import CharsetLookup

# Why a record cannot train; a record's status is its index here. The first reason that
# applies wins, in the order of `record_status`.
SKIP_REASONS = ("ok", "unknown_chars", "too_long", "box_count", "empty_text")
OK, UNKNOWN_CHARS, TOO_LONG, BOX_COUNT, EMPTY_TEXT = range(len(SKIP_REASONS))


def record_status(length: tf.Tensor, unknown: tf.Tensor, num_boxes: tf.Tensor,
                  max_text_length: int) -> tf.Tensor:
    """[K] int32 status of K records (OK or a skip reason) from their text lengths, whether
    their text has characters outside the charset, and their numbers of character boxes."""
    status = tf.fill(tf.shape(length), OK)
    # Applied from the last reason to the first, so that the first one that applies wins.
    for reason, applies in ((BOX_COUNT, (num_boxes > 0) & (num_boxes != length)),
                            (TOO_LONG, length > max_text_length),
                            (UNKNOWN_CHARS, unknown),
                            (EMPTY_TEXT, length == 0)):
        status = tf.where(applies, reason, status)
    return status


def is_punctuation_or_symbol(points: tf.Tensor) -> tf.Tensor:
    """[n] code points -> [n] bool: Unicode categories P or S (`unicodedata.category`)."""
    chars = tf.strings.unicode_encode(points[:, None], "UTF-8")
    return tf.strings.regex_full_match(chars, r"[\pP\pS]")


def _without_unread_symbols(points: tf.RaggedTensor, ids: tf.RaggedTensor,
                            boxes: tf.RaggedTensor
                            ) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
    """Leaves out the characters the charset lacks that are punctuation or symbols; where a
    record has one box per character, their boxes too (other box counts stay as they are:
    boxes given for the read characters only then fit the shortened label)."""
    unread = (ids.flat_values < 0) & is_punctuation_or_symbol(points.flat_values)
    kept = ids.with_flat_values(~unread)
    # Box j of a record with one box per character belongs to character j.
    box_rows = boxes.value_rowids()
    aligned = tf.gather(boxes.row_lengths() == ids.row_lengths(), box_rows)
    char_index = tf.range(tf.size(box_rows, out_type=tf.int64)) - \
        tf.gather(boxes.row_starts(), box_rows) + tf.gather(ids.row_starts(), box_rows)
    padded = tf.concat([unread, [False]], axis=0)  # the index of "no such character"
    box_unread = tf.gather(padded, tf.where(aligned, char_index, tf.size(unread, tf.int64)))
    box_kept = ~box_unread
    boxes = tf.RaggedTensor.from_value_rowids(
        tf.boolean_mask(boxes.flat_values, box_kept), tf.boolean_mask(box_rows, box_kept),
        nrows=boxes.nrows())
    return (tf.ragged.boolean_mask(points, kept), tf.ragged.boolean_mask(ids, kept), boxes)


class RecordDecoder:
    """`decode(serialized)`: [K] serialized examples -> a dict of [K', ...] tensors:
    - encoded: the image bytes;
    - text_ids [K', N] (0-padded), length [K']: the characters the charset knows;
    - boxes [K', N, 8]: character quadrilaterals in source pixels (0-padded);
    - has_char_boxes [K']: 1.0 where the record has usable boxes;
    - position [K']: the record's index in its chunk;
    - with strings: text, source and outside_charset (labels the charset cannot spell).
    K' = K when every record is kept, else the records whose status is OK."""

    def __init__(self, charset: Charset, max_text_length: int, keep_every_record: bool,
                 include_strings: bool, unread_symbols: bool = True):
        self.lookup = CharsetLookup(charset)
        self.max_text_length = max_text_length
        self.keep_every_record = keep_every_record
        # Where every record is kept (evaluation), labels are scored as given (normalised).
        self.unread_symbols = unread_symbols and not keep_every_record
        self.include_strings = include_strings
        self.skipped = tf.Variable(tf.zeros([len(SKIP_REASONS)], tf.int64), trainable=False,
                                   name="skipped_records")

    def skipped_counts(self) -> dict[str, int]:
        """Records skipped so far, by reason."""
        counts = self.skipped.numpy().tolist()
        return {r: c for r, c in zip(SKIP_REASONS[1:], counts[1:]) if c}

    def decode(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        n = self.max_text_length
        parsed = schema.parse_batch(serialized)
        boxes = parsed[schema.CHAR_BOXES]  # [K, (boxes), 8]
        num_boxes = tf.cast(boxes.row_lengths(), tf.int32)
        points = self.lookup.codepoints(parsed[schema.TEXT])  # [K, (chars)]
        ids = self.lookup.ids(points)
        if self.unread_symbols:
            points, ids, boxes = _without_unread_symbols(points, ids, boxes)
            num_boxes = tf.cast(boxes.row_lengths(), tf.int32)
        unknown = tf.reduce_any(ids < 0, axis=1)
        status = record_status(tf.cast(ids.row_lengths(), tf.int32), unknown, num_boxes, n)
        known = tf.ragged.boolean_mask(ids, ids >= 0)  # all of them, unless a record is kept
        decoded = {
            "encoded": parsed[schema.IMAGE],
            "text_ids": known.to_tensor(0, shape=[None, n]),
            "length": tf.minimum(tf.cast(known.row_lengths(), tf.int32), n),
            "boxes": boxes.to_tensor(0.0, shape=[None, n, 8]),
            "has_char_boxes": tf.cast((num_boxes > 0) & (status == OK), tf.float32),
            "position": tf.range(tf.size(status)),
            "outside_charset": unknown,
            "source": parsed[schema.SOURCE],
            "text": parsed[schema.TEXT],
        }
        if not self.keep_every_record:
            reported = tf.cond(tf.reduce_any(status != OK),
                               lambda: self._report(status, parsed, points, ids),
                               lambda: tf.constant(True))
            with tf.control_dependencies([reported]):
                keep = tf.identity(status == OK)
            decoded = {key: tf.boolean_mask(value, keep) for key, value in decoded.items()}
        if not self.include_strings:
            del decoded["source"], decoded["text"], decoded["outside_charset"]
        return decoded

    def _report(self, status: tf.Tensor, parsed: dict[str, tf.Tensor],
                points: tf.RaggedTensor, ids: tf.RaggedTensor) -> tf.Tensor:
        """Logs one line per skipped record (source, reason, unknown characters, text) and
        counts it."""
        bad = tf.where(status != OK)[:, 0]
        reason = tf.gather(tf.constant(SKIP_REASONS), tf.gather(status, bad))
        unknown_points = tf.ragged.boolean_mask(points, ids < 0)
        unknown = tf.gather(tf.strings.unicode_encode(unknown_points, "UTF-8"), bad)
        lines = tf.strings.join(["skipped record ", tf.gather(parsed[schema.SOURCE], bad), ": ",
                                 reason, " (unknown: '", unknown, "') text '",
                                 tf.gather(parsed[schema.TEXT], bad), "'"])
        printed = tf.print(tf.strings.reduce_join(lines, separator="\n"),
                           output_stream=sys.stderr)
        counted = self.skipped.assign_add(tf.reduce_sum(
            tf.one_hot(tf.gather(status, bad), len(SKIP_REASONS), dtype=tf.int64), axis=0))
        with tf.control_dependencies([printed, counted]):
            return tf.constant(True)
