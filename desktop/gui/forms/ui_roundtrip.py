# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'roundtrip.ui'
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
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QFormLayout,
    QLabel, QLineEdit, QSizePolicy, QVBoxLayout,
    QWidget)

class Ui_RoundTripForm(object):
    def setupUi(self, roundTripDialog):
        if not roundTripDialog.objectName():
            roundTripDialog.setObjectName(u"roundTripDialog")
        roundTripDialog.resize(680, 460)
        self.layout = QVBoxLayout(roundTripDialog)
        self.layout.setObjectName(u"layout")
        self.intro = QLabel(roundTripDialog)
        self.intro.setObjectName(u"intro")

        self.layout.addWidget(self.intro)

        self.form = QFormLayout()
        self.form.setObjectName(u"form")
        self.senderLabel = QLabel(roundTripDialog)
        self.senderLabel.setObjectName(u"senderLabel")

        self.form.setWidget(0, QFormLayout.ItemRole.LabelRole, self.senderLabel)

        self.sender = QComboBox(roundTripDialog)
        self.sender.setObjectName(u"sender")

        self.form.setWidget(0, QFormLayout.ItemRole.FieldRole, self.sender)

        self.receiverLabel = QLabel(roundTripDialog)
        self.receiverLabel.setObjectName(u"receiverLabel")

        self.form.setWidget(1, QFormLayout.ItemRole.LabelRole, self.receiverLabel)

        self.receiver = QComboBox(roundTripDialog)
        self.receiver.setObjectName(u"receiver")

        self.form.setWidget(1, QFormLayout.ItemRole.FieldRole, self.receiver)

        self.toLabel = QLabel(roundTripDialog)
        self.toLabel.setObjectName(u"toLabel")

        self.form.setWidget(2, QFormLayout.ItemRole.LabelRole, self.toLabel)

        self.to = QLineEdit(roundTripDialog)
        self.to.setObjectName(u"to")

        self.form.setWidget(2, QFormLayout.ItemRole.FieldRole, self.to)


        self.layout.addLayout(self.form)


        self.retranslateUi(roundTripDialog)

        QMetaObject.connectSlotsByName(roundTripDialog)
    # setupUi

    def retranslateUi(self, roundTripDialog):
        roundTripDialog.setWindowTitle(QCoreApplication.translate("RoundTripForm", u"Round trip", None))
        self.intro.setText(QCoreApplication.translate("RoundTripForm", u"Sends a uniquely tagged message and waits until it arrives in the mailbox, reporting how long delivery took.", None))
        self.senderLabel.setText(QCoreApplication.translate("RoundTripForm", u"Send through:", None))
        self.receiverLabel.setText(QCoreApplication.translate("RoundTripForm", u"Wait in:", None))
        self.toLabel.setText(QCoreApplication.translate("RoundTripForm", u"To address:", None))
        self.to.setPlaceholderText(QCoreApplication.translate("RoundTripForm", u"the mailbox's address (default: its user name)", None))
    # retranslateUi

