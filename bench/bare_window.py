"""The peer for start-up: a bare PySide6 window that exits once painted."""

import sys

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


class FirstPaint(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, QApplication.instance().quit)
        return False


app = QApplication(sys.argv)
w = QMainWindow()
w.resize(960, 600)
w.installEventFilter(FirstPaint(w))
w.show()
sys.exit(app.exec())
