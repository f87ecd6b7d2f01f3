"""Spot a mistyped email domain (gmial.con) and suggest the likely one (gmail.com).

Only domains of the big mail providers and mistyped top-level domains are suggested: a
university's or a company's domain cannot be guessed, and a wrong suggestion is worse than none.
"""

from __future__ import annotations

COMMON_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "qq.com",
    "163.com",
    "126.com",
    "fastmail.com",
    "zoho.com",
    # Real providers one or two typos away from the ones above: never "corrected".
    "mail.com",
    "email.com",
    "ymail.com",
    "hotmail.de",
    "hotmail.fr",
    "outlook.de",
    "yahoo.de",
    "yahoo.fr",
    "gmx.at",
    "gmx.ch",
    "t-online.de",
    "libero.it",
    "orange.fr",
    "free.fr",
    "naver.com",
    "seznam.cz",
    "live.co.uk",
    "sina.com",
)
# Top-level domains people mistype, and what they meant.
TLD_TYPOS = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "vom": "com",
    "xom": "com",
    "comm": "com",
    "coom": "com",
    "cm": "com",
    "om": "com",
    "ogr": "org",
    "rog": "org",
    "nte": "net",
    "ent": "net",
    "eud": "edu",
    "deu": "edu",
}


def suggest_email(address: str) -> str | None:
    """The address with its domain corrected, or None when the domain looks right."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    domain = domain.lower()
    if domain in COMMON_DOMAINS:
        return None
    corrected = _closest_common(domain) or _fixed_tld(domain)
    if corrected is None or corrected == domain:
        return None
    return f"{local}@{corrected}"


def _closest_common(domain: str) -> str | None:
    best, best_distance = None, 3
    for common in COMMON_DOMAINS:
        limit = 1 if len(common) <= 6 else 2  # "pm.me" is one typo away from many domains
        distance = edit_distance(domain, common)
        if distance <= limit and distance < best_distance:
            best, best_distance = common, distance
    return best


def _fixed_tld(domain: str) -> str | None:
    name, dot, tld = domain.rpartition(".")
    if dot and name and tld in TLD_TYPOS:
        return f"{name}.{TLD_TYPOS[tld]}"
    return None


def edit_distance(one: str, two: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn `one` into `two`."""
    previous_row = None
    row = list(range(len(two) + 1))
    for i in range(1, len(one) + 1):
        before, previous_row, row = previous_row, row, [i] + [0] * len(two)
        for j in range(1, len(two) + 1):
            cost = 0 if one[i - 1] == two[j - 1] else 1
            row[j] = min(previous_row[j] + 1, row[j - 1] + 1, previous_row[j - 1] + cost)
            if i > 1 and j > 1 and one[i - 1] == two[j - 2] and one[i - 2] == two[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
    return row[len(two)]
