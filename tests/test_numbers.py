"""Phone number parsing: formats people type, every rejection, regions and search.

Numbers come from a country's fictional or drama range where phonenumbers 9.0
accepts one. These are US and CA 555-01xx, GB 020 7946 0xxx, DE 030 23125 xxx,
FR 01 99 00 xx xx, AU 02 5550 xxxx and AU 0491 570 xxx. Other countries use
the example numbers of phonenumbers' own metadata.
"""

import re

import pytest

from phones_service.numbers import (
    DEFAULT_REGION,
    MAX_INPUT_LENGTH,
    ParsedNumber,
    PhoneNumberError,
    normalize_region,
    parse_number,
    search_digits,
)

EXTENSION_MESSAGE = (
    "Phone number extensions are not supported, so send the number without one."
)
CHARACTERS_MESSAGE = (
    "Phone number may contain only digits, spaces, - . ( ) / and a leading +, "
    "so remove any letters and other characters."
)
EMPTY_MESSAGE = "Phone number is empty, so send a number such as +16054440129."
TOO_LONG_INPUT_MESSAGE = (
    "Phone number is longer than 64 characters, so send only the number, "
    "such as +16054440129."
)


def parse_error(text: str, region: str | None = None) -> str:
    with pytest.raises(PhoneNumberError) as error:
        parse_number(text, region)
    return str(error.value)


# E.164 and the region that phonenumbers assigns to it.
E164_NUMBERS = [
    ("+12025550143", "US"),
    ("+16135550123", "CA"),
    ("+442079460958", "GB"),
    ("+493023125456", "DE"),
    ("+33199001234", "FR"),
    ("+918123456789", "IN"),
    ("+61255501234", "AU"),
    ("+61491570156", "AU"),
    ("+551123456789", "BR"),
    ("+81312345678", "JP"),
    ("+522221234567", "MX"),
    ("+27101234567", "ZA"),
    ("+34810123456", "ES"),
    ("+31101234567", "NL"),
    ("+390212345678", "IT"),
    ("+41212345678", "CH"),
    ("+6561234567", "SG"),
    ("+73011234567", "RU"),
]


@pytest.mark.parametrize(("e164", "region"), E164_NUMBERS)
def test_e164_number_is_kept(e164, region):
    parsed = parse_number(e164)

    assert parsed.e164 == e164
    assert parsed.region == region


@pytest.mark.parametrize(
    ("text", "e164", "region"),
    [
        ("+1 202 555 0143", "+12025550143", "US"),
        ("+1 613 555 0123", "+16135550123", "CA"),
        ("+44 20 7946 0958", "+442079460958", "GB"),
        ("+49 30 23125456", "+493023125456", "DE"),
        ("+33 1 99 00 12 34", "+33199001234", "FR"),
        ("+91 81234 56789", "+918123456789", "IN"),
        ("+61 2 5550 1234", "+61255501234", "AU"),
        ("+61 491 570 156", "+61491570156", "AU"),
        ("+55 11 2345-6789", "+551123456789", "BR"),
        ("+81 3-1234-5678", "+81312345678", "JP"),
        ("+52 222 123 4567", "+522221234567", "MX"),
        ("+27 10 123 4567", "+27101234567", "ZA"),
        ("+34 810 12 34 56", "+34810123456", "ES"),
        ("+31 10 123 4567", "+31101234567", "NL"),
        ("+39 02 1234 5678", "+390212345678", "IT"),
        ("+41 21 234 56 78", "+41212345678", "CH"),
        ("+65 6123 4567", "+6561234567", "SG"),
        ("+7 301 123-45-67", "+73011234567", "RU"),
    ],
)
def test_international_with_spaces(text, e164, region):
    parsed = parse_number(text)

    assert parsed.e164 == e164
    assert parsed.region == region


