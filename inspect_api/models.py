"""Every feature's models, imported in one place so the metadata (and Alembic) sees all tables."""

from inspect_api.accountability.models import EscalationPolicyVersion, Proposal, ReferralCase
from inspect_api.assessment.models import (
    GradeRun,
    SurveyDraw,
    SurveyRecipient,
    SurveyResponse,
    SurveySelection,
    UnitGrade,
)
from inspect_api.audit.models import AuditEvent, AuditHead
from inspect_api.auth.models import AuthSession, LoginThrottle, User
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.complaints.models import Complaint
from inspect_api.core.jobstore import apscheduler_jobs  # noqa: F401
from inspect_api.core.models import Counter, FormThrottle, FormToken, HolidayDay
from inspect_api.documents.models import Document, DocumentUnit, RenderJob
from inspect_api.matters.models import (
    MatterAttachment,
    MatterExtension,
    MatterReport,
    MatterUnit,
    SupervisedMatter,
)
from inspect_api.notifications.models import Notification
from inspect_api.org.models import ServiceItem, Staff, Unit
from inspect_api.ratings.models import Rating, RatingFollowUp
from inspect_api.review.models import Appeal, Attachment, Rectification, RectificationReport
from inspect_api.sampling.models import (
    AssignmentInspector,
    InspectorConflict,
    SamplingAssignment,
    SamplingPlan,
)
from inspect_api.shopper.models import Scenario, ShopperRecord
from inspect_api.stats.models import stats_rollup
from inspect_api.visits.models import Evidence, Finding, Response, Visit, VisitInspector

__all__ = ["Complaint", "Rating", "RatingFollowUp", "FormThrottle", "FormToken", "EscalationPolicyVersion", "Proposal", "ReferralCase", "Document", "DocumentUnit", "RenderJob", "Appeal", "Attachment", "Rectification", "RectificationReport", "HolidayDay", "Notification", "AssignmentInspector", "InspectorConflict", "SamplingAssignment", "SamplingPlan", "AuditEvent", "AuditHead", "AuthSession", "ChecklistVersion", "Counter", "Evidence", "Finding",
           "LoginThrottle", "Response", "Scenario", "ServiceItem", "ShopperRecord", "Staff", "Unit", "User", "Visit", "VisitInspector"]
__all__ += ["GradeRun", "SurveyDraw", "SurveyRecipient", "SurveyResponse", "SurveySelection", "UnitGrade"]
__all__ += ["MatterAttachment", "MatterExtension", "MatterReport", "MatterUnit", "SupervisedMatter"]
__all__ += ["stats_rollup"]
