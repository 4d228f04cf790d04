"""The mini dataset: short synthesized talks whose "Most Replayed" peak is a planted segment.

Two kinds of talk. The first three join a few of the sample's calm topics and its one plainly
exciting stretch (faster, louder, higher speech over a moving picture;
``orchestrator.synth.video``), at the start, middle or end. The four "decoy" talks turn that
around, as real videos do: the passage viewers replay is told calmly over a still picture,
while a sponsor read, an intro and an outro with a call to action are the loud, fast,
exclamation-heavy stretches over busy pictures - a selection that confuses energy with interest
ranks a decoy first. Each talk's heatmap, in yt-dlp's format, rises over the planted segment to
a peak in its middle and stays low and gently uneven elsewhere - what viewers replaying that
stretch would leave.
The videos are generated (deterministic for one espeak-ng version); ``eval/mini/dataset.jsonl``
is the checked-in ground truth this module writes beside them:

    .venv/bin/python -m orchestrator.evaluation.minidata eval/mini
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestrator.synth.video import SAMPLE_SEGMENTS, SampleSegment, make_talk

BINS = 100  # yt-dlp's heatmaps have 100 bins


@dataclass(frozen=True)
class MiniTalk:
    id: str
    category: str
    segments: tuple[SampleSegment, ...]
    planted: int  # which of ``segments`` viewers replay
    decoys: tuple[int, ...] = ()  # which are sponsor reads, intros, outros, calls to action


def _calm(text: str, picture: str = "smptehdbars") -> SampleSegment:
    return SampleSegment(text, picture)


def _loud(text: str, picture: str = "testsrc2") -> SampleSegment:
    return SampleSegment(text, picture, excited=True)


EXCITED = next(i for i, s in enumerate(SAMPLE_SEGMENTS) if s.excited)
_S = SAMPLE_SEGMENTS
TALKS = (
    MiniTalk("mini-middle", "tutorial", (_S[0], _S[EXCITED], _S[4]), planted=1),
    MiniTalk("mini-start", "tutorial", (_S[EXCITED], _S[5], _S[6]), planted=0),
    MiniTalk("mini-end", "review", (_S[1], _S[2], _S[EXCITED]), planted=2),
    MiniTalk("decoy-bread", "tutorial", (
        _loud("Hey everyone, welcome back to the channel! Today we bake bread at home! "
              "Let's get started right away!"),
        _calm("Start with flour, water, salt and a little yeast. Mix them until no dry flour "
              "is left, and let the dough rest for half an hour.", "pal100bars"),
        _calm("Here is what surprised me after a hundred loaves. The dough that rested "
              "overnight in the fridge rose higher than the dough I kneaded for twenty "
              "minutes, because time does the kneading for you. The lazy method wins."),
        _loud("This video is sponsored by KitchenPro! Use code BREAD twenty for twenty "
              "percent off! Amazing deal, link in the description!", "testsrc"),
        _loud("That's all for today! Thanks for watching! Like and subscribe and hit the "
              "bell! See you in the next one!", "testsrc2"),
    ), planted=2, decoys=(0, 3, 4)),
    MiniTalk("decoy-photo", "review", (
        _loud("Welcome back to the channel! Today we test three cameras! Let's go!"),
        _loud("But first, this video is sponsored by LensMart! Get fifteen percent off your "
              "first order with code PHOTO! Don't miss it, link below!", "testsrc"),
        _calm("The cheapest camera had the slowest autofocus. It hunted in low light and "
              "missed half of my shots of moving people.", "pal100bars"),
        _calm("The surprise came when I printed the photos. Nobody in my test could tell "
              "the two hundred dollar camera from the two thousand dollar one, because at "
              "normal print sizes the lens matters more than the sensor."),
        _loud("Thanks for watching! Subscribe for more reviews and comment below which "
              "camera you want next! See you soon!", "testsrc2"),
    ), planted=3, decoys=(0, 1, 4)),
    MiniTalk("decoy-run", "tutorial", (
        _loud("Hi everyone! Welcome back! Today is all about running faster!"),
        _calm("The one change that cut my race time by four minutes was running slower. "
              "Four of my five weekly runs are now so easy I can talk the whole time, and "
              "that builds the base that makes the fast day count."),
        _calm("Shoes matter less than people think. Pick a pair that feels comfortable in "
              "the shop and replace them every six hundred kilometres.", "pal100bars"),
        _loud("Don't forget to like and subscribe! Smash that like button and follow me "
              "for more! Support the channel on Patreon!", "testsrc"),
        _loud("That's it for today! Thanks for watching and see you next time! Bye!",
              "testsrc2"),
    ), planted=1, decoys=(0, 3, 4)),
    MiniTalk("decoy-focus", "tutorial", (
        _loud("Welcome to the channel! In this video I share how I stay focused!"),
        _calm("First, I write tomorrow's three tasks every evening. It takes two minutes.",
              "pal100bars"),
        _loud("This part is brought to you by FocusApp! Get a free trial and fifty percent "
              "off with my code! Check them out now!", "testsrc"),
        _calm("Second, I keep my phone in another room while I work. It sounds simple, but "
              "it added two hours of deep work to my day.", "yuvtestsrc"),
        _calm("The real secret is that willpower runs out. I stopped trying to resist "
              "distractions and removed them instead, and that is why the habit stuck when "
              "every other method failed."),
        _loud("Thanks for watching! Like and subscribe and see you in the next one!",
              "testsrc2"),
    ), planted=4, decoys=(0, 2, 5)),
)


def planted_heatmap(span: tuple[float, float], duration_s: float) -> list[dict[str, float]]:
    """100 bins: low and uneven outside ``span``, rising to 1.0 at its middle."""
    width = duration_s / BINS
    middle, half = (span[0] + span[1]) / 2, (span[1] - span[0]) / 2
    bins = []
    for n in range(BINS):
        t = (n + 0.5) * width
        if span[0] <= t < span[1]:
            value = 0.6 + 0.4 * (1 - abs(t - middle) / half)
        else:
            value = 0.2 + 0.05 * math.cos(t / 7)
        bins.append({"start_time": round(n * width, 3), "end_time": round((n + 1) * width, 3),
                     "value": round(min(1.0, value), 4)})
    return bins


def make_minidata(folder: Path, talks: tuple[MiniTalk, ...] = TALKS) -> Path:
    """Write the talks' videos and ``dataset.jsonl`` (sources relative to it) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for talk in talks:
        video = folder / f"{talk.id}.mp4"
        _, spans = make_talk(video, segments=talk.segments, size="640x360", fps=15)
        duration = spans[-1][1]
        entry = {
            "id": talk.id, "source": video.name, "category": talk.category,
            "planted": {"start_s": spans[talk.planted][0], "end_s": spans[talk.planted][1]}}
        if talk.decoys:
            entry["decoys"] = [{"start_s": spans[n][0], "end_s": spans[n][1]}
                               for n in talk.decoys]
        lines.append(json.dumps({**entry,
                                 "heatmap": planted_heatmap(spans[talk.planted], duration)}))
    dataset = folder / "dataset.jsonl"
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dataset


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("eval/mini")
    print(make_minidata(out))
