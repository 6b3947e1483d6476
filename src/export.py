"""Export a trained generator to ONNX: python src/export.py model=gan [ckpt_path=PATH]"""

from motion_transfer.cli import run_task
from motion_transfer.models.export import run_export

if __name__ == "__main__":
    run_task("export", run_export, "onnx")
