# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'incident_detail.ui'
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
from PySide6.QtWidgets import (QApplication, QFormLayout, QHBoxLayout, QLabel,
    QSizePolicy, QWidget)

class Ui_IncidentInfo(object):
    def setupUi(self, IncidentInfo):
        if not IncidentInfo.objectName():
            IncidentInfo.setObjectName(u"IncidentInfo")
        IncidentInfo.resize(360, 480)
        self.form = QFormLayout(IncidentInfo)
        self.form.setObjectName(u"form")
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.refLabel = QLabel(IncidentInfo)
        self.refLabel.setObjectName(u"refLabel")

        self.form.setWidget(0, QFormLayout.ItemRole.LabelRole, self.refLabel)

        self.ref = QLabel(IncidentInfo)
        self.ref.setObjectName(u"ref")
        self.ref.setWordWrap(True)
        self.ref.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(0, QFormLayout.ItemRole.FieldRole, self.ref)

        self.gradeLabel = QLabel(IncidentInfo)
        self.gradeLabel.setObjectName(u"gradeLabel")

        self.form.setWidget(1, QFormLayout.ItemRole.LabelRole, self.gradeLabel)

        self.grade = QLabel(IncidentInfo)
        self.grade.setObjectName(u"grade")
        self.grade.setWordWrap(True)
        self.grade.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(1, QFormLayout.ItemRole.FieldRole, self.grade)

        self.statusLabel = QLabel(IncidentInfo)
        self.statusLabel.setObjectName(u"statusLabel")

        self.form.setWidget(2, QFormLayout.ItemRole.LabelRole, self.statusLabel)

        self.status = QLabel(IncidentInfo)
        self.status.setObjectName(u"status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(2, QFormLayout.ItemRole.FieldRole, self.status)

        self.unitsLabel = QLabel(IncidentInfo)
        self.unitsLabel.setObjectName(u"unitsLabel")

        self.form.setWidget(3, QFormLayout.ItemRole.LabelRole, self.unitsLabel)

        self.units = QLabel(IncidentInfo)
        self.units.setObjectName(u"units")
        self.units.setWordWrap(True)
        self.units.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(3, QFormLayout.ItemRole.FieldRole, self.units)

        self.typeLabel = QLabel(IncidentInfo)
        self.typeLabel.setObjectName(u"typeLabel")

        self.form.setWidget(4, QFormLayout.ItemRole.LabelRole, self.typeLabel)

        self.type = QLabel(IncidentInfo)
        self.type.setObjectName(u"type")
        self.type.setWordWrap(True)
        self.type.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(4, QFormLayout.ItemRole.FieldRole, self.type)

        self.createdLabel = QLabel(IncidentInfo)
        self.createdLabel.setObjectName(u"createdLabel")

        self.form.setWidget(5, QFormLayout.ItemRole.LabelRole, self.createdLabel)

        self.created = QLabel(IncidentInfo)
        self.created.setObjectName(u"created")
        self.created.setWordWrap(True)
        self.created.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(5, QFormLayout.ItemRole.FieldRole, self.created)

        self.deadlineLabel = QLabel(IncidentInfo)
        self.deadlineLabel.setObjectName(u"deadlineLabel")

        self.form.setWidget(6, QFormLayout.ItemRole.LabelRole, self.deadlineLabel)

        self.deadline = QLabel(IncidentInfo)
        self.deadline.setObjectName(u"deadline")
        self.deadline.setWordWrap(True)
        self.deadline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(6, QFormLayout.ItemRole.FieldRole, self.deadline)

        self.countdownLabel = QLabel(IncidentInfo)
        self.countdownLabel.setObjectName(u"countdownLabel")

        self.form.setWidget(7, QFormLayout.ItemRole.LabelRole, self.countdownLabel)

        self.countdownRow = QWidget(IncidentInfo)
        self.countdownRow.setObjectName(u"countdownRow")
        self.countdownLayout = QHBoxLayout(self.countdownRow)
        self.countdownLayout.setObjectName(u"countdownLayout")
        self.countdownLayout.setContentsMargins(0, 0, 0, 0)
        self.countdownIcon = QLabel(self.countdownRow)
        self.countdownIcon.setObjectName(u"countdownIcon")

        self.countdownLayout.addWidget(self.countdownIcon)

        self.countdown = QLabel(self.countdownRow)
        self.countdown.setObjectName(u"countdown")
        self.countdown.setWordWrap(True)
        self.countdown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.countdownLayout.addWidget(self.countdown)

        self.countdownLayout.setStretch(1, 1)

        self.form.setWidget(7, QFormLayout.ItemRole.FieldRole, self.countdownRow)

        self.attendedLabel = QLabel(IncidentInfo)
        self.attendedLabel.setObjectName(u"attendedLabel")

        self.form.setWidget(8, QFormLayout.ItemRole.LabelRole, self.attendedLabel)

        self.attended = QLabel(IncidentInfo)
        self.attended.setObjectName(u"attended")
        self.attended.setWordWrap(True)
        self.attended.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(8, QFormLayout.ItemRole.FieldRole, self.attended)

        self.closedLabel = QLabel(IncidentInfo)
        self.closedLabel.setObjectName(u"closedLabel")

        self.form.setWidget(9, QFormLayout.ItemRole.LabelRole, self.closedLabel)

        self.closed = QLabel(IncidentInfo)
        self.closed.setObjectName(u"closed")
        self.closed.setWordWrap(True)
        self.closed.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(9, QFormLayout.ItemRole.FieldRole, self.closed)

        self.locationLabel = QLabel(IncidentInfo)
        self.locationLabel.setObjectName(u"locationLabel")

        self.form.setWidget(10, QFormLayout.ItemRole.LabelRole, self.locationLabel)

        self.location = QLabel(IncidentInfo)
        self.location.setObjectName(u"location")
        self.location.setWordWrap(True)
        self.location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(10, QFormLayout.ItemRole.FieldRole, self.location)

        self.boroughLabel = QLabel(IncidentInfo)
        self.boroughLabel.setObjectName(u"boroughLabel")

        self.form.setWidget(11, QFormLayout.ItemRole.LabelRole, self.boroughLabel)

        self.borough = QLabel(IncidentInfo)
        self.borough.setObjectName(u"borough")
        self.borough.setWordWrap(True)
        self.borough.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(11, QFormLayout.ItemRole.FieldRole, self.borough)

        self.uprnLabel = QLabel(IncidentInfo)
        self.uprnLabel.setObjectName(u"uprnLabel")

        self.form.setWidget(12, QFormLayout.ItemRole.LabelRole, self.uprnLabel)

        self.uprn = QLabel(IncidentInfo)
        self.uprn.setObjectName(u"uprn")
        self.uprn.setWordWrap(True)
        self.uprn.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(12, QFormLayout.ItemRole.FieldRole, self.uprn)

        self.callerLabel = QLabel(IncidentInfo)
        self.callerLabel.setObjectName(u"callerLabel")

        self.form.setWidget(13, QFormLayout.ItemRole.LabelRole, self.callerLabel)

        self.caller = QLabel(IncidentInfo)
        self.caller.setObjectName(u"caller")
        self.caller.setWordWrap(True)
        self.caller.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(13, QFormLayout.ItemRole.FieldRole, self.caller)

        self.personsLabel = QLabel(IncidentInfo)
        self.personsLabel.setObjectName(u"personsLabel")

        self.form.setWidget(14, QFormLayout.ItemRole.LabelRole, self.personsLabel)

        self.persons = QLabel(IncidentInfo)
        self.persons.setObjectName(u"persons")
        self.persons.setWordWrap(True)
        self.persons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(14, QFormLayout.ItemRole.FieldRole, self.persons)

        self.summaryLabel = QLabel(IncidentInfo)
        self.summaryLabel.setObjectName(u"summaryLabel")

        self.form.setWidget(15, QFormLayout.ItemRole.LabelRole, self.summaryLabel)

        self.summary = QLabel(IncidentInfo)
        self.summary.setObjectName(u"summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(15, QFormLayout.ItemRole.FieldRole, self.summary)

        self.downgradeReasonLabel = QLabel(IncidentInfo)
        self.downgradeReasonLabel.setObjectName(u"downgradeReasonLabel")

        self.form.setWidget(16, QFormLayout.ItemRole.LabelRole, self.downgradeReasonLabel)

        self.downgradeReason = QLabel(IncidentInfo)
        self.downgradeReason.setObjectName(u"downgradeReason")
        self.downgradeReason.setWordWrap(True)
        self.downgradeReason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(16, QFormLayout.ItemRole.FieldRole, self.downgradeReason)

        self.rationaleLabel = QLabel(IncidentInfo)
        self.rationaleLabel.setObjectName(u"rationaleLabel")

        self.form.setWidget(17, QFormLayout.ItemRole.LabelRole, self.rationaleLabel)

        self.rationale = QLabel(IncidentInfo)
        self.rationale.setObjectName(u"rationale")
        self.rationale.setWordWrap(True)
        self.rationale.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(17, QFormLayout.ItemRole.FieldRole, self.rationale)

        self.pendingLabel = QLabel(IncidentInfo)
        self.pendingLabel.setObjectName(u"pendingLabel")

        self.form.setWidget(18, QFormLayout.ItemRole.LabelRole, self.pendingLabel)

        self.pending = QLabel(IncidentInfo)
        self.pending.setObjectName(u"pending")
        self.pending.setWordWrap(True)
        self.pending.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form.setWidget(18, QFormLayout.ItemRole.FieldRole, self.pending)

#if QT_CONFIG(shortcut)
        self.refLabel.setBuddy(self.ref)
        self.gradeLabel.setBuddy(self.grade)
        self.statusLabel.setBuddy(self.status)
        self.unitsLabel.setBuddy(self.units)
        self.typeLabel.setBuddy(self.type)
        self.createdLabel.setBuddy(self.created)
        self.deadlineLabel.setBuddy(self.deadline)
        self.countdownLabel.setBuddy(self.countdown)
        self.attendedLabel.setBuddy(self.attended)
        self.closedLabel.setBuddy(self.closed)
        self.locationLabel.setBuddy(self.location)
        self.boroughLabel.setBuddy(self.borough)
        self.uprnLabel.setBuddy(self.uprn)
        self.callerLabel.setBuddy(self.caller)
        self.personsLabel.setBuddy(self.persons)
        self.summaryLabel.setBuddy(self.summary)
        self.downgradeReasonLabel.setBuddy(self.downgradeReason)
        self.rationaleLabel.setBuddy(self.rationale)
        self.pendingLabel.setBuddy(self.pending)
#endif // QT_CONFIG(shortcut)

        self.retranslateUi(IncidentInfo)
    # setupUi

    def retranslateUi(self, IncidentInfo):
        self.refLabel.setText(QCoreApplication.translate("IncidentInfo", u"Ref", None))
        self.gradeLabel.setText(QCoreApplication.translate("IncidentInfo", u"Grade", None))
        self.statusLabel.setText(QCoreApplication.translate("IncidentInfo", u"Status", None))
        self.unitsLabel.setText(QCoreApplication.translate("IncidentInfo", u"Units", None))
#if QT_CONFIG(accessibility)
        self.units.setAccessibleName(QCoreApplication.translate("IncidentInfo", u"Units on the incident", None))
#endif // QT_CONFIG(accessibility)
        self.typeLabel.setText(QCoreApplication.translate("IncidentInfo", u"Type", None))
        self.createdLabel.setText(QCoreApplication.translate("IncidentInfo", u"Created", None))
        self.deadlineLabel.setText(QCoreApplication.translate("IncidentInfo", u"Deadline", None))
        self.countdownLabel.setText(QCoreApplication.translate("IncidentInfo", u"Countdown", None))
#if QT_CONFIG(accessibility)
        self.countdownIcon.setAccessibleName(QCoreApplication.translate("IncidentInfo", u"Countdown state", None))
#endif // QT_CONFIG(accessibility)
        self.attendedLabel.setText(QCoreApplication.translate("IncidentInfo", u"Attended", None))
        self.closedLabel.setText(QCoreApplication.translate("IncidentInfo", u"Closed", None))
        self.locationLabel.setText(QCoreApplication.translate("IncidentInfo", u"Location", None))
        self.boroughLabel.setText(QCoreApplication.translate("IncidentInfo", u"Borough", None))
        self.uprnLabel.setText(QCoreApplication.translate("IncidentInfo", u"UPRN", None))
        self.callerLabel.setText(QCoreApplication.translate("IncidentInfo", u"Caller", None))
        self.personsLabel.setText(QCoreApplication.translate("IncidentInfo", u"People named", None))
        self.summaryLabel.setText(QCoreApplication.translate("IncidentInfo", u"Summary", None))
        self.downgradeReasonLabel.setText(QCoreApplication.translate("IncidentInfo", u"Downgrade reason", None))
        self.rationaleLabel.setText(QCoreApplication.translate("IncidentInfo", u"Rationale", None))
        self.pendingLabel.setText(QCoreApplication.translate("IncidentInfo", u"Pending", None))
        pass
    # retranslateUi

