"""Figures at the video's own resolution (evaluation/native.py): the metric on known cases, then end to end."""

import json

import cv2
import numpy as np
import pytest
import torch

from motion_transfer.evaluation.evaluate import held_out, run_evaluation
from motion_transfer.evaluation.frame_metrics import target_frames
from motion_transfer.evaluation.metrics import image_metrics
from motion_transfer.evaluation.native import (
    ELBOWS,
    MAX_SIDE,
    WRISTS,
    box_edges,
    frame_figures,
    hand_boxes,
    head_box,
    native_figures,
    ssim,
)
from motion_transfer.models.base import PoseToImageModule
from motion_transfer.pose.crop import to_frame_coordinates
from motion_transfer.pose.skeleton import NOSE, SHOULDERS

NATIVE_KEYS = {
    "box_ssim",
    "box_psnr",
    "detail_ratio",
    "detail_generated",
    "detail_real",
    "head_ssim",
    "hands_ssim",
    "frames",
    "head_frames",
    "hands_frames",
    "median_side",
    "max_side",
    "seconds_per_frame",
}


@pytest.fixture
def held_out_frame(small):
    """The tiny clip's datamodule and its first held-out frame: (datamodule, frame number, RGB frame)."""
    datamodule = small.datamodule()
    t = int(datamodule.val_set.indices[0])
    for number, frame in enumerate(target_frames(datamodule)):
        if number == t:
            return datamodule, t, frame
    pytest.fail(f"frame {t} not in the clip")


def _figures(datamodule, t, real, generated):
    cache = datamodule.cache
    return frame_figures(real, generated, np.asarray(cache.boxes)[t], cache.masks[t], np.asarray(cache.skeletons)[t])


def test_the_real_frame_scores_perfectly_blur_loses_detail_and_sharpening_adds_it(held_out_frame):
    datamodule, t, real = held_out_frame
    same = _figures(datamodule, t, real, real.copy())
    assert same["ssim"] == pytest.approx(1.0, abs=1e-4) and same["head_ssim"] == pytest.approx(1.0, abs=1e-4)
    assert same["hands_ssim"] == pytest.approx(1.0, abs=1e-4)
    assert same["mse"] == 0.0 and same["detail_real"] > 0
    assert same["detail_generated"] / same["detail_real"] == pytest.approx(1.0)

    blurred = cv2.GaussianBlur(real, (0, 0), 2.0)
    blur = _figures(datamodule, t, real, blurred)
    assert blur["detail_generated"] / blur["detail_real"] < 0.7
    assert blur["ssim"] < 0.98 and blur["head_ssim"] < 0.98 and blur["hands_ssim"] < 0.98
    assert blur["detail_real"] == pytest.approx(same["detail_real"])  # the reference is the real frame's

    # Unsharp mask: the frame plus its difference from a blurred copy. Edges ring: more energy, less alike.
    sharpened = cv2.addWeighted(real, 2.0, cv2.GaussianBlur(real, (0, 0), 1.5), -1.0, 0)
    sharp = _figures(datamodule, t, real, sharpened)
    assert sharp["detail_generated"] / sharp["detail_real"] > 1.2
    assert sharp["ssim"] < 0.99


def test_native_ssim_is_the_crop_figures_ssim():
    """OpenCV's blur in place of torchmetrics' convolution, for speed at native sizes: the same figure."""
    rng = np.random.default_rng(0)
    real = cv2.GaussianBlur((rng.random((70, 53, 3)) * 255).astype(np.uint8), (0, 0), 2.0)
    fake = np.clip(real + rng.normal(0, 12, real.shape), 0, 255).astype(np.uint8)

    def tensor(image):
        return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1.0

    assert ssim(fake, real) == pytest.approx(image_metrics(tensor(fake), tensor(real))["ssim"], abs=1e-4)


def test_the_head_box_holds_the_nose_and_both_shoulders(held_out_frame):
    datamodule, t, _ = held_out_frame
    box = np.asarray(datamodule.cache.boxes)[t]
    joints = to_frame_coordinates(np.asarray(datamodule.cache.skeletons)[t][None].astype(np.float64), box[None])[0]
    cx, cy, side = head_box(joints)
    for point in joints[[NOSE, *SHOULDERS]]:
        assert abs(point[0] - cx) < side / 2 and abs(point[1] - cy) < side / 2
    shoulders = np.linalg.norm(joints[SHOULDERS[0]] - joints[SHOULDERS[1]])
    assert side >= 1.2 * shoulders - 1e-9 and side < box[2] / 2  # the head and shoulders, not the body
    assert np.linalg.norm(joints[NOSE] - [cx, cy]) < side / 2


