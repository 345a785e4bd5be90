"""Mask credentials in any text a person or a log may read: ONE function, `mask_secrets`.

Every message that can carry a URL, a connection string or a server's answer goes through it:
configuration errors, store errors (`safe_url`), `SourceError` messages, and every log record
(`cchc.logmask`). It masks credentials by their SHAPE, so a secret nobody registered is masked too:

- the userinfo of a URL or connection string, with or without a scheme, up to the LAST "@" of the
  authority (a password may contain "@", ":" or percent escapes): ``postgresql://u:p@ss@h/x`` ->
  ``postgresql://u:***@h/x``; ``postgres:DbSecret42@127.0.0.1/x`` -> ``postgres:***@127.0.0.1/x``;
  a long user name without a password (a token used as user) is masked whole;
- ``key=value`` and ``key: value`` pairs whose key names a credential (password, passwd, pwd, pass,
  token, access_token, api_key, secret, client_secret, session, sid, sig, signature, auth,
  credential...), in query strings, JSON or YAML: ``?password=x&token=y`` -> ``?password=***&token=***``;
- ``Bearer``/``Basic`` authorisation values;
- any value given in `known` (a registered token, password or salt), raw or percent-encoded.

Pure text in, text out (no I/O): the domain layer, importable from every other layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"

# [scheme://]user:password@host — the password runs to the last "@" that is followed by a host.
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._\-~%]+)(?::[^/?#\s'\"<>@]*)?(?=[/?#\s'\"<>),;\]]|$)"
_USERINFO = re.compile(
    r"(?P<lead>(?:[A-Za-z][A-Za-z0-9+.\-]*://)|(?<![^\s'\"(<\[=,;]))"  # a scheme, or a token start
    r"(?P<user>[^\s:/@'\"<>]*):(?!//)(?P<pw>[^\s'\"<>]*)@(?P<host>" + _HOST + ")"
)
# scheme://longtoken@host (no password): the user name itself is the credential.
_TOKEN_USER = re.compile(r"(?P<lead>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s:/@'\"<>]{16,})@(?P<host>" + _HOST + ")")
_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|mat_?khau|matkhau|secret|client_?secret|token|access_?token|"
    r"refresh_?token|id_?token|auth(?:_?token)?|authorization|api_?key|apikey|x-api-key|private_?key|"
    r"session(?:_?id|_?token)?|sid|sig|signature|credentials?|salt"
)
# key=value (query strings, DSNs "password=x"), "key": "value" (JSON), key: "value" (YAML). An
# unquoted value after ":" is not masked ("sources.provincial.token: unknown key" stays readable).
_PAIR = re.compile(
    r"(?i)(?P<key>(?<![A-Za-z0-9_])(?P<kq>[\"']?)(?:" + _KEYS + r")(?P=kq))"
    r"(?:(?P<eq>\s*=\s*)(?P<q1>[\"'])?(?P<v1>(?(q1)[^\"'\n]+|[^\s&;,\"'<>)\]}]+))"
    r"|(?P<colon>\s*:\s*)(?P<q2>[\"'])(?P<v2>[^\"'\n]+))"
)
_BEARER = re.compile(r"(?i)\b(?P<kind>bearer|basic|token)\s+(?P<value>[A-Za-z0-9._~+/\-=]{8,})")


def _userinfo(m: re.Match) -> str:
    return f"{m['lead']}{m['user']}:{MASK}@{m['host']}"


def _pair(m: re.Match) -> str:
    value = m["v1"] if m["eq"] is not None else m["v2"]
    if value.lower() in ("none", "null") or value.startswith(MASK):
        return m.group(0)
    if m["eq"] is not None:
        return f"{m['key']}{m['eq']}{m['q1'] or ''}{MASK}"
    return f"{m['key']}{m['colon']}{m['q2']}{MASK}"


def mask_secrets(text, known: Iterable[str | None] = ()) -> str:
    """`text` with every credential-shaped value (and every value of `known`) replaced by ``***``."""
    s = str(text)
    for secret in sorted({k for k in known if k and len(k) >= 4}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            s = s.replace(form, MASK)
    if "@" in s:
        s = _USERINFO.sub(_userinfo, s)
        s = _TOKEN_USER.sub(lambda m: f"{m['lead']}{MASK}@{m['host']}", s)
    s = _PAIR.sub(_pair, s)
    return _BEARER.sub(lambda m: f"{m['kind']} {MASK}", s)


def userinfo_has_raw_at(url: str) -> bool:
    """True when the authority of `url` holds more than one "@": a password with an unencoded "@"
    (it must be written %40), which drivers would split at the wrong place."""
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return authority.count("@") > 1
