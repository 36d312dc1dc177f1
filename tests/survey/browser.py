"""Headless Chromium for report tests: a screenshot or the DOM after scripts ran, the console, and
every URL the browser requested, with the network cut off (no name resolves)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (scripts/bootstrap.sh installs it; CI has it)",
)
# The browser's own background services (component updates, time, accounts), not the page's.
BROWSER_HOSTS = re.compile(r"https?://[^/]*(google\.com|googleapis\.com|gstatic\.com)/")


@dataclass
class Visit:
    dom: str
    console: list[str]  # the page's console messages
    requests: list[str]  # every http(s) URL the page asked for (browser services left out)

    @property
    def script_errors(self) -> list[str]:
        return [m for m in self.console if "Uncaught" in m or "Error" in m]


def visit(
    page: Path,
    work: Path,
    *,
    screenshot: Path | None = None,
    size: tuple[int, int] = (1300, 1250),
    budget_ms: int = 5000,
) -> Visit:
    """Open a local page in headless Chromium, offline; screenshot it or dump its DOM."""
    assert CHROMIUM is not None
    work.mkdir(parents=True, exist_ok=True)
    netlog = work / "netlog.json"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # network off
        f"--user-data-dir={work / 'profile'}",
        f"--window-size={size[0]},{size[1]}",
        f"--virtual-time-budget={budget_ms}",
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={netlog}",
        f"--screenshot={screenshot}" if screenshot else "--dump-dom",
        page.resolve().as_uri(),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line.split("] ", 1)[-1] for line in run.stderr.splitlines() if ":CONSOLE" in line]
    urls = re.findall(r'"url":"(https?://[^"]+)"', netlog.read_text(errors="replace"))
    requests = sorted({u for u in urls if not BROWSER_HOSTS.match(u)})
    return Visit(run.stdout, console, requests)


def markup_urls(html: str) -> list[str]:
    """http(s) URLs the page's markup refers to (src, href, CSS url(), @import), scripts aside.

    Inlined libraries mention URLs in code never run here (Bokeh's MathJax loader); what the
    browser fetches is checked by :func:`visit` through its network log."""
    markup = re.sub(r"(?s)<script\b[^>]*>.*?</script>", "", html)
    pattern = r"(?:src|href)\s*=\s*[\"']?\s*https?:|url\(\s*[\"']?https?:|@import\s+[\"']?https?:"
    return re.findall(pattern, markup, flags=re.IGNORECASE)


def with_script(page: Path, script: str, name: str) -> Path:
    """A copy of the page with a test script run after it (the page itself is left untouched)."""
    html = page.read_text(encoding="utf-8")
    end = html.rfind("</body>")
    copy = page.with_name(name)
    copy.write_text(html[:end] + f"<script>{script}</script>" + html[end:], encoding="utf-8")
    return copy


def read_json_pre(dom: str, element_id: str) -> object:
    """The JSON a test script left in <pre id=element_id>."""
    import html as html_lib

    match = re.search(rf'<pre id="{element_id}">(.*?)</pre>', dom, flags=re.S)
    assert match, f"no <pre id={element_id}> in the DOM: the test script did not finish"
    return json.loads(html_lib.unescape(match.group(1)))
