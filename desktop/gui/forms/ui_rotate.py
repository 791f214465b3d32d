# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'rotate.ui'
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
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QDoubleSpinBox,
    QFormLayout, QLabel, QSizePolicy, QVBoxLayout,
    QWidget)

from desktop.gui.secret_edit import SecretEdit

class Ui_RotateForm(object):
    def setupUi(self, rotateDialog):
        if not rotateDialog.objectName():
            rotateDialog.setObjectName(u"rotateDialog")
        rotateDialog.resize(640, 440)
        self.layout = QVBoxLayout(rotateDialog)
        self.layout.setObjectName(u"layout")
        self.intro = QLabel(rotateDialog)
        self.intro.setObjectName(u"intro")
        self.intro.setWordWrap(True)

        self.layout.addWidget(self.intro)

        self.form = QFormLayout()
        self.form.setObjectName(u"form")
        self.secretLabel = QLabel(rotateDialog)
        self.secretLabel.setObjectName(u"secretLabel")

        self.form.setWidget(0, QFormLayout.ItemRole.LabelRole, self.secretLabel)

        self.secretName = QComboBox(rotateDialog)
        self.secretName.setObjectName(u"secretName")

        self.form.setWidget(0, QFormLayout.ItemRole.FieldRole, self.secretName)

        self.valueLabel = QLabel(rotateDialog)
        self.valueLabel.setObjectName(u"valueLabel")

        self.form.setWidget(1, QFormLayout.ItemRole.LabelRole, self.valueLabel)

        self.newValueRow = SecretEdit(rotateDialog)
        self.newValueRow.setObjectName(u"newValueRow")

        self.form.setWidget(1, QFormLayout.ItemRole.FieldRole, self.newValueRow)

        self.graceLabel = QLabel(rotateDialog)
        self.graceLabel.setObjectName(u"graceLabel")

        self.form.setWidget(2, QFormLayout.ItemRole.LabelRole, self.graceLabel)

        self.graceHours = QDoubleSpinBox(rotateDialog)
        self.graceHours.setObjectName(u"graceHours")
        self.graceHours.setDecimals(0)
        self.graceHours.setMaximum(720.000000000000000)
        self.graceHours.setValue(24.000000000000000)

        self.form.setWidget(2, QFormLayout.ItemRole.FieldRole, self.graceHours)


        self.layout.addLayout(self.form)


        self.retranslateUi(rotateDialog)

        QMetaObject.connectSlotsByName(rotateDialog)
    # setupUi

    def retranslateUi(self, rotateDialog):
        self.intro.setText(QCoreApplication.translate("RotateForm", u"The new value is checked live first. Only if the check passes does it replace the current one; the previous value stays in the keychain for the grace period so it can be restored. If anything fails, nothing changes.", None))
        self.secretLabel.setText(QCoreApplication.translate("RotateForm", u"Secret:", None))
        self.valueLabel.setText(QCoreApplication.translate("RotateForm", u"New value:", None))
        self.graceLabel.setText(QCoreApplication.translate("RotateForm", u"Keep the previous for:", None))
        self.graceHours.setSuffix(QCoreApplication.translate("RotateForm", u" hours", None))
        pass
    # retranslateUi

