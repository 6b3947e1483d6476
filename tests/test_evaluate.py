"""Evaluation: metric functions on known cases, pose consistency on real crops, end to end, schema."""

import json

import numpy as np
import pytest
import torch
import torchvision

from motion_transfer.data.cache import SkeletonCache
from motion_transfer.data.datamodule import resize_crops
from motion_transfer.evaluation.evaluate import run_evaluation
from motion_transfer.evaluation.metrics import image_metrics, pose_consistency
from motion_transfer.evaluation.report import run_report


def _image(seed=0, size=32):
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.interpolate(
        torch.rand(1, 3, size // 4, size // 4, generator=g), size=size, mode="bilinear"
    )
    return smooth * 2 - 1


def test_identical_images_are_perfect():
    img = _image()
    m = image_metrics(img, img)
    assert m["ssim"] == pytest.approx(1.0, abs=1e-5) and m["l1"] == 0.0 and m["psnr"] > 60


def test_a_shifted_image_scores_lower_and_a_blank_one_lower_still():
    img = _image()
    shifted = torch.roll(img, shifts=3, dims=-1)
    blank = torch.zeros_like(img)
    same, moved, empty = image_metrics(img, img), image_metrics(shifted, img), image_metrics(blank, img)
    assert same["ssim"] > moved["ssim"] > empty["ssim"]
    assert moved["l1"] > 0 and moved["psnr"] < same["psnr"]
    # A known case: uniform error of 0.1 on [0, 1] gives PSNR = 20 dB.
    assert image_metrics(img.clamp(-0.8, 0.8) + 0.2, img.clamp(-0.8, 0.8))["psnr"] == pytest.approx(20.0, abs=1e-3)


def test_sharpness_and_checkerboard_ratios_on_known_cases():
    img = _image(size=64)
    same = image_metrics(img, img)
    assert same["sharpness"] == pytest.approx(1.0) and same["checkerboard"] == pytest.approx(1.0)
    blurred = torch.nn.functional.avg_pool2d(img, 5, stride=1, padding=2, count_include_pad=False)
    assert image_metrics(blurred, img)["sharpness"] < 0.8
    # A faint checkerboard (2% of the range), as transposed convolutions leave, stands out clearly.
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    checker = 0.04 * (((yy + xx) % 2) * 2 - 1).float()
    assert image_metrics(img + checker, img)["checkerboard"] > 10
    # Moving the real image does not change either ratio much.
    moved = image_metrics(torch.roll(img, 1, dims=-1), img)
    assert 0.9 < moved["sharpness"] < 1.1 and 0.5 < moved["checkerboard"] < 2


@pytest.mark.real_data
def test_pose_consistency_finds_the_pose_on_real_crops(real_outputs):
    (folder,) = (real_outputs / "cache").glob("karate1-*")
    cache = SkeletonCache.load(folder)
    frames = np.flatnonzero(cache.detected)[:100:10]
    crops = resize_crops(np.asarray(cache.crops)[frames], 64)
    figures = pose_consistency(crops, np.asarray(cache.skeletons)[frames])
    assert figures["pose_detection_rate"] >= 0.8
    assert figures["pose_joint_error"] < 0.12
    assert (
        figures["pose_joint_error_median"] < 0.12
        and figures["pose_joint_error_upper"] < 0.12
        and figures["pose_joint_error_lower"] < 0.12
    )
    # A pose whose legs are moved by half a body height: the lower body says so, the upper body does not.
    moved = np.asarray(cache.skeletons)[frames].copy()
    moved[:, 9:] += [0.0, -0.5] * (moved[:, 12:13, 1:] - moved[:, :1, 1:])
    wrong_legs = pose_consistency(crops, moved)
    assert wrong_legs["pose_joint_error_lower"] > 0.3 > 0.12 > wrong_legs["pose_joint_error_upper"]
    # A blank image holds no person.
    assert (
        pose_consistency(np.zeros((2, 64, 64, 3), np.uint8), np.asarray(cache.skeletons)[frames[:2]])[
            "pose_detection_rate"
        ]
        == 0.0
    )


SCHEMA = {
    "model": str,
    "image_size": int,
    "target": dict,
    "split": dict,
    "metrics": dict,
    "floors": dict,
    "ceiling": dict,
    "generation_fps": float,
    "checkpoint": (str, type(None)),
    "temporal": dict,
    "smoothing": dict,
    "native": dict,
}

TEMPORAL_FIGURES = {
    "warping_error",
    "warping_error_real",
    "warping_ratio",
    "temporal_difference",
    "pairs",
    "flow_valid_share",
}


def _check_schema(metrics):
    for key, kind in SCHEMA.items():
        assert isinstance(metrics[key], kind), key
    for figures in [metrics["metrics"], *metrics["floors"].values()]:
        assert set(figures) == {
            "ssim",
            "psnr",
            "l1",
            "sharpness",
            "checkerboard",
            "pose_detection_rate",
            "pose_joint_error",
            "pose_joint_error_median",
            "pose_joint_error_upper",
            "pose_joint_error_lower",
        }
    assert set(metrics["floors"]) == {"mean_image", "last_training_frame"}
    assert set(metrics["split"]) == {"train_frames", "val_frames", "val_start", "gap_frames", "select_frames"}
    # Steadiness over consecutive held-out frames, on the crops and (with a plate) on the full frames.
    assert set(metrics["temporal"]) == {"crop", "full_frame"}
    for figures in metrics["temporal"].values():
        assert set(figures) == TEMPORAL_FIGURES
        assert figures["pairs"] == metrics["split"]["val_frames"] - 1  # the held-out frames follow each other
        assert figures["warping_error"] > 0 and figures["warping_error_real"] >= 0
    assert metrics["smoothing"]["method"] == "none" and metrics["smoothing"]["deviation"] == 0.0


def test_evaluate_nearest_end_to_end(small):
    path = run_evaluation(small.compose("evaluate", model="nearest"))
    assert path.name == "metrics.json"
    metrics = json.loads(path.read_text())
    _check_schema(metrics)
    assert metrics["model"] == "nearest" and metrics["checkpoint"] is None
    assert (path.parent / "samples.png").is_file() and list((path.parent / "tensorboard").iterdir())
    assert metrics["split"]["val_start"] - metrics["split"]["gap_frames"] >= metrics["split"]["train_frames"]
    assert not list(path.parent.glob(".*partial*"))


@pytest.mark.slow
def test_evaluate_a_learned_model_from_its_checkpoint_and_report_every_model(trained):
    ckpt = trained.ckpts["vanilla_image"]
    metrics = json.loads(
        run_evaluation(trained.small.compose("evaluate", f"ckpt_path={ckpt}", model="vanilla_image")).read_text()
    )
    _check_schema(metrics)
    assert metrics["model"] == "vanilla_image" and metrics["checkpoint"] == str(ckpt)
    # The report finds the checkpoints by itself and puts every model in one table.
    report = run_report(trained.small.compose("report", "models=[nearest,vanilla_image,gan,gan_lab]"))
    table = report.read_text()
    assert "| nearest | built now |" in table
    assert f"| vanilla_image | `{ckpt.parent.parent.name}/{ckpt.name}` |" in table
    assert f"| gan | `{trained.last('gan').parent.parent.name}/last.ckpt` |" in table  # the GAN's preferred one
    assert "| gan_lab | none: `python src/train.py model=gan_lab`" in table
    assert "*mean image* | floor" in table and "*real crops* | ceiling" in table
    assert (report.parent / "report.png").is_file()
    assert "| nearest | " in table.split("Steadiness over consecutive held-out frames")[1]
    native = table.split("At the video's own resolution")[1].split("Steadiness")[0]
    assert "| nearest | " in native and "| vanilla_image | " in native and "| gan | " in native
    yt = torchvision.io.decode_image(str(report.parent / "report_yt.png"))
    n_val = json.loads((report.parent / "metrics.json").read_text())["models"]["nearest"]["split"]["val_frames"]
    assert yt.shape[1] >= 2 * n_val and yt.shape[2] >= 4 * 32  # 2 px a frame; real + 3 models, 32 px crops
    assert set(json.loads((report.parent / "metrics.json").read_text())["models"]) == {
        "nearest",
        "vanilla_image",
        "gan",
    }


def test_evaluation_can_smooth_the_held_out_poses_as_the_demo_smooths_a_source(small):
    metrics = json.loads(run_evaluation(small.compose("evaluate", "smoothing=one_euro", model="nearest")).read_text())
    smoothing = metrics["smoothing"]
    assert smoothing["method"] == "one_euro" and smoothing["beta"] == 5.0
    assert smoothing["deviation"] > 0 and smoothing["jitter"] < smoothing["jitter_raw"]


def test_evaluation_gives_each_held_out_frame_its_own_placement(small):
    """A model that reads placements is scored with each frame's own, as with its own pose."""
    from motion_transfer.evaluation.evaluate import evaluate_generator, held_out
    from motion_transfer.models import VanillaGenerator

    datamodule = small.datamodule()
    skeletons, placements, _ = held_out(datamodule)
    assert placements.shape == (len(skeletons), 3) and np.ptp(placements, axis=0).max() > 1e-3  # the camera follows
    torch.manual_seed(0)
    model = VanillaGenerator("vanilla_image", image_size=32, generator="unet", base_filters=8, placement=True).eval()
    model.default_placement = torch.tensor([0.9, 0.9, 0.9])
    _, fake = evaluate_generator(model, datamodule, {"enabled": False}, with_floors=False)
    # A model that draws alpha is scored as crop output shows it: over the plate's crop at each box.
    plates = datamodule.val_set.plates.float() / 127.5 - 1.0
    torch.testing.assert_close(fake, model.generate_from_skeletons(skeletons, placements=placements, plates=plates))
    assert (fake - model.generate_from_skeletons(skeletons, plates=plates)).abs().max() > 1e-4
