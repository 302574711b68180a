#!/usr/bin/python3
"""A STAND-IN for six CRM vendors' cloud REST APIs, for ucdesk's tests and benchmarks.

Salesforce, SugarCRM, Zoho CRM, Microsoft Dynamics 365 (Dataverse), Bullhorn and Zendesk
are third parties' cloud services: they cannot run here, so this local server speaks
their documented request and answer shapes (docs/crm-vendors.md has each shape with its
documentation page) for the endpoints ucdesk's CRM clients use:

- Salesforce: OAuth refresh-token grant, SOSL search, SOQL query with nextRecordsUrl,
  sObject Task create; errors as a JSON array.
  https://developer.salesforce.com/docs/atlas.en-us.222.0.api_rest.meta/api/intro_understanding_refresh_token_oauth.htm
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-search.md
  https://developer.salesforce.com/docs/platform/api-rest/guide/dome-query.md
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/dome_sobject_create.htm
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
- SugarCRM REST v11: oauth2/token (password and rotating refresh-token grants),
  Contacts/filter, Contacts?q=, offset/next_offset, Calls and link/contacts.
  https://support.sugarcrm.com/documentation/sugar_developer/sugar_developer_guide_14.0/integration/web_services/rest_api/endpoints/oauth2token_post/
  https://support.sugarcrm.com/documentation/sugar_developer/sugar_developer_guide_14.0/integration/web_services/rest_api/endpoints/modulefilter_post/
  https://support.sugarcrm.com/documentation/sugar_developer/sugar_developer_guide_13.0/integration/web_services/rest_api/api_exceptions
- Zoho CRM v2: accounts server refresh grant (errors as 200 + error), search?phone=/word=
  (204 when nothing matches), page/more_records, Calls insert.
  https://www.zoho.com/crm/developer/docs/api/v2/access-refresh.html
  https://zoho.com/crm/developer/docs/api/v2/search-records.html
  https://zoho.com/crm/developer/docs/api/insert-records.html
  https://zoho.com/crm/developer/docs/api/v8/status-codes.html
- Dynamics 365 / Dataverse Web API v9.2: Entra ID refresh grant (rotating), contacts with
  $select/$filter (contains, eq, startswith), Prefer: odata.maxpagesize + @odata.nextLink,
  phonecalls create (204 + OData-EntityId).
  https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-data-web-api
  https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results
  https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-entity-web-api
  https://learn.microsoft.com/power-apps/developer/data-platform/api-limits
- Bullhorn: oauth/token (single-use refresh tokens), rest-services/login (BhRestToken,
  restUrl), search/ClientContact (Lucene subset), PUT entity/Note.
  https://bullhorn.github.io/docs/oauth/  https://bullhorn.github.io/rest-api-docs/#search
  https://bullhorn.github.io/Getting-Started-with-REST/
- Zendesk Support API v2: API token basic auth or OAuth (rotating refresh), users/search,
  cursor pagination on users.json, tickets.json create; 429 with Retry-After.
  https://developer.zendesk.com/api-reference/introduction/security-and-auth/
  https://developer.zendesk.com/api-reference/introduction/pagination/
  https://developer.zendesk.com/api-reference/introduction/rate-limits

Simplifications, on purpose: every listing gives at most PAGE_SIZE (10) records so a sync
of the 24 contacts takes three pages; tokens expire only through /_lab/expire; phone
search compares digits (equal, or one ends with the other and the shorter has 7 or more)
where the vendor normalises (Salesforce PHONE FIELDS, Zoho phone=, Bullhorn, Zendesk's
leading *), and compares the stored text as a substring where the vendor does (Sugar
$contains, Dataverse contains()); only the endpoints above exist. Injected 429s carry
Retry-After for every vendor (Dataverse and Zendesk document it; for the others it is the
generic HTTP shape).

    python3 tests/lab/crm_standin.py [--port N]     # prints "listening on PORT"

The browser sign-in (authorize pages, code grants with PKCE) is crm_standin_oauth.py.

Control (no auth): POST /_lab/reset, POST /_lab/consent {"vendor", "allow"}, POST
/_lab/expire {"vendor"?}, POST /_lab/fault {"vendor", "kind": "429"|"500"|"stall"|
"malformed", "count", "retry_after", "seconds"}; GET /_lab/logged, /_lab/requests,
/_lab/tokens. Never logs tokens or query strings.
"""
import argparse
import base64
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from crm_standin_data import PEOPLE, PHONE_FIELDS, record
from crm_standin_oauth import CODES, authorize_path
from crm_standin_query import digits, lucene, odata_filter, same_number, sugar_match

