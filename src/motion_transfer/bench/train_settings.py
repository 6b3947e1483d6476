"""Training settings timed side by side in one run: each model's plain training step (its losses,
both of a GAN's optimizer steps) in float32 NCHW with a per-tensor Adam (the baseline), then
channels-last, then with the fused Adam, then under bfloat16 autocast; with the FLOPs of a step and
its throughput as a share of a dense 3x3 convolution's, measured in the same layout and precision."""

from __future__ import annotations

import torch

from motion_transfer.bench.generation import untrained_model
from motion_transfer.bench.measure import rotated, timed
from motion_transfer.bench.training import training_step

#: name: (channels-last, fused Adam, bfloat16 autocast); the first is the baseline.
SETTINGS = {
    "float32 NCHW": (False, False, False),
    "float32 channels-last": (True, False, False),
    "float32 channels-last, fused Adam": (True, True, False),
    "bf16 channels-last, fused Adam": (True, True, True),
}
#: The reference convolution: 3x3, 128 channels in and out, on 32x32 maps.
CONV_CHANNELS, CONV_SIDE = 128, 32


def _optimizers(model, fused: bool) -> list[torch.optim.Optimizer]:
    """The model's own optimizers, or the same Adams with the per-tensor (foreach) update."""
    optimizers = model.configure_optimizers()
    optimizers = list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers]
    if fused:
        return optimizers
    return [torch.optim.Adam(o.param_groups[0]["params"], **_adam_options(o)) for o in optimizers]


def _adam_options(optimizer) -> dict:
    group = optimizer.param_groups[0]
    return {"lr": group["lr"], "betas": group["betas"], "foreach": True}


def step_flops(model, batch: dict, optimizers: list) -> int:
    """FLOPs of one training step (forward and backward; PyTorch's FlopCounterMode counts matrix
    products and convolutions), the step taken."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        training_step(model, batch, optimizers)
    return int(counter.get_total_flops())


def conv_throughput(batch_size: int, channels_last: bool, bf16: bool, repeats: int, device: str) -> float:
    """FLOP/s of a dense 3x3 convolution's forward and backward passes (CONV_CHANNELS on CONV_SIDE^2
    maps, `batch_size` of them) in the given layout and precision."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    conv = torch.nn.Conv2d(CONV_CHANNELS, CONV_CHANNELS, 3, padding=1, bias=False).to(device, memory_format=fmt)
    x = torch.randn(batch_size, CONV_CHANNELS, CONV_SIDE, CONV_SIDE, device=device).contiguous(memory_format=fmt)
    x.requires_grad_(True)

    def step():
        with torch.autocast(torch.device(device).type, torch.bfloat16, enabled=bf16):
            y = conv(x)
        y.float().sum().backward()

    # Forward, then the input's and the weights' gradients: three products of the same size.
    flops = 3 * 2 * batch_size * CONV_CHANNELS * CONV_CHANNELS * 9 * CONV_SIDE * CONV_SIDE
    return flops / timed(step, repeats, device=device)


def bench_training_settings(datamodule, models: list[str], steps: int, repeats: int, device: str = "cpu") -> dict:
    """Per model (`NAME@SIZE/bBATCH`): the FLOPs of a step and, per setting, `steps` steps' median
    seconds, their ratio against float32 NCHW (timed in rotation), images a second, GFLOP/s and
    the share of the reference convolution's FLOP/s in that setting."""
    batch = {k: v.to(device) for k, v in next(iter(datamodule.train_dataloader())).items()}
    size, n = datamodule.image_size, len(batch["image"])
    conv = {name: conv_throughput(n, cl, bf16, max(1, repeats), device) for name, (cl, _, bf16) in SETTINGS.items()}
    out = {"steps": steps, "conv_gflops_per_s": {name: flops / 1e9 for name, flops in conv.items()}, "models": {}}
    for name in models:
        runs, flops = {}, None
        for setting, (channels_last, fused, bf16) in SETTINGS.items():
            torch.manual_seed(0)
            model = untrained_model(name, size, device, training=True).set_channels_last(channels_last)
            optimizers = _optimizers(model, fused)
            if flops is None:
                flops = step_flops(model, batch, optimizers)
            runs[setting] = (model, optimizers, bf16)

        def run(setting):
            model, optimizers, bf16 = runs[setting]
            return lambda: [training_step(model, batch, optimizers, bf16) for _ in range(steps)]

        times = rotated({setting: run(setting) for setting in SETTINGS}, max(1, repeats), device=device)
        for setting, figures in times.items():
            per_step = figures["seconds"] / steps
            figures.update(
                images_per_s=n / per_step,
                gflops_per_s=flops / per_step / 1e9,
                conv_share=flops / per_step / conv[setting],
            )
        out["models"][f"{name}@{size}/b{n}"] = {"gflop_per_step": flops / 1e9, "settings": times}
    return out


def settings_lines(section: dict) -> list[str]:
    """The printed table's lines of the section."""
    lines = [
        "training settings, plain step against float32 NCHW (ratio, pairs range; share of a dense 3x3 "
        "convolution's FLOP/s in the same setting: "
        + ", ".join(f"{k} {v:.0f}" for k, v in section["conv_gflops_per_s"].items())
        + " GFLOP/s):"
    ]
    for key, model in section["models"].items():
        lines.append(f"  {key}, {model['gflop_per_step']:.1f} GFLOP a step:")
        for setting, f in model["settings"].items():
            low, high = f["ratio_range"]
            ms = 1e3 * f["seconds"] / section["steps"]
            lines.append(
                f"    {setting:34s} {ms:7.0f} ms a step {f['ratio']:5.2f}x ({low:.2f}-{high:.2f}), "
                f"{f['images_per_s']:6.1f} images/s, {f['gflops_per_s']:5.1f} GFLOP/s = "
                f"{f['conv_share']:.2f} of the conv"
            )
    return lines
