"""Preview pictures of the caption styles (``snapclip caption-preview``; the README shows them).

Each preset burns one caption line, as a clip would show it while its second word is spoken,
into a 1080 x 1920 frame of an FFmpeg test picture, with the same ``to_ass`` and the same
FFmpeg ``ass`` filter a render uses; the picture is scaled to 360 x 640 to keep it small.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from orchestrator.contracts.transcript import Word
from orchestrator.errors import SnapclipError
from orchestrator.pipeline.render.captions import caption_lines, keywords, to_ass
from orchestrator.pipeline.render.styles import PRESETS

_LINE = ["Placement", "beats", "price,", "every", "time."]
_TITLE = "Why placement wins"  # its word "placement" is a keyword: emphasised
_AT_S = 0.75  # the second word is being said


def preview_styles(folder: Path) -> list[Path]:
    """Write ``<preset>.png`` for every preset into ``folder``; return the files."""
    folder.mkdir(parents=True, exist_ok=True)
    spoken = [Word(i * 0.5, i * 0.5 + 0.45, w, 0.9) for i, w in enumerate(_LINE)]
    lines = caption_lines(spoken, 3.0)
    emphasis = keywords(_TITLE, spoken)
    out = []
    with tempfile.TemporaryDirectory(prefix="snapclip-preview-") as tmp:
        for name, style in PRESETS.items():
            ass = Path(tmp) / f"{name}.ass"
            ass.write_text(to_ass(lines, 1080, 1920, style, emphasis), encoding="utf-8")
            picture = folder / f"{name}.png"
            cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                   "-f", "lavfi", "-i", "smptehdbars=size=1080x1920:rate=10:duration=2",
                   "-ss", f"{_AT_S}", "-frames:v", "1",
                   "-vf", f"eq=brightness=-0.25:saturation=0.6,ass={ass.name},scale=360:-2",
                   str(picture.resolve())]
            done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0 or not picture.is_file():
                raise SnapclipError(f"ffmpeg could not draw the {name} preview: "
                                    f"{done.stderr.strip()[-300:]}")
            out.append(picture)
    return out
