"""`convert`: every format, every kind of bad input reported with its source, nothing lost."""

import itertools
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pipelines import schema
from pipelines.convert import ConvertConfig, convert, exit_code
from pipelines.shards import ShardedWriter
from tests.conftest import write_image


def _read_all(prefix):
    files = sorted(tf.io.gfile.glob(prefix + "-*.tfrecord"))
    return list(schema.read_records(files))


def _convert(fmt, path, tmp_path, **kw):
    out = str(tmp_path / "out" / "data")
    report = convert(ConvertConfig(input_format=fmt, input=str(path), output=out, num_shards=2,
                                   num_workers=kw.pop("num_workers", 1), **kw))
    return report, out


def _reasons(report):
    return {e["source"].rsplit(":", 1)[-1] if ":" in e["source"] else e["source"]: e["reason"]
            for e in report.errors}


def test_tsv_round_trip_keeps_original_bytes(tmp_path, image_dir, caplog):
    """Word-only records are counted, and a training set's conversion says how to box them."""
    write_image(image_dir / "a.png", 40, 16)
    write_image(image_dir / "b.jpg", 50, 20, fmt="JPEG")
    (tmp_path / "labels.tsv").write_text("images/a.png\tHello\nimages/b.jpg\tw0rld\n")
    report, out = _convert("tsv", tmp_path / "labels.tsv", tmp_path)
    assert report.written == 2 and not report.errors
    assert report.without_boxes == 2
    assert "2 of the 2 records have no character boxes" in caplog.text
    assert "--pseudo_boxes_from" in caplog.text
    records = {r.text: r for r in _read_all(out)}
    assert records["Hello"].image == (image_dir / "a.png").read_bytes()
    assert records["w0rld"].image == (image_dir / "b.jpg").read_bytes()
    assert (records["w0rld"].height, records["w0rld"].width) == (20, 50)
    assert records["Hello"].char_boxes is None
    assert records["Hello"].source.endswith("labels.tsv:1")
    saved = json.loads(open(out + ".report.json").read())
    assert saved["written"] == 2 and saved["skipped"] == 0


