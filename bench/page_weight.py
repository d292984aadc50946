"""
Weight and readiness of the admin's config change page with the editor.

Drives Debian's headless Chromium (Playwright, ``executable_path``) against a
running server, by default the demo (``python3 dev.py demo``), and reports:

* the uncompressed bytes of every response the page loads (HTML, CSS, JS,
  the schema JSON), with a cold cache;
* the time from the start of the navigation until the editor is usable
  (its form is built), cold and warm cache, median of ``--rounds`` rounds;
* the time from a click on "Advanced mode" until the code editor shows (the
  first time on the page, CodeMirror is downloaded then).

    python3 dev.py demo &
    .venv/bin/python bench/page_weight.py --url http://127.0.0.1:8000 --rounds 7
"""

import argparse
import statistics
import sys
import time
from urllib.parse import urljoin

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "#id_config_jsoneditor[data-ready]"


def login(page, base, user, password):
    page.goto(urljoin(base, "/admin/login/?next=/admin/"))
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("input[type=submit]")


def first_config_url(page, base):
    page.goto(urljoin(base, "/admin/django_netjsonconfig/config/"))
    link = page.locator("#result_list tbody th a").first
    if not link.count():
        sys.exit("no config in the demo database: run `python3 dev.py demo` once")
    return urljoin(base, link.get_attribute("href"))


def measure(page, url):
    """(bytes by content type, seconds until the editor is ready, seconds until DOMContentLoaded)."""
    sizes = {}

    def on_response(response):
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 (redirects and aborted responses have no body)
            return
        kind = response.headers.get("content-type", "?").split(";")[0]
        sizes[kind] = sizes.get(kind, 0) + len(body)

    page.on("response", on_response)
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(READY)
    elapsed = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", on_response)
    # the page without the editor's own work: Django's admin and every script parsed
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd") / 1000
    return sizes, elapsed, loaded


def open_advanced_mode(page):
    """Seconds from the click on "Advanced mode" until the code editor shows."""
    start = time.perf_counter()
    page.click(".advanced-mode")
    page.wait_for_selector(".djnjc-codeeditor .cm-content")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        login_context = browser.new_context()
        page = login_context.new_page()
        login(page, args.url, args.user, args.password)
        url = first_config_url(page, args.url)
        session = login_context.storage_state()
        login_context.close()
        cold_times, warm_times, cold_loaded, advanced_times, weight = [], [], [], [], None
        for _round in range(args.rounds):
            # a fresh context (logged in, empty cache) per round: the first visit is cold
            context = browser.new_context(storage_state=session)
            page = context.new_page()
            sizes, cold, loaded = measure(page, url)
            weight = weight or sizes
            advanced_times.append(open_advanced_mode(page))
            _sizes, warm, _loaded = measure(page, url)
            cold_loaded.append(loaded)
            cold_times.append(cold)
            warm_times.append(warm)
            context.close()
        browser.close()
    total = sum(weight.values())
    print(f"config change page: {url}")
    for kind, size in sorted(weight.items(), key=lambda item: -item[1]):
        print(f"  {kind:<28} {size / 1024:8.1f} KiB")
    print(f"  {'total (uncompressed)':<28} {total / 1024:8.1f} KiB ({total / 1e6:.2f} MB)")
    print(f"editor usable after navigation, median of {args.rounds}:")
    print(f"  cold cache {statistics.median(cold_times):.3f} s   warm cache {statistics.median(warm_times):.3f} s")
    print(f"  (cold cache: DOMContentLoaded at {statistics.median(cold_loaded):.3f} s)")
    print(f"advanced mode shown after the click (cold cache): {statistics.median(advanced_times):.3f} s")


if __name__ == "__main__":
    main()
