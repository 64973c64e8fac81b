"""Examples for the OpenAPI document, taken from the API reference.

The reference's sample uuids are not valid UUIDs, so valid ones stand in.
"""

PHONE = {
    "uuid": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "clientUuid": "2b91c27d-4f10-4d5e-8f7a-8b9c0d1e2f3a",
    "name": "Main Office Line",
    "number": "+16054440129",
    "referenceId": "d398f9d8d9f",
    "type": "private",
    "countryCode": "US",
    "sipTrunk": "sip.twillio.com",
    "provider": "twillio",
    "status": "active",
    "smsEnabled": False,
    "fallbackDestination": None,
    "server": {"url": "wss://api.callcamp.com/ws", "region": "us-east-1"},
    "hooks": {"on_call_end": "https://api.twillio.com/webhook"},
    "sipTrunkUser": "user_abc",
    "sipTrunkPassword": "••••••••",
    "sipTrunkProtocol": "udp",
    "parameters": {},
    "createdAt": "2026-01-10T12:00:00.000Z",
    "updatedAt": "2026-04-20T15:30:00.000Z",
}

PHONE_LIST = {"phones": [PHONE], "total": 1, "page": 1, "limit": 10, "nextCursor": None}

REGISTRATION = {
    "number": "+16054440129",
    "name": "Main Office Line",
    "countryCode": "US",
    "provider": "twillio",
    "referenceId": "d398f9d8d9f",
    "sipTrunk": "sip.twillio.com",
    "sipTrunkUser": "user_abc",
    "sipTrunkPassword": "s3cret",
    "type": "private",
}

UPDATE = {"name": "Main Office Line", "status": "inactive"}
