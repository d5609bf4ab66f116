"""Every domain's tables in Base.metadata (Alembic, tests): the modules the descriptors list
(watchkeeper/domains.py)."""

import importlib

from watchkeeper import domains
from watchkeeper.db.base import Base

for _module in domains.models():
    importlib.import_module(_module)

metadata = Base.metadata
