"""TLS options shared by the catalog's settings and every target's: verify, or trust a private CA."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, field_validator


class TlsSettings(BaseModel):
    verify_ssl: bool = True
    ca_bundle: Path | None = None

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"CA bundle {str(value)!r} is not a readable file")
        return value

    @property
    def verify(self) -> bool | str:
        """What to pass as `verify` to requests-based clients."""
        if not self.verify_ssl:
            return False
        return str(self.ca_bundle) if self.ca_bundle else True