def test_each_hand_box_holds_its_wrist_and_lies_past_it_along_the_forearm(held_out_frame):
    datamodule, t, _ = held_out_frame
    box = np.asarray(datamodule.cache.boxes)[t]
    joints = to_frame_coordinates(np.asarray(datamodule.cache.skeletons)[t][None].astype(np.float64), box[None])[0]
    for (cx, cy, side), elbow, wrist in zip(hand_boxes(joints), ELBOWS, WRISTS):
        forearm = joints[wrist] - joints[elbow]
        assert abs(joints[wrist][0] - cx) < side / 2 and abs(joints[wrist][1] - cy) < side / 2
        assert np.dot(np.array([cx, cy]) - joints[wrist], forearm) > 0  # beyond the wrist, where the hand is
        assert side < np.linalg.norm(forearm) * 1.5 and side < box[2] / 2


class RealPixels(PoseToImageModule):
    """A model that draws at the asked side the real frames' own pixels of each box, in clip order:
    what a perfect `draws_native` model would draw."""

    draws_native = True

    def __init__(self, crops: list[np.ndarray]):
        super().__init__("real_pixels")
        self.crops, self.asked = crops, []

    def native_layers(self, skeletons, sides, placements=None, facings=None):
        first = len(self.asked)
        self.asked += [int(s) for s in sides]
        crops = self.crops[first : first + len(sides)]
        assert [c.shape[:2] for c in crops] == [(s, s) for s in sides]
        return [(crop, np.ones(crop.shape[:2], np.float32)) for crop in crops]


def test_a_model_drawing_the_real_pixels_at_each_box_side_keeps_all_detail(held_out_frame):
    datamodule = held_out_frame[0]
    numbers = datamodule.val_set.indices.numpy()
    boxes = np.asarray(datamodule.cache.boxes)[numbers]
    crops, wanted = [], dict(zip(numbers.tolist(), boxes))
    for number, frame in enumerate(target_frames(datamodule)):
        if number in wanted:
            x0, y0, x1, _ = box_edges(wanted[number])
            y1 = y0 + x1 - x0  # the box on whole pixels, square
            pad = max(0, -x0, -y0, x1 - frame.shape[1], y1 - frame.shape[0])
            padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            crops.append(padded[y0 + pad : y1 + pad, x0 + pad : x1 + pad])
    skeletons, placements, _ = held_out(datamodule)
    model = RealPixels(crops)
    figures = native_figures(model, datamodule, skeletons, placements)
    assert set(figures) == NATIVE_KEYS
    assert model.asked == [box_edges(b)[2] - box_edges(b)[0] for b in boxes]  # each box's own side
    assert figures["median_side"] > datamodule.image_size and figures["frames"] == len(numbers)
    # The feathered border shows the plate, an estimate of the background: nearly, not exactly, the frame.
    assert figures["box_ssim"] > 0.99 and figures["head_ssim"] > 0.999
    assert figures["detail_ratio"] == pytest.approx(1.0, abs=0.01)


def test_evaluate_writes_the_native_figures_for_nearest(small):
    path = run_evaluation(small.compose("evaluate", "pose.enabled=false", model="nearest"))
    metrics = json.loads(path.read_text())
    native = metrics["native"]
    assert set(native) == NATIVE_KEYS
    assert native["frames"] == native["head_frames"] == metrics["split"]["val_frames"]
    assert native["max_side"] == MAX_SIDE and native["median_side"] > metrics["image_size"]
    assert 0 < native["box_ssim"] <= 1 and native["box_psnr"] > 10 and 0 < native["head_ssim"] <= 1
    # Another frame's person, unbent: less of the real detail where the real person is.
    assert 0 < native["detail_ratio"] < 1 and native["detail_real"] > 0
    assert native["detail_ratio"] == pytest.approx(native["detail_generated"] / native["detail_real"])
    # The bounds from the same store: each frame's own person bent onto its own pose keeps (nearly) all of it and
    # scores above nearest neighbour; the plate alone keeps none of the person's detail.
    own, empty = metrics["native_bounds"]["own_stored_person"], metrics["native_bounds"]["plate_only"]
    assert own["box_ssim"] > native["box_ssim"] and own["box_ssim"] > empty["box_ssim"]
    assert own["detail_ratio"] > max(0.7, native["detail_ratio"]) and own["box_psnr"] > native["box_psnr"] + 3
    assert empty["detail_ratio"] < native["detail_ratio"] and own["frames"] == empty["frames"] == native["frames"]


def test_a_box_above_the_cap_is_compared_in_its_frame_scaled_down(small):
    from motion_transfer.models.loading import model_class, model_config

    datamodule = small.datamodule()
    model = model_class(model_config("nearest")).indexed_on(datamodule, "nearest")
    skeletons, placements, _ = held_out(datamodule)
    capped = native_figures(model, datamodule, skeletons, placements, max_side=48)
    assert 47 <= capped["median_side"] <= 49 and capped["frames"] == len(skeletons)
    assert np.isfinite(capped["detail_ratio"]) and 0 < capped["box_ssim"] <= 1
