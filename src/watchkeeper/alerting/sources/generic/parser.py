from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from watchkeeper.alerting.schemas import AlertIn, GenericBatch
from watchkeeper.errors import InvalidInput

_LIST = TypeAdapter(list[AlertIn])


def parse(data: Any) -> list[AlertIn]:
    from watchkeeper.alerting.sources import invalid

    try:
        if isinstance(data, list):
            if not data:
                raise InvalidInput("the batch is empty; send at least one alert", field="alerts", code="alert.invalid_payload")
            return _LIST.validate_python(data)
        if isinstance(data, dict):
            return GenericBatch.model_validate(data).alerts
    except ValidationError as exc:
        raise invalid(exc, prefix="" if isinstance(data, dict) else "alerts") from None
    raise InvalidInput('the body must be {"alerts": [...]} or a list of alerts', field=None, code="alert.invalid_payload")
