# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'about.ui'
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
    QFormLayout, QHBoxLayout, QLabel, QSizePolicy,
    QVBoxLayout, QWidget)

class Ui_AboutForm(object):
    def setupUi(self, about):
        if not about.objectName():
            about.setObjectName(u"about")
        about.setMinimumSize(QSize(460, 0))
        self.layout = QVBoxLayout(about)
        self.layout.setSpacing(12)
        self.layout.setObjectName(u"layout")
        self.head = QHBoxLayout()
        self.head.setObjectName(u"head")
        self.logo = QLabel(about)
        self.logo.setObjectName(u"logo")

        self.head.addWidget(self.logo, 0, Qt.AlignmentFlag.AlignTop)

        self.title = QLabel(about)
        self.title.setObjectName(u"title")
        self.title.setWordWrap(True)
        sizePolicy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        sizePolicy.setHorizontalStretch(1)
        sizePolicy.setVerticalStretch(0)
        sizePolicy.setHeightForWidth(self.title.sizePolicy().hasHeightForWidth())
        self.title.setSizePolicy(sizePolicy)

        self.head.addWidget(self.title)


        self.layout.addLayout(self.head)

        self.facts = QFormLayout()
        self.facts.setObjectName(u"facts")
        self.qtLabel = QLabel(about)
        self.qtLabel.setObjectName(u"qtLabel")

        self.facts.setWidget(0, QFormLayout.ItemRole.LabelRole, self.qtLabel)

        self.qtVersion = QLabel(about)
        self.qtVersion.setObjectName(u"qtVersion")

        self.facts.setWidget(0, QFormLayout.ItemRole.FieldRole, self.qtVersion)

        self.pythonLabel = QLabel(about)
        self.pythonLabel.setObjectName(u"pythonLabel")

        self.facts.setWidget(1, QFormLayout.ItemRole.LabelRole, self.pythonLabel)

        self.pythonVersion = QLabel(about)
        self.pythonVersion.setObjectName(u"pythonVersion")

        self.facts.setWidget(1, QFormLayout.ItemRole.FieldRole, self.pythonVersion)

        self.folderLabel = QLabel(about)
        self.folderLabel.setObjectName(u"folderLabel")

        self.facts.setWidget(2, QFormLayout.ItemRole.LabelRole, self.folderLabel)

        self.data_folder = QLabel(about)
        self.data_folder.setObjectName(u"data_folder")
        self.data_folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.facts.setWidget(2, QFormLayout.ItemRole.FieldRole, self.data_folder)

        self.keychainLabel = QLabel(about)
        self.keychainLabel.setObjectName(u"keychainLabel")

        self.facts.setWidget(3, QFormLayout.ItemRole.LabelRole, self.keychainLabel)

        self.keychain = QLabel(about)
        self.keychain.setObjectName(u"keychain")
        self.keychain.setWordWrap(True)
        self.keychain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.facts.setWidget(3, QFormLayout.ItemRole.FieldRole, self.keychain)


        self.layout.addLayout(self.facts)

        self.buttons = QDialogButtonBox(about)
        self.buttons.setObjectName(u"buttons")
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Close)

        self.layout.addWidget(self.buttons)


        self.retranslateUi(about)
        self.buttons.rejected.connect(about.reject)

        QMetaObject.connectSlotsByName(about)
    # setupUi

    def retranslateUi(self, about):
        about.setWindowTitle(QCoreApplication.translate("AboutForm", u"About Connector Desk", None))
        self.qtLabel.setText(QCoreApplication.translate("AboutForm", u"Qt / PySide:", None))
        self.pythonLabel.setText(QCoreApplication.translate("AboutForm", u"Python:", None))
        self.folderLabel.setText(QCoreApplication.translate("AboutForm", u"Data folder:", None))
        self.keychainLabel.setText(QCoreApplication.translate("AboutForm", u"Keychain:", None))
        self.keychain.setText(QCoreApplication.translate("AboutForm", u"checking\u2026", None))
    # retranslateUi

