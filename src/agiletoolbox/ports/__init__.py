"""The ports: what the core needs from the world, as `typing.Protocol`s in domain terms.

Every port has an in-memory implementation in `agiletoolbox.adapters.memory`; the real ones
live in the other adapters. Services depend on these protocols only.
"""

from agiletoolbox.ports.clock import Clock
from agiletoolbox.ports.events import (
    Published,
    ResyncAll,
    RoomChange,
    RoomEventBus,
    RoomSignal,
    SessionChange,
)
from agiletoolbox.ports.forge import SystemToken, SystemTokenRepository, UserToken
from agiletoolbox.ports.jira import InstallKeyProvider, JiraClient
from agiletoolbox.ports.jobs import JobLock
from agiletoolbox.ports.personal_data import AccountReport, AccountStatus, PersonalDataReporter
from agiletoolbox.ports.repositories import (
    DefaultsRepository,
    ErrorReportRepository,
    ReportCycleRepository,
    RoomRepository,
    TenantRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)

__all__ = [
    "AccountReport",
    "AccountStatus",
    "Clock",
    "DefaultsRepository",
    "ErrorReportRepository",
    "InstallKeyProvider",
    "JiraClient",
    "JobLock",
    "PersonalDataReporter",
    "Published",
    "ReportCycleRepository",
    "ResyncAll",
    "RoomChange",
    "RoomEventBus",
    "RoomRepository",
    "RoomSignal",
    "SessionChange",
    "SystemToken",
    "SystemTokenRepository",
    "TenantRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserToken",
]
