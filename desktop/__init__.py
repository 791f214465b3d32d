"""Connector Desk: set up, validate, test and rotate workflow-platform connectors."""

__version__ = "0.1.0"
APP_NAME = "Connector Desk"
APP_ID = "connector-desk"
