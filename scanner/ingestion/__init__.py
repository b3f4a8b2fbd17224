"""From registered to ingesting: the metadata pipeline, its runner, AutoPilot, the catalog's own test
connection and secret references (issue 16). Facts: ``shared/contracts/openmetadata-ingestion.md``."""
