"""The pages rendered from declared fields: Server (and Advanced) and Sign-in, with the field
pickers (the folder picker) run on the values in the form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.core import errors
from desktop.core import wizard as flowmod
from desktop.core.errors import ConnectorError
from desktop.core.pipeline import RunResult
from desktop.gui.banner import describe_input
from desktop.gui.widgets import FieldForm
from desktop.gui.wizard.page import Page, wrap

if TYPE_CHECKING:
    from desktop.gui.wizard.window import ConnectorWizard


class FormPage(Page):
    """A page whose fields come from the connector type's declarations."""

    def __init__(self, wiz: ConnectorWizard, title: str, subtitle: str) -> None:
        super().__init__(wiz)
        self.setTitle(title)
        self.setSubTitle(subtitle)
        outer = QVBoxLayout(self)
        self.notes = wrap(QLabel())
        self.notes.setProperty("role", "note")
        self.notes.hide()
        outer.addWidget(self.notes)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(self.scroll_area, 1)
        self.warnings = wrap(QLabel())
        self.warnings.setProperty("role", "warning")
        self.warnings.hide()
        outer.addWidget(self.warnings)
        self.form: FieldForm | None = None
        self._built_for: str | None = None

    def build_form(self) -> FieldForm:
        raise NotImplementedError

    def initializePage(self) -> None:
        if self._built_for != self.flow.draft.type:
            self.form = self.build_form()
            self.form.changed.connect(self._changed)
            self.scroll_area.setWidget(self._decorate(self.form))
            self._built_for = self.flow.draft.type
        self.refresh()
        # After QWizard has placed the focus itself (on the scroll area: typed keys went nowhere).
        QTimer.singleShot(0, self._focus_first_field)

    def _focus_first_field(self) -> None:
        """Typing on a page that just opened goes into its first field."""
        if self.form is None or self.wizard() is None or self.wizard().currentPage() is not self:
            return
        for editor in self.form.editors.values():
            target = editor.property("line_edit") or editor
            if target.isVisibleTo(self) and target.isEnabled() and target.focusPolicy() & Qt.FocusPolicy.TabFocus:
                target.setFocus()
                return

    def _decorate(self, form: FieldForm) -> QWidget:
        return form

    def refresh(self) -> None:
        if self.form is None:  # not built yet: initializePage fills it from the draft
            return
        self.form.set_values(self.flow.draft.settings,
                             {k: v.reveal() for k, v in self.flow.secrets.items()})
        self.form.update_visibility(self.flow.draft.settings)
        for name in self.form.rows:
            text = self.flow.ctype.field_help(name, self.flow.draft.settings)
            if text is not None:
                self.form.set_help(name, text)
        warnings = self.flow.ctype.warnings(self.flow.draft.settings)
        self.warnings.setText("\n".join("⚠ " + w for w in warnings))
        self.warnings.setVisible(bool(warnings))

    def _changed(self, name: str, value: Any) -> None:
        self.form.clear_problem(name)  # type: ignore[union-attr]
        if name in self.form.secret_fields:  # type: ignore[union-attr]
            self.flow.set_secret(name, value or "")
        else:
            self.flow.set_setting(name, value)
        self.refresh()

    def validatePage(self) -> bool:
        problems = self.flow.problems(self.name)
        if self.form is not None:
            self.form.show_problems(problems)
        return not problems


class ServerPage(FormPage):
    name = flowmod.SERVER

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz, wiz.tr("Server and security"), "")

    def initializePage(self) -> None:
        follows = any(f.default_from for f in self.flow.fields_for(self.name))
        wording = self.flow.ctype.wording
        self.setTitle(wording.server_title)
        text = wording.server_text
        if follows:
            text += " " + self.tr("The port follows the security you choose.")
        self.setSubTitle(text)
        super().initializePage()

    def build_form(self) -> FieldForm:
        fields = [f for f in self.flow.fields_for(self.name) if f.page == "server"]
        advanced = [f for f in self.flow.fields_for(self.name) if f.page == "advanced"]
        form = FieldForm(fields + advanced)
        self._advanced = advanced
        return form

    def _decorate(self, form: FieldForm) -> QWidget:
        # Advanced rows are in the same form (one set of values); a heading separates them.
        if self._advanced:
            first = self._advanced[0].name
            position: Any = form.layout_.getWidgetPosition(form.rows[first])  # (row, role); stubs say object
            row = int(position[0])
            heading = QLabel(self.tr("Advanced"))
            heading.setProperty("role", "heading")
            form.layout_.insertRow(row, heading)
        return form