@pytest.mark.parametrize(
    ("text", "region_argument", "e164", "region"),
    [
        ("001 202 555 0143", None, "+12025550143", "US"),
        ("001 202 555 0143", "US", "+12025550143", "US"),
        ("001 613 555 0123", None, "+16135550123", "CA"),
        ("0044 20 7946 0958", None, "+442079460958", "GB"),
        ("0044 20 7946 0958", "GB", "+442079460958", "GB"),
        ("0049 30 23125456", None, "+493023125456", "DE"),
        ("0033 1 99 00 12 34", None, "+33199001234", "FR"),
        ("0091 81234 56789", None, "+918123456789", "IN"),
        ("0061 2 5550 1234", None, "+61255501234", "AU"),
        # AU dials abroad with 0011, so phonenumbers alone misreads 0061.
        ("0061 2 5550 1234", "AU", "+61255501234", "AU"),
        ("0055 11 2345 6789", None, "+551123456789", "BR"),
        # In BR, 0055 is also 00 with carrier code 55.
        ("0055 11 2345 6789", "BR", "+551123456789", "BR"),
        ("0081 3-1234-5678", None, "+81312345678", "JP"),
        ("0081 3-1234-5678", "JP", "+81312345678", "JP"),
        ("0052 222 123 4567", "MX", "+522221234567", "MX"),
        ("0027 10 123 4567", None, "+27101234567", "ZA"),
        ("0034 810 12 34 56", None, "+34810123456", "ES"),
        ("0031 10 123 4567", None, "+31101234567", "NL"),
        ("0039 02 1234 5678", None, "+390212345678", "IT"),
        ("0044 (0)20 7946 0958", None, "+442079460958", "GB"),
    ],
)
def test_00_international_prefix(text, region_argument, e164, region):
    parsed = parse_number(text, region_argument)

    assert parsed.e164 == e164
    assert parsed.region == region


@pytest.mark.parametrize(
    ("text", "region_argument", "e164", "region"),
    [
        ("011 44 20 7946 0958", None, "+442079460958", "GB"),
        ("011 61 2 5550 1234", None, "+61255501234", "AU"),
        ("0011 61 2 5550 1234", "AU", "+61255501234", "AU"),
        ("010 81 3 1234 5678", "JP", "+81312345678", "JP"),
    ],
)
def test_regional_international_prefix(text, region_argument, e164, region):
    parsed = parse_number(text, region_argument)

    assert parsed.e164 == e164
    assert parsed.region == region


def test_011_outside_nanp_is_national():
    # GB does not dial abroad with 011, so these digits are one national number.
    message = parse_error("011 44 20 7946 0958", "GB")

    assert "is too long when read in region GB" in message


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("(202) 555-0143", "US", "+12025550143"),
        ("1 (202) 555-0143", "US", "+12025550143"),
        ("(613) 555-0123", "CA", "+16135550123"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("030 23125456", "DE", "+493023125456"),
        ("030 12345678", "DE", "+493012345678"),
        ("(030) 23125456", "DE", "+493023125456"),
        ("01 99 00 12 34", "FR", "+33199001234"),
        ("01.99.00.12.34", "FR", "+33199001234"),
        ("081234 56789", "IN", "+918123456789"),
        ("81234 56789", "IN", "+918123456789"),
        ("(02) 5550 1234", "AU", "+61255501234"),
        ("0491 570 156", "AU", "+61491570156"),
        ("(11) 2345-6789", "BR", "+551123456789"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("222 123 4567", "MX", "+522221234567"),
        ("010 123 4567", "ZA", "+27101234567"),
        ("810 12 34 56", "ES", "+34810123456"),
        ("010-123 4567", "NL", "+31101234567"),
        ("02 1234 5678", "IT", "+390212345678"),
        ("021 234 56 78", "CH", "+41212345678"),
        ("6123 4567", "SG", "+6561234567"),
        ("8 (301) 123-45-67", "RU", "+73011234567"),
    ],
)
def test_national_format_with_region(text, region, e164):
    parsed = parse_number(text, region)

    assert parsed.e164 == e164
    assert parsed.region == region


def test_default_region_is_us():
    assert DEFAULT_REGION == "US"


@pytest.mark.parametrize(
    ("text", "e164", "region"),
    [
        ("(202) 555-0143", "+12025550143", "US"),
        ("202-555-0143", "+12025550143", "US"),
        ("1-202-555-0143", "+12025550143", "US"),
        ("613-555-0123", "+16135550123", "CA"),
    ],
)
def test_national_format_without_region(text, e164, region):
    parsed = parse_number(text)

    assert parsed.e164 == e164
    assert parsed.region == region


