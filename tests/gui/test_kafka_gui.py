"""Kafka in the GUI against tansu: protocol-dependent fields, the bootstrap list, produce/read-back
and the dead-letter peek."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QRadioButton

from desktop.gui import ask
from tests.gui.test_wizard import field, fill_text, start_wizard


def test_kafka_wizard(qtbot, window, kafka_plain, shoot, monkeypatch):
    asked: list[str] = []
    reply = [QMessageBox.StandardButton.Cancel]

    def question(_parent, title, text, *_a, **_k):  # type: ignore[no-untyped-def]
        asked.append(f"{title}\n{text}")
        return reply[0]
    monkeypatch.setattr(ask, "question", question)
    win = window
    wiz = start_wizard(win, "orders-trigger", "kafka")
    provider = wiz.page_named("provider")
    assert provider.findChild(QRadioButton, "preset_confluent") is not None
    assert provider.findChild(QRadioButton, "preset_self-managed").isChecked()  # one is always chosen
    wiz.next()  # self-managed
    server = wiz.page_named("server")
    assert "port" not in server.subTitle()  # no "port follows the security" for Kafka
    proto = field(wiz, "server", "security_protocol")
    assert server.form.rows["ca_file"].isVisibleTo(server)  # SASL_SSL by default: TLS fields shown
    proto.setCurrentIndex(proto.findData("PLAINTEXT"))
    assert not server.form.rows["ca_file"].isVisibleTo(server)  # only when the protocol needs them
    assert "Unencrypted" in server.warnings.text()
    # Bootstrap servers are checked on their own page, and the problem names the field's label.
    fill_text(field(wiz, "server", "bootstrap_servers"), "kafka-broker")
    wiz.next()
    assert wiz.currentPage() is server
    assert server.form.errors["bootstrap_servers"].isVisible()
    assert "“kafka-broker” is not host:port" in server.form.errors["bootstrap_servers"].text()
    shoot(wiz, "kafka-server-bad-bootstrap")
    fill_text(field(wiz, "server", "bootstrap_servers"), f"127.0.0.1:1, {kafka_plain.bootstrap}")
    assert wiz.flow.draft.settings["bootstrap_servers"] == f"127.0.0.1:1, {kafka_plain.bootstrap}"
    shoot(wiz, "kafka-server")
    wiz.next()
    auth = wiz.page_named("auth")
    assert not auth.form.rows["username"].isVisibleTo(auth)  # no SASL on PLAINTEXT
    assert auth.title() == "Topic" and "no sign-in" in auth.subTitle()  # no "Sign-in" page without one
    fill_text(field(wiz, "auth", "topic"), "orders")
    fill_text(field(wiz, "auth", "dead_letter_topic"), "orders.dlq")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=15000)
    assert wiz.flow.result.ok, wiz.flow.result.error
    vpage = wiz.page_named("validate")
    assert "Cluster" in vpage.facts.text()
    marks = {vpage.steps.topLevelItem(i).text(1): vpage.steps.topLevelItem(i).text(0)
             for i in range(vpage.steps.topLevelItemCount())}
    assert marks["Reach 127.0.0.1:1"] == "⚠"  # the unreachable one of two passes with a warning, not a ✓
    assert "(1 with a warning)" in vpage.banner.title.text()
    assert "sender" not in vpage.subTitle() and "topic" in vpage.subTitle()
    assert "TLS" not in vpage.subTitle() and "signs in" not in vpage.subTitle()  # PLAINTEXT has neither
    assert "test message" not in vpage.banner.message.text() and "test record" in vpage.banner.message.text()
    shoot(wiz, "kafka-validate")
    wiz.next()
    admin = wiz.page_named("admin")
    assert admin.produce_btn.isVisible() and admin.peek_btn.text() == "&Peek at dead letters"
    # Producing into the live topic asks first, naming the topic and who will see the record.
    qtbot.mouseClick(admin.produce_btn, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "“orders”" in asked[0] and "consumer" in asked[0]
    qtbot.wait(200)
    assert wiz.flow.test_result is None and admin.task is None  # declined: nothing produced
    reply[0] = QMessageBox.StandardButton.Yes
    qtbot.mouseClick(admin.produce_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=15000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    assert "read back" in admin.banner.title.text()
    wiz.flow.test_result = None
    admin.peek_count.setValue(1)
    assert admin.peek_count.text() == "1 record"
    admin.peek_count.setValue(2)
    assert admin.peek_count.text() == "2 records"
    qtbot.mouseClick(admin.peek_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wiz.flow.test_result is not None, timeout=15000)
    assert wiz.flow.test_result.ok, wiz.flow.test_result.error
    assert admin.messages.topLevelItemCount() == 2 and admin.messages.topLevelItem(0).text(1) == "order-17"
    shoot(wiz, "kafka-dead-letters")
    wiz.next()
    rows = dict(wiz.flow.summary())
    assert rows["Server"] == "127.0.0.1:1 (+1) · orders"
    assert rows["Secrets"] == "none"
    assert rows["Dead-letter topic"] == "orders.dlq"
    assert rows["Dead-letter peek"] == "read the newest dead-letter records"
    shoot(wiz, "kafka-summary")
    with qtbot.waitSignal(wiz.saved, timeout=10000):
        wiz.accept()


def test_kafka_sign_in_fields_follow_the_mechanism(qtbot, window, kafka_auth, oauth_server, shoot):
    """SASL_SSL/PLAIN asks for user and password; OAUTHBEARER for the token endpoint, client id and
    secret instead — and validating it in the wizard fetches a real token, then reports the broker."""
    wiz = start_wizard(window, "orders-oauth", "kafka")
    wiz.next()  # self-managed
    proto = field(wiz, "server", "security_protocol")
    proto.setCurrentIndex(proto.findData("SASL_PLAINTEXT"))
    fill_text(field(wiz, "server", "bootstrap_servers"), kafka_auth.bootstrap)
    wiz.next()
    auth = wiz.page_named("auth")
    rows = auth.form.rows
    assert rows["username"].isVisibleTo(auth) and rows["password"].isVisibleTo(auth)
    assert not rows["oauth_token_endpoint"].isVisibleTo(auth)
    mech = field(wiz, "auth", "sasl_mechanism")
    mech.setCurrentIndex(mech.findData("OAUTHBEARER"))
    assert not rows["username"].isVisibleTo(auth) and not rows["password"].isVisibleTo(auth)
    for name in ("oauth_token_endpoint", "oauth_client_id", "oauth_scope", "oauth_client_secret"):
        assert rows[name].isVisibleTo(auth), name
    fill_text(field(wiz, "auth", "oauth_token_endpoint"), oauth_server.token_endpoint)
    fill_text(field(wiz, "auth", "oauth_client_id"), oauth_server.client_id)
    fill_text(field(wiz, "auth", "oauth_client_secret"), oauth_server.client_secret)
    fill_text(field(wiz, "auth", "topic"), "orders")
    shoot(wiz, "kafka-auth-oauth")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=15000)
    result = wiz.flow.result
    assert result.error.code == "auth_failed" and result.error.step == "sasl"
    assert [s.name for s in result.steps][:2] == ["settings", "token"]
    shoot(wiz, "kafka-validate-oauth")


def test_kafka_provider_hints_are_shown(qtbot, window, kafka_auth, shoot):
    """A refused sign-in under the Confluent Cloud preset gets Confluent's own advice
    (resources/presets/kafka.json), not the generic hint."""
    wiz = start_wizard(window, "orders-confluent", "kafka")
    wiz.page_named("provider").findChild(QRadioButton, "preset_confluent").setChecked(True)
    wiz.next()
    proto = field(wiz, "server", "security_protocol")
    proto.setCurrentIndex(proto.findData("SASL_PLAINTEXT"))
    fill_text(field(wiz, "server", "bootstrap_servers"), kafka_auth.bootstrap)
    wiz.next()
    mech = field(wiz, "auth", "sasl_mechanism")
    mech.setCurrentIndex(mech.findData("SCRAM-SHA-256"))
    fill_text(field(wiz, "auth", "username"), "nobody")
    fill_text(field(wiz, "auth", "password"), "wrong-secret")
    fill_text(field(wiz, "auth", "topic"), "orders")
    wiz.next()
    qtbot.waitUntil(lambda: wiz.flow.result is not None, timeout=15000)
    assert wiz.flow.result.error.code == "auth_failed"
    vpage = wiz.page_named("validate")
    assert "Confluent Cloud refused the API key" in vpage.banner.hint.text()
    shoot(wiz, "kafka-validate-confluent-hint")
    wiz.reject()


def test_an_invalid_topic_name_is_a_field_error_before_any_network(qtbot, window, shoot):
    """`ord ers!` is refused beside “Topic” (and the dead-letter topic beside its own field) on the
    sign-in page; Next does not go on to the live check."""
    wiz = start_wizard(window, "bad-topic", "kafka")
    wiz.next()  # self-managed
    proto = field(wiz, "server", "security_protocol")
    proto.setCurrentIndex(proto.findData("PLAINTEXT"))
    fill_text(field(wiz, "server", "bootstrap_servers"), "127.0.0.1:1")
    wiz.next()
    auth = wiz.page_named("auth")
    assert wiz.currentPage() is auth
    fill_text(field(wiz, "auth", "topic"), "ord ers!")
    fill_text(field(wiz, "auth", "dead_letter_topic"), "..")
    wiz.next()
    assert wiz.currentPage() is auth and wiz.flow.result is None  # no live check ran
    topic_error = auth.form.errors["topic"]
    assert topic_error.isVisible()
    assert "“ord ers!” is not a valid topic name" in topic_error.text()
    assert "ASCII letters, digits" in topic_error.text()
    assert "Kafka refuses “.” and “..”" in auth.form.errors["dead_letter_topic"].text()
    assert field(wiz, "auth", "topic").text() == "ord ers!"  # what the user typed is kept
    shoot(wiz, "kafka-auth-bad-topic")
    fill_text(field(wiz, "auth", "topic"), "orders." + "x" * 242)
    fill_text(field(wiz, "auth", "dead_letter_topic"), "orders.dlq")
    assert wiz.flow.problems("auth") == {}  # 249 characters of the allowed ones: a valid name
    wiz.reject()
