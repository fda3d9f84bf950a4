#!/usr/bin/env python3
"""Drives a headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe),
for SergeantWebTests: opens the dashboard, saves a screenshot, reads the DOM's numbers and
what escaping must keep out of it, clicks a button, waits for the page it leads to.

Usage: drive.py URL SCREENSHOT.png [--click CSS_SELECTOR]... [--auth USER:PASSWORD]
Each --click clicks the first element the selector matches on the page the previous click led to.
Prints one JSON object: {"before": {...}, "after": {...}, "steps": [{...}, ...]} (each the page's
readings; "after" is the last step's, "steps" one per click).
Only the standard library: no package to install, no network.
"""
import base64, fcntl, json, os, shutil, subprocess, sys, tempfile, time

READ = r"""(() => {
  const queues = {};
  for (const row of document.querySelectorAll('#queues tr[data-queue]')) {
    const cells = {};
    for (const cell of row.querySelectorAll('td[data-field]')) cells[cell.dataset.field] = cell.textContent;
    queues[row.dataset.queue] = cells;
  }
  const workers = {};
  for (const row of document.querySelectorAll('#workers tr[data-worker]')) {
    const cells = {stale: row.classList.contains('stale')};
    for (const cell of row.querySelectorAll('td[data-field]')) cells[cell.dataset.field] = cell.textContent;
    workers[row.dataset.worker] = cells;
  }
  const dead = {};
  for (const section of document.querySelectorAll('section.dead')) {
    dead[section.dataset.queue] = {
      total: section.querySelector('[data-field=dead_total]').textContent,
      rows: Array.from(section.querySelectorAll('tr.letter')).map(r => Array.from(r.cells).map(c => c.textContent)),
    };
  }
  return JSON.stringify({
    url: location.href, title: document.title, queues, workers, dead,
    notice: (document.getElementById('notice') || {}).textContent || null,
    images: document.images.length,
    scripts: document.scripts.length,
    injected: Array.from(document.querySelectorAll('[onerror]')).length,
    xss: window.__xss || null,
    chartPoints: (document.getElementById('throughput') || {dataset: {}}).dataset.points || null,
    chartProcessed: (document.getElementById('throughput') || {dataset: {}}).dataset.processed || null,
    body: document.body ? document.body.innerText : '',
  });
})()"""


def high(fd):
    """`fd` moved to a number of at least 10, close-on-exec."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="sergeant-chromium-")
        # Above fd 10, so that moving them to 3 and 4 in the child overwrites nothing of theirs.
        to_child_r, self.to_child = (high(fd) for fd in os.pipe())
        self.from_child, from_child_w = (high(fd) for fd in os.pipe())

        def fds():  # the protocol's pipes are fds 3 (commands in) and 4 (replies out) of the child
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.process = subprocess.Popen(
            [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--mute-audio",
             "--user-data-dir=" + self.profile, "--window-size=1200,1400", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def receive(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_until(condition, what, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def main():
    url, screenshot = sys.argv[1], sys.argv[2]
    clicks = [sys.argv[index + 1] for index, word in enumerate(sys.argv[:-1]) if word == "--click"]
    auth = sys.argv[sys.argv.index("--auth") + 1] if "--auth" in sys.argv else None
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        sys.exit("no chromium binary: install Debian's chromium (scripts/install-deps.sh)")
    browser = Browser(binary)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.send("Page.enable", session=session)
        browser.send("Runtime.enable", session=session)
        if auth:
            browser.send("Network.enable", session=session)
            header = "Basic " + base64.b64encode(auth.encode()).decode()
            browser.send("Network.setExtraHTTPHeaders", {"headers": {"Authorization": header}}, session=session)

        def evaluate(expression):
            return browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                session=session)["result"].get("value")

        def state():  # None while a navigation replaces the page's context
            try:
                return evaluate("document.readyState + ' ' + location.href")
            except RuntimeError:
                return None

        def loaded(fragment):
            now = state()
            return bool(now) and now.startswith("complete ") and fragment in now

        browser.send("Page.navigate", {"url": url}, session=session)
        wait_until(lambda: loaded(url), "the dashboard to load")
        before = json.loads(evaluate(READ))
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
        with open(screenshot, "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        steps = []
        for number, click in enumerate(clicks):
            if not evaluate(f"!!document.querySelector({json.dumps(click)})"):
                raise RuntimeError("nothing on the page matches " + click)
            # A marker on the page clicked, so that the page the click leads to (a redirect to
            # /?done=..., as the previous step's was) is told apart: it has none.
            evaluate(f"window.__step = {number + 1}; document.querySelector({json.dumps(click)}).click()")

            def arrived():
                try:
                    return loaded("done=") and not evaluate("window.__step || 0")
                except RuntimeError:  # the context went away mid-navigation
                    return False

            try:
                wait_until(arrived, "the page the click leads to")
            except RuntimeError:
                sys.exit("the click led to " + str(state()) + ": " + str(evaluate("document.body && document.body.innerText"))[:500])
            steps.append(json.loads(evaluate(READ)))
        after = steps[-1] if steps else None
        print(json.dumps({"before": before, "after": after, "steps": steps}))
    finally:
        browser.close()


if __name__ == "__main__":
    main()
