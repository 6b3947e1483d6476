"""The networks: shapes at 64/128/256 px, the lab's exact architectures, skips, primitives-only
constructors, init, gradients, export."""

from __future__ import annotations

import inspect
import io
import json
import warnings

import pytest
import torch
from torch import nn

from motion_transfer.models.networks import (
    INIT_TYPES,
    NORMS,
    UPSAMPLES,
    ConvDecoderGenerator,
    DCGANDiscriminator,
    MLPGenerator,
    MultiscaleDiscriminator,
    PatchDiscriminator,
    ResidualBlock,
    ResnetGenerator,
    UNetGenerator,
    define_D,
    define_G,
    get_norm_layer,
    get_upsample_layer,
    init_weights,
)

SIZES = (64, 128, 256)
NETWORKS = (
    MLPGenerator,
    ConvDecoderGenerator,
    UNetGenerator,
    ResnetGenerator,
    PatchDiscriminator,
    MultiscaleDiscriminator,
    DCGANDiscriminator,
)
BATCH = 2


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These networks are tiny: one thread is faster than several competing with other jobs
    (OpenMP threads spin while they wait). Restored for the other test modules."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_kwargs(cls: type[nn.Module], image_size: int = 64) -> dict:
    """Narrow versions of each network (base_filters=8, the MLP at 32 px) so the tests stay fast."""
    return {
        MLPGenerator: {"in_features": 26, "image_size": 32},  # 3 M parameters rather than 13 M at 64 px
        ConvDecoderGenerator: {
            "in_features": 26,
            "image_size": image_size,
            "base_filters": 8,
            "norm": "batch",
            "upsample": "transpose",
        },
        UNetGenerator: {
            "in_channels": 3,
            "out_channels": 3,
            "image_size": image_size,
            "base_filters": 8,
            "norm": "batch",
            "dropout": False,
            "upsample": "transpose",
        },
        ResnetGenerator: {
            "in_channels": 3,
            "out_channels": 4,
            "base_filters": 8,
            "n_downsampling": 3,
            "n_blocks": 2,
            "norm": "batch",
            "upsample": "transpose",
        },
        PatchDiscriminator: {"in_channels": 6, "base_filters": 8, "n_layers": 3, "norm": "batch"},
        MultiscaleDiscriminator: {
            "in_channels": 6,
            "base_filters": 8,
            "n_layers": 3,
            "norm": "batch",
            "scales": 2,
            "image_size": image_size,
        },
        DCGANDiscriminator: {
            "in_channels": 3,
            "image_size": image_size,
            "base_filters": 8,
            "norm": "batch",
            "sigmoid": True,
        },
    }[cls]


def example_input(cls: type[nn.Module], kwargs: dict, image_size: int = 64) -> torch.Tensor:
    if cls in (MLPGenerator, ConvDecoderGenerator):
        return torch.randn(BATCH, kwargs["in_features"])
    return torch.rand(BATCH, kwargs["in_channels"], image_size, image_size) * 2 - 1


# ---- shapes and ranges ---------------------------------------------------------------------


@pytest.mark.parametrize("image_size", SIZES)
def test_mlp_generator_shape(image_size):
    if image_size > 128:
        # 200 M parameters at 256 px: build it on the meta device (no memory) and read its layers
        # (a meta forward would first import PyTorch's meta kernels, seconds on a small CPU).
        with torch.device("meta"):
            net = MLPGenerator(26, image_size)
        assert net.model[-3].out_features == 3 * image_size**2
        assert tuple(net.model[-1].unflattened_size) == (3, image_size, image_size)
        return
    y = MLPGenerator(26, image_size)(torch.randn(BATCH, 26))
    assert y.shape == (BATCH, 3, image_size, image_size)


def test_mlp_generator_range():
    y = MLPGenerator()(torch.randn(BATCH, 26) * 10)
    assert y.min() >= -1 and y.max() <= 1


