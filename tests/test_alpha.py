"""Generators that draw the person's colours and alpha, composited over the background plate."""

from __future__ import annotations

import torch

from motion_transfer.models import GANGenerator, NearestNeighbourGenerator, VanillaGenerator
from motion_transfer.models.base import composite

S = 32


def _batch(n: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "vector": torch.rand(n, 26, generator=g) * 2 - 1,
        "stick": torch.rand(n, 3, S, S, generator=g) * 2 - 1,
        "image": torch.rand(n, 3, S, S, generator=g) * 2 - 1,
        "plate": torch.rand(n, 3, S, S, generator=g) * 2 - 1,
        "mask": (torch.rand(n, 1, S, S, generator=g) > 0.5).float(),
        "placement": torch.zeros(n, 3),
    }


def test_composite_is_the_person_where_alpha_is_one_and_the_plate_where_it_is_zero():
    rgb, plate = torch.full((1, 3, 2, 2), 0.5), torch.full((1, 3, 2, 2), -0.5)
    alpha = torch.tensor([[[[1.0, 0.0], [0.5, 0.25]]]])
    out = composite(rgb, alpha, plate)
    assert torch.allclose(out[0, :, 0, 0], torch.full((3,), 0.5))
    assert torch.allclose(out[0, :, 0, 1], torch.full((3,), -0.5))
    assert torch.allclose(out[0, :, 1, 0], torch.zeros(3))


def test_learned_generators_draw_colours_and_an_alpha_in_unit_range():
    for model in (VanillaGenerator(image_size=S, base_filters=8), GANGenerator(image_size=S, base_filters=8)):
        batch = _batch()
        rgb, alpha = model.generate_layers(batch["vector"], batch["stick"])
        assert rgb.shape == (4, 3, S, S) and alpha.shape == (4, 1, S, S)
        assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 1.0
        assert model.generator(model.network_input(batch["vector"], batch["stick"])).shape[1] == 4


def test_the_mask_loss_is_wired_changing_only_the_mask_changes_it():
    torch.manual_seed(0)
    model = VanillaGenerator(name="vanilla_image", image_size=S, generator="unet", base_filters=8, loss="l1").eval()
    batch = _batch()
    loss = model.training_step(batch, 0)
    other = dict(batch, mask=1.0 - batch["mask"])
    assert not torch.isclose(model.training_step(other, 0), loss)
    # The image loss is taken on the composite: the plate shows through where alpha < 1.
    fake, _, _, _ = model.training_output(batch)
    fake_other_plate, _, _, _ = model.training_output(dict(batch, plate=-batch["plate"]))
    assert not torch.allclose(fake, fake_other_plate)


def test_without_alpha_the_whole_crop_is_drawn_and_the_plate_is_not_used():
    model = VanillaGenerator(image_size=S, base_filters=8, alpha=False).eval()
    batch = _batch()
    rgb, alpha = model.generate_layers(batch["vector"], batch["stick"])
    assert torch.all(alpha == 1)
    fake, mask_loss, _, _ = model.training_output(batch)
    assert torch.allclose(fake, rgb) and float(mask_loss) == 0.0
    assert model.generator(model.network_input(batch["vector"], batch["stick"])).shape[1] == 3


def test_the_gan_discriminator_judges_composites():
    torch.manual_seed(0)
    model = GANGenerator(image_size=S, base_filters=8, d_base_filters=8)
    batch = _batch()
    fake, _, _, _ = model.training_output(batch)
    expected = composite(*model.generate_layers(batch["vector"], batch["stick"], batch["placement"]), batch["plate"])
    assert torch.allclose(fake, expected, atol=1e-6)


def test_nearest_neighbour_returns_the_retrieved_frame_and_its_mask():
    model = NearestNeighbourGenerator(image_size=S)
    vectors = torch.eye(3, 26)
    images = torch.stack([torch.full((3, S, S), v) for v in (-1.0, 0.0, 1.0)])
    masks = torch.zeros(3, 1, S, S)
    masks[2, :, :4] = 1.0
    model.set_index(vectors, images, torch.arange(3), masks)
    rgb, alpha = model.generate_layers(vectors[2:3] + 0.01, torch.zeros(1, 3, S, S))
    assert torch.allclose(rgb, torch.ones(1, 3, S, S), atol=1 / 127)
    assert torch.equal(alpha[0, 0, :4], torch.ones(4, S)) and float(alpha[0, 0, 4:].sum()) == 0.0
