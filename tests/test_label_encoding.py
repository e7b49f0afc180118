"""`convert --label_encoding`: label files written in another encoding than UTF-8 (GBK for
Chinese, Latin-1 for Western European labels) convert with their text intact, serial and
parallel; read as UTF-8, each such line is reported, naming the flag."""

import numpy as np
import pytest

from tests.conftest import encode_image, write_image
from tests.test_convert import _convert, _read_all

CHINESE = ["北京", "出口", "ok"]


def _gbk_tsv(tmp_path):
    lines = []
    for i, text in enumerate(CHINESE):
        write_image(tmp_path / f"{i}.png", 40, 16, seed=i)
        lines.append(f"{i}.png\t{text}")
    (tmp_path / "labels.tsv").write_bytes("\n".join(lines).encode("gbk") + b"\n")
    return tmp_path / "labels.tsv"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_gbk_label_file_converts_with_its_encoding(tmp_path, workers):
    labels = _gbk_tsv(tmp_path)
    report, out = _convert("tsv", labels, tmp_path, num_workers=workers, charset=None,
                           label_encoding="gbk")
    assert not report.errors and sorted(r.text for r in _read_all(out)) == sorted(CHINESE)

    report, out = _convert("tsv", labels, tmp_path / "as_utf8", num_workers=workers,
                           charset=None)
    assert [r.text for r in _read_all(out)] == ["ok"]
    assert [e["reason"] for e in report.errors] == ["bad_utf8", "bad_utf8"]
    assert "--label_encoding" in report.errors[0]["message"]


@pytest.mark.parametrize("workers", [1, 2])
def test_latin1_icdar_ground_truth_keeps_its_accents(tmp_path, workers):
    write_image(tmp_path / "word_1.png", 40, 16)
    (tmp_path / "gt.txt").write_bytes('word_1.png, "Café"\n'.encode("latin-1"))
    report, out = _convert("icdar", tmp_path / "gt.txt", tmp_path, num_workers=workers,
                           evaluation_set=True, label_encoding="latin-1")
    assert not report.errors and [r.text for r in _read_all(out)] == ["Café"]


def test_an_lmdb_reads_its_labels_in_the_encoding_given(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    path = str(tmp_path / "db")
    with lmdb.open(path, map_size=1 << 22) as env, env.begin(write=True) as txn:
        txn.put(b"image-000000001", encode_image(np.full((12, 30, 3), 60, np.uint8), "JPEG"))
        txn.put(b"label-000000001", "出口".encode("gbk"))
        txn.put(b"num-samples", b"1")
    report, out = _convert("lmdb", path, tmp_path, charset=None, label_encoding="gbk")
    assert not report.errors and [r.text for r in _read_all(out)] == ["出口"]
