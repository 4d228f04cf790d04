"""Ingest stage: a local file or a downloaded URL, probed before any model time is spent."""

from orchestrator.pipeline.ingest.download import UrlPolicy
from orchestrator.pipeline.ingest.source import Source, open_source, open_source_async, probe

__all__ = ["Source", "UrlPolicy", "open_source", "open_source_async", "probe"]
