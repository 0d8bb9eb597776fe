"""In-memory implementations of every port, for tests, demos and library users.

They keep the same promises as the real adapters (transactions that roll back unless
committed, version checks, one room per issue) so the same contract tests run on both.
"""

from agiletoolbox.adapters.memory.bus import MemoryEventBus
from agiletoolbox.adapters.memory.clock import ManualClock
from agiletoolbox.adapters.memory.jira import MemoryInstallKeys, MemoryJira, MemoryPersonalData
from agiletoolbox.adapters.memory.store import MemoryStore, MemoryUnitOfWork

__all__ = [
    "ManualClock",
    "MemoryEventBus",
    "MemoryInstallKeys",
    "MemoryJira",
    "MemoryPersonalData",
    "MemoryStore",
    "MemoryUnitOfWork",
]
