"""looker-sdk built from explicit values, over a `GuardedSession`. Imported only when a probe runs.

- Never reads ``looker.ini`` nor ``LOOKERSDK_*``: the settings object answers ``read_config`` from
  the target's settings (the SDK calls it again at every login, for the credentials).
- Errors are raised without the SDK's error-doc lookup, which would fetch
  ``static-a.cdn.looker.app`` from the internet, without a timeout, whenever a real Looker answers
  with a ``cloud.google.com/looker/docs/r/err/...`` documentation URL.
"""

from __future__ import annotations

import looker_sdk
from looker_sdk import error
from looker_sdk.rtl import api_settings, auth_session, requests_transport, serialize, transport
from looker_sdk.sdk.api40 import methods as methods40

from scanner.sdk_http import GuardedSession

SDKError = error.SDKError
DeserializeError = serialize.DeserializeError


class ExplicitSettings(api_settings.ApiSettings):
    def __init__(self, base_url: str, client_id: str, secret_reader, timeout: float):
        self._base_url = base_url
        self._client_id = client_id
        self._secret_reader = secret_reader  # a callable, so no plaintext sits in this object
        super().__init__(env_prefix=None, sdk_version=looker_sdk.sdk.constants.sdk_version)
        self.timeout = timeout  # float; GuardedSession clamps it to the deadline anyway

    def read_config(self) -> api_settings.SettingsConfig:  # never super(): that would read looker.ini
        return {"base_url": self._base_url, "client_id": self._client_id,
                "client_secret": self._secret_reader(), "verify_ssl": "true", "timeout": "120"}

    def __repr__(self) -> str:
        return f"ExplicitSettings(base_url={self._base_url!r}, client_id={self._client_id!r})"


class QuietLooker40SDK(methods40.Looker40SDK):
    def _return(self, response: transport.Response, structure):  # type: ignore[override]
        if not response.ok:
            raise SDKError(response.value.decode(response.encoding or "utf-8", errors="replace"))
        return super()._return(response, structure)


def build_sdk(base_url: str, client_id: str, secret_reader, session: GuardedSession) -> QuietLooker40SDK:
    settings = ExplicitSettings(base_url, client_id, secret_reader, session.read_timeout)
    settings.is_configured()
    transport_ = requests_transport.RequestsTransport(settings, session)
    return QuietLooker40SDK(
        auth_session.AuthSession(settings, transport_, serialize.deserialize40, "4.0"),
        serialize.deserialize40, serialize.serialize40, transport_, "4.0",
    )
