"""What keeps a run at the machine's limit: the share of its time outside the steps, the weight average
updated every few steps, checkpoints written in the background, and live mode's faster runtime."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from motion_transfer.pose.skeleton import NEUTRAL_POSE

POSE = NEUTRAL_POSE.astype(np.float32)


def test_the_step_time_share_adds_up():
    import lightning as L

    from motion_transfer.runtime.step_time import StepTimeShare

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch[0]).sum()

        def validation_step(self, batch, batch_idx):
            self.layer(batch[0])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(12, 4)), batch_size=4)
    timer = StepTimeShare()
    trainer = L.Trainer(
        max_epochs=2, callbacks=[timer], logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(Tiny(), data, data)
    s = timer.summary()
    assert s["steps"] == 6 and 0 < s["step_s"] < s["fit_s"]
    assert 0 < s["validation_share"] < s["outside_share"] < 1


def test_the_weight_average_is_updated_every_few_steps_as_that_many_steps(small):
    import hydra

    from motion_transfer.models.ema import UPDATE_EVERY

    model = hydra.utils.instantiate(small.compose("train", model="vanilla_image").model)
    first = next(model.ema_generator.parameters())
    live = next(model.generator.parameters())
    for step in range(1, 2 + 2 * UPDATE_EVERY):
        before = first.detach().clone()
        with torch.no_grad():
            live.add_(0.01)  # as if an optimizer step moved it
        model.on_train_batch_end(None, None, step - 1)
        updated = step == 1 or (step - 1) % UPDATE_EVERY == 0
        assert torch.equal(first, before) != updated, step
        if updated and step > 1:  # d = decay ** steps since the last update (past the warm-up's bound)
            u = int(model.ema_updates) - 1
            d = min(model.ema_decay**UPDATE_EVERY, (1.0 + u) / (10.0 + u))
            torch.testing.assert_close(first, before.lerp(live.detach(), 1.0 - d))
    assert int(model.ema_updates) == 3


@pytest.mark.parametrize("model", ["vanilla_image", "gan"])
def test_live_auto_runtime_times_both_and_draws_what_pytorch_draws(model, small, tmp_path, caplog):
    import hydra

    from motion_transfer.live.generator import LiveGenerator

    torch.manual_seed(0)
    net = hydra.utils.instantiate(small.compose("train", model=model).model).eval()
    placement = np.array([0.1, -0.2, 0.5], np.float32)
    with caplog.at_level(logging.INFO, logger="motion_transfer"):
        auto = LiveGenerator(net, "auto", tmp_path)
    assert auto.runtime in ("onnx", "torch") and (auto.session is None) == (auto.runtime == "torch")
    assert f"live runtime: {auto.runtime}" in caplog.text
    person, alpha = auto(POSE, placement)
    torch_person, torch_alpha = LiveGenerator(net, "torch", tmp_path)(POSE, placement)
    assert np.abs(person.astype(int) - torch_person.astype(int)).max() <= 2
    assert np.abs(alpha - torch_alpha).max() < 0.01


def test_background_checkpoints_are_written_renamed_and_removed_in_order(tmp_path):
    from motion_transfer.models.checkpoints import BackgroundCheckpointIO
    from motion_transfer.runtime.atomic import partial_path, publish

    io = BackgroundCheckpointIO()
    weights = torch.zeros(1000)
    final = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"w": weights}, partial_path(final))
    weights += 1  # the step after: the file holds the weights as they were when it was asked
    io.then(publish, partial_path(final), final)
    old = tmp_path / "checkpoints" / "best.ckpt"
    io.save_checkpoint({"w": weights}, old)
    io.remove_checkpoint(old)
    io.wait()
    assert torch.equal(torch.load(final, weights_only=True)["w"], torch.zeros(1000))
    assert sorted(p.name for p in final.parent.iterdir()) == ["last.ckpt"]


def test_a_failed_background_write_is_raised_on_the_training_thread(tmp_path, monkeypatch):
    from motion_transfer.models.checkpoints import BackgroundCheckpointIO
    from motion_transfer.runtime.errors import UserError

    def full_disk(obj, path):
        open(path, "wb").close()
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")

    monkeypatch.setattr(torch, "save", full_disk)
    io = BackgroundCheckpointIO()
    io.save_checkpoint({"w": torch.zeros(3)}, tmp_path / ".last.partial.ckpt")
    with pytest.raises(UserError, match="is full"):
        io.wait()
    assert not list(tmp_path.iterdir())  # the temporary file removed
    with pytest.raises(UserError):  # a writer that failed writes nothing more
        io.save_checkpoint({"w": torch.zeros(3)}, tmp_path / "other.ckpt")
