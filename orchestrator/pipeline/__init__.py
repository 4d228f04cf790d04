"""The ``snapclip run`` pipeline: one module or subpackage per stage, composed in ``run``.

ingest (``ingest``) -> audio (``audio``) -> asr (``asr``) -> text: candidate moments from the
llm or the transcript (``text``) -> vision (``vision``) -> select (``select``) -> render
(``render``); ``reframe`` is the crop path the vision stage tracks and the render stage
follows. The types passed from stage to stage are in ``types`` (sentences, candidates) and
``manifest`` (what the run writes); the transcript is a model contract
(``orchestrator.contracts.transcript``). Stages reach Triton only through
``orchestrator.serving``.
"""
