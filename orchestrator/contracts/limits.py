"""The bounds of what a job may ask for: one table that the CLI, both service APIs and the
REST API's OpenAPI document read (``RunOptions`` checks the run's options, ``JobsApi`` the
request around them, ``rest_schema`` writes them into the schema as minimum/maximum)."""

from __future__ import annotations

# The aspects a clip can be rendered in, and the frame size of each.
ASPECTS: dict[str, tuple[int, int]] = {"9:16": (1080, 1920), "1:1": (1080, 1080),
                                       "16:9": (1920, 1080)}
_ONE_ASPECT = "(" + "|".join(ASPECTS) + ")"
# One aspect, or several at once ("9:16,1:1,16:9": every clip rendered in each).
ASPECTS_PATTERN = f"^{_ONE_ASPECT}(,{_ONE_ASPECT}){{0,{len(ASPECTS) - 1}}}$"
MAX_CLIPS = 20  # clips per run
MIN_CLIP_S, MAX_CLIP_S = 1.0, 600.0  # bounds of --min-len and --max-len
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"  # an ISO 639 code, as Whisper names its languages
MAX_SOURCE_CHARS = 4096  # a URL or a server path
MAX_PROMPT_CHARS = 300  # the creator's topic (--prompt)
MAX_CAPTION_STYLE_CHARS = 200  # --caption-style: a preset and its options
MAX_REQUEST_ID_CHARS = 128  # the store's column
MAX_CAPTIONS_SRT_CHARS = 48_000  # an edited clip's SRT (10 min of captions; under BODY_LIMIT)
MAX_JOB_ID_CHARS = 64  # job ids are 32 hex digits
MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 100, 20  # a page size of 0 means the default
MAX_PAGE_TOKEN_CHARS = 64

# What FFmpeg may open for a source: local files only, and only these demuxers (no playlists,
# concat lists or other formats that name further files or URLs inside them).
MEDIA_PROTOCOLS = "file"
MEDIA_DEMUXERS = ("mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,ogg,wav,w64,mp3,aac,"
                  "flac,asf,mpeg,aiff,caf")
MEDIA_OPEN_OPTIONS = {"protocol_whitelist": MEDIA_PROTOCOLS, "format_whitelist": MEDIA_DEMUXERS}

# (message, field) -> JSON-schema keywords, for the REST models made from the proto.
FIELD_BOUNDS: dict[tuple[str, str], dict[str, object]] = {
    ("RunOptions", "clips"): {"ge": 1, "le": MAX_CLIPS},
    ("RunOptions", "min_len_s"): {"ge": MIN_CLIP_S, "le": MAX_CLIP_S},
    ("RunOptions", "max_len_s"): {"ge": MIN_CLIP_S, "le": MAX_CLIP_S},
    ("RunOptions", "language"): {"pattern": LANGUAGE_PATTERN},
    ("RunOptions", "aspect"): {"pattern": ASPECTS_PATTERN},
    ("RunOptions", "prompt"): {"max_length": MAX_PROMPT_CHARS},
    ("RunOptions", "caption_style"): {"max_length": MAX_CAPTION_STYLE_CHARS},
    ("SubmitRequest", "source"): {"min_length": 1, "max_length": MAX_SOURCE_CHARS},
    ("SubmitRequest", "request_id"): {"max_length": MAX_REQUEST_ID_CHARS},
    ("ClipEdit", "start_s"): {"ge": 0.0},
    ("ClipEdit", "end_s"): {"gt": 0.0},
    ("ClipEdit", "captions_srt"): {"max_length": MAX_CAPTIONS_SRT_CHARS},
    ("ClipEdit", "aspect"): {"pattern": ASPECTS_PATTERN},
    ("RenderClipRequest", "rank"): {"ge": 1, "le": MAX_CLIPS},
    ("RenderClipRequest", "job_id"): {"min_length": 1, "max_length": MAX_JOB_ID_CHARS},
}
REQUIRED: frozenset[tuple[str, str]] = frozenset({("SubmitRequest", "source"),
                                                  ("RenderClipRequest", "job_id"),
                                                  ("RenderClipRequest", "rank")})
