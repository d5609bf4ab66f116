"""Composition of every domain's tables so Base.metadata knows them all (Alembic, tests).

Each domain adds its `models` module here when it gains tables.
"""

from watchkeeper.audit import models as _audit  # noqa: F401
from watchkeeper.auth import models as _auth  # noqa: F401
from watchkeeper.catalog import models as _catalog  # noqa: F401
from watchkeeper.db.base import Base
from watchkeeper.worker import models as _worker  # noqa: F401
from watchkeeper.readiness import models as _readiness  # noqa: F401
from watchkeeper.signoffs import models as _signoffs  # noqa: F401
from watchkeeper.assessments import models as _assessments  # noqa: F401
from watchkeeper.alerting import models as _alerting  # noqa: F401
from watchkeeper.notify import models as _notify  # noqa: F401
from watchkeeper.maintenance import models as _maintenance  # noqa: F401
from watchkeeper.monitoring import models as _monitoring  # noqa: F401

metadata = Base.metadata