@pytest.mark.parametrize(
    ("text", "e164", "region"),
    [
        ("+44 (0)20 7946 0958", "+442079460958", "GB"),
        ("+44 (0) 20 7946 0958", "+442079460958", "GB"),
        ("+44(0)2079460958", "+442079460958", "GB"),
        ("+49 (0)30 23125456", "+493023125456", "DE"),
        ("+33 (0)1 99 00 12 34", "+33199001234", "FR"),
        ("+61 (0)2 5550 1234", "+61255501234", "AU"),
        ("+27 (0)10 123 4567", "+27101234567", "ZA"),
        ("+31 (0)10 123 4567", "+31101234567", "NL"),
        ("+41 (0)21 234 56 78", "+41212345678", "CH"),
        ("+7 (8) 301 123-45-67", "+73011234567", "RU"),
        # Italian numbers keep their 0 after +39, so "(0)" must not be removed.
        ("+39 (0)2 1234 5678", "+390212345678", "IT"),
    ],
)
def test_trunk_prefix_in_parentheses(text, e164, region):
    parsed = parse_number(text)

    assert parsed.e164 == e164
    assert parsed.region == region


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("202.555.0143", "US", "+12025550143"),
        ("202/555-0143", "US", "+12025550143"),
        ("2025550143", "US", "+12025550143"),
        ("+1 (202) 555-0143", None, "+12025550143"),
        ("+1-202-555-0143", None, "+12025550143"),
        ("+1.202.555.0143", None, "+12025550143"),
        ("+44 (20) 7946 0958", None, "+442079460958"),
        ("(+65) 6123 4567", None, "+6561234567"),
        ("030/23125456", "DE", "+493023125456"),
        ("  +1 202 555 0143  ", None, "+12025550143"),
        ("\t+1 202 555 0143\n", None, "+12025550143"),
    ],
)
def test_phone_punctuation_is_accepted(text, region, e164):
    assert parse_number(text, region).e164 == e164


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("+1\u00a0202\u00a0555\u00a00143", None, "+12025550143"),
        ("+1\u2009202\u2009555\u20090143", None, "+12025550143"),
        ("+1\u202f202\u202f555\u202f0143", None, "+12025550143"),
        ("+1\u2007202\u2007555\u20070143", None, "+12025550143"),
        ("+1\u200b202\u200b555\u200b0143", None, "+12025550143"),
        ("\u202a+1 202 555 0143\u202c", None, "+12025550143"),
        ("+1 202\u2013555\u20130143", None, "+12025550143"),
        ("+1 202\u2212555\u22120143", None, "+12025550143"),
        ("+1 202\u2011555\u20110143", None, "+12025550143"),
        ("＋１ ２０２ ５５５ ０１４３", None, "+12025550143"),
        ("（０３）１２３４－５６７８", "JP", "+81312345678"),
        ("+81\u30003\u30001234\u30005678", None, "+81312345678"),
        ("03ー1234ー5678", "JP", "+81312345678"),
        ("+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", None, "+442079460958"),
        ("+९१ ८१२३४ ५६७८९", None, "+918123456789"),
    ],
)
def test_unicode_spaces_and_digits(text, region, e164):
    assert parse_number(text, region).e164 == e164


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("+800 1234 5678", "+80012345678"),
        ("+808 1234 5678", "+80812345678"),
        ("+870 301 234 567", "+870301234567"),
        ("+881 6 123 45678", "+881612345678"),
        ("+882 34 21234", "+8823421234"),
        ("+883 510 012 345", "+883510012345"),
        ("+979 1 2345 6789", "+979123456789"),
        ("00800 1234 5678", "+80012345678"),
    ],
)
def test_non_geographic_has_no_region(text, e164):
    parsed = parse_number(text)

    assert parsed.e164 == e164
    assert parsed.region is None


@pytest.mark.parametrize(
    ("text", "region_argument", "region"),
    [
        # phonenumbers gives +590 590 87 to BL, but it is valid in MF too.
        ("+590 590 87 1234", None, "BL"),
        ("+590 590 87 1234", "MF", "MF"),
        ("+590 590 87 1234", "BL", "BL"),
        ("+1 202 555 0143", "US", "US"),
        ("+44 1534 123456", None, "JE"),
    ],
)
def test_region_of_shared_calling_code(text, region_argument, region):
    assert parse_number(text, region_argument).region == region


def test_lower_case_region_is_accepted():
    assert parse_number("+1 202 555 0143", "us") == ParsedNumber(
        e164="+12025550143", region="US"
    )


@pytest.mark.parametrize(
    ("text", "default_region", "e164", "region"),
    [
        ("020 7946 0958", "GB", "+442079460958", "GB"),
        ("+1 202 555 0143", "GB", "+12025550143", "US"),
        ("+800 1234 5678", "GB", "+80012345678", None),
        ("0061 2 5550 1234", "AU", "+61255501234", "AU"),
    ],
)
def test_default_region_skips_contradiction(text, default_region, e164, region):
    parsed = parse_number(text, default_region=default_region)

    assert parsed.e164 == e164
    assert parsed.region == region


