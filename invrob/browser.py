"""Open a page in headless Chromium and check it as a reader would see it (the report's test and its
README screenshot): JavaScript errors, the text of each view, a screenshot.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so nothing beyond Debian's ``chromium``
is needed.

    python -m invrob.browser report.html --screenshot report.png
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The Chromium binary (``$CHROMIUM`` or the first of ``CANDIDATES`` on PATH), or None."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class BrowserError(RuntimeError):
    pass


def _high_fd(fd: int) -> int:
    """``fd`` moved to a number ≥ 10, clear of the 3 and 4 the child's ends are mapped to."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser:
    """One headless Chromium with one page; ``errors`` collects the page's JavaScript errors."""

    def __init__(self, binary: str | None = None, width: int = 1400, height: int = 1000, timeout: float = 60):
        binary = binary or find_chromium()
        if not binary:
            raise BrowserError("no Chromium found: install Debian's `chromium` (./setup.sh --tests) or set CHROMIUM")
        self.timeout, self.errors, self._id, self._events = timeout, [], 0, []
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        to_browser_r, from_browser_w = (_high_fd(fd) for fd in (to_browser_r, from_browser_w))
        self._profile = tempfile.mkdtemp(prefix="invrob-chromium-")
        self._stderr = open(Path(self._profile) / "chromium.stderr", "w+")
        args = [binary, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                f"--user-data-dir={self._profile}", f"--window-size={width},{height}", "about:blank"]  # fmt: skip
        # Chromium reads commands on fd 3 and writes replies on fd 4: a small Python trampoline puts the
        # pipe ends there and execs it (no preexec_fn: the parent may run threads; only those fds pass)
        trampoline = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
                      "os.close(int(sys.argv[1])); os.close(int(sys.argv[2])); os.execvp(sys.argv[3], sys.argv[3:])")
        self._proc = subprocess.Popen([sys.executable, "-c", trampoline, str(to_browser_r), str(from_browser_w), *args],
                                      pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=self._stderr)  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable", session=True)
            self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                             "mobile": False}, session=True)  # fmt: skip
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ protocol

    def _send(self, message: dict) -> None:
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")

    def _stderr_tail(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-1500:]

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if self._proc.poll() is not None:
                raise BrowserError(f"Chromium exited with status {self._proc.returncode}:\n{self._stderr_tail()}")
            if left <= 0 or not select.select([self._from_browser], [], [], min(left, 1.0))[0]:
                if left <= 0:
                    raise BrowserError(f"Chromium did not answer within {self.timeout:g} s:\n{self._stderr_tail()}")
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _note(self, event: dict) -> None:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            self.errors.append((d.get("exception") or {}).get("description") or d.get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", "error"))
        self._events.append(method)

    def call(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._note(reply)

    def wait_for(self, method: str) -> None:
        deadline = time.monotonic() + self.timeout
        while method not in self._events:
            self._note(self._receive(deadline))

    # ------------------------------------------------------------------ what a test needs

    def open(self, path: str | Path) -> None:
        """Load a local file and wait for its load event."""
        self._events.clear()
        reply = self.call("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=True)
        if reply.get("errorText"):
            raise BrowserError(f"cannot open {path}: {reply['errorText']}")
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def text(self) -> str:
        return self.evaluate("document.body.innerText")

    def settle(self, seconds: float = 0.5) -> None:
        """Let the page render (React updates after a state change are asynchronous)."""
        self.evaluate(f"new Promise(r => setTimeout(r, {int(seconds * 1000)}))")

    def screenshot(self, out: str | Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(base64.b64decode(data))
        return Path(out)

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                self.timeout = min(self.timeout, 10)
                self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._stderr.close()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- Snakemake's report


def report_views(path: str | Path, screenshot: str | Path | None = None, shown_result: str | None = None) -> dict:
    """Open a Snakemake report and show every subcategory of results in turn, then every result's
    caption; return {"errors": JavaScript errors, "front": the front page's text, "categories":
    {category: {subcategory: text shown}}, "captions": {result: text shown}}.  ``screenshot``: a PNG of
    result ``shown_result`` (default: the first figure) with its caption, as a reader sees it."""
    with Browser() as b:
        b.open(path)
        b.settle(1.0)
        out = {"front": b.text(), "categories": {}, "captions": {}}
        for cat, subcats in b.evaluate("categories").items():
            for sub in subcats:
                # as a reader clicks: the category, then its subcategory (going from one subcategory
                # straight to another, the report keeps showing the first one's results)
                b.evaluate(f"app.setView({{navbarMode: 'category', category: {json.dumps(cat)}}})")
                b.settle(0.2)
                b.evaluate(f"app.setView({{navbarMode: 'subcategory', category: {json.dumps(cat)}, "
                           f"subcategory: {json.dumps(sub)}}})")  # fmt: skip
                b.settle(0.3)
                out["categories"].setdefault(cat, {})[sub] = b.text()
        results = b.evaluate("Object.keys(results)")
        for result in results:
            b.evaluate(f"app.setView({{navbarMode: 'resultinfo', resultPath: {json.dumps(result)}}})")
            b.settle(0.2)
            out["captions"][result] = b.text()
        if screenshot:
            shown = shown_result or next((r for r in results if r.endswith(".png")), results[0])
            where = [(c, s) for c, subs in b.evaluate("categories").items() for s, paths in subs.items()
                     if shown in paths]  # fmt: skip
            if not where:
                raise BrowserError(f"{shown} is not a result of this report: one of {', '.join(results)}")
            (cat, sub), content = where[0], "img" if shown.endswith((".png", ".svg", ".jpg")) else "html"
            b.evaluate(f"app.setView({{navbarMode: 'resultinfo', category: {json.dumps(cat)}, subcategory: "
                       f"{json.dumps(sub)}, resultPath: {json.dumps(shown)}, content: '{content}', "
                       f"contentPath: results[{json.dumps(shown)}].data_uri}})")  # fmt: skip
            b.settle(1.0)
            b.screenshot(screenshot)
        out["errors"] = list(b.errors)
        return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invrob.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("page", help="an HTML file (e.g. a Snakemake report)")
    parser.add_argument("--screenshot", help="write a PNG of one result and its caption here")
    parser.add_argument("--result", help="the result to show in the screenshot (default: the first figure)")
    args = parser.parse_args(argv)
    views = report_views(args.page, args.screenshot, args.result)
    for cat, subs in views["categories"].items():
        print(f"{cat}: {', '.join(subs)}")
    for error in views["errors"]:
        print(f"JavaScript error: {error}", file=sys.stderr)
    return 1 if views["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
