"""The page's layout: the Transfer, Report and Train tabs, their lists, buttons and results, wired to
the handlers of `actions.PageActions`. Every model of configs/model/ is offered, named with what it
is in a few words, and the one picked described by its config's first line under the list."""

from __future__ import annotations

import re

from motion_transfer.app.actions import PageActions, model_summary
from motion_transfer.app.commands import IMAGE_SIZES
from motion_transfer.app.runs import EMBEDDED
from motion_transfer.models.kinds import model_kinds, model_names


def model_label(name: str) -> str:
    """A model as the lists show it: its name and what it is in a few words (its config's first line,
    up to its colon), e.g. `nearest: Nearest neighbour (no training)`."""
    kind = model_kinds()[name]
    head, _, rest = kind.summary.partition(":")
    words = head.strip()
    if words.lower() == name.lower() and rest:  # "Warp: the target's frames bent ...": the words after it
        words = re.split(r",|;| at ", rest.strip())[0]
    return f"{name}: {words}" + ("" if kind.learns else " (no training)")


def model_choices(learns: bool | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs of a model list: every model of configs/model/ (only those that learn: True)."""
    return [(model_label(name), name) for name in model_names(learns=learns)]


def live_tab(page, actions: PageActions, clips: list[tuple[str, str]]):
    """The Live tab: the visitor's webcam streamed through live mode (app/live_view.py); returns its
    target list (refreshed with the others)."""
    import gradio as gr

    settings = actions.settings
    with gr.Tab("Live"):
        gr.Markdown(
            "The target copies you live: start your webcam below. One visitor at a time; the session ends "
            f"when your webcam stops for {settings.live_stall_s:g} s or you leave the page (to change the target "
            "or model, stop the webcam, pick, and start it again)."
        )
        with gr.Row():
            target = gr.Dropdown(clips, label="Target (who is shown)", value=EMBEDDED, elem_id="live-target")
            model = gr.Radio(model_choices(), value=settings.transfer_model, label="Model", elem_id="live-model")
            run = gr.Dropdown(label="Trained run", elem_id="live-run", scale=2)
        note = gr.Markdown(elem_id="live-run-note")
        status = gr.Markdown(elem_id="live-status")
        with gr.Row():
            webcam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Your webcam", elem_id="webcam")
            result = gr.Image(label="The target", format="jpeg", interactive=False, elem_id="live-result")

    def frame(image, target_value, model_name, checkpoint, request: gr.Request):
        shown, said = actions.live.frame(image, target_value, model_name, checkpoint, request.session_hash)
        return (gr.skip() if shown is None else shown), said

    # Gradio hands the visitor's request to a parameter annotated gr.Request; under postponed
    # annotations it sees the text "gr.Request", which it cannot resolve here (gradio is imported late).
    frame.__annotations__["request"] = gr.Request
    for trigger in (page.load, target.change, model.change):
        trigger(lambda t, m: actions.run_choices(t, None, m), [target, model], [run, note])
    webcam.stream(
        frame,
        [webcam, target, model, run],
        [result, status],
        stream_every=1.0 / settings.live_fps,
        time_limit=None,
        concurrency_limit=None,  # each frame only hands over to the session's own threads
        show_progress="hidden",
    )
    return target


def build_page(actions: PageActions):
    """The page's gr.Blocks, its events calling `actions`."""
    import gradio as gr

    settings = actions.settings
    jobs = {"concurrency_limit": settings.max_jobs, "concurrency_id": "jobs"}
    clips = actions.clip_choices()
    with gr.Blocks(title="Motion transfer", analytics_enabled=False) as page:
        gr.Markdown(
            "# Motion transfer\nThe **target** person performs the **source** person's moves, in the target's "
            "own scene. Pick clips from the lists or upload your own (the embedded example needs neither)."
        )
        with gr.Tab("Transfer"):
            with gr.Row():
                with gr.Column():
                    target_choice = gr.Dropdown(clips, label="Target (who is shown)", value=EMBEDDED, elem_id="target")
                    target_upload = gr.File(label="or upload a target clip", elem_id="target-upload")
                    target_note = gr.Markdown(elem_id="target-note")
                with gr.Column():
                    source_choice = gr.Dropdown(clips, label="Source (whose moves)", value=EMBEDDED, elem_id="source")
                    source_upload = gr.File(label="or upload a source clip", elem_id="source-upload")
                    source_note = gr.Markdown(elem_id="source-note")
            with gr.Row():
                model = gr.Radio(model_choices(), value=settings.transfer_model, label="Model", elem_id="model")
                run = gr.Dropdown(label="Trained run", elem_id="run", scale=2)
            model_note = gr.Markdown(model_summary(settings.transfer_model), elem_id="model-summary")
            run_note = gr.Markdown(elem_id="run-note")
            with gr.Row():
                start = gr.Button("Transfer the moves", variant="primary", elem_id="start", scale=3)
                stop = gr.Button("Stop", elem_id="stop")
            status = gr.Markdown(elem_id="status")
            with gr.Row():
                generated = gr.Video(label="Result (generated.mp4)", elem_id="generated", buttons=["download"])
                side_by_side = gr.Video(
                    label="Source | result (transfer.mp4)", elem_id="side-by-side", buttons=["download"]
                )
            downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="downloads")

        with gr.Tab("Report"):
            gr.Markdown(
                "Every model trained on a target, scored on its held-out frames (`src/report.py`): one table "
                "and one grid (stick figure | real | each model)."
            )
            with gr.Row():
                report_target = gr.Dropdown(clips, label="Target", value=EMBEDDED, elem_id="report-target", scale=3)
                report_size = gr.Dropdown(label="Image size (px)", elem_id="report-size")
                with_pose = gr.Checkbox(value=True, label="Pose consistency (MediaPipe; slower)")
            make_report = gr.Button("Make a new report", variant="primary", elem_id="make-report")
            report_status = gr.Markdown(elem_id="report-status")
            report_table = gr.Markdown(elem_id="report-table")
            with gr.Row():
                report_grid = gr.Image(label="report.png", type="filepath", interactive=False, height=480)
                report_frames = gr.Image(
                    label="report_frames.png (full frame)", type="filepath", interactive=False, height=480
                )

        with gr.Tab("Train"):
            gr.Markdown(
                "Train a learned model on a target for a wall-clock budget (`src/train.py`, "
                "`trainer.max_time`); the run then appears in the Transfer tab. The recipes of docs/results.md "
                "train for 6 to 16 minutes on 2 CPU cores."
            )
            with gr.Row():
                with gr.Column():
                    train_target = gr.Dropdown(clips, label="Target", value=EMBEDDED, elem_id="train-target")
                    train_upload = gr.File(label="or upload a target clip", elem_id="train-upload")
                    train_note = gr.Markdown(elem_id="train-note")
                with gr.Column():
                    train_model = gr.Radio(
                        model_choices(learns=True), value=settings.train_model, label="Model", elem_id="train-model"
                    )
                    train_model_note = gr.Markdown(model_summary(settings.train_model), elem_id="train-model-summary")
                    minutes = gr.Slider(1, 120, value=5, step=1, label="Time budget (minutes)")
                    train_size = gr.Dropdown([str(s) for s in IMAGE_SIZES], value="64", label="Image size (px)")
                    evaluate_after = gr.Checkbox(value=True, label="Score it on the held-out frames afterwards")
            with gr.Row():
                start_training = gr.Button("Train", variant="primary", elem_id="train")
                stop_training = gr.Button("Stop (keeps the last checkpoint)", elem_id="stop-training")
            train_status = gr.Markdown(elem_id="train-status")
            train_log = gr.Textbox(label="Log (last lines)", lines=10, max_lines=10, interactive=False)

        live_target = live_tab(page, actions, clips)

        def refresh_lists(target, source, report_target_value, model_name):
            choices = actions.clip_choices()
            values = {value for _, value in choices}
            keep = lambda v: v if v in values else EMBEDDED  # noqa: E731 - a picked clip that vanished
            runs, note = actions.run_choices(keep(target), None, model_name)
            return (
                gr.update(choices=choices, value=keep(target)),
                gr.update(choices=choices, value=keep(source)),
                gr.update(choices=choices, value=keep(report_target_value)),
                gr.update(choices=choices),
                gr.update(choices=choices),
                runs,
                note,
            )

        lists = [target_choice, source_choice, report_target, train_target, live_target, run, run_note]
        report_outputs = [report_status, report_table, report_grid, report_frames]
        page.load(refresh_lists, [target_choice, source_choice, report_target, model], lists).then(
            actions.report_sizes, report_target, [report_size, *report_outputs]
        )
        runs_inputs = [target_choice, target_upload, model]
        for trigger in (target_choice.change, model.change, target_upload.change):
            trigger(actions.run_choices, runs_inputs, [run, run_note])
        model.change(model_summary, model, model_note)
        train_model.change(model_summary, train_model, train_model_note)
        target_upload.upload(lambda f: actions.check_uploaded(f, "target"), target_upload, target_note)
        source_upload.upload(lambda f: actions.check_uploaded(f, "source"), source_upload, source_note)
        train_upload.upload(lambda f: actions.check_uploaded(f, "target"), train_upload, train_note)
        train_upload.clear(lambda: "", None, train_note)
        target_upload.clear(lambda: "", None, target_note)
        source_upload.clear(lambda: "", None, source_note)

        def transfer(t, tu, s, su, m, r, progress=gr.Progress()):
            yield from actions.transfer(t, tu, s, su, m, r, progress)

        transfer_event = start.click(
            transfer,
            [target_choice, target_upload, source_choice, source_upload, model, run],
            [status, generated, side_by_side, downloads],
            **jobs,
        )
        stop.click(lambda: "Stopped.", None, status, cancels=[transfer_event])
        report_target.change(actions.report_sizes, report_target, [report_size, *report_outputs])
        report_size.input(actions.shown_report, [report_target, report_size], report_outputs)

        def report(t, size, pose, progress=gr.Progress()):
            yield from actions.report(t, size, pose, progress)

        make_report.click(report, [report_target, report_size, with_pose], report_outputs, **jobs)

        def train(t, tu, m, minutes_value, size, evaluate, progress=gr.Progress()):
            yield from actions.train(t, tu, m, minutes_value, size, evaluate, progress)

        training = start_training.click(
            train,
            [train_target, train_upload, train_model, minutes, train_size, evaluate_after],
            [train_status, train_log],
            **jobs,
        )
        training.then(refresh_lists, [target_choice, source_choice, report_target, model], lists)
        stop_training.click(
            lambda: "Stopped: the run keeps its last checkpoint.", None, train_status, cancels=[training]
        )
    return page
