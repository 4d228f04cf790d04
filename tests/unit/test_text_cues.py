"""Cues: the wording of sponsor reads, intros, outros and calls to action."""

from __future__ import annotations

import pytest

from orchestrator.pipeline.text.cues import cue_label, placed, substance


@pytest.mark.parametrize(("text", "start", "end", "label"), [
    ("This video is sponsored by SoundPro. Use code CLEAN for 40 percent off.", 300, 330,
     "sponsor"),
    ("Don't forget to like and subscribe, and hit the bell.", 300, 320, "call_to_action"),
    ("Welcome back to the channel. Today we look at microphones.", 0, 15, "intro"),
    ("That's all for today. Thanks for watching, see you in the next one!", 580, 600, "outro"),
    # An intro's wording in the middle of the talk, or an outro's at the start, is not one.
    ("Welcome to the second part, where the room matters.", 300, 320, None),
    ("Thanks for watching my first test earlier, here is what changed.", 10, 30, None),
    ("Placement beats price: the cheap microphone close up sounds better.", 300, 320, None),
])
def test_labels(text, start, end, label):
    assert cue_label(text, start, end, duration_s=600) == label


def test_a_models_intro_or_outro_counts_only_at_the_talks_edges():
    assert placed("intro", 0, 30, 600) == "intro" and placed("intro", 120, 150, 600) == "intro"
    assert placed("intro", 300, 320, 600) == "filler"  # "Third, editing. Cut the pauses ..."
    assert placed("outro", 570, 600, 600) == "outro" and placed("outro", 40, 60, 600) == "filler"
    assert placed("sponsor", 300, 320, 600) == "sponsor"  # an ad read may come anywhere
    assert placed("highlight", 0, 30, 600) == "highlight"


def test_substance_counts_explanations_not_energy():
    insight = ["The close microphone sounds better because the echo grows with distance.",
               "It costs ten dollars, less than a tenth of the studio one."]
    hype = ["Wow! Amazing! Incredible!", "Unbelievable! Insane! Wow!"]
    assert substance(insight) > substance(hype) == 0.0
    assert substance([]) == 0.0
