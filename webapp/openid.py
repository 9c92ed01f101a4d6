"""Log-ins through the organisation's OpenID Connect provider (Entra ID, Okta, Keycloak,
Google Workspace...), for a served tool, with Authlib.

"Log in with your organisation's account" sends the browser to the provider (the
authorization code flow, with PKCE, a state and a nonce kept in the signed session
cookie), and the provider sends it back to ``/log-in/openid/back``. There the code is
exchanged for tokens with the client's secret, the ID token's signature is checked
against the provider's published keys (its issuer, audience, expiry and nonce too), and
the person is who the token says: ``preferred_username`` or ``email``, with the role of
the highest of the groups IT named that the token's groups claim lists. Someone in none of
those groups is refused, as with the directory. The provider's address comes from its
discovery document (``ISSUER/.well-known/openid-configuration``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from deskwork.accounts import ROLES
from deskwork.errors import DeskworkError
from deskwork.served import OpenID

CLIENT = "organisation"


class ProviderDown(DeskworkError):
    """The provider could not be reached (nothing is decided: try again)."""

    status = 503


def _reaching(openid_issuer: str) -> ProviderDown:
    return ProviderDown(
        f"Your organisation's log-in ({openid_issuer}) can't be reached: try again in a "
        "minute, or ask IT."
    )


def init_app(app: Flask, openid: OpenID) -> None:
    """Register the provider with Authlib's Flask client."""
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    oauth.register(
        CLIENT,
        client_id=openid.client_id,
        client_secret=openid.client_secret,
        server_metadata_url=f"{openid.issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
    app.extensions["deskwork.openid"] = oauth


def _client() -> Any:
    return current_app.extensions["deskwork.openid"].create_client(CLIENT)


def start(openid: OpenID, back_to: str) -> Any:
    """The redirect to the provider's log-in, coming back to ``back_to``."""
    import requests

    try:
        return _client().authorize_redirect(back_to)
    except requests.RequestException as error:  # its discovery document, first
        raise _reaching(openid.issuer) from error


def finish(openid: OpenID) -> tuple[str, str, str]:
    """The person the provider sent back: (their name, their role, ``""`` if they are in
    none of the groups, and who they are for good: the issuer and their subject). Authlib's
    errors if the answer is not a valid one."""
    import requests

    try:
        token = _client().authorize_access_token()
    except requests.RequestException as error:
        raise _reaching(openid.issuer) from error
    claims = token.get("userinfo") or {}
    # An email stands for the person only once the provider has checked it is theirs.
    email = claims.get("email") if claims.get("email_verified") else None
    name = str(claims.get("preferred_username") or email or "").strip()
    groups = claims.get(openid.groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    found = [role for role, names in openid.groups if any(g in names for g in groups)]
    if not claims.get("sub"):  # every ID token names its subject: this is no valid one
        raise ValueError("The provider's answer names no subject.")
    subject = f"{claims.get('iss', openid.issuer)} {claims['sub']}"
    return name, (max(found, key=ROLES.index) if found else ""), subject
