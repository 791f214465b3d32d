"""Start-up until the connector list is on screen (not just the window): the app's own start-up path
(run_gui minus the single-instance handshake), exiting when the list page first paints.

    python bench/list_shown.py   # with CONNECTOR_DESK_HOME naming a folder with saved connectors
"""

import sys

from desktop.connectors import registry
from desktop.core.service import Desk
from desktop.gui.app import make_app
from desktop.gui.firstpaint import FirstPaint
from desktop.gui.main_window import MainWindow

app = make_app()
window = MainWindow(Desk(registry))


def shown(index: int) -> None:
    if window.stack.widget(index) is window.list_page:
        FirstPaint(window.list_page, lambda: app.exit(0), at_once=True)


window.stack.currentChanged.connect(shown)
window.show()
sys.exit(app.exec())
