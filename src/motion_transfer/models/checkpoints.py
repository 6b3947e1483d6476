"""Checkpoints: written atomically, found by model and target, loaded with weights_only=True."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from weakref import proxy

import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint

from motion_transfer.models import GENERATOR_CLASSES, LearnedGenerator, PoseToImageModule
from motion_transfer.models.identity import check_identity, checkpoint_identity, read_checkpoint_file
from motion_transfer.runtime.atomic import disk_error, partial_path, publish
from motion_transfer.runtime.errors import UserError


class AtomicModelCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose files appear only complete: written under a temporary name, then
    renamed (by the background writer after its write, with BackgroundCheckpointIO). A kill during
    the write leaves the previous `last.ckpt` intact; a full disk or an unwritable folder leaves no
    temporary file and ends the run with one error line."""

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        tmp = partial_path(filepath)
        io = trainer.strategy.checkpoint_io
        try:
            trainer.save_checkpoint(tmp, self.save_weights_only)
            if trainer.is_global_zero:
                if isinstance(io, BackgroundCheckpointIO):
                    io.then(publish, tmp, filepath)
                else:
                    publish(tmp, filepath)
        except OSError as err:
            raise _written_error(err, tmp, filepath) from err
        trainer.strategy.barrier("atomic_checkpoint")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))


def _written_error(err: OSError, tmp: Path, filepath) -> Exception:
    """The error to raise for a checkpoint write that failed: its temporary file removed first."""
    tmp.unlink(missing_ok=True)
    return disk_error(err, Path(filepath).parent) or err


class DirectCheckpointIO(TorchCheckpointIO):
    """`torch.save` straight into the file. Lightning's own save serialises the whole checkpoint into
    memory before copying it to the file, which nearly doubles the time of a U-Net's 470 MB; our
    checkpoints are written under a temporary name and renamed (AtomicModelCheckpoint) anyway."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                torch.save(checkpoint, path)
            except RuntimeError as err:
                # PyTorch's zip writer reports a short write (a full disk) as "unexpected pos", no errno.
                if "unexpected pos" not in str(err):
                    raise
                raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (a short write)") from err
        except OSError as err:
            raise _written_error(err, Path(path), path) from err


class BackgroundCheckpointIO(DirectCheckpointIO):
    """Checkpoints written by one background thread while training goes on: the checkpoint is copied
    in memory at once (a point-in-time copy), then written, renamed (`then`) and removed in the
    order asked. Writing a U-Net's 470 MB every epoch took a tenth of a budgeted run's time. An
    error of the writer (a full disk: one UserError) is raised on the training thread at the next
    save or removal, or when the fit ends (`teardown`); `wait` finishes every write."""

    def __init__(self):
        super().__init__()
        self._executor = None
        self._error: BaseException | None = None

    def _submit(self, fn, *args) -> None:
        self._raise_pending()
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")

        def run() -> None:
            if self._error is not None:  # after a failed write, nothing more (no rename of a missing file)
                return
            try:
                fn(*args)
            except BaseException as err:  # noqa: BLE001 - raised on the training thread
                self._error = err

        self._executor.submit(run)

    def _raise_pending(self) -> None:
        if self._error is not None:  # kept: a writer that failed writes nothing more
            raise self._error

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        from lightning_utilities.core.apply_func import apply_to_collection

        snapshot = apply_to_collection(checkpoint, torch.Tensor, lambda t: t.detach().clone())
        self._submit(super().save_checkpoint, snapshot, path)

    def then(self, fn, *args) -> None:
        """Run fn(*args) on the writer, after the writes asked before it."""
        self._submit(fn, *args)

    def remove_checkpoint(self, path) -> None:
        self._submit(super().remove_checkpoint, path)

    def wait(self) -> None:
        """Finish every write, rename and removal asked; raise the writer's error, if any."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._raise_pending()

    def teardown(self) -> None:
        self.wait()


def finish_checkpoint_writes(trainer) -> None:
    """Wait for the trainer's background checkpoint writes, if it has any."""
    io = trainer.strategy.checkpoint_io
    if isinstance(io, BackgroundCheckpointIO):
        io.wait()


def read_checkpoint(path: str | os.PathLike, option: str = "ckpt_path") -> dict:
    """Load a checkpoint file safely (weights_only=True), or raise a UserError naming it."""
    return read_checkpoint_file(path, option, GENERATOR_CLASSES)


