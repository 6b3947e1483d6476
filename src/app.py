"""The web page: python src/app.py (http://127.0.0.1:7860; server_name=0.0.0.0 for the network)"""

from motion_transfer.app.page import run_app
from motion_transfer.cli import run_task

if __name__ == "__main__":
    run_task("app", run_app, "url")
