"""``snapclip serve``: the highlight pipeline as a long-lived service (gRPC for now)."""
