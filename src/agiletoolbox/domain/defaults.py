"""Room defaults a person saves for a project and issue type."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.ids import AccountId, IssueTypeId, ProjectKey, TenantKey


@frozen
class DefaultsKey:
    """Whose defaults, for which project and issue type."""

    tenant: TenantKey
    account_id: AccountId
    project: ProjectKey
    issue_type: IssueTypeId


@frozen
class SavedDefaults:
    """A configuration saved as a person's default; pre-fills the form of a new room."""

    key: DefaultsKey
    config: RoomConfig
    saved_at: datetime
