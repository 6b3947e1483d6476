"""The precision a run trains in: `auto` resolves to bfloat16 mixed precision where it is faster, else float32.

A CPU computes bfloat16 natively only with AVX-512 BF16 or AMX (`grep -m1 flags /proc/cpuinfo`);
without them PyTorch emulates it, slower than float32. Having the instructions is not enough
either: on some virtual machines oneDNN's bfloat16 convolutions run at half float32's speed
(docs/performance.md). So on a CPU that reports them, `auto` also times a small dense 3x3
convolution (forward and backward) both ways, once per machine (the answer is cached), and takes
bfloat16 only when it is clearly faster. On a GPU: bf16-mixed where the card supports it.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterable

from motion_transfer.runtime.machine import cpuinfo_field, measured_once

#: The CPU flags of native bfloat16 arithmetic, the fastest first.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
#: bfloat16 convolutions must beat float32's by this factor in the probe to be chosen (measurement noise).
MIN_BF16_SPEEDUP = 1.15
#: Lightning's precision names this module resolves `auto` to.
BF16, FLOAT32 = "bf16-mixed", "32"
PROBE_CACHE = "precision_probe.json"


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The first CPU's flags in /proc/cpuinfo (or in the text `cpuinfo`); empty where there is none."""
    return set(cpuinfo_field("flags", cpuinfo).split())


def native_bf16_flag(flags: Iterable[str]) -> str | None:
    """The flag that says the CPU computes bfloat16 natively (amx_bf16, avx512_bf16), or None."""
    flags = set(flags)
    return next((flag for flag in BF16_FLAGS if flag in flags), None)


def probe_bf16_speedup(repeats: int = 5) -> float:
    """float32 time / bfloat16-autocast time of a dense 3x3 convolution (64 channels, 32x32, batch
    16, channels-last) forward and backward: the median over `repeats` alternating pairs."""
    import torch

    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(16, 64, 32, 32).contiguous(memory_format=torch.channels_last)

    def step(bf16: bool) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            y = conv(x)
        y.float().sum().backward()
        return time.perf_counter() - start

    step(False), step(True)  # oneDNN builds its kernels on the first call
    ratios = []
    for i in range(repeats):
        order = (False, True) if i % 2 == 0 else (True, False)
        seconds = {bf16: step(bf16) for bf16 in order}
        ratios.append(seconds[False] / seconds[True])
    return statistics.median(ratios)


def resolve_precision(
    requested,
    accelerator: str = "cpu",
    *,
    flags: Iterable[str] | None = None,
    probe: Callable[[], float] = probe_bf16_speedup,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[str, str]:
    """Lightning's `precision` for `requested` (`auto`, or a value kept as given) and why, e.g.
    ("bf16-mixed", "the CPU has avx512_bf16, and its bfloat16 convolutions ran 1.8x float32's").
    `flags` default to this CPU's; `probe` gives bfloat16's speed-up over float32 (cached in `cache_dir`)."""
    if str(requested) != "auto":
        return str(requested), "as asked"
    import torch

    if str(accelerator) in ("gpu", "cuda") or (str(accelerator) == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            return FLOAT32, "no CUDA GPU is visible"
        name = torch.cuda.get_device_name()
        if torch.cuda.is_bf16_supported():
            return BF16, f"the GPU ({name}) supports bfloat16"
        return FLOAT32, f"the GPU ({name}) lacks bfloat16"
    if str(accelerator) not in ("cpu", "auto"):
        return FLOAT32, f"accelerator={accelerator} is trained in float32"
    flag = native_bf16_flag(cpu_flags() if flags is None else flags)
    if flag is None:
        return FLOAT32, f"the CPU has neither {' nor '.join(BF16_FLAGS)}: bfloat16 would be emulated"
    speedup = float(measured_once(cache_dir, PROBE_CACHE, flag, probe))
    measured = f"its bfloat16 convolutions ran at {speedup:.2f}x float32's speed"
    if speedup >= MIN_BF16_SPEEDUP:
        return BF16, f"the CPU has {flag}, and {measured}"
    return FLOAT32, f"the CPU has {flag}, but {measured}; trainer.precision=bf16-mixed forces it"
