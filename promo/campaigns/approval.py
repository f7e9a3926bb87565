"""The campaign file's ``approval:`` key: who must approve the posts before they may go out.

::

    approval: {required: true, approvers: [alice@studio.com, bob@studio.com], min: 2, on_time_change: false}

At the top level it covers every announcement; an announcement's own ``approval:`` changes it key by
key (``approval: {required: false}`` frees one announcement, ``{min: 2}`` asks one more person).
Each mistake is one ``CampaignError`` naming the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from promo.campaigns.yamlfile import YamlList, YamlMap
from promo.errors import CampaignError
from promo.store.approvals import MAX_EMAIL, Policy, valid_email

APPROVAL_KEYS = ("required", "approvers", "min", "on_time_change")


def read_approval(file: str, value: Any, line: int, where: str, base: Policy | None) -> Policy | None:
    """The rule at ``where`` (``approval`` or ``announcements.KEY.approval``) on top of ``base`` (the
    campaign's, for an announcement); None when neither says anything. ``in_force`` tells whether it applies.
    """
    field = f"{where}approval"
    if value is None:
        return base
    if not isinstance(value, YamlMap):
        raise CampaignError("expected a mapping, e.g. {required: true, approvers: [alice@studio.com], min: 1}",
                            file=file, line=line, field=field)
    for key in value:
        if key not in APPROVAL_KEYS:
            raise CampaignError(f"unknown key {key!r} (allowed: {', '.join(APPROVAL_KEYS)})", file=file,
                                line=value.line_of(key), field=f"{field}.{key}")
    policy = base or Policy()
    for flag in ("required", "on_time_change"):
        if flag in value:
            if not isinstance(value[flag], bool):
                raise CampaignError("expected true or false", file=file, line=value.line_of(flag),
                                    field=f"{field}.{flag}")
            policy = replace(policy, **{flag: value[flag]})
    if "approvers" in value:
        policy = replace(policy, approvers=_approvers(file, value["approvers"], value.line_of("approvers"),
                                                      f"{field}.approvers"))
    if "min" in value:
        policy = replace(policy, min=_minimum(file, value["min"], value.line_of("min"), f"{field}.min"))
    if policy.approvers and policy.min > len(policy.approvers):
        named = "min" if "min" in value else "approvers"
        raise CampaignError(f"min is {policy.min} but only {len(policy.approvers)} approver(s) are listed: "
                            "list more approvers or lower min", file=file, line=value.line_of(named),
                            field=f"{field}.{named}")
    return policy


def _approvers(file: str, value: Any, line: int, field: str) -> tuple[str, ...]:
    if not isinstance(value, YamlList) or not all(isinstance(item, str) for item in value):
        raise CampaignError("expected a list of email addresses, e.g. [alice@studio.com]", file=file, line=line,
                            field=field)
    found: list[str] = []
    for index, item in enumerate(value):
        address = item.strip().lower()
        if not valid_email(address):
            problem = f"longer than {MAX_EMAIL} characters" if len(address) > MAX_EMAIL else "not an email address"
            raise CampaignError(f"{item[:80]!r} is {problem} (e.g. alice@studio.com)", file=file,
                                line=value.line_of(index), field=f"{field}.{index}")
        if address in found:
            raise CampaignError(f"{address} is listed twice", file=file, line=value.line_of(index),
                                field=f"{field}.{index}")
        found.append(address)
    return tuple(found)


def _minimum(file: str, value: Any, line: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CampaignError(f"expected a whole number of approvers, 1 or more, got {value!r}", file=file,
                            line=line, field=field)
    return value


def in_force(policy: Policy | None) -> Policy | None:
    """The rule if it requires approval, else None (what the ledger keeps)."""
    return policy if policy is not None and policy.required else None
