"""The campaign file's ``approval:`` key: read at the top and per announcement, every mistake one
``CampaignError`` naming the file, line and field; hypothesis tries many rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo.accounts import Account
from promo.campaigns import load_campaign
from promo.errors import CampaignError
from promo.store.approvals import Policy

HEAD = """\
campaign: demo
timezone: America/Los_Angeles
fields: {show: Jessica Jones, season: 3, network: Netflix, link: https://example.com/jj, hashtags: [JJ]}
accounts: [x, box]
"""

ANNOUNCEMENTS = """\
announcements:
  - key: premiere
    kind: premiere
    at: 2019-06-14 00:01
  - key: countdown
    kind: generic
    at: premiere - 3d
    text: "3 days to go"
"""


def rules(path: Path, accounts: dict[str, Account], templates: Path) -> dict[str, Policy | None]:
    campaign = load_campaign(path, accounts, templates)
    return {a.key: a.approval for a in campaign.announcements}


def test_a_campaign_rule_covers_every_announcement_and_one_may_change_it(write_campaign, accounts,
                                                                         templates) -> None:
    path = write_campaign(HEAD + "approval: {required: true, approvers: [Alice@Studio.com, bob@studio.com]}\n"
                          + ANNOUNCEMENTS + "    approval: {min: 2, on_time_change: true}\n")
    found = rules(path, accounts, templates)
    assert found["premiere"] == Policy(True, ("alice@studio.com", "bob@studio.com"), 1, False)
    assert found["countdown"] == Policy(True, ("alice@studio.com", "bob@studio.com"), 2, True)


def test_required_alone_means_one_approval_from_anyone_and_false_frees_an_announcement(
        write_campaign, accounts, templates) -> None:
    path = write_campaign(HEAD + "approval: {required: true}\n" + ANNOUNCEMENTS
                          + "    approval: {required: false}\n")
    found = rules(path, accounts, templates)
    assert found == {"premiere": Policy(), "countdown": None}
    assert rules(write_campaign(HEAD + ANNOUNCEMENTS, "plain.yaml"), accounts, templates) == {
        "premiere": None, "countdown": None}


@pytest.mark.parametrize(("rule", "line", "field", "message"), [
    ("{required: true, who: [a@b.co]}", 5, "approval.who", "unknown key 'who'"),
    ("{approvers: [alice@studio.com], min: 2}", 5, "approval.min", "min is 2 but only 1 approver(s)"),
    ("{min: 0}", 5, "approval.min", "1 or more, got 0"),
    ("{min: true}", 5, "approval.min", "whole number"),
    ("{required: yes please}", 5, "approval.required", "expected true or false"),
    ("{on_time_change: 1}", 5, "approval.on_time_change", "expected true or false"),
    ("{approvers: alice@studio.com}", 5, "approval.approvers", "expected a list of email addresses"),
    ("{approvers: [alice@studio.com, 'alice at studio']}", 5, "approval.approvers.1", "not an email address"),
    ("{approvers: [alice@studio.com, ALICE@studio.com]}", 5, "approval.approvers.1", "listed twice"),
    ("yes", 5, "approval", "expected a mapping"),
])
def test_a_bad_rule_names_file_line_and_field(write_campaign, accounts, templates, rule: str, line: int,
                                               field: str, message: str) -> None:
    path = write_campaign(HEAD + f"approval: {rule}\n" + ANNOUNCEMENTS)
    with pytest.raises(CampaignError) as caught:
        load_campaign(path, accounts, templates)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), line, field)
    assert message in caught.value.reason


def test_an_announcement_rule_error_names_the_announcement(write_campaign, accounts, templates) -> None:
    path = write_campaign(HEAD + "approval: {approvers: [alice@studio.com]}\n" + ANNOUNCEMENTS
                          + "    approval: {min: 3}\n")
    with pytest.raises(CampaignError) as caught:
        load_campaign(path, accounts, templates)
    assert (caught.value.line, caught.value.field) == (14, "announcements.countdown.approval.min")


ADDRESS = st.from_regex(r"[a-z][a-z0-9._-]{0,10}@[a-z][a-z0-9]{0,8}\.(com|org|studio)", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(approvers=st.lists(ADDRESS, max_size=5), minimum=st.integers(-1, 7), required=st.booleans(),
       on_time=st.booleans())
def test_any_rule_is_read_or_refused_as_it_should_be(write_campaign, accounts, templates, approvers: list[str],
                                                     minimum: int, required: bool, on_time: bool) -> None:
    rule = {"required": required, "approvers": approvers, "min": minimum, "on_time_change": on_time}
    path = write_campaign(HEAD + f"approval: {json.dumps(rule)}\n" + ANNOUNCEMENTS)
    unique = list(dict.fromkeys(approvers))
    valid = minimum >= 1 and len(unique) == len(approvers) and (not approvers or minimum <= len(approvers))
    if not valid:
        with pytest.raises(CampaignError) as caught:
            load_campaign(path, accounts, templates)
        assert caught.value.line == 5 and (caught.value.field or "").startswith("approval.")
        return
    found = rules(path, accounts, templates)
    expected = Policy(True, tuple(approvers), minimum, on_time) if required else None
    assert found == {"premiere": expected, "countdown": expected}
