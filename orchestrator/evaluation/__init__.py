"""``snapclip eval``: chosen clips against YouTube's "Most Replayed" heatmaps (see metrics)."""
