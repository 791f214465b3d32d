"""The shape every connector type has lives in the core (:mod:`desktop.core.contract`); this
module keeps the old import path for the connector modules."""

from __future__ import annotations

from desktop.core.contract import Action, ConnectorType, Fact, Listing, Preset, Row, Wording

__all__ = ["Action", "ConnectorType", "Fact", "Listing", "Preset", "Row", "Wording"]
