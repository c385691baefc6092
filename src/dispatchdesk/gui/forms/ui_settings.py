# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'settings.ui'
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
from PySide6.QtWidgets import (QAbstractButton, QApplication, QCheckBox, QComboBox,
    QDialog, QDialogButtonBox, QFormLayout, QGroupBox,
    QLabel, QPushButton, QSizePolicy, QVBoxLayout,
    QWidget)

class Ui_SettingsDialog(object):
    def setupUi(self, SettingsDialog):
        if not SettingsDialog.objectName():
            SettingsDialog.setObjectName(u"SettingsDialog")
        SettingsDialog.resize(460, 340)
        self.layout = QVBoxLayout(SettingsDialog)
        self.layout.setObjectName(u"layout")
        self.appearanceBox = QGroupBox(SettingsDialog)
        self.appearanceBox.setObjectName(u"appearanceBox")
        self.appearanceForm = QFormLayout(self.appearanceBox)
        self.appearanceForm.setObjectName(u"appearanceForm")
        self.themeLabel = QLabel(self.appearanceBox)
        self.themeLabel.setObjectName(u"themeLabel")

        self.appearanceForm.setWidget(0, QFormLayout.ItemRole.LabelRole, self.themeLabel)

        self.theme = QComboBox(self.appearanceBox)
        self.theme.addItem("")
        self.theme.addItem("")
        self.theme.setObjectName(u"theme")

        self.appearanceForm.setWidget(0, QFormLayout.ItemRole.FieldRole, self.theme)


        self.layout.addWidget(self.appearanceBox)

        self.alertsBox = QGroupBox(SettingsDialog)
        self.alertsBox.setObjectName(u"alertsBox")
        self.alertsLayout = QVBoxLayout(self.alertsBox)
        self.alertsLayout.setObjectName(u"alertsLayout")
        self.sounds = QCheckBox(self.alertsBox)
        self.sounds.setObjectName(u"sounds")

        self.alertsLayout.addWidget(self.sounds)

        self.testSound = QPushButton(self.alertsBox)
        self.testSound.setObjectName(u"testSound")

        self.alertsLayout.addWidget(self.testSound)


        self.layout.addWidget(self.alertsBox)

        self.centralBox = QGroupBox(SettingsDialog)
        self.centralBox.setObjectName(u"centralBox")
        self.centralForm = QFormLayout(self.centralBox)
        self.centralForm.setObjectName(u"centralForm")
        self.serverUrlLabel = QLabel(self.centralBox)
        self.serverUrlLabel.setObjectName(u"serverUrlLabel")

        self.centralForm.setWidget(0, QFormLayout.ItemRole.LabelRole, self.serverUrlLabel)

        self.serverUrl = QLabel(self.centralBox)
        self.serverUrl.setObjectName(u"serverUrl")
        self.serverUrl.setWordWrap(True)
        self.serverUrl.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.centralForm.setWidget(0, QFormLayout.ItemRole.FieldRole, self.serverUrl)

        self.caBundleLabel = QLabel(self.centralBox)
        self.caBundleLabel.setObjectName(u"caBundleLabel")

        self.centralForm.setWidget(1, QFormLayout.ItemRole.LabelRole, self.caBundleLabel)

        self.caBundle = QLabel(self.centralBox)
        self.caBundle.setObjectName(u"caBundle")
        self.caBundle.setWordWrap(True)
        self.caBundle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.centralForm.setWidget(1, QFormLayout.ItemRole.FieldRole, self.caBundle)

        self.commandAgeLabel = QLabel(self.centralBox)
        self.commandAgeLabel.setObjectName(u"commandAgeLabel")

        self.centralForm.setWidget(2, QFormLayout.ItemRole.LabelRole, self.commandAgeLabel)

        self.commandAge = QLabel(self.centralBox)
        self.commandAge.setObjectName(u"commandAge")

        self.centralForm.setWidget(2, QFormLayout.ItemRole.FieldRole, self.commandAge)

        self.sources = QLabel(self.centralBox)
        self.sources.setObjectName(u"sources")
        self.sources.setWordWrap(True)
        self.sources.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.centralForm.setWidget(3, QFormLayout.ItemRole.SpanningRole, self.sources)


        self.layout.addWidget(self.centralBox)

        self.buttons = QDialogButtonBox(SettingsDialog)
        self.buttons.setObjectName(u"buttons")
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Cancel|QDialogButtonBox.StandardButton.Ok)

        self.layout.addWidget(self.buttons)

#if QT_CONFIG(shortcut)
        self.themeLabel.setBuddy(self.theme)
#endif // QT_CONFIG(shortcut)
        QWidget.setTabOrder(self.theme, self.sounds)
        QWidget.setTabOrder(self.sounds, self.testSound)

        self.retranslateUi(SettingsDialog)
    # setupUi

    def retranslateUi(self, SettingsDialog):
        SettingsDialog.setWindowTitle(QCoreApplication.translate("SettingsDialog", u"Dispatch Desk \u2014 settings", None))
        self.appearanceBox.setTitle(QCoreApplication.translate("SettingsDialog", u"Appearance", None))
        self.themeLabel.setText(QCoreApplication.translate("SettingsDialog", u"&Theme", None))
        self.theme.setItemText(0, QCoreApplication.translate("SettingsDialog", u"Normal", None))
        self.theme.setItemText(1, QCoreApplication.translate("SettingsDialog", u"High contrast", None))

        self.alertsBox.setTitle(QCoreApplication.translate("SettingsDialog", u"Alerts", None))
        self.sounds.setText(QCoreApplication.translate("SettingsDialog", u"Play alert &sounds (new grade I incident, target breached, connection lost)", None))
        self.testSound.setText(QCoreApplication.translate("SettingsDialog", u"Play a &test sound", None))
        self.centralBox.setTitle(QCoreApplication.translate("SettingsDialog", u"Set by your force's IT", None))
        self.serverUrlLabel.setText(QCoreApplication.translate("SettingsDialog", u"Server URL", None))
        self.caBundleLabel.setText(QCoreApplication.translate("SettingsDialog", u"CA bundle", None))
        self.commandAgeLabel.setText(QCoreApplication.translate("SettingsDialog", u"Hold unsent commands after", None))
    # retranslateUi

