"""The networks (after pix2pix's ``models/networks.py``): generators in `generators.py`, discriminators in
`discriminators.py`, the building blocks they share in `layers.py`.

Generators map a pose to an image of the target person, discriminators judge images:

* :class:`MLPGenerator`: the lab's fully connected network, vector ``(N, 26)`` -> ``(N, 3, S, S)``.
* :class:`ConvDecoderGenerator`: a DCGAN-style decoder from the same vector.
* :class:`UNetGenerator`: pix2pix's U-Net, stick-figure image ``(N, 3, S, S)`` -> ``(N, 3, S, S)``.
* :class:`ResnetGenerator`: pix2pixHD's global generator (down-sampling, residual blocks,
  up-sampling) from the stick-figure image.
* :class:`PatchDiscriminator`: pix2pix's PatchGAN, ``(N, C, S, S)`` -> a map of logits ``(N, 1, H', W')``.
* :class:`MultiscaleDiscriminator`: pix2pixHD's PatchGANs at 1, 1/2, 1/4 ... of the image.
* :class:`DCGANDiscriminator`: the lab's discriminator, ``(N, C, S, S)`` -> ``(N, 1)``.

Models pick them by name with :func:`define_G` and :func:`define_D` (pix2pix's builders).

Every constructor takes only ints, floats, strings and bools, so that Lightning saves them as
hyperparameters that load with ``torch.load(weights_only=True)``; norm layers and upsampling are
chosen by name. Depths follow ``image_size`` (any power of two >= 32), so 64, 128 and 256 px need
no code change. Images are NCHW in [-1, 1]. Nothing here moves tensors between devices, and no
forward has data-dependent control flow, so the networks trace, script and export to ONNX.
"""

from motion_transfer.models.networks.discriminators import (
    DCGANDiscriminator,
    MultiscaleDiscriminator,
    PatchDiscriminator,
    define_D,
)
from motion_transfer.models.networks.generators import (
    ConvDecoderGenerator,
    MLPGenerator,
    ResidualBlock,
    ResnetGenerator,
    UNetGenerator,
    UnetSkipConnectionBlock,
    define_G,
)
from motion_transfer.models.networks.layers import (
    DISCRIMINATORS,
    GENERATOR_INPUTS,
    INIT_TYPES,
    MIN_IMAGE_SIZE,
    NORMS,
    PLACEMENT_FEATURES,
    UPSAMPLES,
    get_norm_layer,
    get_upsample_layer,
    init_weights,
)

__all__ = [
    "ConvDecoderGenerator",
    "DCGANDiscriminator",
    "DISCRIMINATORS",
    "GENERATOR_INPUTS",
    "INIT_TYPES",
    "MIN_IMAGE_SIZE",
    "MLPGenerator",
    "MultiscaleDiscriminator",
    "NORMS",
    "PLACEMENT_FEATURES",
    "PatchDiscriminator",
    "ResidualBlock",
    "ResnetGenerator",
    "UNetGenerator",
    "UPSAMPLES",
    "UnetSkipConnectionBlock",
    "define_D",
    "define_G",
    "get_norm_layer",
    "get_upsample_layer",
    "init_weights",
]
