"""Every feature's models, imported in one place so the metadata (and Alembic) sees all tables."""

from inspect_api.audit.models import AuditEvent, AuditHead
from inspect_api.auth.models import AuthSession, LoginThrottle, User
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.org.models import ServiceItem, Staff, Unit

__all__ = ["AuditEvent", "AuditHead", "AuthSession", "ChecklistVersion", "LoginThrottle", "ServiceItem", "Staff",
           "Unit", "User"]