@pytest.mark.parametrize("image_size", SIZES)
def test_conv_decoder_makes_images_in_range(image_size):
    net = ConvDecoderGenerator(26, image_size, base_filters=4)
    y = net(torch.randn(BATCH, 26))
    assert y.shape == (BATCH, 3, image_size, image_size)
    assert y.min() >= -1 and y.max() <= 1
    widths = [m.out_channels for m in net.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert widths[0] == 4 * 8 and widths[-2:] == [4, 3]  # 4x4 map at base*8, base before the image


@pytest.mark.parametrize("image_size", SIZES)
def test_unet_maps_image_to_image_in_range(image_size):
    net = UNetGenerator(3, 3, image_size, base_filters=4, dropout=True)
    y = net(torch.rand(BATCH, 3, image_size, image_size) * 2 - 1)
    assert y.shape == (BATCH, 3, image_size, image_size)
    assert y.min() >= -1 and y.max() <= 1


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("upsample", UPSAMPLES)
def test_generators_with_each_norm_and_upsample(norm, upsample):
    unet = UNetGenerator(3, 3, 64, base_filters=4, norm=norm, upsample=upsample)
    decoder = ConvDecoderGenerator(26, 64, base_filters=4, norm=norm, upsample=upsample)
    for y in (unet(torch.rand(BATCH, 3, 64, 64) * 2 - 1), decoder(torch.randn(BATCH, 26))):
        assert y.shape == (BATCH, 3, 64, 64)
        assert y.min() >= -1 and y.max() <= 1
    if upsample != "transpose":
        assert not any(isinstance(m, nn.ConvTranspose2d) for m in unet.modules())


def test_unet_other_channel_counts():
    net = UNetGenerator(in_channels=5, out_channels=1, image_size=64, base_filters=4)
    assert net(torch.randn(BATCH, 5, 64, 64)).shape == (BATCH, 1, 64, 64)


@pytest.mark.parametrize("image_size", SIZES)
def test_patch_discriminator_returns_a_map_of_logits(image_size):
    net = init_weights(PatchDiscriminator(6, base_filters=4, n_layers=3))
    y = net(torch.randn(BATCH, 6, image_size, image_size) * 3)
    # 70x70 PatchGAN: S/8 - 2 patches a side (6x6 at 64 px, 30x30 at 256 px): many logits per image.
    side = image_size // 8 - 2
    assert y.shape == (BATCH, 1, side, side)
    assert y[0].numel() > 1
    assert (y < 0).any() or (y > 1).any()  # logits, not probabilities


@pytest.mark.parametrize(
    "image_size, norm", [(64, "batch"), (64, "instance"), (64, "none"), (128, "batch"), (256, "batch")]
)
def test_dcgan_discriminator_gives_one_probability_per_image(image_size, norm):
    x = torch.randn(BATCH, 3, image_size, image_size)
    probs = DCGANDiscriminator(3, image_size, base_filters=4, norm=norm)(x)
    assert probs.shape == (BATCH, 1)
    assert probs.min() >= 0 and probs.max() <= 1
    logits_net = DCGANDiscriminator(3, image_size, base_filters=4, norm=norm, sigmoid=False)
    assert not any(isinstance(m, nn.Sigmoid) for m in logits_net.modules())
    assert logits_net(x).shape == (BATCH, 1)


@pytest.mark.parametrize("image_size", SIZES)
def test_dcgan_discriminator_map_is_4x4_before_the_last_conv(image_size):
    net = DCGANDiscriminator(3, image_size, base_filters=8)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == (image_size.bit_length() - 1) - 2 + 1  # log2(S) - 2 halvings, then the 4x4 valid conv
    assert [c.out_channels for c in convs[-2:]] == [64, 1]  # capped at base_filters * 8


# ---- the lab's architectures, exactly --------------------------------------------------------


def test_mlp_generator_is_the_labs_network():
    net = MLPGenerator()
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(26, 256), (256, 512), (512, 1024), (1024, 12288)]
    activations = [type(m) for m in net.model if not isinstance(m, (nn.Linear, nn.Unflatten))]
    assert activations == [nn.ReLU, nn.ReLU, nn.ReLU, nn.Tanh]
    expected = 26 * 256 + 256 + 256 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 12288 + 12288
    assert sum(p.numel() for p in net.parameters()) == expected == 13_259_008


def test_dcgan_discriminator_at_64_is_the_labs_network():
    net = DCGANDiscriminator()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.in_channels for c in convs] + [convs[-1].out_channels] == [3, 64, 128, 256, 512, 1]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert [c.stride[0] for c in convs] == [2, 2, 2, 2, 1]
    assert [c.padding[0] for c in convs] == [1, 1, 1, 1, 0]
    # BatchNorm on 128, 256, 512 (not after the first conv), LeakyReLU 0.2, Flatten, Sigmoid.
    assert [m.num_features for m in net.modules() if isinstance(m, nn.BatchNorm2d)] == [128, 256, 512]
    assert all(m.negative_slope == 0.2 for m in net.modules() if isinstance(m, nn.LeakyReLU))
    assert [type(m) for m in net.model[-2:]] == [nn.Flatten, nn.Sigmoid]
    assert net(torch.randn(BATCH, 3, 64, 64)).shape == (BATCH, 1)


