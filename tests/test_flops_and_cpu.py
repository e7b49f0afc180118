"""Counting compute from the graph, and reading the CPU before TensorFlow loads."""

import keras
import tensorflow as tf

from loops import cpu
from loops.flops import TRAIN_OVER_FORWARD, forward_flops, function_flops, \
    train_flops_per_image
from textscanner.config import ModelConfig


def test_a_convolution_counts_two_operations_per_multiply_add():
    conv = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)
    dense = keras.layers.Dense(5, use_bias=False)
    spec = tf.TensorSpec([1, 10, 12, 4], tf.float32)
    got = function_flops(lambda x: dense(tf.reshape(conv(x), [1, -1])), spec)
    conv_macs = 10 * 12 * 3 * 3 * 4 * 8
    dense_macs = 10 * 12 * 8 * 5
    assert got == 2 * (conv_macs + dense_macs)


def test_model_compute_scales_with_the_input_pixels():
    big = forward_flops(ModelConfig(num_classes=37))
    small = forward_flops(ModelConfig(num_classes=37, input_height=32, input_width=128))
    # Every layer is convolutional except the GRU along the width, so a quarter of the
    # pixels is about a quarter of the compute.
    assert 0.24 < small / big < 0.27
    assert train_flops_per_image(ModelConfig(num_classes=37, input_height=32,
                                             input_width=128)) == TRAIN_OVER_FORWARD * small


def test_onednn_is_asked_for_on_avx2_unless_the_user_chose(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse2 avx avx2 fma\n\nprocessor : 1\n")
    flags = cpu.cpu_flags(str(cpuinfo))
    assert "avx2" in flags and not cpu.has_native_bfloat16(flags)
    environ = {}
    assert cpu.enable_onednn(flags, environ) and environ == {cpu.ONEDNN_VARIABLE: "1"}
    chosen = {cpu.ONEDNN_VARIABLE: "0"}
    assert not cpu.enable_onednn(flags, chosen) and chosen[cpu.ONEDNN_VARIABLE] == "0"
    older = {}
    assert not cpu.enable_onednn({"sse2", "avx"}, older) and not older
    assert cpu.has_native_bfloat16({"avx512f", "avx512_bf16"})
    assert cpu.cpu_flags(str(tmp_path / "missing")) == set()


def test_hidden_cpu_flags_make_a_bfloat16_cpu_look_like_an_avx2_one(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags : sse2 avx2 fma avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert cpu.has_native_bfloat16(cpu.cpu_flags(str(cpuinfo), environ={}))
    hidden = cpu.cpu_flags(str(cpuinfo), environ={cpu.HIDE_VARIABLE: "avx512, amx"})
    assert hidden == {"sse2", "avx2", "fma"} and not cpu.has_native_bfloat16(hidden)
    assert cpu.cpu_flags(str(cpuinfo), environ={cpu.HIDE_VARIABLE: ","}) == \
        cpu.cpu_flags(str(cpuinfo), environ={})


def test_auto_precision_is_bfloat16_only_on_a_cpu_only_machine_that_has_it():
    from loops.options import resolve_precision
    assert resolve_precision("auto", has_gpu=False, cpu_native_bfloat16=True) == "bfloat16"
    assert resolve_precision("auto", has_gpu=False, cpu_native_bfloat16=False) == "none"
    assert resolve_precision("auto", has_gpu=True, cpu_native_bfloat16=True) == "none"
    for chosen in ("none", "float16", "bfloat16"):
        assert resolve_precision(chosen, has_gpu=False, cpu_native_bfloat16=True) == chosen
