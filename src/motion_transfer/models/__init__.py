"""Generators from skeleton to image, one LightningModule each."""

from .base import PoseToImageModule
from .nearest import NearestNeighbourGenerator

#: Model name (as in configs/model/NAME.yaml) -> class. Learned models register in their modules.
MODEL_CLASSES: dict[str, type[PoseToImageModule]] = {"nearest": NearestNeighbourGenerator}

try:  # the learned generators
    from .vanilla import VanillaGenerator, VanillaImageGenerator  # noqa: F401
    from .gan import GANGenerator  # noqa: F401

    MODEL_CLASSES.update({"vanilla": VanillaGenerator, "vanilla_image": VanillaImageGenerator, "gan": GANGenerator})
except ImportError:  # pragma: no cover - only while they are being written
    pass

__all__ = ["PoseToImageModule", "NearestNeighbourGenerator", "MODEL_CLASSES"]
