"""Connector Desk core: no Qt here, ever (tests/unit/test_layering.py enforces it)."""
