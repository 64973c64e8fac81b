"""Parsing and validation of phone numbers as people type them, with phonenumbers.

Valid numbers are returned in E.164 with their ISO 3166-1 alpha-2 region, and
every rejection raises PhoneNumberError with a message that an API client can act
on.
"""

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import (
    CountryCodeSource,
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    ValidationResult,
)

DEFAULT_REGION = "US"
MAX_INPUT_LENGTH = 64
# Region code that phonenumbers gives non-geographic numbers (+800, +882 ...).
NON_GEOGRAPHIC_REGION = "001"

# Digits and phone punctuation, with one optional "+" at the start or right
# after an opening parenthesis, as in "(+65) 6123 4567".
_PHONE_TEXT = re.compile(r"\(?\+?[0-9 ().\-/]+")
# NFKC leaves these dashes alone. U+30FC is the long vowel mark that Japanese
# text uses as a dash.
_DASH_CHARACTERS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"
_DASHES = str.maketrans(dict.fromkeys(_DASH_CHARACTERS, "-"))

_CHARACTERS_MESSAGE = (
    "Phone number may contain only digits, spaces, - . ( ) / and a leading +, "
    "so remove any letters and other characters."
)
_EXTENSION_MESSAGE = (
    "Phone number extensions are not supported, so send the number without one."
)
_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "has an invalid country calling code",
    ValidationResult.TOO_SHORT: "is too short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is too short",
    ValidationResult.TOO_LONG: "is too long",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits for its region",
}
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "has an invalid country calling code",
    # After the character check, phonenumbers 9.0 raises this only for text
    # with fewer than three digits.
    NumberParseException.NOT_A_NUMBER: "is too short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    NumberParseException.TOO_SHORT_NSN: "is too short",
    NumberParseException.TOO_LONG: "is too long",
}


class PhoneNumberError(ValueError):
    """Input that is not a valid, storable phone number.

    str(error) is one sentence for an API client: what is wrong and how to fix it.
    """


@dataclass(frozen=True)
class ParsedNumber:
    """Valid phone number with the region it belongs to."""

    e164: str  # "+16054440129"
    # ISO 3166-1 alpha-2 region ("US"), None for non-geographic numbers.
    region: str | None


def normalize_region(value: str) -> str:
    """Upper-case an ISO 3166-1 alpha-2 code and check that phonenumbers supports it.

    Raises PhoneNumberError for anything else, such as "USA", "XX", "" or "001".
    """
    # str.upper() turns some non-ASCII letters into ASCII ones ("ß" into "SS").
    region = value.strip().upper() if value.isascii() else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneNumberError(
            f"Country code {_quote(value)} is not a supported ISO 3166-1 alpha-2 "
            "code, so send two letters such as US, GB or DE."
        )

    return region


def parse_number(
    text: str, region: str | None = None, *, default_region: str | None = None
) -> ParsedNumber:
    """Parse a phone number as typed and return its E.164 form and region.

    `region` is the caller's countryCode: national numbers are read in it, and
    the number must be valid for it. `default_region` only reads national
    numbers, for a number that may belong to another country. Without either,
    national numbers are read in DEFAULT_REGION. A leading 00 is read as the
    international prefix in every region. Raises PhoneNumberError.
    """
    if region is not None:
        region = normalize_region(region)
    reading_region = region or normalize_region(default_region or DEFAULT_REGION)

    cleaned = _clean(text, reading_region)
    try:
        number = _read_number(cleaned, reading_region)
    except NumberParseException as error:
        reason = _PARSE_REASONS.get(error.error_type, "is not a valid number")
        raise _invalid(cleaned, reason, reading_region) from error
    _check_storable(number, cleaned, reading_region)

    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return ParsedNumber(e164=e164, region=_number_region(number, region))


def search_digits(text: str) -> str | None:
    """Extract the digits of a search text that looks like a number or part of one.

    Returns None for text with letters, other symbols or no digit, such as
    "Main Office" or "Line 2".
    """
    cleaned = _normalize_text(text)
    if not _PHONE_TEXT.fullmatch(cleaned):
        return None

    return _digits(cleaned) or None


def _clean(text: str, region: str) -> str:
    stripped = text.strip()
    if len(stripped) > MAX_INPUT_LENGTH:
        raise PhoneNumberError(
            f"Phone number is longer than {MAX_INPUT_LENGTH} characters, so send "
            "only the number, such as +16054440129."
        )
    cleaned = _normalize_text(stripped)
    if not cleaned:
        raise PhoneNumberError(
            "Phone number is empty, so send a number such as +16054440129."
        )
    if not _PHONE_TEXT.fullmatch(cleaned):
        if _has_extension(cleaned, region):
            raise PhoneNumberError(_EXTENSION_MESSAGE)
        raise PhoneNumberError(_CHARACTERS_MESSAGE)

    return cleaned