def find_latest_checkpoint(train_dir: Path, model_name: str, target_key: str, image_size: int) -> Path | None:
    """The newest run's checkpoint under train_dir made by `model_name` on this target and size:
    the one its class prefers (`preferred_checkpoint`: best*.ckpt or last.ckpt), else any."""
    candidates = []
    for path in Path(train_dir).glob("*/checkpoints/*.ckpt"):
        if path.name.startswith("."):  # a checkpoint still being written under its temporary name
            continue
        try:
            identity = checkpoint_identity(torch.load(path, map_location="cpu", weights_only=True))
        except Exception:  # noqa: BLE001 - unreadable files are simply not candidates
            continue
        if (identity.get("model"), identity.get("target_key"), identity.get("image_size")) == (
            model_name,
            target_key,
            image_size,
        ):
            cls = GENERATOR_CLASSES.get(identity.get("class"))
            preferred = cls is not None and path.name.startswith(cls.preferred_checkpoint)
            candidates.append((path.parent.parent.stat().st_mtime, preferred, path))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


def load_generator(
    path: str | os.PathLike,
    model_name: str | None,
    image_size: int,
    target_key: str | None = None,
    option: str = "ckpt_path",
) -> tuple[PoseToImageModule, dict]:
    """The generator stored in a checkpoint, in eval mode, and the checkpoint dict it was built
    from (read once). Refused when made by another model (None: any), size or target."""
    ckpt = read_checkpoint(path, option)
    identity = check_identity(ckpt, path, model_name, image_size, target_key, option)
    model = GENERATOR_CLASSES[identity["class"]](**ckpt.get("hyper_parameters", {}))
    model.on_load_checkpoint(ckpt)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt


def _learned(model: PoseToImageModule, option: str, path=None) -> LearnedGenerator:
    if not model.learns:
        where = f"'{path}' holds" if path else f"model={model.model_name} is"
        raise UserError(f"{option}: {where} a generator that looks frames up and has no network; use a learned model.")
    return model


def _start_weights(
    model: LearnedGenerator, path, image_size: int, target_key: str, option: str
) -> tuple[dict, LearnedGenerator]:
    """The weights the checkpoint at `path` draws with (its weight average when it has one),
    refused unless it is a learned generator of the same shape on this target and size."""
    start = _learned(load_generator(path, None, image_size, target_key, option)[0], option, path)
    weights = start.inference_network().state_dict()
    expected = model.generator.state_dict()
    if weights.keys() != expected.keys() or any(weights[k].shape != expected[k].shape for k in expected):
        raise UserError(
            f"{option}: '{path}' holds a generator of another shape; train it with the same model.generator, "
            "model.base_filters, model.upsample and model.placement as this run."
        )
    return weights, start


def start_from_generator(
    model: PoseToImageModule, path: str | os.PathLike, image_size: int, target_key: str, option: str = "init_from"
) -> None:
    """Copy the generator network of another run's checkpoint into `model` before training (a
    U-Net trained on L1 as the start of an adversarial run): the network that checkpoint draws
    with becomes both the live and the averaged weights. The model remembers where it started
    (`started_from`, saved in its checkpoints)."""
    model = _learned(model, option)
    weights, start = _start_weights(model, path, image_size, target_key, option)
    for network in model.generator_networks():
        network.load_state_dict(weights)
    if model.uses_placement and start.uses_placement:
        model.default_placement = start.default_placement.clone()
    model.started_from = str(Path(path).expanduser().resolve())


def interpolate_generator(
    model: PoseToImageModule,
    path: str | os.PathLike,
    alpha: float,
    image_size: int,
    target_key: str,
    option: str = "start_from",
) -> None:
    """ESRGAN's network interpolation, in place: every floating-point weight and statistic of the
    model's generator (live and averaged) becomes (1 - alpha) * start + alpha * its own, `start`
    being the generator of the checkpoint at `path` (the run it was fine-tuned from)."""
    model = _learned(model, option)
    start, _ = _start_weights(model, path, image_size, target_key, option)
    with torch.no_grad():
        for network in model.generator_networks():
            for name, tensor in network.state_dict().items():
                if tensor.is_floating_point():
                    # own + (1 - alpha) (start - own); state_dict tensors share the module's storage
                    tensor.lerp_(start[name].to(tensor), 1.0 - alpha)
