"""The typed contract between the core and a connector type (desktop/core/contract.py)."""

from __future__ import annotations

import pytest

from desktop.core import errors
from desktop.core.contract import Action, ConnectorType, Fact
from desktop.core.errors import ConnectorError
from desktop.core.pipeline import Run, StepFinished, StepResult, StepStarted, execute


class Plain(ConnectorType):
    type_name = "plain"
    label = "Plain"
    summary = ""
    fields = ()
    secrets = ()
    receipt_steps = ("deliver",)

    def validate(self, conn, secrets, run):  # noqa: ANN001 - a test double
        pass

    def facts(self, info):  # noqa: ANN001
        return [Fact("Widgets", str(info["widgets"]))]


def test_events_are_typed_steps_started_then_finished():
    seen = []
    run = Run(5, on_event=seen.append)
    with run.step("one", "Step one") as st:
        st.detail = "fine"
    assert seen[0] == StepStarted("one", "Step one")
    assert isinstance(seen[1], StepFinished) and seen[1].result.ok and seen[1].result.detail == "fine"


def test_facts_come_from_the_type_between_the_certificate_and_the_delivery():
    def body(run):
        run.info.update(widgets=3, tls={"subject": "CN=x", "issuer": "CN=ca", "expires": "2030", "version": "TLSv1.3"},
                        delivery_ms=12.0)
    result = execute("c", "plain", "validate", Run(5), body, Plain().facts)
    assert [label for label, _ in result.facts()] == ["Certificate", "Widgets", "Delivery"]
    assert ("Widgets", "3") in result.facts()


def test_a_type_whose_facts_fail_still_gives_the_result():
    result = execute("c", "plain", "validate", Run(5), lambda run: None, Plain().facts)  # no "widgets": KeyError
    assert result.ok and result.facts() == []


def test_the_receipt_is_the_last_receipt_step_of_any_phase():
    steps = [StepResult("connect", "Connect", True, 1, "up"),
             StepResult("send.deliver", "Send: deliver", True, 1, "250 queued"),
             StepResult("receive.wait", "Receive", True, 1, "arrived")]
    assert Plain().receipt(steps) == "250 queued"


def test_actions_not_declared_are_refused_with_bad_input():
    t = Plain()
    assert t.can(Action.SEND) and not t.can(Action.PEEK)
    with pytest.raises(ConnectorError) as exc:
        t.peek(None, {}, Run(5), 1)  # type: ignore[arg-type]
    assert exc.value.code == errors.BAD_INPUT


def test_cancelled_is_the_error_code_constant():
    token_run = Run(5)
    token_run.cancel.cancel()
    result = execute("c", "plain", "validate", token_run, lambda run: run.cancel.raise_if_cancelled())
    assert result.error is not None and result.error.code == errors.CANCELLED


def test_a_fact_is_a_named_pair_of_label_and_text() -> None:
    fact = Fact("Mailbox", "“INBOX”: 3 messages")
    assert fact == ("Mailbox", "“INBOX”: 3 messages") and fact.label == "Mailbox" and fact.text.endswith("messages")
    assert repr(fact) == "Fact(label='Mailbox', text='“INBOX”: 3 messages')"
    assert fact._replace(text="x") == Fact(label="Mailbox", text="x")
