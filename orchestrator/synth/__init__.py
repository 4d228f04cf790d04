"""Media the demo, the tests, the load tests and the evaluation make for themselves.

Nothing is downloaded: ``speech`` has espeak-ng speak a known text (and measures where each
word starts), ``video`` puts it under ffmpeg's test pictures, up to whole talks with a planted
highlight; ``tools`` runs both programs with one clear error when they are missing.
"""
