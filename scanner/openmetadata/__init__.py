"""OpenMetadata: request models matching its JSON schemas, and a client for the dashboard-service API."""
