"""Start-up until the connector list is on screen (not just the window): the app's own start-up path
(run_gui minus the single-instance handshake), exiting when the list page first paints.

    python bench/list_shown.py   # with CONNECTOR_DESK_HOME naming a folder with saved connectors

With BENCH_EXIT_AT_PAINT=1 the process ends right at that paint (os._exit): tearing down 10,000
rows' objects afterwards is not part of getting the list on screen (bench_list.py --whole reports both).
"""

import os
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
        FirstPaint(window.list_page, done, at_once=True)


def done() -> None:
    if os.environ.get("BENCH_EXIT_AT_PAINT"):
        os._exit(0)
    app.exit(0)


window.stack.currentChanged.connect(shown)
window.show()
sys.exit(app.exec())
