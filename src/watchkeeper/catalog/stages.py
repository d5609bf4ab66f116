"""Service stages, named by every domain that gates on them: the order POC → MVP → MMP → PROD
and what skipping a stage risks (pure)."""

from __future__ import annotations

import dataclasses
from enum import StrEnum


class Stage(StrEnum):
    POC = "POC"
    MVP = "MVP"
    MMP = "MMP"
    PROD = "PROD"

    @property
    def rank(self) -> int:
        return ORDER.index(self)


ORDER = [Stage.POC, Stage.MVP, Stage.MMP, Stage.PROD]

# What a service misses when it jumps over a stage.
SKIP_RISKS: dict[Stage, str] = {
    Stage.MVP: "security vulnerabilities, data loss risks and operational fragility",
    Stage.MMP: "poor user experience, missing features, support chaos, operational failures, missing runbooks and incident response gaps",
}


@dataclasses.dataclass(frozen=True)
class Move:
    current: Stage
    target: Stage

    @property
    def is_promotion(self) -> bool:
        return self.target.rank > self.current.rank

    @property
    def is_demotion(self) -> bool:
        return self.target.rank < self.current.rank

    @property
    def skipped(self) -> list[Stage]:
        if not self.is_promotion:
            return []
        return ORDER[self.current.rank + 1 : self.target.rank]

    def skip_message(self, service: str) -> str:
        parts = [f"{s.value} (risks: {SKIP_RISKS[s]})" for s in self.skipped]
        nxt = ORDER[self.current.rank + 1].value
        return (
            f"cannot promote '{service}' from {self.current.value} to {self.target.value}: it would skip "
            + " and ".join(parts)
            + f"; promote one stage at a time, next: `watchkeeper promote {service} --to {nxt}`"
        )
