"""Every flag of `main.py`, grouped by the commands that use them."""

from absl import flags

from flags import checks
from loops.options import (AUTO_PRECISION, CLUSTER_SOURCES, COLLECTIVES, DEFAULT_START_SHARE,
                           PRECISIONS, STRATEGIES)
from pipelines.label_lines import DEFAULT_ENCODING
from pipelines.sources import INPUT_FORMATS
from pipelines.stored_size import DEFAULT_MAX_HEIGHT
from pipelines.synth_scene import STYLES
from textscanner.config import (NUM_SLOTS, RECIPE_INPUT_HEIGHT, RECIPE_INPUT_WIDTH, LossConfig,
                                ModelConfig)

# Data in: synth and convert.
flags.DEFINE_string("output", None, "synth/convert: output TFRecord prefix; inspect: PNG file.")
flags.DEFINE_integer("num_samples", 1000, "synth: number of word images to render.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Random seed (synth data, initialisation, shuffling).")
flags.DEFINE_string("charset", "alnum36",
                    "alnum36 | alnum62 | printable94 | path to a UTF-8 file, one char per line. "
                    "convert: empty accepts any character.")
flags.DEFINE_multi_string("font", [], "synth (repeatable): a font file, a folder of them, "
                         "'system' (every face fontconfig lists) or 'default' (the 94 faces of "
                         "matplotlib, the font packages and Pillow; also with no --font). Faces "
                         "that cannot draw the charset's characters are left out, and logged.")
flags.DEFINE_integer("num_shards", 4, "synth/convert: number of output shards.", lower_bound=1)
flags.DEFINE_integer("num_workers", 0, "synth/convert: worker processes (0: one per core).",
                     lower_bound=0)
flags.DEFINE_float("stroke_probability", 0.0, "synth: share of words drawn with thickened "
                   "strokes (bolder faces than the font files have).", lower_bound=0.0,
                   upper_bound=1.0)
flags.DEFINE_float("max_stretch", 0.0, "synth: widths scaled by a factor in [1/(1+s), 1+s] "
                   "(condensed and extended faces).", lower_bound=0.0, upper_bound=2.0)
flags.DEFINE_enum("synth_style", "photo", list(STYLES),
                  "synth: photo = photograph and texture backgrounds, shadows, borders, curved "
                  "baselines, perspective, neighbouring text, occlusion, low resolution; "
                  "plain = flat and gradient backgrounds.")
flags.DEFINE_string("synth_language", "en", "synth: language of the corpus words (wordfreq's "
                    "30,000 most frequent: en, de, fr, es, zh, ...).")
flags.DEFINE_bool("unread_symbols", True, "Punctuation and symbols that the charset lacks are "
                  "not read: synth also draws them (prices, codes, dates, web addresses, "
                  "punctuation) without a box and leaves them out of the label; convert and train "
                  "leave them (and their boxes) out of training labels instead of rejecting the "
                  "record. As benchmarks label real crops.")
flags.DEFINE_integer("min_length", 1, "synth: shortest word.", lower_bound=1)
flags.DEFINE_integer("max_length", 12, "synth: longest word.", lower_bound=1, upper_bound=NUM_SLOTS)
flags.DEFINE_enum("input_format", "tsv", list(INPUT_FORMATS), "convert: label format.")
flags.DEFINE_string("input", None, "convert: what --input_format reads (docs/interfaces.md): "
                    "a tsv or jsonl file, an LMDB folder, MJSynth's annotation file, "
                    "SynthText's gt.mat, an IIIT5K .mat, ICDAR's gt.txt or 2003 word.xml, "
                    "a folder of ICDAR scene gt_*.txt, SVT's XML, or COCO-Text's or "
                    "TextOCR's JSON.")
flags.DEFINE_string("image_root", None, "convert: folder image paths are relative to "
                                        "(default: the label file's folder).")
flags.DEFINE_string("subset", None, "convert: the set to read of a label file that holds "
                    "several: COCO-Text's cocotext.v2.json holds train and val (empty: all).")
flags.DEFINE_string("label_encoding", DEFAULT_ENCODING,
                    "convert: the text encoding of the labels of tsv, jsonl, LMDB, MJSynth and "
                    "ICDAR's text files (gbk, latin-1, cp1252, shift_jis, ...); a byte-order "
                    "mark before UTF-8 is skipped. The XML and MATLAB formats carry their own.")
