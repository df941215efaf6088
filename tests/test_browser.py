"""The built book in a real browser with the network off, the way a reader without a connection sees it.

The `ci` book is built once into a temporary folder, and every page of the table of contents is opened from
file:// in headless Chromium, whose requests to any other host fail (a dead proxy, no name resolution). Per
page: the math is typeset by the MathJax bundled with the build, every image has loaded, every figure has a
numbered caption, every internal link resolves (file and #anchor), the console has no errors and no request
left the machine. A full-page screenshot of each page goes to `_build/screenshots/<page>.png`.

Needs Debian's Chromium and its driver (`apt-get install chromium chromium-driver`); skipped without them.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WIDTH = 1280  # wide enough for sphinx-book-theme to show both sidebars
LOCAL_SCHEMES = {"file", "data", "blob", "about", "chrome", "chrome-extension", "devtools"}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# TeX that MathJax should have consumed: its delimiters, an environment, or a $...$ holding TeX syntax.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\$[^$\s][^$\n]*[\\^_{}][^$\n]*\$")
CAPTION_NUMBER = re.compile(r"^(Fig\.|Figure)\s*\d+")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="the browser test needs headless Chromium and its driver: apt-get install chromium chromium-driver",
)


def toc_pages(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """The documents of the table of contents, root first, as paths without suffix (`book/intro`)."""
    spec = yaml.safe_load(toc.read_text())
    found = [spec["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key, []))

    walk([spec])  # the root's own chapters, or parts of chapters
    return [re.sub(r"\.(md|ipynb|py)$", "", page) for page in found]


PAGES = toc_pages()


class _Ids(HTMLParser):
    """Every id (and old-style `<a name>`) that an #anchor can point to."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is not None and (key == "id" or (tag == "a" and key == "name")):
                self.ids.add(value)


def anchors_of(path: Path) -> set[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.ids


@dataclass
class Visit:
    """What the browser found on one page."""

    url: str
    math_elements: int = 0
    untypeset_math: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    raw_tex: list[str] = field(default_factory=list)
    mathjax: str = ""
    failed_fonts: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images: int = 0
    figures: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const start = Date.now();
const script = document.querySelector('script[src*="mathjax" i]');
(function poll() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        MathJax.startup.promise.then(() => done('typeset ' + script.src), (e) => done('error ' + e));
    } else if (!script) {
        done('');
    } else if (Date.now() - start > 20000) {
        done('not started ' + script.src);
    } else {
        setTimeout(poll, 100);
    }
})();
"""

WAIT_FOR_IMAGES_AND_FONTS = """
const done = arguments[arguments.length - 1];
const pending = [...document.images].filter((img) => !img.complete).map((img) => new Promise((resolve) => {
    img.addEventListener('load', resolve, {once: true});
    img.addEventListener('error', resolve, {once: true});
}));
Promise.all([...pending, document.fonts.ready]).then(() => done(true));
"""

INSPECT = """
const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const text = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (node.nodeValue.trim() && el && !el.closest(skip) && shown(el)) text.push(node.nodeValue);
}
const maths = [...document.querySelectorAll('.math')];
return {
    math_elements: maths.length,
    untypeset_math: maths.filter((m) => !m.querySelector('mjx-container')).map((m) => m.textContent.slice(0, 120)),
    math_errors: [
        ...[...document.querySelectorAll('mjx-merror')].map(
            (e) => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 120)),
        // an undefined macro is not an error to MathJax: it shows the macro's name in red
        ...[...document.querySelectorAll('mjx-container mtext[mathcolor="red"]')].map((e) => e.textContent),
    ],
    text: text,
    failed_fonts: [...document.fonts].filter((f) => f.status === 'error').map((f) => f.family),
    images: document.images.length,
    broken_images: [...document.images].filter((i) => !(i.complete && i.naturalWidth > 0))
        .map((i) => i.getAttribute('src')),
    figures: [...document.querySelectorAll('figure, div.figure')].map((f) => ({
        id: f.id,
        caption: f.querySelector('figcaption, .caption')?.innerText.trim() ?? null,
        images: [...f.querySelectorAll('img')].filter((i) => i.naturalWidth > 0).length,
    })),
    links: [...document.querySelectorAll('a[href]')].map((a) => ({
        href: a.href,
        raw: a.getAttribute('href'),
        text: a.innerText.trim().slice(0, 80),
        toc: a.closest('nav.bd-docs-nav') !== null,
    })),
};
"""


@pytest.fixture(scope="module")
def html(ci_book) -> Path:
    """The ci book, built once per session the way `python -m monosem book` builds it (with -W; `conftest.ci_book`,
    shared with tests/test_book.py)."""
    proc, html = ci_book.proc, ci_book.html
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return html


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WIDTH},1000",
        # the network is off: every request goes to a proxy that is not there, and no name resolves
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    # every page is opened as a first-time reader opens it, whatever was opened before
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}"},
    )
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _drain_logs(driver) -> tuple[list[str], list[str]]:
    """Console errors (SEVERE) and the URL of every request the page made since the last call."""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    return errors, requests


def visit(driver, url: str, screenshot: Path | None = None) -> Visit:
    _drain_logs(driver)
    driver.get(url)
    found = Visit(url=url, mathjax=driver.execute_async_script(WAIT_FOR_MATHJAX))
    # a viewport as tall as the page: every image is on screen (lazy ones load), and the screenshot is whole
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    metrics = {"width": WIDTH, "height": int(height), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        driver.execute_async_script(WAIT_FOR_IMAGES_AND_FONTS)
        page = driver.execute_script(INSPECT)
        if screenshot is not None:
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    for key in ("math_elements", "untypeset_math", "math_errors", "failed_fonts", "images", "broken_images"):
        setattr(found, key, page[key])
    found.figures, found.links = page["figures"], page["links"]
    found.raw_tex = [m.group(0) for t in page["text"] for m in RAW_TEX.finditer(t)]
    found.console_errors, found.requests = _drain_logs(driver)
    return found


@pytest.fixture(scope="module")
def visits(html, browser) -> dict[str, Visit]:
    """Every page of the table of contents, opened once; a screenshot of each in _build/screenshots/."""
    return {
        page: visit(browser, (html / f"{page}.html").as_uri(), SCREENSHOTS / f"{Path(page).name}.png") for page in PAGES
    }


def _offsite(urls: list[str]) -> list[str]:
    return [u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and urlsplit(u).hostname not in LOCAL_HOSTS]


def test_the_browser_is_offline(browser, tmp_path):
    """The check below is only as good as the browser's isolation: a page that asks for a remote image gets
    nothing, and the request is seen."""
    page = tmp_path / "remote.html"
    page.write_text('<!doctype html><img src="https://offline-check.invalid/x.png">')
    found = visit(browser, page.as_uri())
    assert found.broken_images == ["https://offline-check.invalid/x.png"]
    assert _offsite(found.requests) == ["https://offline-check.invalid/x.png"]


def test_index_redirects_to_the_root_page(html, browser):
    browser.get((html / "index.html").as_uri())
    target = (html / f"{PAGES[0]}.html").as_uri()
    for _ in range(50):
        if browser.current_url == target:
            break
        browser.execute_async_script("setTimeout(arguments[0], 100)")
    assert browser.current_url == target


def test_mathjax_is_bundled_with_the_build(html):
    """Every page loads scripts and styles from the build's own folder, MathJax from _static/mathjax."""
    for page in PAGES:
        source = (html / f"{page}.html").read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]*)"', source)
        assert not remote, f"{page}: loads {remote}"
        mathjax = re.findall(r'<script\b[^>]*\bsrc="([^"]*mathjax[^"]*)"', source, flags=re.IGNORECASE)
        for src in mathjax:
            assert "_static/mathjax/" in src and (html / page).parent.joinpath(src.split("?")[0]).resolve().is_file()
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_the_book_has_math_and_figures(visits):
    """The per-page checks are not vacuous: the book as built has formulas and figures to check."""
    assert sum(v.math_elements for v in visits.values()) > 0
    assert sum(len(v.figures) for v in visits.values()) > 0
    assert sum(v.images for v in visits.values()) > 0


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(visits, page):
    found = visits[page]
    ran = found.mathjax.startswith("typeset file://") and "/_static/mathjax/" in found.mathjax
    problems = {
        "MathJax from the build did not run": found.math_elements and not ran and found.mathjax,
        "math left as TeX": found.untypeset_math,
        "MathJax could not typeset": found.math_errors,
        "raw TeX in the visible text": found.raw_tex,
        "fonts that did not load": found.failed_fonts,
    }
    assert {what: value for what, value in problems.items() if value} == {}


