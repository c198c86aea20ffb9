"""The push to Intercom: the per-record plan (diff against the last confirmed state), the
attribute schema check and the service that runs both. The Dagster assets live in
`assets.push.assets`; the rules are in docs/push.md.
"""

from assets.push.plan import PlanSummary, PushPlan, RecordPlan, plan_companies, plan_contacts
from assets.push.runner import PushFailed, PushOptions, PushRun, PushSummary, check_error_rate
from assets.push.schema import AttributeSchemaError, SchemaPlan, plan_attribute_schema
from assets.push.service import SyncResult, ensure_attributes, push_companies, push_contacts, sync_intercom

__all__ = [
    "AttributeSchemaError",
    "PlanSummary",
    "PushFailed",
    "PushOptions",
    "PushPlan",
    "PushRun",
    "PushSummary",
    "RecordPlan",
    "SchemaPlan",
    "SyncResult",
    "check_error_rate",
    "ensure_attributes",
    "plan_attribute_schema",
    "plan_companies",
    "plan_contacts",
    "push_companies",
    "push_contacts",
    "sync_intercom",
]
