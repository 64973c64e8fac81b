"""Swagger UI at /api/docs: served by the app alone, without an API key."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from .server import Server

pytestmark = pytest.mark.sqlite_run_only("serves documentation, which no database changes")

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
# Without these flags Chromium keeps contacting Google hosts for updates, field
# trials and sync. `--no-proxy-server` keeps a proxy from the environment out of
# the path to the loopback server.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]
OPERATION_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
PAGE_BASE = "http://localhost/api/docs"


class AssetLinks(HTMLParser):
    """HTML parser that collects the value of every `src` and `href` attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def asset_urls(html: str) -> list[str]:
    parser = AssetLinks()
    parser.feed(html)
    return parser.urls


def test_docs_page_is_html(anonymous: FlaskClient) -> None:
    response = anonymous.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"


def test_docs_assets_come_from_app(anonymous: FlaskClient) -> None:
    urls = asset_urls(anonymous.get("/api/docs").get_data(as_text=True))

    assert any(url.endswith("/swagger-ui-bundle.js") for url in urls), urls
    assert any(url.endswith("/swagger-ui.css") for url in urls), urls
    for url in urls:
        absolute = urlsplit(urljoin(PAGE_BASE, url))
        assert (absolute.scheme, absolute.netloc) == ("http", "localhost"), url
        response = anonymous.get(absolute.path)
        assert response.status_code == 200, url
        assert response.content_length, url


def test_openapi_document_without_key(anonymous: FlaskClient) -> None:
    response = anonymous.get("/api/openapi.json")

    assert response.status_code == 200
    assert "/api/phones" in response.get_json()["paths"]


def test_docs_assets_outside_dist_not_found(anonymous: FlaskClient) -> None:
    response = anonymous.get("/api/docs/assets/../../docs.py")

    assert response.status_code == 404


def require_browser() -> None:
    """Skip the test when Chromium or Playwright is missing.

    With PHONES_REQUIRE_BROWSER=1 the test fails instead, so CI cannot pass
    without running the browser.
    """
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} not found: install Debian's chromium package"
    elif importlib.util.find_spec("playwright") is None:
        reason = "playwright is not installed: pip install -e '.[test]'"
    else:
        return

    if os.environ.get("PHONES_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PHONES_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Headless Debian Chromium with a fresh profile, driven by Playwright."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield context
        context.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'phones.db'}"},
        log_path=tmp_path / "server.log",
    )
    running.start()
    yield running
    running.stop()


def leaves_loopback(url: str) -> bool:
    parts = urlsplit(url.removeprefix("blob:"))
    return parts.scheme != "data" and parts.hostname != "127.0.0.1"


def operations(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Return (method, path, summary) of every operation in an OpenAPI document."""
    return {
        (method.upper(), path, operation.get("summary", ""))
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in OPERATION_METHODS
    }


def listed_operations(page: Page) -> set[tuple[str, str, str]]:
    """Return (method, path, summary) of every operation block Swagger UI shows."""
    listed = set()
    for block in page.locator(".opblock-summary").all():
        method = block.locator(".opblock-summary-method").inner_text()
        path = block.locator(".opblock-summary-path").get_attribute("data-path")
        summary = block.locator(".opblock-summary-description").inner_text()
        listed.add((method.strip(), path or "", summary.strip()))
    return listed


# The fixture order matters: `browser` skips before `server` starts gunicorn.
def test_docs_page_in_chromium(
    browser: BrowserContext, server: Server, tmp_path: Path
) -> None:
    spec = server.request("GET", "/api/openapi.json")
    requested: list[str] = []
    page_errors: list[str] = []
    browser.on("request", lambda request: requested.append(request.url))
    # Requests to any other host are recorded above, then aborted before sending.
    browser.route(leaves_loopback, lambda route: route.abort("blockedbyclient"))
    page = browser.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))

    page.goto(server.base_url + "/api/docs", wait_until="networkidle")
    assert [url for url in requested if leaves_loopback(url)] == []
    assert page_errors == []
    page.get_by_text("List phone numbers").wait_for()
    screenshot = tmp_path / "api-docs.png"
    page.screenshot(path=screenshot, full_page=True)

    assert server.base_url + "/api/docs/assets/swagger-ui-bundle.js" in requested
    assert server.base_url + "/api/openapi.json" in requested
    assert spec.status == 200
    expected = operations(spec.json())
    assert ("GET", "/api/phones", "List phone numbers") in expected
    assert listed_operations(page) == expected
    assert screenshot.stat().st_size > 0
