"""Is this run of digits a phone number? Cheap shape rules first, ``phonenumbers`` last.

``phonenumbers`` knows every country's numbering plan but costs 10-25 us a call, and its own
text matcher is far slower, so only candidates that already look like a phone number reach it:

- international form (``+44 20 7946 0958``, ``0044 ...``): any grouping, 8-15 digits;
- North American national form with separators (``(415) 555-0132``, ``415.555.0132``,
  ``1-415-555-0132``): area code and exchange may not start with 0 or 1;
- anything else only after a keyword such as "phone" or "tel" on the same line: ten bare digits
  as a North American number, or a national number with a trunk ``0`` in one of the common
  regions below. Without that keyword, a UK or German national number is indistinguishable from
  an order id, so it is not reported.
"""

import re
from collections.abc import Callable
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumber

_NANP = re.compile(
    r"(?:1[ .\-]?)?\([2-9][0-9]{2}\)[ ]?[2-9][0-9]{2}[ .\-][0-9]{4}"
    r"|(?:1([ .\-]))?[2-9][0-9]{2}([ .\-])[2-9][0-9]{2}\2[0-9]{4}"
)
_NANP_BARE = re.compile(r"1?[2-9][0-9]{2}[2-9][0-9]{6}")
_KEYWORDS = re.compile(r"phone|\btel\b|mobile|cell|fax|call|whatsapp|sms|contact")
# Regions tried, in order, for a national number after a phone keyword.
NATIONAL_REGIONS = ("GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "IE", "AU", "IN", "JP")


@lru_cache(maxsize=4096)
def _valid(number: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


@lru_cache(maxsize=4096)
def _valid_international(digits: str) -> bool:
    """``digits`` after the ``+``. Split into country code and national number directly
    (country codes are prefix-free), which is twice as fast as parsing; a national number with
    a leading 0 (a trunk prefix written as ``(0)``, or Italy's) goes through the parser."""
    for width in (1, 2, 3):
        if int(digits[:width]) in COUNTRY_CODE_TO_REGION_CODE:
            national = digits[width:]
            if not national or national[0] == "0":
                return _valid("+" + digits, None)
            code = int(digits[:width])
            number = PhoneNumber(country_code=code, national_number=int(national))
            # The code's main region first: a quarter of the cost of finding the region.
            regions = COUNTRY_CODE_TO_REGION_CODE[code]
            return phonenumbers.is_valid_number_for_region(number, regions[0]) or (
                len(regions) > 1 and phonenumbers.is_valid_number(number)
            )
    return False


def clear_cache() -> None:
    """Forget validated numbers (benchmarks time the cold path)."""
    _valid.cache_clear()
    _valid_international.cache_clear()


def has_phone_keyword(context: str) -> bool:
    return _KEYWORDS.search(context) is not None


def is_phone(candidate: str, digits: str, keyword: Callable[[], bool]) -> bool:
    """``candidate`` is the text as written (with ``+``, separators and parentheses),
    ``digits`` its digits; ``keyword()`` tells whether a phone keyword precedes it on its line
    (asked only when the shape alone does not decide)."""
    n = len(digits)
    if candidate[0] == "+":
        return 8 <= n <= 15 and _valid_international(digits)
    if candidate.startswith("00") and digits.startswith("00"):
        return 10 <= n <= 17 and _valid_international(digits[2:])
    if n in (10, 11) and (
        _NANP.fullmatch(candidate)
        or (candidate == digits and _NANP_BARE.fullmatch(digits) and keyword())
    ):
        return _valid_international("1" + digits[-10:])
    if digits[0] == "0" and 9 <= n <= 12 and keyword():
        return any(_valid(candidate, region) for region in NATIONAL_REGIONS)
    return False
