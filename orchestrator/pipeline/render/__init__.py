"""Render stage: the clips (``encode``: FFmpeg), their captions (``captions``), the score
timeline (``timeline``) and the editor timelines (``editors``: OpenTimelineIO), driven by
``stage``."""

from orchestrator.pipeline.render.stage import RenderInput, render_clips, write_extras

__all__ = ["RenderInput", "render_clips", "write_extras"]
