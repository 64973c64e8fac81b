"""Parsing and validation of phone numbers with phonenumbers.

Numbers are accepted the ways people type them and returned in E.164.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult

DEFAULT_REGION = "US"
MAX_INPUT_LENGTH = 64
NON_GEOGRAPHIC = "001"

# Digits, spaces, and the punctuation people put between digits. "+" may only
# lead; an extension marker is checked separately for a clearer message.
_ALLOWED = re.compile(r"^\+?[0-9 ().\-/]+$")
_EXTENSION = re.compile(r"(?i)(;\s*ext\s*=|\bext\b\.?|\bextension\b|\bx\s*\d|#\s*\d|,\s*\d)")
_TRUNK_IN_PARENTHESES = re.compile(r"^(\+\d{1,3})\s*\(0\)")

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "the country calling code does not exist",
    ValidationResult.TOO_SHORT: "it is too short",
    ValidationResult.TOO_LONG: "it is too long",
    ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}


class PhoneNumberError(ValueError):
    """Input that is not a valid, storable phone number; the message says why."""


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    # ISO 3166-1 alpha-2 region, None for non-geographic numbers (+800, +882).
    region: str | None


def normalize_region(value: str) -> str:
    """Return `value` as an upper-case region code that phonenumbers knows."""
    region = value.strip().upper() if isinstance(value, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneNumberError(
            f"Unknown country code {value[:8]!r}; use an ISO 3166-1 alpha-2 "
            "code such as US, GB or DE."
        )
    return region


def parse_number(
    text: str, region: str | None = None, *, default_region: str | None = None
) -> ParsedNumber:
    """Parse `text` into E.164.

    `region` is the caller's countryCode: it reads a national number, and an
    international number must be valid for it. Without it, a national number
    is read in `default_region` (or DEFAULT_REGION) and any valid
    international number is accepted.
    """
    cleaned = _clean(text)
    number = _parse(cleaned, region or default_region or DEFAULT_REGION)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    number_region = phonenumbers.region_code_for_number(number)
    if region is not None:
        if not phonenumbers.is_valid_number_for_region(number, region):
            owner = "no country" if number_region == NON_GEOGRAPHIC else number_region
            raise PhoneNumberError(
                f"Number {e164} belongs to {owner}, not to countryCode {region}; "
                "correct countryCode or leave it out."
            )
        number_region = region
    if number_region in (None, NON_GEOGRAPHIC):
        number_region = None
    return ParsedNumber(e164=e164, region=number_region)


def _clean(text: str) -> str:
    if not isinstance(text, str):
        raise PhoneNumberError("Not a valid string.")
    # NFKC turns full-width digits and plus signs into ASCII, and Unicode
    # spaces into plain ones.
    cleaned = " ".join(unicodedata.normalize("NFKC", text).split())
    if not cleaned:
        raise PhoneNumberError("Must not be empty.")
    if len(cleaned) > MAX_INPUT_LENGTH:
        raise PhoneNumberError(f"Longer than {MAX_INPUT_LENGTH} characters.")
    if _EXTENSION.search(cleaned):
        raise PhoneNumberError(
            "Extensions are not supported; register the number without one."
        )
    if not _ALLOWED.match(cleaned):
        raise PhoneNumberError(
            "Not a phone number: use digits, spaces and - . ( ) / with an "
            "optional leading +, such as +1 605 444 0129."
        )
    cleaned = _TRUNK_IN_PARENTHESES.sub(r"\1 ", cleaned)
    digits = re.sub(r"\D", "", cleaned)
    if not cleaned.startswith("+") and digits.startswith("00"):
        # 00 is the international prefix in most of the world; phonenumbers
        # reads it only for regions that use it, and not for the US default.
        cleaned = "+" + digits[2:]
    return cleaned


def _parse(text: str, region: str) -> PhoneNumber:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        raise PhoneNumberError(f"Not a valid phone number: {_parse_reason(error)}.")
    if number.extension:
        raise PhoneNumberError(
            "Extensions are not supported; register the number without one."
        )
    if not phonenumbers.is_valid_number(number):
        reason = _POSSIBLE_REASONS.get(
            phonenumbers.is_possible_number_with_reason(number),
            "it is not a valid number for its region",
        )
        raise PhoneNumberError(f"Not a valid phone number: {reason}.")
    return number


def _parse_reason(error: NumberParseException) -> str:
    reasons = {
        NumberParseException.INVALID_COUNTRY_CODE: "the country calling code does not exist",
        NumberParseException.TOO_SHORT_NSN: "it is too short",
        NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
        NumberParseException.TOO_LONG: "it is too long",
    }
    return reasons.get(error.error_type, "it is not a phone number")


def search_digits(text: str) -> str | None:
    """Return the digits of a search text that looks like part of a number.

    Text with letters or without a digit returns None, so "Line 2" searches
    names only.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not cleaned or not _ALLOWED.match(cleaned):
        return None
    digits = re.sub(r"\D", "", cleaned)
    return digits or None