def test_patch_discriminator_is_pix2pix_70x70():
    net = PatchDiscriminator()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (6, 64, 2),
        (64, 128, 2),
        (128, 256, 2),
        (256, 512, 1),
        (512, 1, 1),
    ]
    assert isinstance(net.model[-1], nn.Conv2d)  # no sigmoid


@pytest.mark.parametrize("image_size, downs", [(64, 6), (128, 7), (256, 8)])
def test_unet_goes_down_to_a_1x1_bottleneck(image_size, downs):
    net = UNetGenerator(image_size=image_size, base_filters=8)
    down = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(down) == downs
    assert [c.out_channels for c in down] == [8, 16, 32, 64] + [64] * (downs - 4)
    shapes = []
    hook = down[-1].register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    net(torch.randn(BATCH, 3, image_size, image_size))
    hook.remove()
    assert shapes == [(BATCH, 64, 1, 1)]


def test_unet_innermost_level_has_no_norm_on_its_way_down():
    net = UNetGenerator(image_size=64, base_filters=8, norm="batch")
    block = net.model
    while any(isinstance(m, type(block)) for m in block.model):  # walk down to the innermost
        block = next(m for m in block.model if isinstance(m, type(block)))
    layers = [type(m) for m in block.model]
    assert layers[:3] == [nn.LeakyReLU, nn.Conv2d, nn.ReLU]
    # ... so it trains with a batch of one, where batch norm over 1x1 would fail.
    net.train()
    assert net(torch.randn(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_bias_only_where_no_batch_norm_follows():
    convs = [
        m
        for m in UNetGenerator(base_filters=8, norm="batch").modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    assert [c.bias is not None for c in convs].count(True) == 1  # the last, into Tanh
    assert all(
        c.bias is not None
        for c in UNetGenerator(base_filters=8, norm="instance").modules()
        if isinstance(c, (nn.Conv2d, nn.ConvTranspose2d))
    )


# ---- the U-Net's skips ---------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_unet_skips_keep_changes_local(norm):
    """Through a 1x1 bottleneck alone every output pixel would depend on the whole image; with the
    skips a change in the top-left 8x8 corner changes the output mostly near that corner."""
    net = init_weights(UNetGenerator(image_size=64, base_filters=8, norm=norm)).eval()
    x = torch.rand(BATCH, 3, 64, 64) * 2 - 1
    x_changed = x.clone()
    x_changed[..., :8, :8] = -x_changed[..., :8, :8]
    with torch.no_grad():
        diff = (net(x_changed) - net(x)).abs()
    near, far = diff[..., :16, :16].mean(), diff[..., 16:, 16:].mean()
    assert near > 0
    assert near > 100 * far


def test_unet_output_pixel_depends_on_the_same_input_pixel():
    net = init_weights(UNetGenerator(image_size=64, base_filters=8)).eval()
    x = (torch.rand(1, 3, 64, 64) * 2 - 1).requires_grad_(True)
    net(x)[0, :, 0, 0].sum().backward()
    saliency = x.grad.abs().sum(dim=1)[0]
    assert saliency[0, 0] > 0
    assert saliency[:8, :8].sum() > 0.9 * saliency.sum()


# ---- names, primitives, init ---------------------------------------------------------------


@pytest.mark.parametrize("cls", [ConvDecoderGenerator, UNetGenerator, PatchDiscriminator, DCGANDiscriminator])
def test_bad_norm_name_raises(cls):
    with pytest.raises(ValueError, match="norm='group'.*batch, instance, none"):
        cls(**{**small_kwargs(cls), "norm": "group"})


@pytest.mark.parametrize("cls", [ConvDecoderGenerator, UNetGenerator])
def test_bad_upsample_name_raises(cls):
    with pytest.raises(ValueError, match="upsample='bicubic'.*transpose, resize, bilinear"):
        cls(**{**small_kwargs(cls), "upsample": "bicubic"})


@pytest.mark.parametrize("cls", [ConvDecoderGenerator, UNetGenerator, DCGANDiscriminator])
@pytest.mark.parametrize("image_size", [16, 48, 100])
def test_image_size_must_be_a_power_of_two_of_at_least_32(cls, image_size):
    with pytest.raises(ValueError, match="power of two"):
        cls(**small_kwargs(cls, image_size))


def test_factories_by_name():
    assert isinstance(get_norm_layer("batch")(4), nn.BatchNorm2d) and get_norm_layer("batch")(4).affine
    instance = get_norm_layer("instance")(4)
    assert isinstance(instance, nn.InstanceNorm2d) and not instance.affine
    assert isinstance(get_norm_layer("none")(4), nn.Identity)
    for name in UPSAMPLES:
        assert get_upsample_layer(name)(4, 2, True)(torch.randn(1, 4, 5, 5)).shape == (1, 2, 10, 10)
    with pytest.raises(ValueError, match="layer"):
        get_norm_layer("layer")
    with pytest.raises(ValueError, match="pixelshuffle"):
        get_upsample_layer("pixelshuffle")


@pytest.mark.parametrize("cls", NETWORKS)
def test_constructors_take_only_primitives(cls):
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        assert param.annotation in ("int", "float", "str", "bool"), (name, param.annotation)
        assert type(param.default).__name__ == param.annotation, (name, param.default)


@pytest.mark.parametrize("cls", NETWORKS)
def test_rebuilds_from_json_and_weights_only_checkpoint(cls):
    kwargs = json.loads(json.dumps(small_kwargs(cls)))
    net = init_weights(cls(**kwargs)).eval()
    buffer = io.BytesIO()
    torch.save({"hyper_parameters": kwargs, "state_dict": net.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    rebuilt = cls(**checkpoint["hyper_parameters"]).eval()
    rebuilt.load_state_dict(checkpoint["state_dict"])
    x = example_input(cls, kwargs)
    torch.testing.assert_close(rebuilt(x), net(x))


@pytest.mark.parametrize("init_type", INIT_TYPES)
def test_init_weights(init_type):
    net = UNetGenerator(base_filters=8, norm="batch")
    assert init_weights(net, init_type, 0.02) is net
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    weights = torch.cat([m.weight.detach() for m in norms])
    assert abs(weights.mean() - 1) < 0.01 and weights.std() < 0.05
    assert all((m.bias == 0).all() for m in net.modules() if getattr(m, "bias", None) is not None)
    if init_type == "normal":
        conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d) and m.in_channels == 32)
        assert conv.weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_init_weights_unknown_type():
    with pytest.raises(ValueError, match="uniform"):
        init_weights(nn.Linear(2, 2), "uniform")


# ---- training and export -------------------------------------------------------------------


@pytest.mark.parametrize("cls", NETWORKS)
def test_backward_gives_finite_gradients_everywhere(cls):
    kwargs = small_kwargs(cls)
    net = init_weights(cls(**kwargs)).train()
    x = example_input(cls, kwargs)
    net(x).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize("cls", NETWORKS)
def test_exports_to_onnx_with_a_dynamic_batch(cls):
    """No data-dependent control flow, no in-place writes into views: the (TorchScript-based) ONNX
    exporter traces each network, and onnxruntime agrees with PyTorch on another batch size."""
    import onnx  # noqa: F401 - a dev dependency: missing means failing, not skipping
    import onnxruntime as ort

    kwargs = {**small_kwargs(cls), **({"upsample": "resize"} if "upsample" in small_kwargs(cls) else {})}
    net = cls(**kwargs).eval()
    x = example_input(cls, kwargs)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notices of the TorchScript exporter
        torch.onnx.export(
            net,
            (x,),
            buffer,
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        )
    x3 = torch.cat([x, x[:1]])
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x3.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(y), net(x3), atol=1e-4, rtol=1e-4)


# ---- pix2pixHD's networks ------------------------------------------------------------------


@pytest.mark.parametrize("image_size", (64, 128))
def test_resnet_generator_keeps_the_size_and_range(image_size):
    net = define_G("resnet", image_size, base_filters=8, out_channels=4, resnet_blocks=2).eval()
    y = net(torch.rand(BATCH, 3, image_size, image_size) * 2 - 1)
    assert y.shape == (BATCH, 4, image_size, image_size) and y.abs().max() <= 1
    assert sum(isinstance(m, ResidualBlock) for m in net.modules()) == 2


def test_the_multiscale_discriminator_judges_halved_images_with_their_layers():
    net = define_D("patch", 6, 64, base_filters=8, n_layers=3, scales=3).eval()
    assert isinstance(net, MultiscaleDiscriminator)
    features = net.features(torch.rand(BATCH, 6, 64, 64))
    # 64, 32 and 16 px: 3, 3 and 2 layers (n + 1 LeakyReLUs each) before the logits, whose maps shrink.
    assert [len(scale) for scale in features] == [5, 5, 4]
    assert [scale[-1].shape[-1] for scale in features] == [6, 2, 2]
    assert net(torch.rand(BATCH, 6, 64, 64)).shape == (BATCH, sum(s[-1][0].numel() for s in features))
    with pytest.raises(ValueError, match="d_scales=4"):
        define_D("patch", 6, 32, scales=4)
    single = define_D("patch", 6, 64, base_filters=8)
    assert isinstance(single, PatchDiscriminator) and len(single.features(torch.rand(1, 6, 64, 64))) == 1
