"""What every shipped connector type declares, checked without servers: the contract is consistent
(a declared action has its method, a peek has a listing, presets name real fields), so a protocol
or declaration change is caught here first."""

from __future__ import annotations

import pytest

from desktop.connectors import registry
from desktop.core.contract import Action, ConnectorType

TYPES = sorted(registry())
METHOD = {Action.SEND: "test_send", Action.PEEK: "peek", Action.PRODUCE: "produce", Action.FOLDERS: "folders",
          Action.RECEIVE: "wait_for"}


def test_the_shipped_types():
    assert TYPES == ["imap", "kafka", "sendgrid", "smtp"]


@pytest.mark.parametrize("name", TYPES)
def test_each_declared_action_is_implemented_and_others_are_not(name):
    t = registry()[name]
    assert t.test_action in t.actions
    for action, method in METHOD.items():
        overridden = getattr(type(t), method) is not getattr(ConnectorType, method)
        assert overridden == (action in t.actions), (name, action)


@pytest.mark.parametrize("name", TYPES)
def test_a_type_that_peeks_lists_what_it_read(name):
    t = registry()[name]
    listing = t.listing({})
    assert (listing is not None) == t.can(Action.PEEK)
    if listing is not None:
        assert listing.rows == () and listing.columns and listing.note
        assert t.wording.peek_source in {f.name for f in t.fields}


@pytest.mark.parametrize("name", TYPES)
def test_field_and_secret_names_are_unique_and_defaults_pass_their_own_checks(name):
    t = registry()[name]
    names = [f.name for f in t.fields] + [s.name for s in t.secrets]
    assert len(names) == len(set(names))
    settings = t.default_settings()
    assert set(settings) <= {f.name for f in t.fields}


@pytest.mark.parametrize("name", TYPES)
def test_presets_only_set_declared_fields_with_valid_choices(name):
    t = registry()[name]
    fields = {f.name: f for f in t.fields}
    for p in t.presets():
        for key, value in p.settings.items():
            assert key in fields, (name, p.id, key)
            if fields[key].choices:
                assert value in [c[0] for c in fields[key].choices], (name, p.id, key, value)


@pytest.mark.parametrize("name", TYPES)
def test_the_receipt_is_found_in_any_phase(name):
    from desktop.core.pipeline import StepResult
    t = registry()[name]
    for step in t.receipt_steps:
        steps = [StepResult(f"send.{step}", "x", True, 1.0, "250 2.0.0 queued"), StepResult("other", "y", True, 1, "")]
        assert t.receipt(steps) == "250 2.0.0 queued"
