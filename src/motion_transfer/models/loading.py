"""Choosing the data and the generator a run uses: a checkpoint, the newest trained one, or an
index built now for a model that does not learn."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from motion_transfer.data.datamodule import SkeletonImageDataModule
from motion_transfer.models import PoseToImageModule
from motion_transfer.models.checkpoints import find_latest_checkpoint, load_generator
from motion_transfer.runtime.config import CONFIG_DIR, choices
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def prepare_datamodule(data_cfg: DictConfig) -> SkeletonImageDataModule:
    """Build the configured DataModule with its cache and split ready (the cache is built if missing)."""
    import hydra

    datamodule: SkeletonImageDataModule = hydra.utils.instantiate(data_cfg)
    datamodule.prepare_data()
    datamodule.setup()
    return datamodule


def model_config(name: str) -> DictConfig:
    """configs/model/<name>.yaml as composed (its defaults applied), for tasks that go through
    several models (the report, the bench)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import MissingConfigException

    if name not in choices("model"):
        raise UserError(f"'{name}' is not a model; use one of {', '.join(choices('model'))}.")
    try:
        if GlobalHydra.instance().is_initialized():  # inside a running task
            return compose(config_name="train", overrides=[f"model={name}"]).model
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="train", overrides=[f"model={name}"]).model
    except MissingConfigException as err:
        raise UserError(f"configs/model/{name}.yaml could not be composed: {err}") from err


def model_class(model_cfg: DictConfig) -> type[PoseToImageModule]:
    import hydra

    return hydra.utils.get_class(model_cfg._target_)


def built_model(model_cfg: DictConfig, datamodule: SkeletonImageDataModule) -> PoseToImageModule:
    """A model that does not learn (nearest neighbour, the warp), built now on the training frames with
    its config's settings."""
    options = {k: v for k, v in model_cfg.items() if k not in ("_target_", "name", "image_size")}
    return model_class(model_cfg).indexed_on(datamodule, model_cfg.name, **options)


def checkpoint_path(cfg: DictConfig, datamodule: SkeletonImageDataModule) -> Path:
    """ckpt_path when given, else the newest checkpoint of the model trained on this target and size."""
    if cfg.get("ckpt_path"):
        return Path(cfg.ckpt_path)
    name = cfg.model.name
    latest = find_latest_checkpoint(Path(cfg.paths.train_dir), name, datamodule.target_key, datamodule.image_size)
    if latest is None:
        target = (
            "data=synthetic"
            if datamodule.kind == "synthetic"
            else f"data=video data.target_video={datamodule.target_video}"
        )
        raise UserError(
            f"no checkpoint of model={name} trained on '{datamodule.target_name}' at {datamodule.image_size} px under "
            f"{cfg.paths.train_dir}; train one with: python src/train.py model={name} {target} "
            f"data.image_size={datamodule.image_size}"
        )
    log.info("using the newest checkpoint of %s on this target: %s", name, latest)
    return latest


def load_model(cfg: DictConfig, datamodule: SkeletonImageDataModule) -> PoseToImageModule:
    """The generator: from ckpt_path, else the newest trained on this target; a model that does
    not learn (nearest neighbour) is indexed on the training frames now."""
    if not model_class(cfg.model).learns and not cfg.get("ckpt_path"):
        return built_model(cfg.model, datamodule)
    model = load_generator(
        checkpoint_path(cfg, datamodule), cfg.model.name, datamodule.image_size, datamodule.target_key
    )[0]
    model.attach_target(datamodule)
    return model


def prepare_data_and_model(cfg: DictConfig) -> tuple[SkeletonImageDataModule, PoseToImageModule]:
    """The datamodule of `cfg.data` and the generator of `cfg.model` on it (demo, evaluation, export)."""
    datamodule = prepare_datamodule(cfg.data)
    return datamodule, load_model(cfg, datamodule)
