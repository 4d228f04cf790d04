"""The job store: jobs, their progress events and stage checkpoints, in SQL.

SQLAlchemy with Alembic migrations: a SQLite file by default, PostgreSQL when
``SNAPCLIP_DATABASE_URL`` says so. Queries are built with SQLAlchemy's expression language,
never from strings.
"""

from orchestrator.store.jobs import (
    Event,
    Job,
    JobState,
    JobStore,
    LeaseLostError,
    LeaseStatus,
    default_url,
)

__all__ = ["Event", "Job", "JobState", "JobStore", "LeaseLostError", "LeaseStatus", "default_url"]
