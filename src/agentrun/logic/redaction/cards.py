"""What separates a payment card number from any other long number.

Card schemes are matched on their issuer identification number (IIN) ranges and lengths as
published by the networks; a Luhn-valid number outside every range (an order id starting with 9,
say) is not a card.
"""

# (lowest prefix, highest prefix, digits in the prefix, allowed lengths)
_CARD_RANGES: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    (4, 4, 1, frozenset({13, 16, 19})),  # Visa
    (51, 55, 2, frozenset({16})),  # Mastercard
    (2221, 2720, 4, frozenset({16})),  # Mastercard 2-series
    (34, 34, 2, frozenset({15})),  # American Express
    (37, 37, 2, frozenset({15})),
    (6011, 6011, 4, frozenset(range(16, 20))),  # Discover
    (644, 649, 3, frozenset(range(16, 20))),
    (65, 65, 2, frozenset(range(16, 20))),
    (3528, 3589, 4, frozenset(range(16, 20))),  # JCB
    (300, 305, 3, frozenset(range(14, 20))),  # Diners Club
    (3095, 3095, 4, frozenset(range(14, 20))),
    (36, 36, 2, frozenset(range(14, 20))),
    (38, 39, 2, frozenset(range(16, 20))),
    (62, 62, 2, frozenset(range(16, 20))),  # UnionPay
    (2200, 2204, 4, frozenset(range(16, 20))),  # Mir
    (5018, 5018, 4, frozenset(range(12, 20))),  # Maestro
    (5020, 5020, 4, frozenset(range(12, 20))),
    (5038, 5038, 4, frozenset(range(12, 20))),
    (5893, 5893, 4, frozenset(range(12, 20))),
    (6304, 6304, 4, frozenset(range(12, 20))),
    (6759, 6759, 4, frozenset(range(12, 20))),
    (6761, 6763, 4, frozenset(range(12, 20))),
)

_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(digits: str) -> bool:
    odd = sum(ord(c) - 48 for c in digits[-1::-2])
    even = sum(_DOUBLED[ord(c) - 48] for c in digits[-2::-2])
    return (odd + even) % 10 == 0


def card_scheme_ok(digits: str) -> bool:
    """The number's length is one its scheme issues, for a scheme whose range holds its IIN."""
    n = len(digits)
    return any(
        n in lengths and lo <= int(digits[:width]) <= hi for lo, hi, width, lengths in _CARD_RANGES
    )


def card_ok(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and card_scheme_ok(digits) and luhn_ok(digits)
