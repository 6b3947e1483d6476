"""The training precision resolved from the CPU's flags (and a probe), channels-last networks that draw
what NCHW ones draw, and bfloat16 training whose checkpoints load and draw in float32."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from motion_transfer.models.networks import define_D, define_G
from motion_transfer.pose.skeleton import NEUTRAL_POSE
from motion_transfer.runtime.machine import measured_once
from motion_transfer.runtime.precision import PROBE_CACHE, cpu_flags, native_bf16_flag, resolve_precision

#: A few poses near the neutral one, in crop coordinates.
POSES = (NEUTRAL_POSE[None] + np.random.default_rng(0).normal(0, 0.02, (3, *NEUTRAL_POSE.shape))).astype(np.float32)
CPUINFO = "processor\t: 0\nmodel name\t: A CPU\nflags\t\t: fpu sse2 avx2 avx512f {extra}\n\nprocessor\t: 1\n"


def fake_probe(speedup: float):
    calls = []

    def probe() -> float:
        calls.append(1)
        return speedup

    probe.calls = calls
    return probe


def test_cpu_flags_are_read_from_the_first_cpu():
    flags = cpu_flags(CPUINFO.format(extra="avx512_bf16"))
    assert {"avx2", "avx512f", "avx512_bf16"} <= flags and "amx_bf16" not in flags
    assert native_bf16_flag(flags) == "avx512_bf16"
    assert native_bf16_flag(cpu_flags(CPUINFO.format(extra="amx_bf16 avx512_bf16"))) == "amx_bf16"
    assert native_bf16_flag(cpu_flags(CPUINFO.format(extra=""))) is None
    assert cpu_flags("no flags here") == set()


@pytest.mark.parametrize(
    "extra, speedup, expected, words",
    [
        ("", 3.0, "32", ["neither", "emulated"]),  # no native bfloat16: not even probed
        ("avx512_bf16", 1.8, "bf16-mixed", ["avx512_bf16", "1.80x"]),
        ("amx_bf16", 2.5, "bf16-mixed", ["amx_bf16"]),
        ("avx512_bf16", 0.6, "32", ["avx512_bf16", "0.60x", "trainer.precision=bf16-mixed"]),
    ],
)
def test_auto_resolves_by_the_cpu_flags_and_the_probe(extra, speedup, expected, words):
    probe = fake_probe(speedup)
    flags = cpu_flags(CPUINFO.format(extra=extra))
    precision, why = resolve_precision("auto", "cpu", flags=flags, probe=probe)
    assert precision == expected and all(w in why for w in words), why
    assert len(probe.calls) == (1 if extra else 0)


def test_an_explicit_precision_is_kept_and_a_missing_gpu_falls_back_to_float32():
    probe = fake_probe(5.0)
    assert resolve_precision(32, "cpu", flags={"avx512_bf16"}, probe=probe) == ("32", "as asked")
    assert resolve_precision("bf16-mixed", "cpu", flags=set(), probe=probe)[0] == "bf16-mixed"
    assert not probe.calls
    if not torch.cuda.is_available():
        assert resolve_precision("auto", "gpu", probe=probe) == ("32", "no CUDA GPU is visible")


def test_the_probe_runs_once_per_machine_and_is_cached(tmp_path):
    probe = fake_probe(1.7)
    assert measured_once(tmp_path, PROBE_CACHE, "avx512_bf16", probe) == 1.7
    assert measured_once(tmp_path, PROBE_CACHE, "avx512_bf16", probe) == 1.7
    assert len(probe.calls) == 1 and (tmp_path / PROBE_CACHE).is_file()
    # Another process reads the file: a new probe is not called.
    other = fake_probe(0.5)
    assert resolve_precision("auto", "cpu", flags={"avx512_bf16"}, probe=other, cache_dir=tmp_path)[0] == "bf16-mixed"
    assert not other.calls


GENERATORS = [("unet", "resize"), ("unet", "transpose"), ("resnet", "resize"), ("conv", "transpose"), ("mlp", "resize")]


@pytest.mark.parametrize("kind, upsample", GENERATORS)
def test_generators_draw_the_same_channels_last(kind, upsample):
    torch.manual_seed(0)
    net = define_G(kind, 32, 8, "batch", upsample, False, True, 4).eval()
    x = torch.rand(3, 29) * 2 - 1 if kind in ("conv", "mlp") else torch.rand(3, 6, 32, 32) * 2 - 1
    with torch.no_grad():
        nchw = net(x)
        net.to(memory_format=torch.channels_last)
        nhwc = net(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x)
    if kind != "mlp":
        assert nhwc.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(nhwc, nchw, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kind, scales", [("patch", 1), ("patch", 2), ("dcgan", 1)])
def test_discriminators_judge_the_same_channels_last(kind, scales):
    torch.manual_seed(0)
    net = define_D(kind, 6, 64, 8, 3, "batch", scales).train()  # batch statistics: both see the same batch
    x = torch.rand(4, 6, 64, 64) * 2 - 1
    nchw = net.features(x)
    net.to(memory_format=torch.channels_last)
    nhwc = net.features(x.contiguous(memory_format=torch.channels_last))
    for a, b in zip(nchw, nhwc):
        for fa, fb in zip(a, b):
            torch.testing.assert_close(fb, fa, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("model", ["vanilla_image", "gan"])
def test_models_are_channels_last_and_draw_as_in_nchw(model, small):
    import hydra

    torch.manual_seed(0)
    net = hydra.utils.instantiate(small.compose("train", model=model).model).eval()
    conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert net.channels_last and conv.weight.is_contiguous(memory_format=torch.channels_last)
    cl = net.generate_from_skeletons(POSES)
    nchw = net.set_channels_last(False).generate_from_skeletons(POSES)
    assert conv.weight.is_contiguous()
    torch.testing.assert_close(cl, nchw, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vanilla_image", "gan"])
def test_bf16_training_writes_a_float32_checkpoint_that_draws(model, small, caplog):
    from motion_transfer.models.checkpoints import load_generator
    from motion_transfer.training import run_training

    extra = ["trainer.precision=bf16-mixed", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1"]
    extra += ["model.warmup=0"] if model == "gan" else []  # the adversarial step, manual backward under autocast
    with caplog.at_level(logging.INFO, logger="motion_transfer"):
        best = run_training(small.compose("train", *extra, model=model))
    assert "precision: bf16-mixed (as asked)" in caplog.text
    assert "outside the training steps" in caplog.text
    loaded, ckpt = load_generator(best, model, 32)
    assert all(t.dtype == torch.float32 for t in ckpt["state_dict"].values() if t.is_floating_point())
    rgb, alpha = loaded.layers_from_skeletons(POSES)
    assert rgb.dtype == alpha.dtype == torch.float32 and torch.isfinite(rgb).all() and rgb.abs().max() <= 1


def test_auto_is_logged_with_its_reason(small, caplog):
    from motion_transfer.training import run_training

    with caplog.at_level(logging.INFO, logger="motion_transfer"):
        run_training(small.compose("train", "+trainer.fast_dev_run=true", model="vanilla"))
    line = next(line for line in caplog.text.splitlines() if "precision: " in line)
    assert "precision: bf16-mixed (the CPU has" in line or "precision: 32 (the CPU has" in line, line
