import numpy as np
import tensorflow as tf

from pipelines import schema
from pipelines.records import WordRecord
from tests.conftest import encode_image


def _record(boxes=True):
    image = encode_image(np.full((10, 30, 3), 200, np.uint8))
    quads = np.arange(24, dtype=np.float32).reshape(3, 8) if boxes else None
    return WordRecord(image=image, height=10, width=30, text="h\u00e9y", source="a.png",
                      char_boxes=quads)


def test_python_round_trip_keeps_bytes_text_boxes():
    rec = _record()
    back = schema.deserialize(schema.serialize(rec))
    assert back.image == rec.image and back.text == "h\u00e9y" and back.source == "a.png"
    assert (back.height, back.width) == (10, 30)
    np.testing.assert_array_equal(back.char_boxes, rec.char_boxes)


def test_graph_parse_gives_n_by_8_boxes_and_empty_for_word_only():
    parsed = schema.parse(tf.constant(schema.serialize(_record())))
    assert parsed[schema.CHAR_BOXES].shape == (3, 8)
    assert parsed[schema.TEXT].numpy().decode() == "h\u00e9y"
    parsed = schema.parse(tf.constant(schema.serialize(_record(boxes=False))))
    assert parsed[schema.CHAR_BOXES].shape == (0, 8)


def test_batch_parse_matches_single_parse():
    records = [_record(), _record(boxes=False), _record()]
    batch = schema.parse_batch(tf.constant([schema.serialize(r) for r in records]))
    assert batch[schema.CHAR_BOXES].row_lengths().numpy().tolist() == [3, 0, 3]
    for i, record in enumerate(records):
        single = schema.parse(tf.constant(schema.serialize(record)))
        np.testing.assert_array_equal(batch[schema.CHAR_BOXES][i].numpy(),
                                      single[schema.CHAR_BOXES].numpy())
        assert batch[schema.TEXT][i].numpy() == single[schema.TEXT].numpy()
        assert batch[schema.IMAGE][i].numpy() == record.image
