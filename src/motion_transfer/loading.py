"""Choosing the generator a run uses: a checkpoint, the newest trained one, or nearest built now."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from .checkpoints import find_latest_checkpoint, load_generator
from .datamodule import SkeletonImageDataModule
from .errors import UserError
from .models import MODEL_CLASSES, NearestNeighbourGenerator, PoseToImageModule

log = logging.getLogger(__name__)


def prepare_datamodule(data_cfg: DictConfig) -> SkeletonImageDataModule:
    """Build the configured DataModule with its cache and split ready (the cache is built if missing)."""
    import hydra

    datamodule: SkeletonImageDataModule = hydra.utils.instantiate(data_cfg)
    datamodule.prepare_data()
    datamodule.setup()
    return datamodule


def build_nearest(datamodule: SkeletonImageDataModule) -> NearestNeighbourGenerator:
    """The nearest-neighbour generator indexed on the training frames, built in memory (no checkpoint)."""
    model = NearestNeighbourGenerator(datamodule.image_size, datamodule.target_key, datamodule.target_name)
    train = datamodule.train_set
    model.set_index(train.vectors, train.images, train.indices)
    return model


def checkpoint_path(cfg: DictConfig, datamodule: SkeletonImageDataModule) -> Path:
    """ckpt_path when given, else the newest checkpoint of the model trained on this target and size."""
    if cfg.get("ckpt_path"):
        return Path(cfg.ckpt_path)
    name = model_name(cfg)
    latest = find_latest_checkpoint(Path(cfg.paths.train_dir), name, datamodule.target_key, datamodule.image_size, MODEL_CLASSES[name].preferred_checkpoint)
    if latest is None:
        target = "data=synthetic" if datamodule.kind == "synthetic" else f"data=video data.target_video={datamodule.target_video}"
        raise UserError(
            f"no checkpoint of model={name} trained on '{datamodule.target_name}' at {datamodule.image_size} px under {cfg.paths.train_dir}; "
            f"train one with: python src/train.py model={name} {target} data.image_size={datamodule.image_size}"
        )
    log.info("using the newest checkpoint of %s on this target: %s", name, latest)
    return latest


def load_model(cfg: DictConfig, datamodule: SkeletonImageDataModule) -> PoseToImageModule:
    """The generator: from ckpt_path, else the newest trained on this target; nearest is built on the fly."""
    name = model_name(cfg)
    if name == "nearest" and not cfg.get("ckpt_path"):
        return build_nearest(datamodule)
    return load_generator(checkpoint_path(cfg, datamodule), name, datamodule.image_size, datamodule.target_key)


def model_name(cfg: DictConfig) -> str:
    target = cfg.model.get("_target_", "")
    for name, cls in MODEL_CLASSES.items():
        if target.endswith(cls.__name__):
            return name
    raise UserError(f"model: {target!r} is not a generator of this toolkit; use one of {', '.join(MODEL_CLASSES)}.")