def test_parsed_number_is_frozen():
    parsed = parse_number("+1 202 555 0143")

    with pytest.raises(AttributeError):
        parsed.e164 = "+442079460958"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "+1 202 555 0143 ext. 12",
        "+1 202 555 0143 ext 12",
        "+1 202 555 0143 ext12",
        "+1 202 555 0143 EXT 12",
        "+1 202 555 0143 extension 12",
        "+1 202 555 0143 x12",
        "+1 202 555 0143 x 12",
        "+1 202 555 0143 X12",
        "+1 202 555 0143;ext=12",
        "+1 202 555 0143 #12",
        "+1 202 555 0143#12",
        "+1 202 555 0143, 12",
        "(202) 555-0143 x12",
    ],
)
def test_extension_is_rejected(text):
    assert parse_error(text) == EXTENSION_MESSAGE


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "1-800-FLOWERS",
        "1-800-flowers",
        "tel:+1-202-555-0143",
        "+1 202 555 O143",
        "+1 202 555 0143 x",
        "+1 202 555 0143!",
        "+1 202*555 0143",
        "1+202 555 0143",
        "++1 202 555 0143",
        "+",
    ],
)
def test_non_phone_characters_are_rejected(text):
    assert parse_error(text) == CHARACTERS_MESSAGE


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "\u00a0\u3000", "\u200b"])
def test_empty_number_is_rejected(text):
    assert parse_error(text) == EMPTY_MESSAGE


def test_longest_input_is_accepted():
    text = "+1" + " " * (MAX_INPUT_LENGTH - 14) + "202 555 0143"

    assert len(text) == MAX_INPUT_LENGTH
    assert parse_number(text).e164 == "+12025550143"


def test_surrounding_whitespace_is_not_counted():
    text = " " * MAX_INPUT_LENGTH + "+1 202 555 0143" + " " * MAX_INPUT_LENGTH

    assert parse_number(text).e164 == "+12025550143"


@pytest.mark.parametrize(
    "text",
    [
        "+1" + " " * (MAX_INPUT_LENGTH - 13) + "202 555 0143",
        "1" * (MAX_INPUT_LENGTH + 1),
        "hello " * 20,
    ],
)
def test_too_long_input_is_rejected(text):
    assert parse_error(text) == TOO_LONG_INPUT_MESSAGE


@pytest.mark.parametrize(
    ("text", "region", "reason"),
    [
        ("+1 202 555", None, "is too short"),
        ("+1 202 555 014", None, "is too short"),
        ("+44 20 7946 09", None, "is too short"),
        ("+1", None, "is too short"),
        ("()", None, "is too short"),
        ("00", None, "is too short"),
        ("202 555", None, "is too short when read in region US"),
        ("1", None, "is too short when read in region US"),
        ("020 794", "GB", "is too short when read in region GB"),
        ("+1 202 555 0143 0143 0143", None, "is too long"),
        ("+1 202 555 01430", None, "is too long"),
        ("+44 20 7946 09581", None, "is too long"),
        ("+1605444012901234567890", None, "is too long"),
        # phonenumbers 9.0 rejects the old 1 before Mexican mobile numbers.
        ("+52 1 222 123 4567", None, "is too long"),
        ("020 7946 0958", None, "is too long when read in region US"),
        ("+999 123 456 789", None, "has an invalid country calling code"),
        ("+0 123 456 789", None, "has an invalid country calling code"),
        ("00999 123 456 789", None, "has an invalid country calling code"),
        ("+47 22 22 22", None, "has the wrong number of digits for its region"),
        ("+1 555 444 0129", None, "is not a valid number for its region"),
        ("+44 7700 900123", None, "is not a valid number for its region"),
        ("+44 1632 960123", None, "is not a valid number for its region"),
        ("+33 6 39 98 00 00", None, "is not a valid number for its region"),
        ("(555) 444-0129", None, "is not a valid number when read in region US"),
        ("030 1", "DE", "is not a valid number when read in region DE"),
    ],
)
def test_invalid_number_names_reason(text, region, reason):
    message = parse_error(text, region)

    assert f"Phone number {text!r} {reason}" in message


def test_invalid_international_number_message():
    message = parse_error("+1 202 555")

    assert message == (
        "Phone number '+1 202 555' is too short, so check the digits and the "
        "country calling code."
    )


