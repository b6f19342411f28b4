"""Writeback: field mappings, the plan (a diff against the ledger and live values), and apply."""

from writeback.apply import ApplyOutcome, WriteFailure, apply_plan
from writeback.guard import MassChange, mass_change
from writeback.mapping import ConnectorWriteback, FieldMapping, MassChangeGuard, WritebackConfig
from writeback.plan import FieldChange, Plan, Reason, make_plan
from writeback.values import canonical, desired_values

__all__ = [
    "ApplyOutcome",
    "ConnectorWriteback",
    "FieldChange",
    "FieldMapping",
    "MassChange",
    "MassChangeGuard",
    "Plan",
    "Reason",
    "WriteFailure",
    "WritebackConfig",
    "apply_plan",
    "canonical",
    "desired_values",
    "make_plan",
    "mass_change",
]
