"""The default GAN's recipe: reconstruction warm-up then adversarial training in one run,
pix2pixHD's losses (LSGAN, hinge, feature matching) and its multi-scale discriminator."""

import hydra
import lightning as L
import pytest
import torch

from motion_transfer.models import GANGenerator

S = 32


def _gan(**kwargs) -> GANGenerator:
    torch.manual_seed(0)
    return GANGenerator(image_size=S, base_filters=8, d_base_filters=8, **kwargs)


def _scales(*values: float) -> list[list[torch.Tensor]]:
    """D outputs with constant logits, one scale per value (one hidden layer each)."""
    return [[torch.zeros(2, 4, 3, 3), torch.full((2, 1, 3, 3), v)] for v in values]


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge"])
def test_each_adversarial_loss_is_lowest_for_the_right_answer(loss):
    model = _gan(gan_loss=loss)
    confident_real, confident_fake = _scales(1.0, 1.0), _scales(0.0, 0.0)
    assert model.adversarial_loss(confident_real, True) < model.adversarial_loss(confident_fake, True)
    assert model.adversarial_loss(confident_fake, False) < model.adversarial_loss(confident_real, False)
    # The generator's loss falls as D believes the fake.
    assert model.adversarial_loss(confident_real, True, for_d=False) < model.adversarial_loss(
        confident_fake, True, for_d=False
    )


def test_lsgan_and_hinge_have_their_textbook_values():
    assert float(_gan(gan_loss="lsgan").adversarial_loss(_scales(0.5, 1.5), True)) == pytest.approx(0.25)
    hinge = _gan(gan_loss="hinge")
    assert float(hinge.adversarial_loss(_scales(0.5), True)) == pytest.approx(0.5)  # relu(1 - 0.5)
    assert float(hinge.adversarial_loss(_scales(2.0), True)) == 0.0
    assert float(hinge.adversarial_loss(_scales(2.0), True, for_d=False)) == pytest.approx(-2.0)


def test_feature_matching_compares_the_layers_not_the_logits():
    model = _gan(d_scales=2, lambda_fm=10.0)
    x = torch.rand(2, 6, S, S)
    with torch.no_grad():
        real = model.discriminator.features(x)
    assert float(model.feature_matching_loss(real, real)) == 0.0
    moved = [[f + 1.0 for f in scale[:-1]] + [scale[-1] + 100.0] for scale in real]
    # Every activation is off by 1, weighted 4 / (d_layers + 1); the logits do not count; the scales
    # (32 px: 4 activations, 16 px: 3) are averaged.
    assert [len(scale) for scale in real] == [5, 4]
    assert float(model.feature_matching_loss(moved, real)) == pytest.approx((4 + 3) / 2)


def test_a_multiscale_discriminator_needs_the_patchgan():
    with pytest.raises(ValueError, match="d_scales=2 needs model.discriminator=patch"):
        _gan(d_scales=2, discriminator="dcgan")
    with pytest.raises(ValueError, match="warmup"):
        _gan(warmup=1.0)


class _Watch(L.Callback):
    """The discriminator's weights and the generator's at the end of each epoch."""

    def __init__(self):
        self.d, self.g = [], []

    def on_train_epoch_end(self, trainer, module):
        self.d.append([p.detach().clone() for p in module.discriminator.parameters()])
        self.g.append([p.detach().clone() for p in module.generator.parameters()])


def _changed(before, after) -> int:
    return sum(not torch.equal(a, b) for a, b in zip(before, after))


def test_the_warm_up_trains_the_generator_alone_then_both_in_one_run(small):
    cfg = small.compose("train", "model.warmup=0.5", "model.d_scales=2", model="gan")
    dm = hydra.utils.instantiate(cfg.data)
    dm.prepare_data()
    dm.setup("fit")
    model: GANGenerator = hydra.utils.instantiate(cfg.model, target_key=dm.target_key, target_name=dm.target_name)
    d_start = [p.detach().clone() for p in model.discriminator.parameters()]
    watch = _Watch()
    trainer = L.Trainer(
        max_epochs=2,
        limit_train_batches=2,
        limit_val_batches=0,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[watch],
    )
    trainer.fit(model, datamodule=dm)
    # Epoch 0 of 2 is the warm-up: G learns, D does not move.
    assert _changed(d_start, watch.d[0]) == 0
    assert _changed([p for p in watch.g[0]], [p.detach() for p in model.generator.parameters()]) > 0
    # Epoch 1: adversarial; D trains, and G gets D's gradients (feature matching included).
    assert _changed(watch.d[0], watch.d[1]) > 0.9 * len(d_start)
    assert model.adversarial()


def test_the_warm_up_follows_the_time_budget_when_one_is_set(small):
    cfg = small.compose("train", model="gan")
    model: GANGenerator = hydra.utils.instantiate(cfg.model)

    class FakeTimer(L.pytorch.callbacks.Timer):
        def time_elapsed(self, stage="train"):
            return 30.0

        def time_remaining(self, stage="train"):
            return 90.0

    class FakeTrainer:
        callbacks = [FakeTimer(duration="00:00:02:00")]
        max_epochs = 1000
        current_epoch = 1

    model._trainer = FakeTrainer()
    assert model.training_progress() == pytest.approx(0.25)
    assert not model.adversarial()  # warmup 0.5 by default
