"""The shape of watchkeeper.yaml. Each domain contributes its section's models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.catalog.schemas import PersonCreate, ServiceCreate, TeamCreate


class WatchkeeperConfig(BaseModel):
    """Everything Watchkeeper manages as code. Objects declared here are owned by the file:
    `apply` creates, updates and deletes them. Objects made at run time are never touched."""

    model_config = ConfigDict(extra="forbid", title="watchkeeper.yaml")

    version: Literal[1] = Field(1, description="Format version of this file.")
    people: list[PersonCreate] = Field(default_factory=list, description="People who can own, review and be paged.")
    teams: list[TeamCreate] = Field(default_factory=list, description="Teams that own services.")
    services: list[ServiceCreate] = Field(default_factory=list, description="The service catalog.")


def json_schema() -> dict:
    schema = WatchkeeperConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://watchkeeper.dev/schema/watchkeeper.schema.json"
    return schema
