"""Encryption of SIP passwords at rest with Fernet.

Keys come from the `PHONES_SECRET_KEY` setting: one or more Fernet keys,
comma-separated, the first of which encrypts and all of which decrypt. With
no setting, a key is generated once into the instance folder (mode 0600).
"""

from __future__ import annotations

import logging
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"


class SecretKeyError(RuntimeError):
    """The configured secret key is unusable (the message never contains it)."""


class SecretBox:
    """Encrypts and decrypts short secrets under a list of Fernet keys."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no secret key is configured")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise SecretKeyError(
                    f"secret key {position} of {len(keys)} is not a valid Fernet "
                    "key (32 url-safe base64-encoded bytes); create one with "
                    "`flask --app app secrets generate-key`"
                ) from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with any configured key; "
                "keep the old key in PHONES_SECRET_KEY until rotation is done"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` under the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with any configured key"
            ) from None


def parse_keys(setting: str | bytes) -> list[bytes]:
    """Split a comma- or newline-separated key list."""
    text = setting.decode() if isinstance(setting, bytes) else setting
    return [part.strip().encode() for part in text.replace("\n", ",").split(",") if part.strip()]


def load_keys(setting: str | None, instance_path: str) -> list[bytes]:
    """Return the keys from `setting`, or from the instance key file."""
    if setting:
        return parse_keys(setting)
    return parse_keys(read_or_create_key_file(os.path.join(instance_path, KEY_FILE_NAME)))


def read_or_create_key_file(path: str) -> bytes:
    """Read the key file, creating it with a new key and mode 0600 if missing."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        pass

    os.makedirs(os.path.dirname(path), exist_ok=True)
    key = Fernet.generate_key()
    temporary = f"{path}.{os.getpid()}.new"
    write_key_file(temporary, [key], replace=False)
    try:
        # link() fails if the file exists: when two workers start at once,
        # both end up with the key that was linked first.
        os.link(temporary, path)
    except FileExistsError:
        with open(path, "rb") as file:
            return file.read()
    finally:
        os.unlink(temporary)
    log.info("generated a secret key for SIP passwords in %s", path)
    return key


def write_key_file(path: str, keys: list[bytes], replace: bool = True) -> None:
    """Write a key file with mode 0600, replacing `path` atomically if asked."""
    temporary = path + ".new" if replace else path
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(b"\n".join(keys) + b"\n")
        file.flush()
        os.fsync(file.fileno())
    if replace:
        os.replace(temporary, path)
