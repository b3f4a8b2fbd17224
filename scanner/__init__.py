"""scanner: find BI instances from the credentials you already have, prove them, register them in OpenMetadata."""

__version__ = "0.1.0"
