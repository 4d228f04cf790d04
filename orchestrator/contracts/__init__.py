"""The contracts between the parts of snapclip, each defined once.

``models`` — the Triton models' names and tensors (every ``config.pbtxt`` declares exactly
these); ``transcript`` — the JSON the ``whisper`` model returns and the merged transcript;
``clip`` — the ``clip.json`` metadata every CLIP export writes. Both sides of each contract
import it from here: the orchestrator and the code that runs inside Triton (``backends``), so
this package imports nothing but the standard library.
"""
