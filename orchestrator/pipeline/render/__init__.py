"""Render stage: the clips (``encode``: FFmpeg), their captions (``captions``), the score
timeline (``timeline``) and the editor timelines (``editors``: OpenTimelineIO), driven by
``stage``."""

from orchestrator.pipeline.render.stage import Chosen, RenderInput, render_clips, write_extras

__all__ = ["Chosen", "RenderInput", "render_clips", "write_extras"]
