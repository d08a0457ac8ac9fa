"""The scheduler's job table, declared here so Alembic creates it like every other table.

It mirrors APScheduler 3's SQLAlchemyJobStore table; the job store finds it existing and uses it.
"""

import sqlalchemy as sa

from inspect_api.db import db

JOBS_TABLE = "apscheduler_jobs"

apscheduler_jobs = sa.Table(
    JOBS_TABLE,
    db.metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)