VENDORS = ["salesforce", "sugar", "zoho", "dynamics", "bullhorn", "zendesk"]
ROTATING = {"sugar", "dynamics", "bullhorn", "zendesk"}
PAGE_SIZE = 10
CLIENT = ("ucdesk", "s3cret")
USER = ("agent@example.com", "pw")
ZD_TOKEN = "zd-token"

class Reply(Exception):
    """An answer that ends a request early: status, body (JSON or bytes), headers."""

    def __init__(self, status, body=None, headers=None):
        self.status, self.body, self.headers = status, body, headers or {}


ERRORS = {  # vendor -> kind -> body
    "salesforce": {
        401: [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
        404: [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
        400: [{"message": "The request is malformed", "errorCode": "MALFORMED_QUERY"}],
        429: [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        500: [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}],
    },
    "sugar": {
        401: {"error": "invalid_grant", "error_message": "The access token provided is invalid."},
        404: {"error": "not_found", "error_message": "Could not find record"},
        400: {"error": "invalid_parameter", "error_message": "Invalid parameter"},
        429: {"error": "too_many_requests", "error_message": "Too many requests"},
        500: {"error": "fatal_error", "error_message": "Fatal error"},
    },
    "zoho": {
        401: {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"},
        404: {"code": "INVALID_URL_PATTERN", "details": {}, "message": "Please check if the URL trying to access is a correct one", "status": "error"},
        400: {"code": "INVALID_DATA", "details": {}, "message": "invalid data", "status": "error"},
        429: {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "API requests for the 24 hour period exceeded or concurrency limit exceeded", "status": "error"},
        500: {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error", "status": "error"},
    },
    "dynamics": {
        401: b"",
        404: {"error": {"code": "0x8006088a", "message": "Resource not found for the segment."}},
        400: {"error": {"code": "0x80060888", "message": "The query is not valid."}},
        429: {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds."}},
        500: {"error": {"code": "0x80040216", "message": "An unexpected error occurred."}},
    },
    "bullhorn": {
        401: {"errorMessage": "Bad 'BhRestToken' or timed-out.", "errorMessageKey": "errors.authentication.invalidRestToken", "errorCode": 401},
        404: {"errorMessage": "Not found", "errorMessageKey": "errors.notFound", "errorCode": 404},
        400: {"errorMessage": "Bad request", "errorMessageKey": "errors.badRequest", "errorCode": 400},
        429: {"errorMessage": "Too Many Requests", "errorMessageKey": "errors.tooManyRequests", "errorCode": 429},
        500: {"errorMessage": "Internal error", "errorMessageKey": "errors.internal", "errorCode": 500},
    },
    "zendesk": {
        401: {"error": "Couldn't authenticate you"},
        404: {"error": "RecordNotFound", "description": "Not found"},
        400: {"error": "InvalidEndpoint", "description": "Bad request"},
        429: {"error": "TooManyRequests", "description": "You have exceeded the rate limit"},
        500: {"error": "InternalError", "description": "Something went wrong"},
    },
}


def err(vendor, status, headers=None):
    return Reply(status, ERRORS[vendor][status], headers)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.contacts = {v: [record(v, i, p) for i, p in enumerate(PEOPLE)] for v in VENDORS}
        self.access = {v: set() for v in VENDORS}
        self.sessions = set()  # Bullhorn BhRestTokens
        self.refresh = {v: f"rt-{v}-1" for v in VENDORS}
        self.rotations = {v: 1 for v in VENDORS}
        self.grants = {v: 0 for v in VENDORS}
        self.faults = {v: [] for v in VENDORS}
        self.logged, self.requests = [], []
        self.ids = 0

    def grant(self, vendor):
        self.grants[vendor] += 1
        token = f"at-{vendor}-{self.grants[vendor]}-{uuid.uuid4().hex[:8]}"
        self.access[vendor].add(token)
        if vendor in ROTATING:
            self.rotations[vendor] += 1
            self.refresh[vendor] = f"rt-{vendor}-{self.rotations[vendor]}"
        return token

    def next_id(self):
        self.ids += 1
        return self.ids


STATE = State()


def page(items, start, size):
    size = max(1, min(int(size or PAGE_SIZE), PAGE_SIZE))
    return items[start:start + size], size


def only(rec, fields, keep=()):
    if not fields:
        return dict(rec)
    names = [f.strip() for f in fields.split(",") if f.strip()]
    return {k: rec.get(k) for k in list(keep) + names}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "crm-standin"
    record = None  # (vendor, url) of the API request being answered, until it is logged

    def log_message(self, fmt, *args):
        # The path only: queries and headers may carry tokens.
        sys.stderr.write(f"{self.command} {urlsplit(self.path).path}\n")

    def send(self, status, body=None, headers=None):
        if isinstance(body, (bytes, bytearray)):
            data, ctype = bytes(body), "application/json"
        elif body is None:
            data, ctype = b"", None
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        # The request is on record before its answer leaves: a client that reads the
        # log right after its answer must find it there.
        if self.record:
            vendor, url = self.record
            self.record = None
            with STATE.lock:
                STATE.requests.append({"vendor": vendor, "method": self.command, "path": url.path,
                                       "query": url.query, "status": status, "at": time.time()})
        self.send_response(status)
        if ctype and data:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def body(self):
        return self.raw

    def json_body(self, vendor):
        raw = self.body()
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise err(vendor, 400)

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def route(self):
        # The body is read before anything can answer: a fault answered early would
        # otherwise leave it on the kept-alive connection as the next request's start.
        n = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(n) if n else b""
        url = urlsplit(self.path)
        self.record = None
        self.q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        parts = url.path.strip("/").split("/")
        if parts[0] == "_lab":
            return self.lab(parts[1] if len(parts) > 1 else "")
        vendor = parts[0]
        if vendor not in VENDORS:
            return self.send(404, {"error": "no such vendor"})
        rest = "/" + "/".join(parts[1:])
        self.record = (vendor, url)
        try:
            try:
                if self.command == "GET" and authorize_path(vendor, rest):
                    raise Reply(*CODES.authorize(vendor, self.q, CLIENT[0], self.host(vendor)))
                self.send(200, getattr(self, vendor)(rest), None)
            except Reply as r:
                self.send(r.status, r.body, r.headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # a bug here must answer, not drop the connection
            sys.stderr.write(f"stand-in error: {e!r}\n")
            self.send(500, ERRORS[vendor][500])

    # ---- shared pieces -------------------------------------------------------------

    def api(self, vendor, check):
        """An API request: the injected fault first, then the token."""
        fault = None
        with STATE.lock:
            if STATE.faults[vendor]:
                fault = STATE.faults[vendor][0]
                fault["count"] -= 1
                if fault["count"] <= 0:
                    STATE.faults[vendor].pop(0)
        if fault:
            kind = str(fault.get("kind"))
            if kind == "stall":
                time.sleep(float(fault.get("seconds", 5)))
            elif kind == "malformed":
                raise Reply(200, b'{"data": [')
            elif kind in ("429", "500"):
                headers = {"Retry-After": fault.get("retry_after", 1)} if kind == "429" else {}
                if vendor == "zendesk" and kind == "429":
                    headers.update({"X-Rate-Limit": 700, "X-Rate-Limit-Remaining": 0})
                raise err(vendor, int(kind), headers)
        if not check():
            if vendor == "dynamics":
                base = f"http://{self.headers.get('Host')}/dynamics"
                raise Reply(401, b"", {"WWW-Authenticate": f"Bearer authorization_uri={base}/login/lab-tenant/oauth2/authorize, resource_id={base}/"})
            raise err(vendor, 401)

    def bearer(self, vendor, scheme="Bearer"):
        auth = self.headers.get("Authorization") or ""
        token = auth[len(scheme) + 1:] if auth.startswith(scheme + " ") else None
        with STATE.lock:
            return token in STATE.access[vendor]

    def host(self, vendor):
        return f"http://{self.headers.get('Host')}/{vendor}"

    def logged(self, vendor, body):
        with STATE.lock:
            STATE.logged.append({"vendor": vendor, "method": self.command, "path": urlsplit(self.path).path, "body": body})

    def refresh_grant(self, vendor, refresh):
        with STATE.lock:
            ok = refresh == STATE.refresh[vendor]
            return STATE.grant(vendor) if ok else None

    def token_grant(self, vendor, params, secret=True):
        """A refresh-token or authorization-code grant: the new access token, or None.
        A redeemed code also makes a new refresh token, for every vendor."""
        pair = (params.get("client_id"), params.get("client_secret") if secret else CLIENT[1])
        if pair == CLIENT and params.get("grant_type") == "refresh_token":
            return self.refresh_grant(vendor, params.get("refresh_token"))
        if pair == CLIENT and params.get("grant_type") == "authorization_code" and CODES.redeem(vendor, params, CLIENT[0]) is None:
            with STATE.lock:
                token = STATE.grant(vendor)
                STATE.rotations[vendor] += 1
                # Unique across resets: a test can tell a second sign-in's token from the first's.
                STATE.refresh[vendor] = f"rt-{vendor}-{STATE.rotations[vendor]}-{uuid.uuid4().hex[:8]}"
                return token
        return None

    # ---- Salesforce ----------------------------------------------------------------

    def salesforce(self, rest):
        v = "salesforce"
        if rest == "/services/oauth2/token" and self.command == "POST":
            form = {k: x[-1] for k, x in parse_qs(self.body().decode(errors="replace")).items()}
            token = self.token_grant(v, form, secret=False)
            if not token:
                raise Reply(400, {"error": "invalid_grant", "error_description": "expired access/refresh token"})
            base = self.host(v)
            issued = {"refresh_token": STATE.refresh[v]} if form.get("grant_type") == "authorization_code" else {}
            return {**issued, "access_token": token, "instance_url": base, "id": f"{base}/id/00DLAB/005LAB",
                    "issued_at": str(int(time.time() * 1000)), "signature": "bGFi", "token_type": "Bearer"}
        self.api(v, lambda: self.bearer(v))
        records = STATE.contacts[v]
        if rest == "/services/data/v60.0/search" and self.command == "GET":
            m = re.match(r"\s*FIND\s*\{((?:\\.|[^}])*)\}\s*IN\s+(PHONE|NAME|ALL)\s+FIELDS\s+RETURNING\s+Contact\(([^)]*)\)",
                         self.q.get("q", ""), re.I)
            if not m:
                raise err(v, 400)
            term = re.sub(r"\\(.)", r"\1", m.group(1))
            fields = m.group(3)
            if m.group(2).upper() == "PHONE":
                phones = PHONE_FIELDS[v].values()
                hits = [r for r in records if any(same_number(r.get(f), term) for f in phones)]
            else:
                t = term.lower()
                if t.endswith("*"):
                    hits = [r for r in records if any(w.startswith(t[:-1]) for w in r["Name"].lower().split())]
                else:
                    hits = [r for r in records if t in r["Name"].lower()]
            return {"searchRecords": [self.sf_record(r, fields) for r in hits]}
        m = re.match(r"^/services/data/v60.0/query(?:/01gLAB-(\d+))?$", rest)
        if m and self.command == "GET":
            start = int(m.group(1) or 0)
            if m.group(1) is None:
                sm = re.match(r"\s*SELECT\s+(.+?)\s+FROM\s+Contact\b", self.q.get("q", ""), re.I)
                if not sm:
                    raise err(v, 400)
                self.server.sf_fields = sm.group(1)
            chunk, size = page(records, start, PAGE_SIZE)
            fields = getattr(self.server, "sf_fields", "Id,Name")
            answer = {"totalSize": len(records), "done": start + size >= len(records),
                      "records": [self.sf_record(r, fields) for r in chunk]}
            if not answer["done"]:
                answer["nextRecordsUrl"] = f"/services/data/v60.0/query/01gLAB-{start + size}"
            return answer
        if rest == "/services/data/v60.0/sobjects/Task" and self.command == "POST":
            task = self.json_body(v)
            if not task.get("Subject"):
                raise Reply(400, [{"message": "Required fields are missing: [Subject]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Subject"]}])
            self.logged(v, task)
            raise Reply(201, {"id": f"00TLAB{STATE.next_id():012}", "errors": [], "success": True})
        raise err(v, 404)

    def sf_record(self, r, fields):
        out = {"attributes": {"type": "Contact", "url": f"/services/data/v60.0/sobjects/Contact/{r['Id']}"}}
        out.update(only(r, fields))
        return out

    # ---- Sugar ---------------------------------------------------------------------

    def sugar(self, rest):
        v = "sugar"
        if rest == "/rest/v11/oauth2/token" and self.command == "POST":
            b = self.json_body(v)
            if not b.get("platform") or b.get("platform") == "base":
                raise Reply(400, {"error": "invalid_parameter", "error_message": "Use a custom platform"})
            token = None
            if b.get("client_id") == "sugar" and b.get("grant_type") == "password":
                if (b.get("username"), b.get("password")) == USER:
                    with STATE.lock:
                        token = STATE.grant(v)
            elif b.get("client_id") == "sugar" and b.get("grant_type") == "refresh_token":
                token = self.refresh_grant(v, b.get("refresh_token"))
            if not token:
                raise Reply(401, {"error": "invalid_grant", "error_message": "Invalid Credentials"})
            return {"access_token": token, "expires_in": 3600, "token_type": "bearer", "scope": None,
                    "refresh_token": STATE.refresh[v], "refresh_expires_in": 1209600, "download_token": uuid.uuid4().hex}
        if not self.headers.get("OAuth-Token"):
            raise Reply(401, {"error": "need_login", "error_message": "You need to be logged in to perform this action."})
        self.api(v, lambda: self.headers.get("OAuth-Token") in STATE.access[v])
        records = STATE.contacts[v]
        keep = ("id", "date_modified")
        if rest == "/rest/v11/Contacts/filter" and self.command == "POST":
            b = self.json_body(v)
            hits = [r for r in records if all(sugar_match(r, f) for f in b.get("filter", []))]
            offset = int(b.get("offset") or 0)
            chunk, size = page(hits, offset, b.get("max_num", 20))
            return {"next_offset": offset + size if offset + size < len(hits) else -1,
                    "records": [dict(only(r, b.get("fields"), keep), _module="Contacts") for r in chunk]}
        if rest == "/rest/v11/Contacts" and self.command == "GET":
            hits = records
            if self.q.get("q"):
                t = self.q["q"].lower()
                hits = [r for r in records if any(t in (r.get(k) or "").lower() for k in ("name", "first_name", "last_name", "email1"))]
            offset = int(self.q.get("offset") or 0)
            chunk, size = page(hits, offset, self.q.get("max_num", 20))
            return {"next_offset": offset + size if offset + size < len(hits) else -1,
                    "records": [dict(only(r, self.q.get("fields"), keep), _module="Contacts") for r in chunk]}
        if rest == "/rest/v11/Calls" and self.command == "POST":
            b = self.json_body(v)
            if not b.get("name"):
                raise Reply(422, {"error": "missing_parameter", "error_message": "Missing parameter: name"})
            self.logged(v, b)
            return dict(b, id=f"ca11{STATE.next_id():04}-0000-4000-8000-000000000000", _module="Calls")
        m = re.match(r"^/rest/v11/Calls/([^/]+)/link/contacts/([^/]+)$", rest)
        if m and self.command == "POST":
            contact = next((r for r in records if r["id"] == m.group(2)), None)
            if contact is None:
                raise err(v, 404)
            self.logged(v, self.json_body(v))
            return {"record": {"id": m.group(1), "_module": "Calls"}, "related_record": dict(contact, _module="Contacts")}
        raise err(v, 404)

    # ---- Zoho ----------------------------------------------------------------------

    def zoho(self, rest):
        v = "zoho"
        if rest == "/accounts/oauth/v2/token" and self.command == "POST":
            q = self.q
            token = self.token_grant(v, q)
            if not token:
                return {"error": "invalid_code"}  # Zoho's accounts server answers 200 here
            issued = {"refresh_token": STATE.refresh[v]} if q.get("grant_type") == "authorization_code" else {}
            return {**issued, "access_token": token, "expires_in": 3600, "api_domain": self.host(v), "token_type": "Bearer"}
        self.api(v, lambda: self.bearer(v, "Zoho-oauthtoken"))
        records = STATE.contacts[v]
        if rest == "/crm/v2/Contacts/search" and self.command == "GET":
            if "phone" in self.q:
                hits = [r for r in records if any(same_number(r.get(f), self.q["phone"]) for f in PHONE_FIELDS[v].values())]
            elif "word" in self.q:
                t = self.q["word"].lower()
                hits = [r for r in records if t in r["Full_Name"].lower() or t in (r.get("Email") or "").lower()]
            else:
                raise err(v, 400)
            if not hits:
                raise Reply(204)
            n = int(self.q.get("page") or 1)
            chunk, size = page(hits, (n - 1) * PAGE_SIZE, self.q.get("per_page", 200))
            return {"data": chunk, "info": {"per_page": size, "count": len(chunk), "page": n, "more_records": n * size < len(hits)}}
        if rest == "/crm/v2/Contacts" and self.command == "GET":
            n = int(self.q.get("page") or 1)
            chunk, size = page(records, (n - 1) * PAGE_SIZE, self.q.get("per_page", 200))
            if not chunk:
                raise Reply(204)
            data = [only(r, self.q.get("fields"), ("id",)) for r in chunk]
            return {"data": data, "info": {"per_page": size, "count": len(chunk), "page": n, "more_records": n * size < len(records)}}
        if rest == "/crm/v2/Calls" and self.command == "POST":
            b = self.json_body(v)
            rec = (b.get("data") or [{}])[0]
            for field in ("Call_Type", "Call_Start_Time"):
                if not rec.get(field):
                    raise Reply(400, {"data": [{"code": "MANDATORY_NOT_FOUND", "details": {"api_name": field}, "message": "required field not found", "status": "error"}]})
            self.logged(v, b)
            raise Reply(201, {"data": [{"code": "SUCCESS", "details": {"id": str(3652397000000712000 + STATE.next_id()), "Created_Time": "2026-12-02T10:00:00+00:00"}, "message": "record added", "status": "success"}]})
        raise err(v, 404)

    # ---- Dynamics ------------------------------------------------------------------

    def dynamics(self, rest):
        v = "dynamics"
        if rest == "/login/lab-tenant/oauth2/v2.0/token" and self.command == "POST":
            form = {k: x[-1] for k, x in parse_qs(self.body().decode(errors="replace")).items()}
            token = self.token_grant(v, form, secret=False)
            if not token:
                raise Reply(400, {"error": "invalid_grant", "error_description": "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", "error_codes": [70008]})
            return {"token_type": "Bearer", "scope": f"{self.host(v)}/user_impersonation", "expires_in": 3599,
                    "ext_expires_in": 3599, "access_token": token, "refresh_token": STATE.refresh[v]}
        self.api(v, lambda: self.bearer(v))
        records = STATE.contacts[v]
        api = f"{self.host(v)}/api/data/v9.2"
        if rest == "/api/data/v9.2/contacts" and self.command == "GET":
            hits = records
            if self.q.get("$filter"):
                try:
                    test = odata_filter(self.q["$filter"])
                except ValueError:
                    raise err(v, 400)
                hits = [r for r in records if test(r)]
            hits = sorted(hits, key=lambda r: r["fullname"]) if self.q.get("$orderby") == "fullname" else hits
            m = re.search(r"odata\.maxpagesize=(\d+)", self.headers.get("Prefer") or "")
            start = int(self.q.get("$skiptoken") or 0)
            chunk, size = page(hits, start, m.group(1) if m else PAGE_SIZE)
            select = self.q.get("$select")
            answer = {"@odata.context": f"{api}/$metadata#contacts({select or ''})",
                      "value": [dict({"@odata.etag": 'W/"1"'}, **only(r, select, ("contactid",))) for r in chunk]}
            if start + size < len(hits):
                from urllib.parse import urlencode
                params = {k: x for k, x in self.q.items() if k != "$skiptoken"}
                params["$skiptoken"] = str(start + size)
                answer["@odata.nextLink"] = f"{api}/contacts?{urlencode(params)}"
            raise Reply(200, answer, {"Preference-Applied": f"odata.maxpagesize={size}"} if m else {})
        if rest == "/api/data/v9.2/phonecalls" and self.command == "POST":
            b = self.json_body(v)
            if not b.get("subject"):
                raise err(v, 400)
            self.logged(v, b)
            guid = str(uuid.uuid4())
            if "return=representation" in (self.headers.get("Prefer") or ""):
                raise Reply(201, dict(b, activityid=guid))
            raise Reply(204, None, {"OData-EntityId": f"{api}/phonecalls({guid})"})
        raise err(v, 404)

    # ---- Bullhorn ------------------------------------------------------------------

    def bullhorn(self, rest):
        v = "bullhorn"
        if rest == "/oauth/token" and self.command == "POST":
            q = self.q
            token = self.token_grant(v, q)
            if not token:
                raise Reply(400, {"error": "invalid_grant", "error_description": "Invalid, expired, or revoked refresh token."})
            return {"access_token": token, "token_type": "Bearer", "expires_in": 600, "refresh_token": STATE.refresh[v]}
        if rest == "/rest-services/login" and self.command == "POST":
            with STATE.lock:
                if self.q.get("access_token") not in STATE.access[v]:
                    raise Reply(401, {"errorCode": 401, "errorMessage": "Invalid or expired OAuth access token.", "errorMessageKey": "errors.authentication.invalidOAuthToken"})
                session = str(uuid.uuid4())
                STATE.sessions.add(session)
            return {"BhRestToken": session, "restUrl": f"{self.host(v)}/rest-services/e999/"}
        token = self.headers.get("BhRestToken") or self.q.get("BhRestToken")
        if not token:
            raise Reply(412, {"errorMessage": "Missing BhRestToken", "errorMessageKey": "errors.authentication.missingRestToken", "errorCode": 412})
        self.api(v, lambda: token in STATE.sessions)
        records = STATE.contacts[v]
        if rest == "/rest-services/e999/search/ClientContact" and self.command == "GET":
            try:
                test = lucene(self.q.get("query", ""))
            except ValueError:
                raise err(v, 400)
            hits = sorted([r for r in records if test(r)], key=lambda r: r["id"])
            start = int(self.q.get("start") or 0)
            chunk, size = page(hits, start, self.q.get("count", PAGE_SIZE))
            data = [dict({"_score": 1.0}, **only(r, self.q.get("fields"), ("id",))) for r in chunk]
            return {"total": len(hits), "start": start, "count": len(chunk), "data": data}
        if rest == "/rest-services/e999/entity/Note" and self.command == "PUT":
            b = self.json_body(v)
            if not (b.get("personReference") or {}).get("id"):
                raise Reply(400, {"errorMessage": "personReference is required", "errorMessageKey": "errors.missingRequiredField", "errorCode": 400,
                                  "errors": [{"detailMessage": "personReference is required", "propertyName": "personReference", "type": "REQUIRED"}]})
            self.logged(v, b)
            return {"changedEntityType": "Note", "changedEntityId": 98700 + STATE.next_id(), "changeType": "INSERT", "data": b}
        raise err(v, 404)

    # ---- Zendesk -------------------------------------------------------------------

    def zendesk(self, rest):
        v = "zendesk"
        if rest == "/oauth/tokens" and self.command == "POST":
            b = self.json_body(v)
            token = self.token_grant(v, b)
            if not token:
                raise Reply(400, {"error": "invalid_grant", "error_description": "The provided access grant is invalid, expired, or revoked (e.g. invalid assertion, expired authorization token, bad end-user password credentials, or mismatching authorization code and redirection URI)."})
            return {"access_token": token, "token_type": "bearer", "scope": "read write", "refresh_token": STATE.refresh[v],
                    "expires_in": 172800, "refresh_token_expires_in": 7776000}
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            try:
                pair = base64.b64decode(auth[6:]).decode()
            except ValueError:
                pair = ""
            # The API token is the admin's, not a session: /_lab/expire leaves it valid.
            self.api(v, lambda: pair == f"{USER[0]}/token:{ZD_TOKEN}")
        else:
            if not self.bearer(v):
                self.api(v, lambda: True)  # a queued fault still comes first
                raise Reply(401, {"error": "invalid_token", "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."})
            self.api(v, lambda: True)
        records = STATE.contacts[v]
        base = f"{self.host(v)}/api/v2"
        if rest == "/api/v2/users/search.json" and self.command == "GET":
            query = self.q.get("query", "")
            m = re.match(r"^phone:\*?(.+)$", query)
            if m:
                hits = [r for r in records if same_number(r.get("phone"), m.group(1))]
            else:
                t = query.strip('"').lower()
                hits = [r for r in records if t in r["name"].lower() or t in (r.get("email") or "").lower()]
            users = [dict(r, url=f"{base}/users/{r['id']}.json") for r in hits[:100]]
            return {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
        if rest == "/api/v2/users.json" and self.command == "GET":
            after = int(self.q.get("page[after]") or 0)
            chunk, size = page(records, after, self.q.get("page[size]", 100))
            more = after + size < len(records)
            nxt = f"{base}/users.json?page%5Bsize%5D={size}&page%5Bafter%5D={after + size}"
            return {"users": chunk, "meta": {"has_more": more, "after_cursor": str(after + size), "before_cursor": str(after)},
                    "links": {"next": nxt if more else None, "prev": None}}
        if rest == "/api/v2/tickets.json" and self.command == "POST":
            b = self.json_body(v)
            t = b.get("ticket") or {}
            if not t.get("requester_id") or not (t.get("comment") or {}).get("body"):
                raise Reply(422, {"error": "RecordInvalid", "description": "Record validation errors",
                                  "details": {"requester": [{"description": "Requester: cannot be blank", "error": "BlankValue"}]}})
            self.logged(v, b)
            n = STATE.next_id()
            raise Reply(201, {"ticket": dict(t, id=1000 + n, status="open"), "audit": {"id": 5000 + n}})
        raise err(v, 404)

    # ---- control -------------------------------------------------------------------

    def lab(self, what):
        try:
            b = json.loads(self.body() or b"{}") if self.command == "POST" else {}
        except ValueError:
            return self.send(400, {"error": "not JSON"})
        with STATE.lock:
            if what == "reset" and self.command == "POST":
                STATE.reset()
                CODES.reset()
                return self.send(200, {"ok": True})
            if what == "expire" and self.command == "POST":
                for vendor in ([b["vendor"]] if b.get("vendor") else VENDORS):
                    STATE.access[vendor].clear()
                    if vendor == "bullhorn":
                        STATE.sessions.clear()
                return self.send(200, {"ok": True})
            if what == "fault" and self.command == "POST":
                if b.get("vendor") not in VENDORS or str(b.get("kind")) not in ("429", "500", "stall", "malformed"):
                    return self.send(400, {"error": "vendor and kind (429, 500, stall, malformed) please"})
                b["count"] = int(b.get("count", 1))
                STATE.faults[b["vendor"]].append(b)
                return self.send(200, {"ok": True})
            if what == "consent" and self.command == "POST":
                CODES.consent(b.get("vendor"), bool(b.get("allow", True)))
                return self.send(200, {"ok": True})
            if what == "logged":
                return self.send(200, STATE.logged)
            if what == "requests":
                return self.send(200, STATE.requests)
            if what == "tokens":
                codes = CODES.report()
                return self.send(200, {v: {"grants": STATE.grants[v], "refresh_token": STATE.refresh[v],
                                           "codes": codes.get(v, 0)} for v in VENDORS})
        return self.send(404, {"error": f"no control endpoint {what}"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
