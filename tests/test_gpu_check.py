"""`make gpu-check` on a machine without a CUDA GPU: one error line, status 2, nothing run or written."""

from __future__ import annotations

import pytest
import torch

from conftest import STDERR_NOISE, compose, run_script, user_error
from motion_transfer.bench.gpu_check import markdown, run_gpu_check
from motion_transfer.runtime.errors import USER_ERROR_EXIT


def test_without_cuda_it_stops_before_anything_with_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    message = user_error(run_gpu_check, compose("gpu_check", [f"paths.output_dir={tmp_path}"]))
    assert "CUDA GPU" in message and "gpu-check" in message and "\n" not in message, message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "nothing may be written"


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU: the check would run")
def test_the_entry_point_exits_with_status_2_and_one_error_line(tmp_path):
    result = run_script("gpu_check", outputs=tmp_path)
    assert result.returncode == USER_ERROR_EXIT, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line and not any(n in line for n in STDERR_NOISE)]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "CUDA GPU" in lines[0], result.stderr[-2000:]


def test_the_report_table_has_a_row_a_run():
    run = {
        "image_size": 128,
        "precision": "bf16-mixed",
        "steps_per_s": 12.5,
        "epochs": 40,
        "outside_share": 0.08,
        "ssim": 0.81,
        "psnr": 22.1,
        "sharpness": 0.7,
        "detail_ratio": None,
    }
    report = {"gpu": "A GPU", "torch": "2", "command": "python src/gpu_check.py", "budget": "00:00:02:30"}
    text = markdown({**report, "runs": {"unet128": run, "gan128": {**run, "detail_ratio": 0.52}}})
    assert "A GPU" in text and "| unet128 | 128 | bf16-mixed | 12.50 | 40 | 8% | 0.810 |" in text
    assert text.count("\n| ") == 3 and "| 0.52 |" in text  # the header and a row a run
