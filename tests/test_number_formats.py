"""Numbers registered the way people type them, country by country."""

from __future__ import annotations

import pytest

from .conftest import register


@pytest.fixture
def client(service_client):
    """Runs each test against the standalone service and the host app."""
    return service_client

# (typed number, countryCode sent or None, stored E.164, returned countryCode).
# Fictional or drama ranges where the country has them.
TYPED = [
    ("+1 (605) 444-0129", None, "+16054440129", "US"),
    ("(605) 444-0129", None, "+16054440129", "US"),
    ("605.444.0129", "US", "+16054440129", "US"),
    ("1-605-444-0129", "US", "+16054440129", "US"),
    ("011 44 20 7946 0958", None, "+442079460958", "GB"),
    ("+1 202 555 0143", None, "+12025550143", "US"),
    ("(416) 555-0199", "CA", "+14165550199", "CA"),
    ("+1 416 555 0199", None, "+14165550199", "CA"),
    ("+44 20 7946 0958", None, "+442079460958", "GB"),
    ("+44 (0)20 7946 0958", None, "+442079460958", "GB"),
    ("0044 20 7946 0958", None, "+442079460958", "GB"),
    ("020 7946 0958", "GB", "+442079460958", "GB"),
    ("07400 123456", "gb", "+447400123456", "GB"),
    ("+49 (0)30 12345678", None, "+493012345678", "DE"),
    ("030 12345678", "DE", "+493012345678", "DE"),
    ("0049-30-12345678", None, "+493012345678", "DE"),
    ("+33 1 23 45 67 89", None, "+33123456789", "FR"),
    ("01 23 45 67 89", "FR", "+33123456789", "FR"),
    ("+33 (0)6 12 34 56 78", None, "+33612345678", "FR"),
    ("+91 98765 43210", None, "+919876543210", "IN"),
    ("098765 43210", "IN", "+919876543210", "IN"),
    ("+61 2 5550 1234", None, "+61255501234", "AU"),
    ("(02) 5550 1234", "AU", "+61255501234", "AU"),
    ("0491 570 156", "AU", "+61491570156", "AU"),
    ("+55 11 91234-5678", None, "+5511912345678", "BR"),
    ("(11) 91234-5678", "BR", "+5511912345678", "BR"),
    ("+81 3-1234-5678", None, "+81312345678", "JP"),
    ("03-1234-5678", "JP", "+81312345678", "JP"),
    ("+52 55 1234 5678", None, "+525512345678", "MX"),
    ("+27 21 123 4567", None, "+27211234567", "ZA"),
    ("021 123 4567", "ZA", "+27211234567", "ZA"),
    ("+34 912 34 56 78", None, "+34912345678", "ES"),
    ("+31 20 123 4567", None, "+31201234567", "NL"),
    ("020-1234567", "NL", "+31201234567", "NL"),
    ("+39 06 1234 5678", None, "+390612345678", "IT"),
    ("06 1234 5678", "IT", "+390612345678", "IT"),
    ("＋４４ ２０ ７９４６ ０９５８", None, "+442079460958", "GB"),
    ("+44\u00a020\u00a07946\u00a00958", None, "+442079460958", "GB"),
    ("  +16054440129  ", None, "+16054440129", "US"),
    ("+800 1234 5678", None, "+80012345678", None),
]


@pytest.mark.parametrize(("typed", "country", "e164", "region"), TYPED)
def test_typed_number_is_stored_e164(client, typed, country, e164, region):
    fields = {} if country is None else {"countryCode": country}
    response = register(client, typed, **fields)

    body = response.get_json()
    assert response.status_code == 201, body
    assert body["number"] == e164
    assert body["countryCode"] == region
    stored = client.get(f"/api/phones/{body['uuid']}").get_json()
    assert stored["number"] == e164


def test_ten_countries_covered():
    regions = {region for _, _, _, region in TYPED if region}

    assert len(regions) >= 10


@pytest.mark.parametrize(
    ("typed", "country"),
    [
        ("+44 20 7946 0958", "US"),
        ("+1 605 444 0129", "GB"),
        ("+1 416 555 0199", "US"),
        ("+800 1234 5678", "US"),
        ("020 7946 0958", "DE"),
    ],
)
def test_contradicting_country_code_answers_422(client, typed, country):
    response = register(client, typed, countryCode=country)

    assert response.status_code == 422
    assert "number" in response.get_json()["errors"]["json"]


def test_fallback_national_read_in_phone_region(client):
    response = register(
        client, "+44 20 7946 0958", fallbackDestination="07400 123456"
    )

    assert response.get_json()["fallbackDestination"] == "+447400123456"


def test_fallback_may_be_another_country(client):
    response = register(client, "+44 20 7946 0958", fallbackDestination="+1 605 444 0129")

    assert response.get_json()["fallbackDestination"] == "+16054440129"


def test_patch_fallback_read_in_phone_region(client):
    phone = register(client, "+49 30 12345678").get_json()
    response = client.patch(
        f"/api/phones/{phone['uuid']}", json={"fallbackDestination": "030 87654321"}
    )

    assert response.status_code == 200
    assert response.get_json()["fallbackDestination"] == "+493087654321"


@pytest.mark.parametrize(
    "fallback", ["nope", "+1 605 444 0129 ext 5", "12", "+999 1234"]
)
def test_patch_invalid_fallback_answers_422(client, fallback):
    phone = register(client).get_json()
    response = client.patch(
        f"/api/phones/{phone['uuid']}", json={"fallbackDestination": fallback}
    )

    assert response.status_code == 422
    assert "fallbackDestination" in response.get_json()["errors"]["json"]
