# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'folders.ui'
##
## Created by: Qt User Interface Compiler version 6.11.3
##
## WARNING! All changes made in this file will be lost when recompiling UI file!
################################################################################

from PySide6.QtCore import (QCoreApplication, QDate, QDateTime, QLocale,
    QMetaObject, QObject, QPoint, QRect,
    QSize, QTime, QUrl, Qt)
from PySide6.QtGui import (QBrush, QColor, QConicalGradient, QCursor,
    QFont, QFontDatabase, QGradient, QIcon,
    QImage, QKeySequence, QLinearGradient, QPainter,
    QPalette, QPixmap, QRadialGradient, QTransform)
from PySide6.QtWidgets import (QAbstractButton, QApplication, QDialog, QDialogButtonBox,
    QHeaderView, QLabel, QSizePolicy, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget)

class Ui_FolderForm(object):
    def setupUi(self, folderDialog):
        if not folderDialog.objectName():
            folderDialog.setObjectName(u"folderDialog")
        folderDialog.resize(460, 420)
        self.layout = QVBoxLayout(folderDialog)
        self.layout.setObjectName(u"layout")
        self.intro = QLabel(folderDialog)
        self.intro.setObjectName(u"intro")

        self.layout.addWidget(self.intro)

        self.folderTree = QTreeWidget(folderDialog)
        self.folderTree.setObjectName(u"folderTree")
        sizePolicy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        sizePolicy.setHorizontalStretch(0)
        sizePolicy.setVerticalStretch(1)
        sizePolicy.setHeightForWidth(self.folderTree.sizePolicy().hasHeightForWidth())
        self.folderTree.setSizePolicy(sizePolicy)

        self.layout.addWidget(self.folderTree)

        self.buttons = QDialogButtonBox(folderDialog)
        self.buttons.setObjectName(u"buttons")
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Cancel|QDialogButtonBox.StandardButton.Ok)

        self.layout.addWidget(self.buttons)


        self.retranslateUi(folderDialog)
        self.buttons.accepted.connect(folderDialog.accept)
        self.buttons.rejected.connect(folderDialog.reject)

        QMetaObject.connectSlotsByName(folderDialog)
    # setupUi

    def retranslateUi(self, folderDialog):
        folderDialog.setWindowTitle(QCoreApplication.translate("FolderForm", u"Choose the mailbox", None))
        self.intro.setText(QCoreApplication.translate("FolderForm", u"Folders of this account. Greyed folders only hold other folders.", None))
        ___qtreewidgetitem = self.folderTree.headerItem()
        ___qtreewidgetitem.setText(1, QCoreApplication.translate("FolderForm", u"Kind", None))
        ___qtreewidgetitem.setText(0, QCoreApplication.translate("FolderForm", u"Folder", None))
    # retranslateUi

