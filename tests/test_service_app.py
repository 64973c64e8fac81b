"""The standalone app's shortcut for plain functions in `ensure_sync`."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import flask.app
import pytest
from flask import Flask


def plain() -> str:
    return "plain"


async def coroutine() -> str:
    return "coroutine"


class Handlers:
    def plain(self) -> str:
        return "plain"

    async def coroutine(self) -> str:
        return "coroutine"

    def __call__(self) -> str:
        return "called"


def marked() -> str:
    return "marked"


# Python 3.12 lets a plain function declare itself a coroutine function.
if hasattr(inspect, "markcoroutinefunction"):
    inspect.markcoroutinefunction(marked)

CALLABLES = {
    "function": plain,
    "coroutine function": coroutine,
    "bound method": Handlers().plain,
    "bound coroutine method": Handlers().coroutine,
    "partial of a function": functools.partial(plain),
    "partial of a coroutine function": functools.partial(coroutine),
    "callable object": Handlers(),
    "lambda": lambda: "lambda",
    "builtin": len,
    "marked function": marked,
}


@pytest.mark.parametrize("name", CALLABLES)
def test_ensure_sync_matches_flask(app: Flask, name: str) -> None:
    func = CALLABLES[name]
    wrapped: list[Any] = []

    def async_to_sync(target: Any) -> Any:
        wrapped.append(target)
        return functools.partial(target)

    app.async_to_sync = async_to_sync  # type: ignore[method-assign]

    result = app.ensure_sync(func)

    expected_async = inspect.iscoroutinefunction(func)
    assert (result is not func) == expected_async
    assert wrapped == ([func] if expected_async else [])


def test_plain_view_skips_flask_check(app: Flask, monkeypatch) -> None:
    def fail(func: Any) -> bool:
        raise AssertionError(f"Flask's check ran for {func!r}")

    monkeypatch.setattr(flask.app, "iscoroutinefunction", fail)
    view = app.view_functions["phones.Phones"]

    assert app.ensure_sync(view) is view
