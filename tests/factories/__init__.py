"""Factories build valid objects through the service layer, so they are audited by construction."""