flags.DEFINE_bool("strict", False, "convert: exit non-zero on any rejected sample.")
flags.DEFINE_integer("max_image_height", DEFAULT_MAX_HEIGHT,
                     "convert: a larger image is stored shrunk, its aspect and character boxes "
                     "with it, until it is this high or four times this wide, whichever comes "
                     "last: training decodes every image each time it draws it, and the model "
                     "reads at most 64x256 pixels. 0: every image at its own size.",
                     lower_bound=0)
flags.DEFINE_bool("evaluation_set", False,
                  "convert: write an evaluation set: keep records whose text has characters "
                  f"outside --charset or more than {NUM_SLOTS} characters (evaluate scores "
                  "every record, against the normalised text); training sets reject them.")

flags.DEFINE_string("pseudo_boxes_from", "",
                    "convert: a model folder or pretrained:NAME that draws character boxes "
                    "for the word-only records of a training set (empty: none).")

# Reading TFRecords: inspect, train, evaluate, benchmark.
flags.DEFINE_string("data", None, "inspect/evaluate/benchmark: TFRecord glob(s), comma-separated.")
flags.DEFINE_bool("augment", None, "Training augmentation (default: on for train, off for "
                                   "inspect and benchmark).")
flags.DEFINE_integer("num_images", 16, "inspect: samples in the grid.", lower_bound=1)
flags.DEFINE_bool("keep_aspect", False, "Resize keeping the aspect ratio and pad (default: "
                                        "stretch to the input size, as the paper does).")

# Training.
flags.DEFINE_string("train_data", None, "train: TFRecord glob(s), comma-separated.")
flags.DEFINE_list("train_data_weights", ["equal"], "train: how records are drawn from the "
                  "--train_data globs: one weight per glob (the rates, e.g. 0.8,0.2) or a rule: "
                  "equal (each glob the same share, whatever its size), sqrt (in proportion to "
                  "the square root of its records) or records (in proportion to its records).")
flags.DEFINE_string("eval_data", None, "train: held-out TFRecords evaluated during training.")
flags.DEFINE_string("model_dir", None, "Checkpoints, summaries and the model spec; train "
                                       "resumes from it. evaluate/predict/export also take "
                                       "pretrained:NAME, a model shipped with the project.")

# The network: every field of textscanner.config.ModelConfig (its classes: --charset).
_MODEL = ModelConfig()
flags.DEFINE_string("backbone", _MODEL.backbone, "Backbone network: a module of "
                    "textscanner/backbones (small, resnet50, or one you add).")
# train's defaults are the recipe measured for the small backbone on a CPU (BUILD.md, "The
# training recipe"): 32x128 inputs, batches of 16 at 2e-3 with warm-up and clipping. The
# paper's configuration: --input_height=64 --input_width=256 --batch_size=32
# --learning_rate=1e-3 --warmup_steps=0 --clip_norm=0.
flags.DEFINE_integer("input_height", RECIPE_INPUT_HEIGHT, "train: model input height (a "
                     "multiple of 32; the paper's: 64); every output map is half of it.",
                     lower_bound=32)
flags.DEFINE_integer("input_width", RECIPE_INPUT_WIDTH, "train: model input width (a multiple "
                     "of 32; the paper's: 256).", lower_bound=32)
flags.DEFINE_integer("num_slots", _MODEL.num_slots, "train: character slots N, the longest "
                     "word the model reads.", lower_bound=1)
flags.DEFINE_integer("decoder_channels", 0, "train: width of the top-down decoder (0: the "
                     "backbone's own, recorded in the model spec).", lower_bound=0)
flags.DEFINE_integer("output_channels", 0, "train: width of the stride-2 map the heads read "
                     "(0: the backbone's own).", lower_bound=0)
flags.DEFINE_integer("head_channels", 0, "train: width of the class head; the localisation "
                     "head has half (0: the backbone's own).", lower_bound=0)
flags.DEFINE_list("order_channels", [], "train: widths of the order branch's three stride-2 "
                  "convolutions, e.g. 16,32,64 (empty: the backbone's own).")
flags.DEFINE_bool("bidirectional_gru", _MODEL.bidirectional_gru, "train: the order branch's "
                  "GRU reads the columns in both directions.")
flags.DEFINE_string("backbone_weights", None, "Local backbone weights file (e.g. Keras' "
                                              "ImageNet ResNet-50 notop .h5). Nothing is "
                                              "downloaded.")
flags.DEFINE_string("init_checkpoint", "auto", "train: the weights a new run starts from "
                    "(weights only; a run with a checkpoint resumes from it instead): a "
                    "checkpoint file or folder, pretrained:NAME, auto (the shipped model with "
                    "this run's network and charset, if there is one) or none (from scratch).")
