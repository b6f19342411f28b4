"""The mass-change guard: a plan that would clear, or move by a large factor, too many of the values the
CRM already holds is stopped before anything is written. A config mistake (a period with no data, a
wrong figure, a unit or currency mix-up) looks like that; a normal run moves a few values a little.

Only values that already hold something count, so a first sync into empty fields is never a mass change.
``updated_at`` is left out: the planner sets it whenever anything else of the partner changes. So is
undoing people's edits (verify_live's ``edited_in_crm``): it writes back what the ledger says we wrote
last, which no config change made. They still count among the filled values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from connectors.fields import FieldValue
from writeback.mapping import MassChangeGuard
from writeback.plan import FieldChange, Plan, Reason
from writeback.values import canonical


@dataclass(frozen=True, slots=True)
class MassChange:
    """Why a plan is a mass change: of ``filled`` values holding one, ``cleared`` would be emptied and
    ``moved`` changed by more than the factor."""

    filled: int
    cleared: int
    moved: int
    settings: MassChangeGuard

    def describe(self) -> str:
        """One line for the run history and the alert: the counts against their limits."""
        s = self.settings
        parts = []
        if self.cleared / self.filled > s.max_cleared_share:
            parts.append(
                f"clear {self.cleared:,} of {self.filled:,} filled field value(s) "
                f"({self.cleared / self.filled:.0%}; limit mass_change.max_cleared_share {s.max_cleared_share:.0%})"
            )
        if self.moved / self.filled > s.max_changed_share:
            parts.append(
                f"change {self.moved:,} of {self.filled:,} by more than {s.change_factor}x "
                f"({self.moved / self.filled:.0%}; limit mass_change.max_changed_share {s.max_changed_share:.0%})"
            )
        return "the plan would " + " and ".join(parts)


def _number(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def moved_by_factor(before: str, after: FieldValue, factor: Decimal) -> bool:
    """Whether a number grows above ``factor`` times its size or falls below its size over ``factor``.

    Only numbers move by a factor: text and datetimes never do (only clearing them counts). A value
    that was 0 has no factor to move by (a count going from 0 to 3 is normal), so it never counts; one
    that falls to 0 from anything else does (all of a partner's revenue gone at once). A change of sign
    alone is not a factor change."""
    old, new = _number(before), _number(canonical(after))
    if old is None or new is None or old == 0:
        return False
    return abs(new) > factor * abs(old) or abs(new) < abs(old) / factor


_NOT_COUNTED = (Reason.TIMESTAMP, Reason.EDITED_IN_CRM, Reason.REWRITE)


def _counted(change: FieldChange) -> bool:
    return change.reason not in _NOT_COUNTED and change.before not in (None, "")


def mass_change(plan: Plan, settings: MassChangeGuard) -> MassChange | None:
    """The mass change ``plan`` would make, or None when it stays within ``settings``.

    It trips when, of the ``plan.filled`` values already holding one, the share it would clear is above
    ``max_cleared_share`` or the share it would move by more than ``change_factor`` is above
    ``max_changed_share`` (strictly above: exactly at the limit passes), and only when at least
    ``min_filled`` values are filled."""
    if plan.filled == 0 or plan.filled < settings.min_filled:
        return None
    counted = [c for c in plan.changes if _counted(c)]
    cleared = sum(1 for c in counted if canonical(c.after) in (None, ""))
    moved = sum(
        1
        for c in counted
        if c.before is not None and moved_by_factor(c.before, c.after, settings.change_factor)
    )
    if cleared / plan.filled > settings.max_cleared_share or moved / plan.filled > settings.max_changed_share:
        return MassChange(plan.filled, cleared, moved, settings)
    return None
