"""What a scheduled job is, shared by the scheduler (bot.scheduler) and the modules that provide jobs
(bot.retention_job): kept apart so that the scheduler can import its job sources without a cycle."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.base import BaseTrigger


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    func: Callable[[], Any]
    trigger: BaseTrigger
