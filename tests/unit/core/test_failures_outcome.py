"""What a failures read says: an all-clear only when every source was read."""

from __future__ import annotations

from desktop.core.failures import read_outcome


def test_an_all_clear_only_when_every_source_was_read():
    assert read_outcome({"failures": [], "read": ["bounces"], "unread": []}).state == "none"
    assert read_outcome({"failures": [{"id": "x"}]}).title == "1 failed send"
    part = read_outcome({"failures": [], "read": ["bounces"],
                         "unread": [{"what": "blocks", "why": "this key may not read them"},
                                    {"what": "spam reports", "why": "this key may not read them"}],
                         "unread_hint": "Add the scopes."})
    assert part.state == "partial" and part.title == "Only 1 of 3 lists could be read: failed sends may be missing"
    assert part.message == ("Read: bounces — no failed sends in bounces. Not read: blocks, spam reports "
                            "(this key may not read them).")
    assert part.hint == "Add the scopes."
    some = read_outcome({"failures": [{"id": "a"}, {"id": "b"}], "read": ["bounces"],
                         "unread": [{"what": "blocks", "why": "this key may not read them"}]})
    assert some.state == "partial" and some.title == "2 failed sends — 1 of 2 lists could not be read"
