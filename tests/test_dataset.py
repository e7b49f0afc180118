"""The tf.data pipeline on real TFRecords written to disk."""

import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from pipelines import decode, schema
from pipelines.augment import AugmentConfig
from pipelines.dataset import InputConfig, InputPipeline
from pipelines.record_decoder import RecordDecoder, is_punctuation_or_symbol
from tests.helpers import block_word, write_records
from textscanner.charset import load_charset
from textscanner.targets import TargetConfig
from textscanner.targets_numpy import render_targets_numpy

CHARSET = load_charset("alnum36")


def _pipeline(pattern, **kw):
    return InputPipeline(InputConfig(pattern, **kw), CHARSET)


SIZES = [(64, 256), (32, 128)]  # the paper's input, and the demo's


@pytest.mark.parametrize("size", SIZES)
def test_batches_have_the_documented_shapes(tmp_path, size):
    height, width = size
    words = ["ab", "hello", "x", "TEXT"]
    write_records(str(tmp_path / "d"), [block_word(w, seed=i) for i, w in enumerate(words)])
    dataset = _pipeline(str(tmp_path / "d-*"), global_batch_size=4, is_training=False,
                        image_height=height, image_width=width)()
    # No autotuning model thread: destroying its iterator can stall the process
    # (docs/tf-notes.md, "Input pipelines").
    assert dataset.options().autotune.enabled is False
    read_from_python = schema.record_dataset(tf.io.gfile.glob(str(tmp_path / "d-*")))
    assert read_from_python.options().autotune.enabled is False
    batch = next(iter(dataset))
    assert batch["image"].shape == (4, height, width, 3) and batch["image"].dtype == tf.float32
    assert batch["class_map"].shape == (4, height // 2, width // 2)
    assert batch["class_map"].dtype == tf.int32
    assert batch["order_map"].dtype == tf.int32 and batch["loc_map"].dtype == tf.float32
    assert batch["text_ids"].shape == (4, 30)
    lengths = sorted(batch["length"].numpy().tolist())
    assert lengths == [1, 2, 4, 5]
    texts = sorted(t.decode() for t in batch["text"].numpy())
    assert texts == sorted(words)
    for ids, n, text in zip(batch["text_ids"].numpy(), batch["length"].numpy(),
                            batch["text"].numpy()):
        assert CHARSET.decode(ids[:n]) == text.decode().lower() and not ids[n:].any()
    assert float(tf.reduce_max(batch["loc_map"])) > 0.9


@pytest.mark.parametrize("size", SIZES)
def test_maps_match_the_numpy_reference_with_skipped_and_box_less_records(tmp_path, size):
    """Without augmentation the maps are rendered per chunk (padded to the chunk size, then
    cut back to the kept records): each sample still gets its own maps, at half the input
    size."""
    height, width = size
    targets = TargetConfig(map_height=height // 2, map_width=width // 2)
    records = [block_word("ab", seed=0), block_word("hello", width=200, height=50, seed=1),
               block_word("aéc", seed=2), block_word("word", seed=3, with_boxes=False),
               block_word("x", width=90, height=30, seed=4)]
    write_records(str(tmp_path / "d"), records, 1)
    pipe = _pipeline(str(tmp_path / "d-*"), global_batch_size=8, is_training=False,
                     keep_every_record=False, image_height=height, image_width=width)
    batch = next(iter(pipe()))
    by_text = {r.text: r for r in records}
    assert sorted(t.decode() for t in batch["text"].numpy()) == ["ab", "hello", "word", "x"]
    for b, text in enumerate(t.decode() for t in batch["text"].numpy()):
        record = by_text[text]
        if record.char_boxes is None:
            assert batch["has_char_boxes"][b] == 0 and not batch["class_map"][b].numpy().any()
            continue
        scale = np.array([targets.map_width / record.width,
                          targets.map_height / record.height] * 4)
        ref = render_targets_numpy(record.char_boxes * scale, CHARSET.encode(text).ids, targets)
        for name in ("class_map", "order_map"):  # pixel centres on an edge may round apart
            assert (batch[name][b].numpy() != ref[name]).sum() <= 2, (text, name)
        np.testing.assert_allclose(batch["loc_map"][b], ref["loc_map"], atol=1e-4)


@pytest.mark.parametrize("geometric", [False, True])
def test_targets_stay_on_the_blocks_under_augmentation(tmp_path, geometric):
    records = [block_word("abcde", seed=i) for i in range(8)]
    write_records(str(tmp_path / "d"), records, 1)
    augment = AugmentConfig(geometric=geometric, max_rotation_degrees=12.0, max_shear=0.3,
                            max_translate=0.08, photometric=False)
    pipe = _pipeline(str(tmp_path / "d-*"), global_batch_size=8, augment=augment)
    batch = next(iter(pipe()))
    image = tf.image.resize(batch["image"], [32, 128], method="area").numpy().mean(-1)
    char_pixels = batch["class_map"].numpy() > 0
    dark = image < 0.5
    assert char_pixels.sum() > 8 * 5 * 10
    # class pixels are the shrunk blocks: nearly all of them must be dark
    assert dark[char_pixels].mean() > 0.97
    order_pixels = batch["order_map"].numpy() > 0
    assert dark[order_pixels].mean() > 0.85


def test_unknown_characters_are_skipped_counted_and_logged(tmp_path, capfd):
    records = [block_word("ok", seed=0), block_word("aéb", seed=1), block_word("fine", seed=2),
               block_word("x" * 31, width=400, seed=3), block_word("a$b", seed=4)]
    write_records(str(tmp_path / "d"), records, 1)
    pipe = _pipeline(str(tmp_path / "d-*"), global_batch_size=8, is_training=False,
                     keep_every_record=False, unread_symbols=False)  # as training reads them
    batches = list(pipe())
    texts = sorted(t.decode() for b in batches for t in b["text"].numpy())
    assert texts == ["fine", "ok"]
    assert pipe.skipped_counts() == {"unknown_chars": 2, "too_long": 1}
    err = capfd.readouterr().err
    assert "skipped record blocks:1: unknown_chars (unknown: 'é') text 'aéb'" in err
    assert "skipped record blocks:3: too_long" in err
    assert "skipped record blocks:4: unknown_chars (unknown: '$') text 'a$b'" in err


def _decoded(records, **kw):
    """The training decoder's output for `records`, by their original text."""
    decoder = RecordDecoder(CHARSET, 30, keep_every_record=False, include_strings=True, **kw)
    out = decoder.decode(tf.constant([schema.serialize(r) for r in records]))
    rows = {t.decode(): k for k, t in enumerate(out["text"].numpy())}
    return rows, out, decoder.skipped_counts()


def test_training_labels_leave_out_unread_symbols_and_their_boxes(capfd):
    """As `convert` relabels (`OPEN:` -> `OPEN`), so does the reader for records that
    another tool, or `convert` before that rule, wrote with the symbols in the label."""
    words = ["OPEN:", "$20.50", "ok", "::", "café!", "(a)"]
    records = [block_word(w, width=200, seed=k) for k, w in enumerate(words)]
    told = block_word("dont", width=200, seed=9)  # boxes given for the read characters only
    told.text = "don't"
    records.append(told)
    rows, out, skipped = _decoded(records)
    assert sorted(rows) == ["$20.50", "(a)", "OPEN:", "don't", "ok"]
    assert skipped == {"unknown_chars": 1, "empty_text": 1}
    expected = {"OPEN:": ("open", [0, 1, 2, 3]), "$20.50": ("2050", [1, 2, 4, 5]),
                "ok": ("ok", [0, 1]), "(a)": ("a", [1]), "don't": ("dont", [0, 1, 2, 3])}
    by_text = {r.text: r for r in records}
    for text, (label, box_index) in expected.items():
        k = rows[text]
        n = int(out["length"][k])
        assert CHARSET.decode(out["text_ids"][k][:n].numpy()) == label, text
        assert out["has_char_boxes"][k] == 1
        np.testing.assert_allclose(out["boxes"][k][:n], by_text[text].char_boxes[box_index])
        assert not out["boxes"][k][n:].numpy().any()
    err = capfd.readouterr().err
    assert "skipped record blocks:3: empty_text" in err
    assert "skipped record blocks:4: unknown_chars (unknown: 'é') text 'café!'" in err


@pytest.mark.parametrize("augment", [False, True])
def test_maps_of_a_relabelled_record_are_its_read_characters(tmp_path, augment):
    height, width = SIZES[1]
    targets = TargetConfig(map_height=height // 2, map_width=width // 2)
    record = block_word("$20.50", width=200, seed=0)
    # A plain word beside it: were the record skipped, training would not wait for it forever.
    write_records(str(tmp_path / "d"), [record, block_word("ok", seed=1)], 1)
    pipe = _pipeline(str(tmp_path / "d-*"), global_batch_size=2, is_training=augment,
                     keep_every_record=False, image_height=height, image_width=width,
                     augment=AugmentConfig() if augment else None, seed=0, shuffle_buffer=1)
    batch = next(iter(pipe()))
    lengths = batch["length"].numpy().tolist()
    assert sorted(lengths) == [2, 4]
    b = lengths.index(4)
    assert set(np.unique(batch["class_map"][b])) == {0} | set(CHARSET.encode("2050").ids)
    if augment:
        return
    scale = np.array([targets.map_width / record.width, targets.map_height / record.height] * 4)
    ref = render_targets_numpy(record.char_boxes[[1, 2, 4, 5]] * scale,
                               CHARSET.encode("2050").ids, targets)
    for name in ("class_map", "order_map"):
        assert (batch[name][b].numpy() != ref[name]).sum() <= 2, name


def test_unread_symbols_off_or_in_evaluation_keep_labels_as_given():
    records = [block_word("OPEN:", width=200, seed=0), block_word("ok", seed=1)]
    rows, _, skipped = _decoded(records, unread_symbols=False)
    assert sorted(rows) == ["ok"] and skipped == {"unknown_chars": 1}
    decoder = RecordDecoder(CHARSET, 30, keep_every_record=True, include_strings=True)
    out = decoder.decode(tf.constant([schema.serialize(r) for r in records]))
    assert out["outside_charset"].numpy().tolist() == [True, False]
    assert out["has_char_boxes"].numpy().tolist() == [0, 1]  # scored, not trained on


def test_punctuation_and_symbols_match_unicodedata():
    points = [c for c in range(0x20, 0x3000) if not 0xD800 <= c < 0xE000]
    found = is_punctuation_or_symbol(tf.constant(points, tf.int32)).numpy()
    expected = [unicodedata.category(chr(c))[0] in "PS" for c in points]
    mismatched = [hex(c) for c, f, e in zip(points, found, expected) if f != e]
    assert not mismatched, mismatched[:10]


def test_evaluation_keeps_every_record(tmp_path):
    records = [block_word("ok", seed=0), block_word("a$b", seed=1), block_word("fine", seed=2),
               block_word("x" * 31, width=400, seed=3)]
    records[2].char_boxes = records[2].char_boxes[:3]  # a box count that does not match
    records.append(block_word("Upper", seed=4))
    write_records(str(tmp_path / "d"), records, 2)
    pipe = _pipeline(str(tmp_path / "d-*"), global_batch_size=2, is_training=False)
    rows = {}
    for b in pipe():
        for k, text in enumerate(b["text"].numpy()):
            rows[text.decode()] = {key: b[key][k].numpy() for key in
                                   ("text_ids", "length", "has_char_boxes", "outside_charset")}
    assert sorted(rows) == sorted(["ok", "a$b", "fine", "x" * 31, "Upper"])
    assert not pipe.skipped_counts()
    charset = load_charset("alnum36")
    a_b = rows["a$b"]  # scored against its known characters; its boxes no longer align
    assert a_b["outside_charset"] and a_b["length"] == 2 and a_b["has_char_boxes"] == 0
    assert list(a_b["text_ids"][:3]) == charset.encode("ab").ids + [0]
    assert rows["x" * 31]["length"] == 30 and rows["x" * 31]["has_char_boxes"] == 0
    assert not rows["x" * 31]["outside_charset"]
    assert rows["fine"]["has_char_boxes"] == 0 and rows["fine"]["length"] == 4
    assert rows["ok"]["has_char_boxes"] == 1 and not rows["ok"]["outside_charset"]
    assert list(rows["Upper"]["text_ids"][:5]) == charset.encode("upper").ids


@pytest.mark.parametrize("num_files", [4, 1])
def test_sharding_is_disjoint_and_complete(tmp_path, num_files):
    texts = [f"w{i}" for i in range(24)]
    write_records(str(tmp_path / "d"), [block_word(t, seed=i) for i, t in enumerate(texts)],
                  num_files)
    seen = []
    for index in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=index,
                                         num_replicas_in_sync=2)
        pipe = _pipeline(str(tmp_path / "d-*"), global_batch_size=4, is_training=False)
        batches = list(pipe(ctx))
        seen.append([t.decode() for b in batches for t in b["text"].numpy()])
        assert all(b["image"].shape[0] <= 2 for b in batches)  # per-replica batch
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == sorted(texts)


@pytest.mark.parametrize("augment", [False, True])
def test_functions_are_traced_once_not_per_batch(tmp_path, augment):
    # Word lengths 2..11: batches paint different numbers of characters, yet the Python
    # functions are traced once.
    words = ["abcdefghijk"[:2 + i % 10] for i in range(40)]
    write_records(str(tmp_path / "d"), [block_word(w, seed=i) for i, w in enumerate(words)], 2)
    pipe = _pipeline(str(tmp_path / "d-*"), global_batch_size=4,
                     augment=AugmentConfig() if augment else None)
    parser = pipe.parser
    per_batch, compiled = (("build_targets", "_augment_and_render") if augment else
                           (None, "_render_maps"))
    calls = {"load_chunk": 0, per_batch: 0, compiled: 0}

    def counting(name, fn):
        def wrapped(*args, **kwargs):
            calls[name] += 1  # Python runs only while tracing
            return fn(*args, **kwargs)
        return wrapped

    pipe.load_chunk = counting("load_chunk", pipe.load_chunk)
    if per_batch:
        parser.build_targets = counting(per_batch, parser.build_targets)
    function = getattr(parser, compiled)
    setattr(parser, compiled, tf.function(counting(compiled, function.python_function),
                                          input_signature=function.input_signature,
                                          jit_compile=True))
    iterator = iter(pipe())
    slots = set()
    for _ in range(15):
        slots.add(next(iterator)["order_map"].numpy().max())
    assert len(slots) > 1
    assert calls == {"load_chunk": 1, per_batch: int(augment), compiled: 1}


@pytest.mark.parametrize("fmt,mode", [("PNG", "RGBA"), ("PNG", "L"), ("GIF", "P"),
                                      ("BMP", "RGB"), ("JPEG", "RGB")])
def test_decode_formats_to_rgb(fmt, mode):
    from PIL import Image
    import io
    array = np.zeros((20, 50, 3), np.uint8)
    array[:, 25:] = 250
    out = io.BytesIO()
    Image.fromarray(array).convert(mode).save(out, format=fmt)
    image = decode.preprocess_encoded(tf.constant(out.getvalue()))
    assert image.shape == (64, 256, 3)
    values = image.numpy()
    # (the GIF palette maps 250 to 204)
    assert values[:, :100].max() < 0.1 and values[:, 160:].min() > 0.75


def test_serving_reads_a_transparent_png_over_white_as_convert_stores_it():
    """Black letters in the alpha channel of a PNG whose every pixel is black: served as
    Pillow composites it over white (convert's `_to_rgb8`), not black on black."""
    from PIL import Image
    import io
    alpha = np.zeros((20, 50), np.uint8)
    alpha[5:15, 10:20] = 255
    alpha[5:15, 30:40] = 128
    rgba = np.zeros((20, 50, 4), np.uint8)
    rgba[..., 3] = alpha
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    served = decode.decode_opaque_rgb(tf.constant(out.getvalue())).numpy().astype(int)
    want = 255 - alpha.astype(int)  # black over white, in proportion to the alpha
    np.testing.assert_allclose(served, np.repeat(want[..., None], 3, -1), atol=1)
    image = decode.preprocess_encoded(tf.constant(out.getvalue())).numpy()
    # resized 20x50 -> 64x256: the black square at columns 55-100, the grey one at 155-204
    assert image[20:44, 60:95].max() < 0.05 and image[:, :45].min() > 0.98
    np.testing.assert_allclose(image[20:44, 165:195], 127 / 255, atol=0.02)


def test_keep_aspect_scales_and_pads():
    image = tf.ones([32, 64, 3], tf.uint8) * 200
    out, scale = decode.resize(image, keep_aspect=True)
    assert out.shape == (64, 256, 3)
    np.testing.assert_allclose(scale.numpy(), [2.0, 2.0])
    stretched, scale = decode.resize(image)
    np.testing.assert_allclose(scale.numpy(), [4.0, 2.0])


def test_a_large_crop_is_averaged_down_not_sampled():
    """A crop four times the input size with one bright column in four: shrunk with a
    low-pass each output pixel is the area mean 1/4 (bilinear sampling alone reads the dark
    columns between and gives 0); grown, or shrunk by less than 2x, the result is plain
    bilinear."""
    stripes = np.zeros([64 * 4, 256 * 4, 3], np.uint8)
    stripes[:, ::4] = 255
    shrunk = decode.resize_image(tf.constant(stripes)).numpy()
    np.testing.assert_allclose(shrunk[:, 2:-2], 0.25, atol=0.02)  # away from the borders
    for size in ([20, 50, 3], [120, 500, 3]):
        image = tf.constant(np.random.default_rng(0).integers(0, 256, size, np.uint8))
        np.testing.assert_allclose(decode.resize_image(image).numpy(),
                                   tf.image.resize(tf.image.convert_image_dtype(
                                       image, tf.float32), [64, 256]).numpy(), atol=1e-6)


def test_one_pipeline_feeding_two_replicas_gives_per_replica_batches(tmp_path):
    write_records(str(tmp_path / "d"), [block_word("ab", seed=i) for i in range(16)], 2)
    ctx = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0,
                                     num_replicas_in_sync=2)
    batch = next(iter(_pipeline(str(tmp_path / "d-*"), global_batch_size=8)(ctx)))
    assert batch["image"].shape[0] == 4


def test_record_status_names_the_first_reason_that_applies():
    from pipelines.record_decoder import (BOX_COUNT, EMPTY_TEXT, OK, SKIP_REASONS, TOO_LONG,
                                          UNKNOWN_CHARS, record_status)
    # (length, has unknown characters, number of boxes) -> expected status, max length 4
    cases = [((3, False, 3), OK), ((3, False, 0), OK), ((3, False, 2), BOX_COUNT),
             ((5, False, 5), TOO_LONG), ((5, False, 2), TOO_LONG), ((3, True, 1), UNKNOWN_CHARS),
             ((5, True, 5), UNKNOWN_CHARS), ((0, False, 0), EMPTY_TEXT),
             ((0, False, 2), EMPTY_TEXT)]
    length, unknown, boxes = (tf.constant(column) for column in zip(*(c for c, _ in cases)))
    status = record_status(length, unknown, boxes, max_text_length=4).numpy()
    assert [SKIP_REASONS[s] for s in status] == [SKIP_REASONS[want] for _, want in cases]


def test_source_weights_set_the_share_of_each_glob(tmp_path):
    """200 words in one glob and 20 in another: by default (equal shares) the small one gives
    about half of the training records; by the square roots sqrt(20) / (sqrt(200) + sqrt(20))
    = 0.24, in proportion 20 / 220 = 0.09; weights given set the rates; weights and globs
    must pair."""
    write_records(str(tmp_path / "big"), [block_word("big", seed=i) for i in range(200)], 4)
    write_records(str(tmp_path / "small"), [block_word("sm", seed=i) for i in range(20)], 1)
    pattern = f"{tmp_path / 'big-*'},{tmp_path / 'small-*'}"

    def small_share(**kw) -> float:
        # Small images and no XLA: the shares are decided before any pixel is touched.
        pipe = _pipeline(pattern, global_batch_size=20, is_training=True, seed=3,
                         include_strings=True, image_height=32, image_width=128,
                         jit_compile=False, **kw)
        texts = [t for b in pipe().take(20) for t in b["text"].numpy()]
        return texts.count(b"sm") / len(texts)

    assert 0.4 < small_share() < 0.6
    assert 0.17 < small_share(share_rule="sqrt") < 0.31
    assert 0.04 < small_share(share_rule="records") < 0.15
    assert 0.4 < small_share(source_weights=(1.0, 1.0)) < 0.6
    assert small_share(source_weights=(1.0, 3.0)) > 0.65
    with pytest.raises(ValueError, match="2 source weights for 1 glob"):
        _pipeline(str(tmp_path / "big-*"), source_weights=(1.0, 1.0))
    (tmp_path / "empty-00000-of-00001.tfrecord").write_bytes(b"")
    with pytest.raises(ValueError, match="empty-\\* matches only empty files"):
        _pipeline(f"{tmp_path / 'big-*'},{tmp_path / 'empty-*'}", source_weights=(1.0, 1.0))
    # Unweighted, a glob without records is left out rather than stalling the draws.
    pipe = _pipeline(f"{tmp_path / 'big-*'},{tmp_path / 'empty-*'},{tmp_path / 'small-*'}",
                     is_training=True, share_rule="sqrt")
    assert len(pipe.sources) == 2 and pipe.source_weights[0] > pipe.source_weights[1]


def test_record_counts_are_estimated_from_file_sizes(tmp_path):
    """Words of 1-12 characters in shards of different sizes: the estimate from a sample's
    mean record size is within a tenth of the true count; no records, no count."""
    from pipelines.dataset import estimated_record_count
    rng = np.random.default_rng(0)
    words = [block_word("abcdefghijkl"[:rng.integers(1, 13)], seed=i) for i in range(300)]
    write_records(str(tmp_path / "w"), words, 3)
    files = sorted(str(f) for f in tmp_path.glob("w-*"))
    assert abs(estimated_record_count(files) - 300) < 30
    (tmp_path / "e-00000-of-00001.tfrecord").write_bytes(b"")
    assert estimated_record_count([str(tmp_path / "e-00000-of-00001.tfrecord")]) == 0.0


def test_share_rules_match_numpy():
    """Each rule's shares against numpy on three sources; unknown rules and empty sources
    are refused."""
    from pipelines.source_shares import source_shares
    counts = np.array([100_000, 2_000, 50_000], dtype=float)
    np.testing.assert_allclose(source_shares(list(counts), "equal"), [1 / 3] * 3)
    np.testing.assert_allclose(source_shares(list(counts), "sqrt"),
                               np.sqrt(counts) / np.sqrt(counts).sum())
    np.testing.assert_allclose(source_shares(list(counts), "records"), counts / counts.sum())
    with pytest.raises(ValueError, match="unknown share rule 'cube'"):
        source_shares(list(counts), "cube")
    with pytest.raises(ValueError, match="every source needs records"):
        source_shares([10.0, 0.0], "equal")
