"""Google, as its developer pages and its users' bug reports describe it.

Four hosts on the tests' private internet, all TLS (Google: "we require CardDAV connections
to use HTTPS", https://developers.google.com/people/carddav):

- accounts.google.com: the authorization endpoint of the installed-app flow
  (https://developers.google.com/identity/protocols/oauth2/native-app, step 2): a registered
  client id, a loopback ``redirect_uri`` (http://127.0.0.1:PORT/), ``response_type=code``,
  PKCE with S256, the scopes; the user's consent is the test's to give (``consent_url``).
- oauth2.googleapis.com/token (same guide, steps 5 and "Refreshing an access token"): the
  code for tokens once, with the client secret and the PKCE verifier; ``expires_in`` 3599;
  a refresh token answers with a new access token; a revoked one answers 400
  ``{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}``
  (guide, "Refresh token expiration"). Access tokens can also stop working before their
  ``expires_in`` (``expire_access_tokens``): the DAV hosts then answer 401.
- oauth2.googleapis.com/tokeninfo (and www.googleapis.com/oauth2/v3/tokeninfo): what Google
  says of an access token, ``GET ?access_token=TOKEN``. The fields are those of Google's
  TokenInfo (the OAuth2 API's Tokeninfo schema, https://googleapis.dev/dotnet/
  Google.Apis.Oauth2.v2/latest/api/Google.Apis.Oauth2.v2.Data.Tokeninfo.html, and
  google-auth-library's ``getTokenInfo``, https://cloud.google.com/nodejs/docs/reference/
  google-auth-library/latest/google-auth-library/tokeninfo): ``azp``/``aud`` (the client id),
  ``sub``, ``scope`` (space-separated), ``exp``, ``expires_in`` (seconds left, a string as
  Google writes it), ``access_type``, and ``email``/``email_verified`` "only if your scope
  included the email scope value"; a token Google does not know, or one that ran out, is
  answered 400 ``{"error": "invalid_token", "error_description": "Invalid Value"}`` (the
  endpoint answers an invalid token with 400: https://developers.google.com/identity/sign-in/
  web/backend-auth, "Calling the tokeninfo endpoint").
- Gmail's IMAP is a real Dovecot (tests/mailserver.py) whose ``oauth2`` passdb asks
  ``gmail_tokeninfo_url`` about each XOAUTH2 token (Dovecot's PasswordDatabase.oauth2, whose
  own example for Google is the tokeninfo endpoint): the same answer, plus the account's
  address, which Gmail knows of every token it is shown (XOAUTH2 names the user, and Gmail
  refuses a token of another account: https://developers.google.com/workspace/gmail/imap/
  xoauth2-protocol), on plain http on loopback, where Dovecot reaches it without the proxy.
  Dovecot requires the scope ``https://mail.google.com/``, as Gmail does (same page).
- A refresh may name scopes (``scope``): each must be in the grant, else 400
  ``invalid_scope`` "Some requested scopes were invalid" (RFC 6749 section 6; Google's answer
  as googleapis/google-auth-library-python#999 quotes it); without it the new access token
  carries every scope of the grant, and the answer's ``scope`` lists them (native-app guide,
  "Refreshing an access token").
- www.googleapis.com, CardDAV (https://developers.google.com/people/carddav): bearer tokens
  only (Basic: 401); ``/.well-known/carddav`` answers 301 to the default address book
  ``/carddav/v1/principals/EMAIL/lists/default/`` (t-brown/mcds#15, a curl transcript); no
  MKCOL, LOCK, UNLOCK, COPY, MOVE (405); a sync-collection REPORT with an empty sync-token is
  refused with 400 (mstilkerich/carddavclient doc/QUIRKS.md BUG_REJ_EMPTY_SYNCTOKEN,
  issuetracker.google.com/issues/160190530); vCard 3.0 only; a stored card is Google's
  rewrite of what was sent: unknown properties, parameters and groups dropped
  (https://evertpot.com/google-carddav-issues/), CATEGORIES not kept (Google's labels are
  not synced with CATEGORIES: pimutils/vdirsyncer docs/config.rst, vdirsyncer#814,
  issuetracker 36761530), TYPE values upper-cased and unknown ones dropped, the UID of a new
  card replaced by Google's and the card stored where Google chooses (QUIRKS.md).
- apidata.googleusercontent.com, CalDAV (https://developers.google.com/workspace/calendar/
  caldav/v2/guide): principal ``/caldav/v2/EMAIL/user`` (DAVx5 davx5-ose#534,
  lambdabaa/dav#147), calendars at ``/caldav/v2/CALID/events`` (jobisoft/TbSync#312); no
  MKCALENDAR (405); no VTODO (vdirsyncer: "VTODO files are rejected by the server"); no
  ``If*`` header but If-Match, so ``If-None-Match: *`` is ignored and a PUT over an existing
  event replaces it; no ACL (RFC 3744), so calendars carry no current-user-privilege-set and
  a calendar shared read-only refuses a PUT with 403; no AUDIO alarms. An event is kept in
  Google's own model and given back from it: what the model has no field for is gone
  (X- properties, CATEGORIES: TbSync#312, COLOR: davx5-ose#2728), alarms are minutes before
  the start, at most four weeks (interop notes 3.1: Google's reminders are 0-40320 minutes
  before), with Google's own text.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from tests import servers
from tests.standins import vcards
from tests.standins.net import XML, Front, Internet, Reply, Request, multistatus, propstat

EMAIL = "alice@gmail.com"
SUB = "110169484474386276334"  # the account's id (TokenInfo ``sub``)
MAIL_SCOPE = "https://mail.google.com/"
CLIENT_ID = "1234567890-netsync.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-client-secret"
SCOPES = {"https://www.googleapis.com/auth/carddav", "https://www.googleapis.com/auth/calendar"}
BOOK = f"/carddav/v1/principals/{EMAIL}/lists/default/"
PRINCIPAL_CARD = f"/carddav/v1/principals/{EMAIL}/"
PRINCIPAL_CAL = f"/caldav/v2/{EMAIL}/user"
HOME_CAL = f"/caldav/v2/{EMAIL}/"
CARDDAV_URL = "https://www.googleapis.com/.well-known/carddav"
CALDAV_URL = "https://apidata.googleusercontent.com/caldav/v2/"
BEARER_CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'

# What Google's contact model keeps of a vCard 3.0 (its export and QUIRKS.md)
_CARD_KEEP = {
    "BEGIN", "END", "VERSION", "PRODID", "UID", "REV", "FN", "N", "NICKNAME", "PHOTO",
    "BDAY", "ADR", "TEL", "EMAIL", "IMPP", "TITLE", "ORG", "NOTE", "URL", "X-ABDATE",
    "X-ABLABEL", "X-ABRELATEDNAMES", "X-PHONETIC-FIRST-NAME", "X-PHONETIC-LAST-NAME",
}  # fmt: skip
_GROUPED = {"X-ABDATE", "X-ABLABEL", "X-ABRELATEDNAMES"}  # labels need their item group
_TYPES = {"HOME", "WORK", "CELL", "FAX", "PAGER", "MAIN", "OTHER", "INTERNET", "PREF", "VOICE"}
# What Google's event model keeps of a VEVENT
_EVENT_KEEP = {
    "UID", "DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION", "LOCATION", "TRANSP",
    "STATUS", "RRULE", "EXDATE", "RECURRENCE-ID", "SEQUENCE", "CLASS", "ORGANIZER", "ATTENDEE",
    "CREATED", "LAST-MODIFIED", "DTSTAMP",
}  # fmt: skip


@dataclass
class _Calendar:
    calid: str
    name: str
    slug: str  # the calendar's collection on the Xandikos behind
    read_only: bool = False


@dataclass
class Google:
    """The state of the accounts and token servers, and the fronts."""

    internet: Internet
    xandikos: servers.Server
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: dict[str, bool] = field(default_factory=dict)  # token -> still valid
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (time())
    grants: dict[str, str] = field(default_factory=dict)  # refresh token -> its scopes
    scopes: dict[str, str] = field(default_factory=dict)  # access token -> its scopes
    tokeninfo_asked: list[str] = field(default_factory=list)  # who asked: "public", "gmail"
    expire_before_mail: bool = False  # every access token ends before the next IMAP login
    gmail_tokeninfo_url: str = ""  # the loopback endpoint Dovecot asks (``tokeninfo_for``)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    calendars: list[_Calendar] = field(default_factory=list)
    fronts: list[Front] = field(default_factory=list)
    expire_in: int | None = None  # DAV requests until every access token stops working
    refused: int = 0  # DAV requests answered 401
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the test's hands -----------------------------------------------------------------------

    def consent_url(self, url: str) -> str:
        """The user signs in and allows everything: where Google's page sends the browser
        (the ``Location`` of the authorization endpoint's 302)."""
        opener = urllib.request.build_opener(_NoRedirect, _https_handler(self.internet))
        try:
            opener.open(url, timeout=10)
        except urllib.error.HTTPError as err:
            with err:
                said = err.read()[:300]
            if err.code in (302, 303):
                return str(err.headers["Location"])
            raise AssertionError(f"the sign-in page answered {err.code}: {said!r}") from None
        raise AssertionError("the sign-in page did not redirect")

    def revoke_all(self) -> None:
        """The user removes netsync at myaccount.google.com/permissions."""
        with self.lock:
            for token in self.refresh_tokens:
                self.refresh_tokens[token] = False
            self.access_tokens.clear()

    def expire_access_tokens(self, *, after: int = 0) -> None:
        """Every access token handed out so far stops working (its hour is over), now or
        after ``after`` more DAV requests (in the middle of a cycle)."""
        with self.lock:
            if after:
                self.expire_in = after
            else:
                self.access_tokens.clear()

    def make_calendar(self, name: str, *, read_only: bool = False) -> str:
        """The user makes a calendar in Google Calendar on the web (Google's CalDAV cannot)."""
        slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
        calid = f"{slug}{secrets.token_hex(4)}@group.calendar.google.com"
        body = (
            '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            f"<D:displayname>{name}</D:displayname></D:prop></D:set></C:mkcalendar>"
        ).encode()
        status = servers._request(
            "MKCALENDAR",
            f"{self.xandikos.calendar_home}{slug}/",
            body=body,
            headers={"Content-Type": "application/xml; charset=utf-8"},
            auth=False,
        )
        assert status == 201, status
        self.calendars.append(_Calendar(calid, name, slug, read_only))
        self._remap()
        return f"{CALDAV_URL}{calid}/events/"

    # -- routing --------------------------------------------------------------------------------

    def _remap(self) -> None:
        cal = self.fronts[3]
        cal.paths = sorted(
            {
                f"/caldav/v2/{c.calid}/events/": f"/{servers.USER}/calendars/{c.slug}/"
                for c in self.calendars
            }.items(),
            key=lambda p: -len(p[0]),
        )

    def _authorized(self, request: Request) -> Reply | None:
        auth = request.header("authorization")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with self.lock:
            if self.expire_in is not None:
                self.expire_in -= 1
                if self.expire_in <= 0:
                    self.access_tokens.clear()
                    self.expire_in = None
            ok = bool(token) and self.access_tokens.get(token, 0) > time.time()
            self.refused += not ok
        if ok:
            return None
        return Reply(401, b"Unauthorized", {"www-authenticate": BEARER_CHALLENGE})

    def authorize(self, request: Request) -> Reply | None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        redirect = query.get("redirect_uri", "")
        problems = []
        if query.get("client_id") != CLIENT_ID:
            problems.append("invalid_client")
        if not re.fullmatch(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/?", redirect):
            problems.append("redirect_uri_mismatch")
        if query.get("response_type") != "code":
            problems.append("unsupported_response_type")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            problems.append("PKCE required for this client")
        if not set(query.get("scope", "").split()) >= SCOPES:
            problems.append("invalid_scope")
        if problems:
            return Reply(400, ("Error 400: " + ", ".join(problems)).encode())
        code = "4/" + secrets.token_urlsafe(24)
        self.codes[code] = query
        back = {"code": code, "scope": query["scope"]}
        if "state" in query:
            back["state"] = query["state"]
        return Reply(302, headers={"location": f"{redirect}?{urlencode(back)}"})

    def token(self, request: Request) -> Reply | None:
        if request.method != "POST" or request.route != "/token":
            return Reply(404)
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.token_requests.append(form)
        client_ok = form.get("client_id") == CLIENT_ID and form.get("client_secret") in (
            CLIENT_SECRET,
            None,
        )
        basic = request.header("authorization")
        if basic.startswith("Basic "):
            who = base64.b64decode(basic[6:]).decode()
            client_ok = who == f"{CLIENT_ID}:{CLIENT_SECRET}"
        elif form.get("client_secret") != CLIENT_SECRET:
            client_ok = False
        if not client_ok:
            return _error(401, "invalid_client", "The OAuth client was not found.")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            asked = self.codes.pop(form.get("code", ""), None)
            if asked is None:
                return _error(400, "invalid_grant", "Malformed auth code.")
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if challenge.decode().rstrip("=") != asked["code_challenge"]:
                return _error(400, "invalid_grant", "Missing code verifier.")
            if form.get("redirect_uri") != asked["redirect_uri"]:
                return _error(400, "redirect_uri_mismatch", "Bad Request")
            refresh = "1//" + secrets.token_urlsafe(32)
            with self.lock:
                self.refresh_tokens[refresh] = True
                self.grants[refresh] = asked["scope"]
            return self._access(asked["scope"], refresh)
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            with self.lock:
                valid = self.refresh_tokens.get(refresh, False)
                granted = self.grants.get(refresh, "")
            if not valid:
                return _error(400, "invalid_grant", "Token has been expired or revoked.")
            scope = form.get("scope", "")
            if scope and not set(scope.split()) <= set(granted.split()):
                return _error(400, "invalid_scope", "Some requested scopes were invalid.")
            return self._access(scope or granted, None)
        return _error(400, "unsupported_grant_type", "Invalid grant_type.")

    def _access(self, scope: str, refresh: str | None) -> Reply:
        access = "ya29." + secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[access] = time.time() + 3599
            self.scopes[access] = scope
        body: dict[str, object] = {
            "access_token": access,
            "expires_in": 3599,
            "scope": scope,
            "token_type": "Bearer",
        }
        if refresh:
            body["refresh_token"] = refresh
        return Reply(200, json.dumps(body).encode(), {"content-type": "application/json"})

    def tokeninfo(self, request: Request) -> Reply | None:
        """``GET /tokeninfo?access_token=`` (oauth2.googleapis.com) or
        ``/oauth2/v3/tokeninfo`` (www.googleapis.com)."""
        if request.route not in ("/tokeninfo", "/oauth2/v3/tokeninfo"):
            return None
        token = parse_qs(urlsplit(request.path).query).get("access_token", [""])[0]
        return self.token_info(token, gmail=False)

    def token_info(self, token: str, *, gmail: bool) -> Reply:
        with self.lock:
            self.tokeninfo_asked.append("gmail" if gmail else "public")
            if gmail and self.expire_before_mail:
                self.expire_before_mail = False
                self.access_tokens.clear()  # its hour ran out between the DAV work and IMAP
            expiry = self.access_tokens.get(token, 0)
            scope = self.scopes.get(token, "")
        left = int(expiry - time.time())
        if left <= 0:
            return _error(400, "invalid_token", "Invalid Value")
        info = {
            "azp": CLIENT_ID,
            "aud": CLIENT_ID,
            "sub": SUB,
            "scope": scope,
            "exp": str(int(expiry)),
            "expires_in": str(left),
            "access_type": "offline",
        }
        if gmail or {"email", "https://www.googleapis.com/auth/userinfo.email"} & set(
            scope.split()
        ):
            info |= {"email": EMAIL, "email_verified": "true"}
        return Reply(200, json.dumps(info).encode(), {"content-type": "application/json"})

    def carddav(self, request: Request) -> Reply | None:
        if request.route == "/oauth2/v3/tokeninfo":
            return self.tokeninfo(request)
        if request.route in ("/.well-known/carddav", "/.well-known/carddav/"):
            return Reply(301, headers={"location": BOOK})
        refused = self._authorized(request)
        if refused is not None:
            return refused
        if request.method in ("MKCOL", "LOCK", "UNLOCK", "COPY", "MOVE", "PROPPATCH"):
            return Reply(405, b"Method not supported")
        if request.route.rstrip("/") == PRINCIPAL_CARD.rstrip("/"):
            return _principal(
                PRINCIPAL_CARD,
                f"<card:addressbook-home-set><d:href>"
                f"{PRINCIPAL_CARD}lists/</d:href></card:addressbook-home-set>",
            )
        if request.method == "REPORT" and b"sync-collection" in request.body:
            token = re.search(rb"<[^>]*sync-token[^>]*>([^<]*)<", request.body)
            if token is None or not token.group(1).strip():
                return Reply(400, b"Sync token must be specified")
        if request.method == "PUT":
            return self._put_card(request)
        return None

    def _put_card(self, request: Request) -> Reply:
        front = self.fronts[2]
        text = request.body.decode("utf-8", "replace")
        exists = front.forward(Request("HEAD", request.path, {}, b"", request.host)).status == 200
        if request.header("if-match") or exists:
            return front.forward(request, body=google_card(text, new_uid=None).encode())
        # A new card: Google gives it a UID of its own and a place of its own (QUIRKS.md).
        uid = secrets.token_hex(8)
        path = f"{BOOK}{uid}"
        moved = Request("PUT", path, dict(request.headers), b"", request.host)
        moved.headers.pop("if-none-match", None)
        reply = front.forward(moved, body=google_card(text, new_uid=uid).encode())
        if reply.status in (200, 201, 204):
            reply.headers["location"] = path
        return reply

    def caldav(self, request: Request) -> Reply | None:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        route = request.route
        if request.method in ("MKCALENDAR", "MKCOL", "LOCK", "UNLOCK", "COPY", "MOVE"):
            return Reply(405, b"Method not supported")
        if request.method == "PROPFIND" and route.rstrip("/") in (
            "/caldav/v2",
            "/.well-known/caldav",
            PRINCIPAL_CAL,
        ):
            return _principal(
                PRINCIPAL_CAL,
                f"<c:calendar-home-set><d:href>{HOME_CAL}</d:href></c:calendar-home-set>",
                href=request.route,
            )
        if request.method == "PROPFIND" and route.rstrip("/") == HOME_CAL.rstrip("/"):
            return self._home(request)
        calendar = next(
            (c for c in self.calendars if route.startswith(f"/caldav/v2/{c.calid}/")), None
        )
        if calendar is None:
            return Reply(404, b"Not Found")
        if request.method in ("PUT", "DELETE") and calendar.read_only:
            return Reply(403, b"You need to have writer access to this calendar.")
        if request.method == "PUT":
            text = request.body.decode("utf-8", "replace")
            if "BEGIN:VTODO" in text or "BEGIN:VJOURNAL" in text:
                return Reply(400, b"Only VEVENT is supported")
            headers = {k: v for k, v in request.headers.items() if k != "if-none-match"}
            kept = Request("PUT", request.path, headers, b"", request.host)
            return self.fronts[3].forward(kept, body=google_event(text).encode())
        return None

    def _home(self, request: Request) -> Reply:
        depth = request.header("depth") or "0"
        rows = [propstat(HOME_CAL, "<d:resourcetype><d:collection/></d:resourcetype>")]
        if depth != "0":
            for c in self.calendars:
                rows.append(
                    propstat(
                        f"/caldav/v2/{c.calid}/events/",
                        "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
                        f"<d:displayname>{c.name}</d:displayname>"
                        '<c:supported-calendar-component-set><c:comp name="VEVENT"/>'
                        "</c:supported-calendar-component-set>",
                    )
                )
        return Reply(207, multistatus(*rows), dict(XML))


def _principal(principal: str, home: str, *, href: str = "") -> Reply:
    props = (
        "<d:resourcetype><d:principal/><d:collection/></d:resourcetype>"
        f"<d:current-user-principal><d:href>{principal}</d:href></d:current-user-principal>"
        f"<d:principal-URL><d:href>{principal}</d:href></d:principal-URL>{home}"
    )
    return Reply(207, multistatus(propstat(href or principal, props)), dict(XML))


def _error(status: int, error: str, description: str) -> Reply:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return Reply(status, body, {"content-type": "application/json"})


def google_card(text: str, *, new_uid: str | None) -> str:
    """A vCard as Google stores it (see the module docstring)."""
    out = []
    for line in vcards.parse(text):
        if line.name not in _CARD_KEEP:
            continue
        if line.name == "VERSION":
            line.value = "3.0"
        if line.name == "UID" and new_uid is not None:
            line.value = new_uid
        if line.name not in _GROUPED:
            line.group = ""
        params = []
        for key, value in line.params:
            if key == "TYPE":
                kept = [v.upper() for v in value.strip('"').split(",") if v.upper() in _TYPES]
                params += [("TYPE", v) for v in kept]
            elif key in ("VALUE", "ENCODING") or (
                key == "X-APPLE-OMIT-YEAR" and line.name == "BDAY"
            ):
                params.append((key, value))
        line.params = params
        out.append(line)
    if new_uid is not None and not any(line.name == "UID" for line in out):
        out.insert(2, vcards.Line("", "UID", [], new_uid))
    return vcards.render(out)


def google_event(text: str) -> str:
    """A calendar object as Google gives it back from its event model."""
    out: list[str] = []
    lines = vcards.unfold(text)
    stack: list[str] = []
    alarm: list[str] = []
    for raw in lines:
        if not raw.strip():
            continue
        name = raw.split(":", 1)[0].split(";", 1)[0].upper()
        value = raw.split(":", 1)[1] if ":" in raw else ""
        if name == "BEGIN":
            stack.append(value.upper())
            if value.upper() == "VALARM":
                alarm = []
                continue
        if name == "END" and stack:
            ended = stack.pop()
            if ended == "VALARM":
                out += _google_alarm(alarm)
                continue
        if stack and stack[-1] == "VALARM":
            alarm.append(raw)
            continue
        if stack and stack[-1] == "VEVENT" and name not in ("BEGIN", "END"):
            if name not in _EVENT_KEEP:
                continue
            if name == "DTSTAMP":
                raw = f"DTSTAMP:{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
        if not stack and name == "PRODID":
            raw = "PRODID:-//Google Inc//Google Calendar 70.9054//EN"
        out.append(raw)
    return "".join(vcards.fold(line) + "\r\n" for line in out)


def _google_alarm(lines: list[str]) -> list[str]:
    props = {line.split(":", 1)[0].split(";", 1)[0].upper(): line for line in lines}
    action = props.get("ACTION", "ACTION:DISPLAY").split(":", 1)[1].upper()
    trigger = props.get("TRIGGER", "")
    if action not in ("DISPLAY", "EMAIL") or not trigger:
        return []  # no AUDIO (CalDAV guide)
    m = re.fullmatch(
        r"TRIGGER(?:;[^:]*)?:-?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:\d+S)?)?",
        trigger,
    )
    upper = trigger.upper()
    positive = ":P" in upper and not re.search(r":P(T0+[HMS]|0D)?$", upper)
    if m is None or positive or "VALUE=DATE-TIME" in upper or "RELATED=END" in upper:
        return []  # only "minutes before the start" (0 included)
    weeks, days, hours, minutes = (int(g or 0) for g in m.groups())
    total = ((weeks * 7 + days) * 24 + hours) * 60 + minutes
    if not 0 <= total <= 40320:
        return []
    return [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:This is an event reminder",
        trigger.split(":", 1)[0] + ":" + trigger.split(":", 1)[1],
        "END:VALARM",
    ]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _https_handler(internet: Internet) -> urllib.request.BaseHandler:
    import ssl

    ctx = ssl.create_default_context(cafile=str(internet.ca_file))
    return urllib.request.HTTPSHandler(context=ctx)


@contextlib.contextmanager
def google(internet: Internet, tmp: Path) -> Iterator[Google]:
    """Google's four hosts before a fresh Xandikos, with the user's primary calendar."""
    with servers.xandikos(tmp / "xandikos") as backend:
        g = Google(internet, backend)
        book_private = f"/{servers.USER}/contacts/addressbook/"
        g.fronts = [
            Front(internet, "accounts.google.com", g.authorize),
            Front(
                internet,
                "oauth2.googleapis.com",
                lambda r: g.tokeninfo(r) if r.method == "GET" else g.token(r),
            ),
            Front(
                internet, "www.googleapis.com", g.carddav, backend=backend.root,
                paths={BOOK: book_private},
            ),
            Front(internet, "apidata.googleusercontent.com", g.caldav, backend=backend.root),
        ]  # fmt: skip
        # The primary calendar is the one Xandikos made ("calendar"), named after the account.
        g.calendars.append(_Calendar(EMAIL, EMAIL, "calendar"))
        g._remap()
        gmail = _GmailTokenInfo(g)
        g.gmail_tokeninfo_url = gmail.url
        try:
            yield g
        finally:
            gmail.close()
            for front in g.fronts:
                front.close()


class _GmailTokenInfo:
    """What Gmail knows of an access token, on http://127.0.0.1 for Dovecot's oauth2 passdb
    (Dovecot appends the token to ``url``)."""

    def __init__(self, g: Google) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                reply = g.token_info(query.get("access_token", [""])[0], gmail=True)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/oauth2/v3/tokeninfo?access_token="
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def put_card(g: Google, name: str, card: str) -> int:
    """A phone adds a contact (straight into the store behind: Google's rewrite applied)."""
    data = google_card(card, new_uid=None).encode()
    headers = {"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"}
    return servers._request(
        "PUT", g.xandikos.addressbook + name, body=data, headers=headers, auth=False
    )