class AuthPage(FormPage):
    name = flowmod.AUTH

    def __init__(self, wiz: ConnectorWizard) -> None:
        super().__init__(wiz, wiz.tr("Sign-in"), "")

    pick_task: Any = None
    signin: Any = None  # the OAuth sign-in panel, for types whose sign-in keeps a refresh token

    def build_form(self) -> FieldForm:
        form = FieldForm(self.flow.fields_for(self.name), list(self.flow.ctype.secrets),
                         secrets_place=self.flow.secrets_place)
        form.pick_requested.connect(self.pick)
        return form

    def _decorate(self, form: FieldForm) -> QWidget:
        """The form, and below it the OAuth sign-in (redirect URI, setup steps, Sign in…) when the
        connector's sign-in is OAuth: it fills the refresh token, which validation then uses."""
        from desktop.core.service import REFRESH_TOKEN
        if not any(s.name == REFRESH_TOKEN for s in self.flow.ctype.secrets):
            self.signin = None
            return form
        from desktop.gui.signin import SignInPanel
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(form)
        flow = self.flow
        self.signin = SignInPanel(self.wiz.runner, lambda: (flow.draft.settings, flow.secrets, flow.draft.type))
        self.signin.signedIn.connect(self._signed_in)
        self.signin.failed.connect(lambda *_: self.scroll_area.ensureWidgetVisible(self.signin.banner))
        v.addWidget(self.signin)
        v.addStretch(1)
        return box

    def _signed_in(self, got: Any) -> None:
        from desktop.core.service import REFRESH_TOKEN
        if got.refresh_token is not None:
            self.flow.set_secret(REFRESH_TOKEN, got.refresh_token.reveal())
            self.flow.token_cache = got.token_cache  # Microsoft: msal refreshes from it once saved
            self.refresh()
        if self.signin is not None:  # the outcome (account, scopes, refresh token or not) in view
            self.scroll_area.ensureWidgetVisible(self.signin.banner)

    def refresh(self) -> None:
        super().refresh()
        if self.signin is not None:
            from desktop.core.service import REFRESH_TOKEN
            settings = self.flow.draft.settings
            oauth = any(s.name == REFRESH_TOKEN and s.applies(settings) for s in self.flow.ctype.secrets)
            self.signin.setVisible(oauth)
            if oauth:
                self.signin.set_provider(str(settings.get("oauth_provider") or "oidc"))
                self.signin.form_changed()

    def cleanupPage(self) -> None:
        self.cancel_pick()

    def cancel_pick(self) -> None:
        if self.pick_task is not None:
            self.pick_task.cancel()

    def pick(self, field: str) -> None:
        """Sign in with the values on the form and let the administrator choose (the folder picker).
        While it signs in, the same button cancels the look-up."""
        if self.form is None:
            return
        if self.pick_task is not None:
            self.cancel_pick()
            return
        problems = {k: v for k, v in self.flow.problems(flowmod.SERVER).items()}
        problems.update({k: v for k, v in self.flow.problems(self.name).items() if k != field})
        if problems:
            self.form.show_problems(problems)
            labels = {f.name: f.label for f in self.flow.ctype.fields}
            labels.update({sf.name: sf.label for sf in self.flow.ctype.secrets})
            self.notes.setText(self.tr("To list the folders, fill in the server and sign-in first: {0}.").format(
                ", ".join(labels.get(p, p) for p in problems)))
            self.notes.show()
            return
        self._show_preset_note()
        conn, secrets = self.flow.connector(), self.flow.needed_secrets()
        button = self.form.pick_buttons[field]
        button.setText(self.tr("Cancel look-up"))
        button.setToolTip(self.tr("Signing in to list the folders; click to stop"))
        self.notes.setText(self.tr("Signing in to list the folders…"))
        self.notes.show()
        desk = self.wiz.desk
        self.pick_task = self.wiz.runner.run(lambda token, emit: desk.folders(conn, secrets, token, emit),
                                             "folders", on_finished=lambda r: self._picked(field, r),
                                             on_failed=lambda exc: self._picked(field, None, exc))

    def _picked(self, field: str, result: RunResult | None, exc: BaseException | None = None) -> None:
        from desktop.gui.dialogs import FolderDialog
        self.pick_task = None
        if self.form is None:
            return
        button = self.form.pick_buttons[field]
        button.setText(self.tr("Choose…"))
        button.setToolTip(self.tr("Sign in and pick from the account's list"))
        self._show_preset_note()
        if result is not None and result.error is not None and result.error.code == errors.CANCELLED:
            self.notes.setText(self.tr("Folder look-up cancelled."))
            self.notes.show()
            self._focus_field(field)
            return
        if result is None or not result.ok:
            err = exc if result is None else result.error
            message, hint = (describe_input(err, self.wiz.field_labels()) if isinstance(err, ConnectorError)
                             else None) or (getattr(err, "message", str(err)), getattr(err, "hint", ""))
            self.form.show_problems({field: f"{message} — {hint}" if hint else message})
            return
        dialog = FolderDialog(result.info.get("folders", []), str(self.flow.draft.settings.get(field) or ""), self)
        dialog.accepted.connect(lambda: self._chosen(field, dialog.selected()))
        dialog.finished.connect(lambda _r: self._focus_field(field))
        dialog.open()

    def _focus_field(self, field: str) -> None:
        """Back to the field itself: never leave the focus on "< Back", where Enter goes back."""
        if self.form is None:
            return
        editor = self.form.editors[field]
        (editor.property("line_edit") or editor).setFocus()

    def _chosen(self, field: str, value: str | None) -> None:
        if value:
            self.flow.set_setting(field, value)
            self.refresh()
            if self.form is not None:
                self.form.show_problems({})

    def initializePage(self) -> None:
        wording = self.flow.ctype.test_wording(self.flow.draft.settings)
        self.setTitle(wording.auth_title)
        self.setSubTitle(self.flow.auth_text())
        super().initializePage()
        self._show_preset_note()

    def _show_preset_note(self) -> None:
        preset = self.flow.ctype.preset(self.flow.preset_id)
        note = preset.notes if preset is not None and preset.id != "other" else ""
        self.notes.setText(note)
        self.notes.setVisible(bool(note))