flags.DEFINE_bool("average_with_start", True, "train: when a run that started from other "
                  "weights (--init_checkpoint) ends, also write a weighted mean of its weights "
                  "and those (--start_share) to MODEL_DIR/average_with_start, which evaluate, "
                  "predict and export then read (--noaverage_with_start: not written). "
                  "evaluate, predict, export: --noaverage_with_start reads such a run alone, "
                  "its newest checkpoint.")
flags.DEFINE_float("start_share", DEFAULT_START_SHARE, "train: the start's weight in the "
                   "mean written to MODEL_DIR/average_with_start (0.5: the plain mean; the "
                   "run's weight is the rest).", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("batch_size", 16, "Global batch size (split over replicas).", lower_bound=1)
flags.DEFINE_integer("train_steps", 50000, "Total training steps (fewer when "
                     "--max_train_minutes binds: the schedule is fitted to what it allows).",
                     lower_bound=1)
flags.DEFINE_float("max_train_minutes", 0.0, "Stop (and save) after this long; 0: no limit.",
                   lower_bound=0.0)
flags.DEFINE_integer("steps_per_loop", 50, "Steps per compiled call; also the log interval.",
                     lower_bound=1)
flags.DEFINE_integer("checkpoint_every", 500, "Steps between checkpoints.", lower_bound=1)
flags.DEFINE_integer("keep_checkpoints", 3, "Checkpoints kept.", lower_bound=1)
flags.DEFINE_integer("image_summary_every", 500, "Steps between image summaries.", lower_bound=0)
flags.DEFINE_integer("eval_every", 0, "Steps between evaluations (0: only at the end).",
                     lower_bound=0)
flags.DEFINE_integer("eval_batches", 0, "Batches per evaluation (0: the whole set).", lower_bound=0)
flags.DEFINE_float("learning_rate", 2e-3, "Peak learning rate (Adam).")
flags.DEFINE_enum("lr_schedule", "step", ["step", "cosine"],
                  "After the warm-up: step (decays at --lr_decay_fractions or --lr_decay_steps) "
                  "or cosine (down to 0 at the run's last step, which --max_train_minutes may "
                  "bring forward).")
flags.DEFINE_list("lr_decay_steps", [], "Steps at which the rate is multiplied by "
                                        "--lr_decay_factor (e.g. 1e-3 -> 1e-4 -> 1e-5); "
                                        "overrides --lr_decay_fractions.")
flags.DEFINE_list("lr_decay_fractions", ["0.7", "0.9"],
                  "Fractions of the run's steps at which the rate is multiplied by "
                  "--lr_decay_factor. With --max_train_minutes the run's steps are what the "
                  "budget allows (measured in the first steps), so the schedule finishes.")
flags.DEFINE_float("lr_decay_factor", 0.1, "Learning-rate decay factor.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("warmup_steps", 50, "Linear learning-rate warm-up steps.", lower_bound=0)
flags.DEFINE_float("clip_norm", 5.0, "Clip the global gradient norm (0: off).", lower_bound=0.0)
flags.DEFINE_float("weight_decay", 0.0, "Decoupled weight decay (AdamW); 0: Adam.", lower_bound=0.0)
flags.DEFINE_integer("max_nonfinite_steps", 20, "A step whose loss or gradient is not finite "
                     "is skipped on every replica and counted; this many in a row stop the run "
                     "(exit status 3) without saving, its last checkpoint intact (0: never).",
                     lower_bound=0)
flags.DEFINE_float("ema_decay", 0.0, "Keep an exponential moving average of the weights "
                   "with this decay (e.g. 0.995); evaluate, predict and export use it. 0: off.",
                   lower_bound=0.0, upper_bound=0.9999999)
flags.DEFINE_list("loss_weights", ["1", "1", "1", "1"],
                  "Weights of L_s, L_o, L_l[, L_m]. The paper's ResNet-50 recipe: 1,10,10; "
                  "the small model learns faster with 1,1,1.")
flags.DEFINE_bool("class_balance", True, "Class-balanced L_s (CA-FCN).")
flags.DEFINE_float("mutual_class_share", LossConfig.mutual_class_share,
                   "Word-only samples: L_m = L_h + share * L_g (L_g trains the class map from "
                   "the geometry; the paper's share is 0.2).", lower_bound=0.0)
flags.DEFINE_enum("mixed_precision", AUTO_PRECISION, [AUTO_PRECISION, *PRECISIONS],
                  "Compute precision. auto: bfloat16 on a machine without GPUs whose CPU "
                  "computes it natively (AVX-512 BF16, AMX), else none (float32).")
flags.DEFINE_enum("strategy", "default", list(STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_list("devices", [], "mirrored/one_device: explicit devices, e.g. /gpu:0,/gpu:1.")
flags.DEFINE_enum("cluster", "auto", list(CLUSTER_SOURCES), "multi_worker: where the workers "
                  "are listed: TF_CONFIG, or SLURM's environment inside srun (auto: "
                  "TF_CONFIG if set, else SLURM).")
flags.DEFINE_integer("slurm_port_base", 8888, "multi_worker under SLURM: task i of a node "
                     "listens on this port + i.", lower_bound=1, upper_bound=65535)
flags.DEFINE_enum("collective", "auto", list(COLLECTIVES), "multi_worker: all-reduce "
                  "implementation (nccl on GPUs, ring elsewhere; auto chooses).")
flags.DEFINE_float("cluster_start_timeout", 600.0, "multi_worker: seconds a worker waits for "
                   "all its peers at start-up before failing with their addresses.",
                   lower_bound=1.0)
flags.DEFINE_integer("cpu_devices", 0, "Split the CPU into N logical devices (to run "
                                       "--strategy=mirrored on a machine without GPUs).",
                     lower_bound=0)
flags.DEFINE_bool("jit_compile", False, "XLA-compile the train step.")
flags.DEFINE_bool("deterministic", False, "Deterministic input order and ops (slower); a "
                                         "resumed run then matches an uninterrupted one.")
flags.DEFINE_bool("sync_batch_norm", False, "Batch-norm statistics over the global batch "
                                            "across replicas (small per-GPU batches).")

# Decoding.
flags.DEFINE_float("min_slot_mass", 8.0, "Decoding: a slot ends the word below "
                                         "max(min_slot_mass, relative_slot_mass * largest).",
                   lower_bound=0.0)
flags.DEFINE_float("relative_slot_mass", 0.1, "Decoding: see --min_slot_mass.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("min_char_score", 0.3, "Decoding: L_score, the lowest character score read.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("max_slot_overlap", 0.9, "Decoding: a slot that shares more than this "
                                            "share of its order map with the previous slot "
                                            "ends the word (1: never).",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("reread_margin", 0.4, "Decoding: read the image again cut around the "
                   "characters found, with this margin x their height on each side, and keep "
                   "the more confident reading (0: read once).", lower_bound=0.0)

# Evaluate, predict, export.
flags.DEFINE_string("saved_model", None, "evaluate/predict: an exported SavedModel folder.")
flags.DEFINE_string("checkpoint", None, "evaluate/predict/export: a checkpoint (default: the "
                                        "newest in --model_dir).")
flags.DEFINE_string("metrics_json", None, "evaluate: write the metrics here.")
flags.DEFINE_string("predictions_tsv", None, "evaluate: write every record's reading here, "
                    "one row each: set, source, label, prediction, confidence, correct.")
flags.DEFINE_string("export_dir", None, "export: SavedModel output folder.")
flags.DEFINE_bool("weights_only", False, "export: a model folder instead (spec, charset and "
                  "the weights alone, no optimizer state): small, for sharing a model.")
flags.DEFINE_list("average_with", [], "export: model folders or pretrained:NAME (same network "
                  "and charset) whose weights are averaged with the model's before export, "
                  "e.g. a fine-tuned run and the model it started from.")

# Benchmark and demo.
flags.DEFINE_enum("what", "input", ["input", "train"], "benchmark: what to measure.")
flags.DEFINE_integer("steps", 50, "benchmark: measured steps.", lower_bound=1)
flags.DEFINE_string("benchmark_mode", None, "benchmark --what=train: internal, one mode per "
                                            "process (compiled, eager, constant_batch).")
flags.DEFINE_string("workdir", "demo_workdir", "demo: working folder.")
flags.DEFINE_float("demo_minutes", 7.5, "demo: training time budget in minutes; the steps are "
                   "fitted to it from the throughput of the first steps.", lower_bound=0.1)
flags.DEFINE_float("demo_max_tflops", 38.0, "demo: training compute cap in TFLOP (sets the "
                   "steps on CPUs fast enough to do more within the time budget).",
                   lower_bound=0.01)
flags.DEFINE_integer("demo_train_samples", 12000, "demo: synthetic training words.", lower_bound=1)
flags.DEFINE_integer("demo_train_steps", 0, "demo: at most this many steps (0: what "
                     "--demo_max_tflops allows).", lower_bound=0)

checks.register()
