"""What revsync writes to Intercom: the attribute catalog, customer matching and the
contact/company frames. The Dagster assets live in `assets.attributes.assets`.
"""

from assets.attributes.account_lifecycle import account_lifecycle
from assets.attributes.catalog import (
    COMPANY_ATTRIBUTES,
    CONTACT_REVENUE_ATTRIBUTES,
    RESERVED_PREFIX,
    AttributeSpec,
    DataType,
    Model,
    catalog,
    usage_attributes,
)
from assets.attributes.frames import account_revenue_fields, company_frame, contact_frame
from assets.attributes.held_back import held_back, mark_incomplete, unpriced_customers
from assets.attributes.matching import MatchProblem, match_customers

__all__ = [
    "COMPANY_ATTRIBUTES",
    "CONTACT_REVENUE_ATTRIBUTES",
    "RESERVED_PREFIX",
    "AttributeSpec",
    "DataType",
    "MatchProblem",
    "Model",
    "account_lifecycle",
    "account_revenue_fields",
    "catalog",
    "company_frame",
    "contact_frame",
    "held_back",
    "mark_incomplete",
    "match_customers",
    "unpriced_customers",
    "usage_attributes",
]