@pytest.mark.parametrize("page", PAGES)
def test_images_load(visits, page):
    assert visits[page].broken_images == []


@pytest.mark.parametrize("page", PAGES)
def test_figures_have_numbered_captions(visits, page):
    figures = visits[page].figures
    unnumbered = [f for f in figures if not CAPTION_NUMBER.match(f["caption"] or "")]
    assert unnumbered == [], "figures without a numbered caption"
    assert [f["id"] for f in figures if f["images"] == 0] == [], "figures that show no image"
    numbers = [int(re.search(r"\d+", f["caption"]).group(0)) for f in figures]
    assert numbers == sorted(set(numbers)), f"figure numbers out of order or repeated: {numbers}"


@pytest.mark.parametrize("page", PAGES)
def test_links_resolve(html, visits, page):
    """Every link inside the build points at a file that exists and, with an #anchor, at an id on that page;
    the table of contents links every page."""
    broken = []
    anchors: dict[Path, set[str]] = {}
    for link in visits[page].links:
        parts = urlsplit(link["href"])
        if parts.scheme != "file":
            continue
        target = Path(url2pathname(parts.path))
        if target.is_dir():
            target = target / "index.html"
        if not target.resolve().is_relative_to(html.resolve()) or not target.is_file():
            broken.append(f"{link['raw']} ({link['text']!r}): no such file")
            continue
        fragment = unquote(parts.fragment)
        if fragment and target.suffix == ".html":
            if target not in anchors:
                anchors[target] = anchors_of(target)
            if fragment not in anchors[target]:
                broken.append(f"{link['raw']} ({link['text']!r}): no id {fragment!r} on {target.name}")
    assert broken == []
    in_toc = {Path(url2pathname(urlsplit(link["href"]).path)) for link in visits[page].links if link["toc"]}
    missing = [p for p in PAGES if (html / f"{p}.html") not in in_toc]
    assert missing == [], "pages missing from the table of contents"


@pytest.mark.parametrize("page", PAGES)
def test_console_has_no_errors(visits, page):
    assert visits[page].console_errors == []


@pytest.mark.parametrize("page", PAGES)
def test_no_request_leaves_the_machine(visits, page):
    assert visits[page].requests, "no request was logged: the performance log is not working"
    assert _offsite(visits[page].requests) == []
