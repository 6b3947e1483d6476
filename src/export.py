"""Export a trained generator to ONNX: python src/export.py model=gan [ckpt_path=PATH]"""

from motion_transfer.export import run_export
from motion_transfer.tasks import run_task

if __name__ == "__main__":
    run_task("export", run_export, "onnx")
