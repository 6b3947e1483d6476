"""Generators from skeleton to image, one LightningModule each.

A model is a class here plus a config in configs/model/NAME.yaml (`_target_` and `name: NAME`);
several configs may share a class (vanilla and vanilla_image). Checkpoints record the class's
name, which `GENERATOR_CLASSES` maps back to the class when loading: the classes that the configs
name (`kinds.py`).
"""

from motion_transfer.models.base import PoseToImageModule
from motion_transfer.models.enhancer import EnhancerGenerator
from motion_transfer.models.gan import GANGenerator
from motion_transfer.models.kinds import model_kinds
from motion_transfer.models.learned import LearnedGenerator
from motion_transfer.models.nearest import NearestNeighbourGenerator
from motion_transfer.models.vanilla import VanillaGenerator

GENERATOR_CLASSES: dict[str, type[PoseToImageModule]] = {kind.cls.__name__: kind.cls for kind in model_kinds().values()}

__all__ = [
    "GENERATOR_CLASSES",
    "EnhancerGenerator",
    "GANGenerator",
    "LearnedGenerator",
    "NearestNeighbourGenerator",
    "PoseToImageModule",
    "VanillaGenerator",
]
