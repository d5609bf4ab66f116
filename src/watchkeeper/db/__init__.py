"""Storage: engine and session factory, the declarative Base, portable column types, migrations."""
