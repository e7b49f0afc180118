"""Every flag of `main.py`, grouped by the commands that use them."""

from absl import flags

from pipelines.sources import INPUT_FORMATS

# Data in: synth and convert.
flags.DEFINE_string("output", None, "synth/convert: output TFRecord prefix; inspect: PNG file.")
flags.DEFINE_integer("num_samples", 1000, "synth: number of word images to render.")
flags.DEFINE_integer("seed", 0, "Random seed (synth data, initialisation, shuffling).")
flags.DEFINE_string("charset", "alnum36",
                    "alnum36 | alnum62 | printable94 | path to a UTF-8 file, one char per line. "
                    "convert: empty accepts any character.")
flags.DEFINE_multi_string("font", [], "synth: font file (repeatable); default DejaVu + Pillow's.")
flags.DEFINE_integer("num_shards", 4, "synth/convert: number of output shards.")
flags.DEFINE_integer("num_workers", 0, "synth/convert: worker processes (0: one per core).")
flags.DEFINE_integer("min_length", 1, "synth: shortest word.")
flags.DEFINE_integer("max_length", 12, "synth: longest word.")
flags.DEFINE_enum("input_format", "tsv", list(INPUT_FORMATS), "convert: label format.")
flags.DEFINE_string("input", None, "convert: label file (tsv, jsonl) or LMDB folder.")
flags.DEFINE_string("image_root", None, "convert: folder image paths are relative to "
                                        "(default: the label file's folder).")
flags.DEFINE_bool("strict", False, "convert: exit non-zero on any rejected sample.")

# Reading TFRecords: inspect, train, evaluate, benchmark.
flags.DEFINE_string("data", None, "inspect/evaluate/benchmark: TFRecord glob(s), comma-separated.")
flags.DEFINE_bool("augment", False, "inspect/benchmark: apply training augmentation.")
flags.DEFINE_integer("num_images", 16, "inspect: samples in the grid.")
flags.DEFINE_bool("keep_aspect", False, "Resize keeping the aspect ratio and pad (default: "
                                        "stretch to 64x256 as in the paper).")