def _normalize_text(text: str) -> str:
    """Normalize `text` to ASCII digits, "-" for every dash and single spaces.

    NFKC turns full-width digits, plus signs and parentheses into ASCII and
    Unicode spaces into plain ones. Format characters such as zero-width
    spaces, which copied text often carries, are dropped.
    """
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    characters = [
        str(unicodedata.decimal(character)) if character.isdecimal() else character
        for character in text
        if unicodedata.category(character) != "Cf"
    ]
    return " ".join("".join(characters).split())


def _has_extension(text: str, region: str) -> bool:
    # phonenumbers recognizes the extension markers ("ext.", "x", "#", ";ext=", ",").
    try:
        return bool(phonenumbers.parse(text, region).extension)
    except NumberParseException:
        return False


def _read_number(text: str, region: str) -> PhoneNumber:
    """Parse `text`, reading a leading 00 as "+" unless `region` dials abroad with it.

    phonenumbers reads 00 only in regions whose international prefix it is,
    so "0044 20 7946 0958" read in the US would become +1 0044 ... .
    Raises NumberParseException.
    """
    if not _starts_with_00(text):
        return phonenumbers.parse(text, region, keep_raw_input=True)

    plus_form = "+" + _digits(text)[2:]
    native = _try_parse(text, region)
    if native is None or not _dialed_with_idd(native):
        return phonenumbers.parse(plus_form, region, keep_raw_input=True)
    # The region's own prefix wins when it gives a valid number: AU dials
    # abroad with 0011, and BR with 00 and a carrier code.
    if phonenumbers.is_valid_number(native):
        return native
    rewritten = _try_parse(plus_form, region)
    if rewritten is not None and phonenumbers.is_valid_number(rewritten):
        return rewritten

    return native


def _try_parse(text: str, region: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region, keep_raw_input=True)
    except NumberParseException:
        return None


def _dialed_with_idd(number: PhoneNumber) -> bool:
    source = number.country_code_source
    return source == CountryCodeSource.FROM_NUMBER_WITH_IDD


def _check_storable(number: PhoneNumber, text: str, region: str) -> None:
    # The character check already rejects the extension markers of phonenumbers
    # 9.0. This keeps a later version from losing an extension silently.
    if number.extension:
        raise PhoneNumberError(_EXTENSION_MESSAGE)
    if phonenumbers.is_valid_number(number):
        return

    reason = _POSSIBLE_REASONS.get(phonenumbers.is_possible_number_with_reason(number))
    raise _invalid(text, reason, region)


def _invalid(text: str, reason: str | None, region: str) -> PhoneNumberError:
    """Build the error for a number that phonenumbers rejects.

    Text without "+" or a leading 00 depends on the region it was read in, so
    the message names that region.
    """
    if "+" in text or _starts_with_00(text):
        reason = reason or "is not a valid number for its region"
        return PhoneNumberError(
            f"Phone number {text!r} {reason}, so check the digits and the "
            "country calling code."
        )
    reason = reason or "is not a valid number"
    return PhoneNumberError(
        f"Phone number {text!r} {reason} when read in region {region}, so check "
        "the digits or send the number with + and its country calling code."
    )


def _number_region(number: PhoneNumber, region: str | None) -> str | None:
    """Pick the region to store: `region` if the number is valid for it, else its own.

    Raises PhoneNumberError when `region` is given and the number is not valid
    for it.
    """
    own_region = phonenumbers.region_code_for_number(number)
    if region is None:
        return None if own_region == NON_GEOGRAPHIC_REGION else own_region
    if phonenumbers.is_valid_number_for_region(number, region):
        return region

    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if own_region == NON_GEOGRAPHIC_REGION:
        raise PhoneNumberError(
            f"Phone number {e164} is non-geographic and belongs to no country, so "
            f"leave countryCode out instead of sending {region}."
        )
    raise PhoneNumberError(
        f"Phone number {e164} belongs to {own_region}, not to countryCode "
        f"{region}, so correct countryCode or leave it out."
    )


def _starts_with_00(text: str) -> bool:
    return "+" not in text and _digits(text).startswith("00")


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def _quote(value: str) -> str:
    # A region code is two letters, so a longer value is cut before it is echoed.
    excerpt = value if len(value) <= 16 else value[:16] + "..."
    return repr(excerpt)