def test_jsonl_axis_aligned_and_quad_boxes(tmp_path, image_dir):
    write_image(image_dir / "a.png", 40, 20)
    lines = [
        {"image": "images/a.png", "text": "ab", "char_boxes": [[1, 2, 10, 18], [12, 2, 20, 18]]},
        {"image": "images/a.png", "text": "c",
         "char_boxes": [[2, 3, 12, 4, 11, 15, 1, 14]]},
    ]
    (tmp_path / "l.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    report, out = _convert("jsonl", tmp_path / "l.jsonl", tmp_path)
    assert report.written == 2
    records = {r.text: r for r in _read_all(out)}
    np.testing.assert_allclose(records["ab"].char_boxes[0], [1, 2, 10, 2, 10, 18, 1, 18])
    np.testing.assert_allclose(records["c"].char_boxes[0], [2, 3, 12, 4, 11, 15, 1, 14])
    assert report.without_boxes == 0


def test_lmdb_layout_converts(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    from tests.conftest import encode_image
    path = str(tmp_path / "db")
    env = lmdb.open(path, map_size=1 << 24)
    texts = ["abc", "Def", "42"]
    with env.begin(write=True) as txn:
        for i, text in enumerate(texts, 1):
            image = encode_image(np.full((12, 30 + i, 3), 30 * i, np.uint8), "JPEG")
            txn.put(b"image-%09d" % i, image)
            txn.put(b"label-%09d" % i, text.encode())
        txn.put(b"image-%09d" % 4, b"not an image")
        txn.put(b"label-%09d" % 4, b"bad")
        txn.put(b"image-%09d" % 5, encode_image(np.zeros((8, 8, 3), np.uint8)))
        txn.put(b"label-%09d" % 5, b"\xff\xfe")
        txn.put(b"num-samples", b"6")  # sample 6 has no keys at all
    env.close()
    report, out = _convert("lmdb", path, tmp_path)
    assert sorted(r.text for r in _read_all(out)) == sorted(texts)
    by_key = {e["source"].split("#")[1]: e["reason"] for e in report.errors}
    assert by_key == {"image-000000004": "corrupt_image", "image-000000005": "bad_utf8",
                      "image-000000006": "missing_image"}


def test_mjsynth_layout_converts_words_from_file_names(tmp_path):
    """MJSynth's tree: the annotation file beside numbered folders, the word inside each
    image's name; the records carry no character boxes."""
    root = tmp_path / "mnt" / "ramdisk" / "max" / "90kDICT32px"
    names = ["2911/6/77_heretical_35885.jpg", "2911/6/78_Sniffed_72186.jpg",
             "115/2/1_DVD_23001.jpg", "5/1/9_n2o_0.jpg"]
    for i, name in enumerate(names):
        (root / os.path.dirname(name)).mkdir(parents=True, exist_ok=True)
        write_image(root / name, 60 + i, 31, fmt="JPEG", seed=i)
    lines = [f"./{names[0]} 35885", f"./{names[1]} 72186", names[2],  # no "./", no index
             f"./{names[3]} 0", "./2911/6/80_missing_5.jpg 5", "./115/2/noword.jpg 3"]
    (root / "annotation_train.txt").write_text("\n".join(lines) + "\n")
    report, out = _convert("mjsynth", root / "annotation_train.txt", tmp_path)
    records = _read_all(out)
    assert sorted(r.text for r in records) == ["DVD", "Sniffed", "heretical", "n2o"]
    assert all(r.char_boxes is None or len(r.char_boxes) == 0 for r in records)
    assert _reasons(report) == {"5": "missing_image", "6": "bad_file_name"}
    assert "noword.jpg" in report.errors[1]["message"]


# ---- one case per bad input; each is reported with file:line and a reason -----------------
def _bad_tsv_case(tmp_path, image_dir, line_bytes: bytes, setup=None):
    write_image(image_dir / "good.png")
    if setup:
        setup(image_dir)
    (tmp_path / "labels.tsv").write_bytes(b"images/good.png\tok\n" + line_bytes + b"\n")
    report, out = _convert("tsv", tmp_path / "labels.tsv", tmp_path)
    assert report.written == 1, "the good line must still be converted"
    assert [e["source"] for e in report.errors] == [f"{tmp_path / 'labels.tsv'}:2"]
    return report.errors[0]


@pytest.mark.parametrize("name,line,setup,reason", [
    ("missing file", b"images/nope.png\tabc", None, "missing_image"),
    ("corrupt image", b"images/bad.png\tabc",
     lambda d: (d / "bad.png").write_bytes(b"\x89PNG garbage"), "corrupt_image"),
    ("truncated image", b"images/cut.png\tabc",
     lambda d: (d / "cut.png").write_bytes(
         write_image(d / "full.png", 64, 64) and (d / "full.png").read_bytes()[:300]),
     "corrupt_image"),
    ("zero-size image", b"images/zero.png\tabc",
     lambda d: (d / "zero.png").write_bytes(b""), "corrupt_image"),
    ("empty text", b"images/good.png\t", None, "empty_text"),
    ("unknown characters", "images/good.png\tab\u00e9c".encode(), None, "unknown_chars"),
    ("only unread symbols", b"images/good.png\t$%", None, "empty_text"),
    ("text longer than 30", b"images/good.png\t" + b"a" * 31, None, "too_long"),
    ("bad utf-8", b"images/good.png\tab\xff\xfe", None, "bad_utf8"),
    ("line without a tab", b"images/good.png abc", None, "missing_tab"),
])
def test_tsv_bad_input(tmp_path, image_dir, name, line, setup, reason):
    error = _bad_tsv_case(tmp_path, image_dir, line, setup)
    assert error["reason"] == reason, (name, error)
    assert error["message"]


@pytest.mark.parametrize("workers", [1, 2])
def test_unread_symbols_leave_training_labels_serial_and_parallel(tmp_path, image_dir, workers):
    """Punctuation and symbols the charset lacks: left out of the label, not the record
    (reported as relabelled); a letter the charset lacks still rejects it; off, as before."""
    write_image(image_dir / "a.png", 40, 16)
    labels = ["OPEN:", "$20.50", "don't", "plain", "ab\u00e9c", "(x)"]
    (tmp_path / "labels.tsv").write_text("".join(f"images/a.png\t{t}\n" for t in labels))
    report, out = _convert("tsv", tmp_path / "labels.tsv", tmp_path, num_workers=workers)
    assert sorted(r.text for r in _read_all(out)) == sorted(["OPEN", "2050", "dont", "plain",
                                                             "x"])
    assert report.relabelled == 4 and _reasons(report) == {"5": "unknown_chars"}
    assert "4 label(s) without their unread symbols" in report.summary()
    assert json.loads(open(out + ".report.json").read())["relabelled"] == 4
    report, out = _convert("tsv", tmp_path / "labels.tsv", tmp_path, num_workers=workers,
                           unread_symbols=False)
    assert sorted(r.text for r in _read_all(out)) == ["plain"] and report.relabelled == 0
    assert set(_reasons(report).values()) == {"unknown_chars"} and len(report.errors) == 5


def test_unread_symbols_lose_their_boxes(tmp_path, image_dir):
    write_image(image_dir / "a.png", 60, 20)
    obj = {"image": "images/a.png", "text": "a-b.",
           "char_boxes": [[1, 2, 10, 18], [12, 8, 16, 10], [20, 2, 30, 18], [32, 15, 35, 18]]}
    (tmp_path / "l.jsonl").write_text(json.dumps(obj) + "\n")
    report, out = _convert("jsonl", tmp_path / "l.jsonl", tmp_path)
    (record,) = _read_all(out)
    assert record.text == "ab" and report.relabelled == 1
    np.testing.assert_allclose(record.char_boxes, [[1, 2, 10, 2, 10, 18, 1, 18],
                                                   [20, 2, 30, 2, 30, 18, 20, 18]])
    # an evaluation set keeps the label as given (evaluation normalises it when scoring)
    report, out = _convert("jsonl", tmp_path / "l.jsonl", tmp_path, evaluation_set=True)
    assert _read_all(out)[0].text == "a-b." and report.relabelled == 0


def _jsonl_case(tmp_path, image_dir, obj_or_text, size=(40, 20)):
    write_image(image_dir / "a.png", *size)
    bad = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
    good = json.dumps({"image": "images/a.png", "text": "ok"})
    (tmp_path / "l.jsonl").write_text(good + "\n" + bad + "\n")
    report, out = _convert("jsonl", tmp_path / "l.jsonl", tmp_path)
    return report, out


@pytest.mark.parametrize("name,obj,reason", [
    ("malformed json", '{"image": "images/a.png", "text": ', "malformed_json"),
    ("json without image", '{"text": "abc"}', "malformed_json"),
    ("box count differs", {"image": "images/a.png", "text": "abc",
                           "char_boxes": [[0, 0, 5, 5], [5, 0, 10, 5]]}, "box_count"),
    ("box mostly outside", {"image": "images/a.png", "text": "a",
                            "char_boxes": [[35, 0, 60, 10]]}, "box_outside"),
    ("degenerate box", {"image": "images/a.png", "text": "a",
                        "char_boxes": [[5, 5, 5, 15]]}, "degenerate_box"),
    ("box with wrong arity", {"image": "images/a.png", "text": "a",
                              "char_boxes": [[1, 2, 3]]}, "bad_boxes"),
    ("missing file", {"image": "images/none.png", "text": "a"}, "missing_image"),
])
def test_jsonl_bad_input(tmp_path, image_dir, name, obj, reason):
    report, _ = _jsonl_case(tmp_path, image_dir, obj)
    assert report.written == 1
    assert len(report.errors) == 1 and report.errors[0]["reason"] == reason, (name, report.errors)
    assert report.errors[0]["source"].endswith("l.jsonl:2")


def test_box_slightly_outside_is_clipped(tmp_path, image_dir):
    obj = {"image": "images/a.png", "text": "a", "char_boxes": [[30, -2, 42, 10]]}
    report, out = _jsonl_case(tmp_path, image_dir, obj)
    assert report.written == 2 and not report.errors
    rec = [r for r in _read_all(out) if r.text == "a"][0]
    np.testing.assert_allclose(rec.char_boxes[0], [30, 0, 40, 0, 40, 10, 30, 10])


@pytest.mark.parametrize("mode", ["RGBA", "L", "CMYK", "I;16", "P"])
def test_unusual_image_modes_are_converted_not_rejected(tmp_path, image_dir, mode):
    array = np.zeros((16, 24, 4), np.uint8)
    array[..., :3] = 10
    array[:, :12, 3] = 0  # left half fully transparent
    array[:, 12:, 3] = 255
    if mode == "RGBA":
        Image.fromarray(array, "RGBA").save(image_dir / "x.png")
    elif mode == "I;16":
        Image.fromarray(np.full((16, 24), 40000, np.uint16)).save(image_dir / "x.png")
    elif mode == "CMYK":
        Image.new("CMYK", (24, 16), (0, 255, 255, 0)).save(image_dir / "x.png".replace(
            "png", "jpg"), format="JPEG")
    else:
        Image.fromarray(np.full((16, 24, 3), 90, np.uint8)).convert(mode).save(image_dir / "x.png")
    name = "x.jpg" if mode == "CMYK" else "x.png"
    (tmp_path / "labels.tsv").write_text(f"images/{name}\tabc\n")
    report, out = _convert("tsv", tmp_path / "labels.tsv", tmp_path)
    assert report.written == 1 and not report.errors
    rec = _read_all(out)[0]
    decoded = tf.io.decode_image(rec.image, channels=3, expand_animations=False).numpy()
    assert decoded.shape == (16, 24, 3) == (rec.height, rec.width, 3)
    if mode == "RGBA":  # transparent -> white, opaque keeps its colour
        assert decoded[:, :12].min() == 255 and decoded[:, 12:].max() == 10
    if mode == "I;16":
        assert 150 < decoded.mean() < 160  # 40000 / 257
    if mode == "CMYK":
        assert decoded[..., 0].mean() > 200 and decoded[..., 1].mean() < 60  # red


def test_exit_codes_strict_and_nothing_written(tmp_path, image_dir):
    write_image(image_dir / "good.png")
    (tmp_path / "labels.tsv").write_text("images/good.png\tok\nimages/none.png\tx\n")
    report, _ = _convert("tsv", tmp_path / "labels.tsv", tmp_path)
    assert exit_code(report, strict=False) == 0
    assert exit_code(report, strict=True) == 1
    (tmp_path / "bad.tsv").write_text("images/none.png\tx\n")
    report, _ = _convert("tsv", tmp_path / "bad.tsv", tmp_path)
    assert report.written == 0 and exit_code(report, strict=False) == 1


def test_parallel_conversion_gives_identical_shards(tmp_path, image_dir):
    lines = []
    for i in range(40):
        write_image(image_dir / f"{i}.png", 20 + i, 12, seed=i)
        lines.append(f"images/{i}.png\tw{i}")
    lines.insert(7, "images/missing.png\tzz")
    (tmp_path / "labels.tsv").write_text("\n".join(lines))
    serial, out1 = _convert("tsv", tmp_path / "labels.tsv", tmp_path, num_workers=1)
    contents1 = [open(p, "rb").read() for p in serial.shards]
    parallel, out2 = _convert("tsv", tmp_path / "labels.tsv", tmp_path, num_workers=2)
    assert [open(p, "rb").read() for p in parallel.shards] == contents1
    assert parallel.written == 40 and len(parallel.errors) == 1


def test_interrupted_writer_leaves_no_shard(tmp_path):
    prefix = str(tmp_path / "x")
    with pytest.raises(RuntimeError):
        with ShardedWriter(prefix, 2) as writer:
            writer.write(b"abc")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


# ---- every bad input at once, through the serial path and the parallel one (the default) --
def _mixed_label_file(tmp_path, image_dir, fmt: str) -> tuple[str, int, dict[int, str]]:
    """Good crops in unusual modes among one line of every kind of bad input.

    Returns the label file, the number of good lines and {line number: reason}."""
    images = []
    for i, mode in enumerate(["RGB", "RGBA", "L", "CMYK", "I;16", "P"] * 3):
        name = f"g{i}.{'jpg' if mode == 'CMYK' else 'png'}"
        if mode == "I;16":
            Image.fromarray(np.full((16, 30), 30000 + i, np.uint16)).save(image_dir / name)
        else:
            write_image(image_dir / name, 30 + i, 16, fmt="JPEG" if mode == "CMYK" else "PNG",
                        mode=mode, seed=i)
        images.append(name)
    write_image(image_dir / "full.jpg", 64, 64, fmt="JPEG")
    (image_dir / "cut.jpg").write_bytes((image_dir / "full.jpg").read_bytes()[:200])
    (image_dir / "garbage.png").write_bytes(b"\x89PNG not really" * 8)
    (image_dir / "empty.png").write_bytes(b"")
    bad = [("images/nope.png", "abc", "missing_image"),
           ("images/cut.jpg", "abc", "corrupt_image"),
           ("images/garbage.png", "abc", "corrupt_image"),
           ("images/empty.png", "abc", "corrupt_image"),
           ("images/g0.png", "", "empty_text"),
           ("images/g0.png", "ab\u00e9c", "unknown_chars"),
           ("images/g0.png", "a" * 31, "too_long")]

    index = itertools.count()

    def line(path, text):
        if fmt == "tsv":
            return f"{path}\t{text}".encode()
        if fmt == "jsonl":
            return json.dumps({"image": path, "text": text}).encode()
        # mjsynth: the word is in the file name, ./<folder>/<index>_<word>_<lexicon>.<ext>
        folder, name = path.split("/")
        if not text:  # no word in the name
            return f"./{path} 7".encode()
        named = f"{folder}/{next(index)}_{text}_7{os.path.splitext(name)[1]}"
        if os.path.exists(image_dir / name):
            os.link(image_dir / name, tmp_path / named)
        return f"./{named} 7".encode()

    lines, expected = [], {}
    for k, name in enumerate(images):
        lines.append(line(f"images/{name}", f"Word{k}"))
        if k % 2 == 0 and bad:
            path, text, reason = bad.pop()
            lines.append(line(path, text))
            expected[len(lines)] = "bad_file_name" if fmt == "mjsynth" and not text else reason
    lines.append({"tsv": b"images/g0.png abc", "jsonl": b'{"image": "images/g0.png", ',
                  "mjsynth": b"./images/1_abc_2.png 2 3"}[fmt])
    expected[len(lines)] = {"tsv": "missing_tab", "jsonl": "malformed_json",
                            "mjsynth": "malformed_line"}[fmt]
    lines.append({"tsv": b"images/g0.png\tab\xff\xfe", "jsonl": b'{"image": "\xff"}',
                  "mjsynth": b"./images/1_ab\xff_2.png 2"}[fmt])
    expected[len(lines)] = "bad_utf8"
    assert not bad
    path = tmp_path / f"labels.{fmt}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path), len(images), expected


@pytest.mark.parametrize("fmt", ["tsv", "jsonl", "mjsynth"])
@pytest.mark.parametrize("workers", [1, 2])
def test_every_bad_input_serial_and_parallel(tmp_path, image_dir, fmt, workers):
    path, good, expected = _mixed_label_file(tmp_path, image_dir, fmt)
    report, out = _convert(fmt, path, tmp_path, num_workers=workers)
    assert report.written == good
    assert {int(e["source"].rsplit(":", 1)[1]): e["reason"] for e in report.errors} == expected
    assert all(e["source"].startswith(path) and e["message"] for e in report.errors)
    assert sorted(r.text for r in _read_all(out)) == sorted(f"Word{k}" for k in range(good))
    assert not [f for f in os.listdir(tmp_path / "out") if ".tmp" in f]


def test_mixed_file_converts_identically_serial_and_parallel(tmp_path, image_dir):
    path, _, _ = _mixed_label_file(tmp_path, image_dir, "tsv")
    serial, _ = _convert("tsv", path, tmp_path / "a", num_workers=1)
    parallel, _ = _convert("tsv", path, tmp_path / "b", num_workers=2)
    assert [open(p, "rb").read() for p in serial.shards] == \
        [open(p, "rb").read() for p in parallel.shards]
    assert serial.errors == parallel.errors


@pytest.mark.parametrize("workers", [1, 2])
def test_windows_paths_in_a_label_file_find_their_images(tmp_path, image_dir, workers):
    write_image(image_dir / "a.png", 40, 16)
    (tmp_path / "labels.tsv").write_text("images\\a.png\tok\nimages\\none.png\tx\n")
    report, out = _convert("tsv", tmp_path / "labels.tsv", tmp_path, num_workers=workers)
    assert [r.text for r in _read_all(out)] == ["ok"]
    (error,) = report.errors
    assert error["reason"] == "missing_image"
    assert error["message"].endswith(f"images\\none.png (nor {tmp_path}/images/none.png)")
