"""The browser sign-in of the CRM stand-in (a stand-in: the vendors' sign-in pages are
their cloud's): each vendor's authorize endpoint, where a user who "consents" (the lab's
default; POST /_lab/consent {"vendor", "allow": false} makes the next one refuse) is sent
straight back to the app's redirect_uri with a one-time code, and the code's redemption
at the token endpoint, checking what the vendors check: the same client and
redirect_uri, one use, ten minutes, and the PKCE verifier against the challenge
(RFC 7636 S256) for the vendors that take PKCE.

Documentation the shapes follow:
- Salesforce: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
  and https://help.salesforce.com/s/articleView?id=sf.remoteaccess_pkce.htm
- Zoho: https://zoho.com/accounts/protocol/oauth/mobile-and-desktop-apps/get-authorization-code.html
  and .../get-access-token.html (PKCE required for desktop apps; access_type, prompt),
  https://zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html (the
  redirect's location and accounts-server)
- Microsoft Entra ID: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
- Bullhorn: https://bullhorn.github.io/docs/oauth/ (authorize, then token with the code)
- Zendesk: https://developer.zendesk.com/documentation/api-basics/authentication/using-oauth-to-authenticate-zendesk-api-requests-in-an-app/
"""
import base64
import hashlib
import threading
import time
import uuid
from urllib.parse import urlencode, urlsplit

# Where each vendor's authorize page is, under /<vendor>.
AUTHORIZE = {
    "salesforce": "/services/oauth2/authorize",
    "zoho": "/accounts/oauth/v2/auth",
    "dynamics": "/login/lab-tenant/oauth2/v2.0/authorize",
    "bullhorn": "/oauth/authorize",
    "zendesk": "/oauth/authorizations/new",
}
# The vendors whose authorize page takes a PKCE challenge (the others ignore one).
PKCE = {"salesforce", "zoho", "dynamics", "zendesk"}
CODE_LIFETIME = 600


class Codes:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.codes = {}
            self.refuse = set()
            self.issued = {}

    def consent(self, vendor, allow):
        with self.lock:
            (self.refuse.discard if allow else self.refuse.add)(vendor)

    def authorize(self, vendor, q, client_id, host):
        """The authorize page: (status, body or None, headers)."""
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != client_id or q.get("response_type") != "code":
            return 400, {"error": "invalid_client_id" if q.get("client_id") != client_id else "unsupported_response_type"}, {}
        # A native app's redirect is the loopback (RFC 8252 §7.3); nothing else is registered.
        if not redirect.startswith(("http://127.0.0.1:", "http://localhost:")):
            return 400, {"error": "redirect_uri_mismatch"}, {}
        pairs = {"state": q.get("state", "")}
        with self.lock:
            refused = vendor in self.refuse
            self.refuse.discard(vendor)
            if not refused:
                code = f"code-{vendor}-{uuid.uuid4().hex}"
                self.codes[code] = {"vendor": vendor, "client_id": client_id, "redirect": redirect,
                                    "challenge": q.get("code_challenge") if vendor in PKCE else None,
                                    "method": q.get("code_challenge_method"), "at": time.time()}
                self.issued[vendor] = self.issued.get(vendor, 0) + 1
        if refused:
            pairs.update(error="access_denied", error_description="end-user denied authorization")
        else:
            pairs["code"] = code
            if vendor == "zoho":
                pairs.update({"location": "us", "accounts-server": f"{host}/accounts"})
        sep = "&" if "?" in redirect else "?"
        return 302, None, {"Location": redirect + sep + urlencode(pairs), "Cache-Control": "no-store"}

    def redeem(self, vendor, params, client_id):
        """A code grant's parameters: None when it is good, else the reason."""
        with self.lock:
            grant = self.codes.pop(params.get("code") or "", None)  # one use, good or bad
        if not grant or grant["vendor"] != vendor:
            return "unknown or used authorization code"
        if time.time() - grant["at"] > CODE_LIFETIME:
            return "expired authorization code"
        if params.get("client_id") != client_id or grant["client_id"] != client_id:
            return "client mismatch"
        if params.get("redirect_uri") != grant["redirect"]:
            return "redirect_uri mismatch"
        if grant["challenge"]:
            verifier = params.get("code_verifier") or ""
            made = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if grant["method"] != "S256" or made != grant["challenge"]:
                return "invalid code_verifier"
        return None

    def report(self):
        with self.lock:
            return dict(self.issued)


CODES = Codes()


def authorize_path(vendor, rest):
    return AUTHORIZE.get(vendor) == urlsplit(rest).path