def test_invalid_national_number_message():
    message = parse_error("020 7946 0958")

    assert message == (
        "Phone number '020 7946 0958' is too long when read in region US, so check "
        "the digits or send the number with + and its country calling code."
    )


@pytest.mark.parametrize(
    ("text", "region", "own_region"),
    [
        ("+44 20 7946 0958", "US", "GB"),
        ("0044 20 7946 0958", "DE", "GB"),
        ("+1 613 555 0123", "US", "CA"),
        ("(613) 555-0123", "US", "CA"),
        ("+1 202 555 0143", "CA", "US"),
        ("+44 1534 123456", "GB", "JE"),
        ("+590 590 87 1234", "GP", "BL"),
    ],
)
def test_region_contradiction_is_rejected(text, region, own_region):
    message = parse_error(text, region)

    assert f"belongs to {own_region}," in message
    assert f"not to countryCode {region}," in message


def test_region_contradiction_message():
    message = parse_error("+44 20 7946 0958", "US")

    assert message == (
        "Phone number +442079460958 belongs to GB, not to countryCode US, so "
        "correct countryCode or leave it out."
    )


@pytest.mark.parametrize(
    ("text", "region"),
    [("+800 1234 5678", "US"), ("+882 34 21234", "GB"), ("00800 1234 5678", "DE")],
)
def test_non_geographic_with_region_rejected(text, region):
    message = parse_error(text, region)

    assert "is non-geographic and belongs to no country" in message
    assert f"instead of sending {region}." in message


@pytest.mark.parametrize("region", ["USA", "XX", "", "001"])
def test_parse_with_unknown_region_rejected(region):
    message = parse_error("+1 202 555 0143", region)

    assert message.startswith(f"Country code {region!r} is not a supported")


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("", None),
        ("hello", None),
        ("+1 202 555 0143 ext. 12", None),
        ("1" * (MAX_INPUT_LENGTH + 1), None),
        ("+1 202 555", None),
        ("605.444", "US"),
        ("+999 123 456 789", None),
        ("+44 20 7946 0958", "US"),
        ("+800 1234 5678", "US"),
    ],
)
def test_rejection_message_is_one_sentence(text, region):
    message = parse_error(text, region)

    assert message[0].isupper()
    assert message.endswith(".")
    assert not re.search(r"[.!?] [A-Z]", message)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("US", "US"),
        ("us", "US"),
        ("Us", "US"),
        ("gb", "GB"),
        (" de ", "DE"),
        ("jp", "JP"),
        ("ZA", "ZA"),
    ],
)
def test_normalize_region_upper_cases(value, region):
    assert normalize_region(value) == region


@pytest.mark.parametrize(
    "value",
    [
        "USA",
        "XX",
        "",
        "   ",
        "001",
        "U",
        "U S",
        "UK",
        "EU",
        "ｕｓ",
        # str.upper() would turn these into the ASCII codes SS and IN.
        "ß",
        "ın",
    ],
)
def test_normalize_region_rejects_unknown(value):
    with pytest.raises(PhoneNumberError) as error:
        normalize_region(value)

    assert str(error.value) == (
        f"Country code {value!r} is not a supported ISO 3166-1 alpha-2 code, so "
        "send two letters such as US, GB or DE."
    )


def test_normalize_region_cuts_long_value():
    with pytest.raises(PhoneNumberError) as error:
        normalize_region("X" * 1000)

    assert "'XXXXXXXXXXXXXXXX...'" in str(error.value)
    assert len(str(error.value)) < 200


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("605-444", "605444"),
        ("(605) 444", "605444"),
        ("+1 605", "1605"),
        ("605.444.0129", "6054440129"),
        ("605/444", "605444"),
        ("7946 0958", "79460958"),
        ("555", "555"),
        ("2", "2"),
        ("  605 444  ", "605444"),
        ("(+44) 20", "4420"),
        ("７９４６", "7946"),
        ("+1\u00a0605", "1605"),
        ("605\u2013444", "605444"),
    ],
)
def test_search_digits_of_number_text(text, digits):
    assert search_digits(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        "Main Office",
        "Line 2",
        "office",
        "100%",
        "London_",
        "",
        "   ",
        "+",
        "()",
        "-",
        "1+2",
        "605 444 x12",
        "#12",
    ],
)
def test_search_digits_none_for_words(text):
    assert search_digits(text) is None
