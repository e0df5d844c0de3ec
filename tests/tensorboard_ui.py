"""A real TensorBoard on 127.0.0.1, and its projector tab as a person sees it (headless Debian Chromium, Playwright).

Used by the browser test and, as a script, to refresh the guide's screenshot (the points coloured by a
metadata column, ``--color-by polarity`` by default)::

    python -m tests.tensorboard_ui runs/sample docs/images/projector.png

Chromium renders the projector's WebGL canvas headless only with SwiftShader
(without these flags the page says "Your browser or device does not have
WebGL enabled"); the networking flags keep it from calling Google's hosts.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", "--no-sandbox",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000
# Every text node of the page, shadow roots included (the projector is Polymer), one per line.
PAGE_TEXT = """() => { const out = [];
  const walk = (node) => {
    if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return;
    if (node.nodeType === 3 && node.textContent.trim()) out.push(node.textContent.trim());
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body); return out.join('\\n'); }"""
# The projector's "Color by" menu (a paper-dropdown-menu inside the data panel's shadow root).
_COLOR_MENU = """const findMenu = (node) => {
    if (node.id === 'colorby') return node;
    for (const child of [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.children]) {
      const found = findMenu(child);
      if (found) return found;
    }
    return null; };
  const menu = findMenu(document.body);"""
# Its choices as [name, enabled] (each item shows the name and a description: "gradient", "2 colors"; "Metadata" is a separator).
COLOR_OPTIONS = ("() => { " + _COLOR_MENU +
                 " return menu ? [...menu.querySelectorAll('paper-item')].map(item => [item.value, !item.disabled]) : null; }")
# The name of the choice it shows as made.
COLORED_BY = "() => { " + _COLOR_MENU + " return menu && menu.selectedItem ? menu.selectedItem.value : null; }"


@dataclass
class ProjectorView:
    """What the projector tab shows: its status lines and the labels that a search finds."""

    tensors_found: int
    tensor_menu: dict[str, str]  # name -> "rowsxdim", as the tensor menu lists them
    points: int
    dimension: int
    label_fields: list[str]  # the "Label by" choices: the metadata file's columns
    color_fields: list[str]  # the metadata columns the "Color by" menu offers (beside its built-in "No color map")
    colored_by: str | None  # the column the points are coloured by in the screenshot, as the menu shows it
    search: str
    matches: list[str]


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (it is in the test extra: pip install '.[test]')"
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} is absent (Debian: apt-get install chromium; .ci/run installs it)"
    return None


@contextmanager
def tensorboard(logdir: Path) -> Iterator[str]:
    """A real TensorBoard on 127.0.0.1 over ``logdir``; yields its address once its first load is done."""
    process = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                                "--port", "0", "--reload_task", "blocking", "--reload_interval", "0", "--load_fast", "false"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in process.stdout:  # the address is printed after the blocking first load
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if found:
                yield found.group(1)
                return
        raise AssertionError("TensorBoard exited without serving")
    finally:
        process.kill()
        process.wait()


def view_projector(logdir: Path, search: str, screenshot: Path, color_by: str | None = None) -> ProjectorView:
    """Open the projector tab over ``logdir``, wait until it shows points, colour them by the metadata column ``color_by``
    (chosen in the "Color by" menu, as a person does), save a PNG, then search ``search`` among the labels.

    The screenshot comes before the search: a search selects its matches and greys every other point out.
    """
    from playwright.sync_api import sync_playwright

    with tensorboard(logdir) as address, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(address + "#projector")
            # TensorBoard hosts the plugin in an iframe (plugin_entry.html), which loads the projector in another.
            entry = page.wait_for_selector("iframe[src*='name=projector']", timeout=TIMEOUT_MS).content_frame()
            projector = entry.wait_for_selector("iframe", timeout=TIMEOUT_MS).content_frame()
            projector.wait_for_function(f"() => /Points:\\s+[1-9]/.test(({PAGE_TEXT})())", timeout=TIMEOUT_MS)
            loaded = projector.evaluate(PAGE_TEXT)
            color_options = projector.evaluate(COLOR_OPTIONS)
            colored_by = None
            if color_by is not None:
                projector.locator("#colorby").click()
                projector.locator("#colorby paper-item").filter(has_text=re.compile(rf"^\s*{re.escape(color_by)}\s")).click()
                projector.wait_for_function(f"() => ({COLORED_BY})() === {color_by!r}", timeout=TIMEOUT_MS)
                colored_by = projector.evaluate(COLORED_BY)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            projector.locator("vz-projector-inspector-panel input").first.fill(search)
            projector.wait_for_function(f"() => /\\d+ match/.test(({PAGE_TEXT})())", timeout=TIMEOUT_MS)
            searched = projector.evaluate(PAGE_TEXT)
        finally:
            browser.close()
    return ProjectorView(
        tensors_found=int(re.search(r"(\d+) tensors? found", loaded).group(1)),
        tensor_menu=dict(re.findall(r"^(\S+)\n(\d+x\d+)$", loaded, re.MULTILINE)),
        points=int(re.search(r"Points:\n(\d+)", loaded).group(1)),
        dimension=int(re.search(r"Dimension:\n(\d+)", loaded).group(1)),
        label_fields=re.search(r"Label by\n((?:.+\n)+?)Color by", loaded).group(1).split(),
        color_fields=[name for name, enabled in color_options or [] if enabled and name != "No color map"],
        colored_by=colored_by,
        search=search,
        matches=re.search(r"labels \(click to apply\):\n((?:.+\n)*?)(?:Showing only|BOOKMARKS)", searched).group(1).split(),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Screenshot the projector tab over <workdir>/report.")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--search", default="great", help="a label to search for after the screenshot (default: great)")
    parser.add_argument("--color-by", default="polarity", help="the metadata column to colour the points by ('' for none)")
    arguments = parser.parse_args()
    print(view_projector(arguments.workdir / "report", arguments.search, arguments.png, arguments.color_by or None))
