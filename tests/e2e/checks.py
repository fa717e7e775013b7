"""What every page of the browser tests is held to: nothing sticks out past the viewport, the page
never scrolls sideways, and axe-core finds no serious or critical accessibility violation."""
from pathlib import Path

from tests.conftest import ARTIFACTS

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || (box.right <= width + 1 && box.left >= -1)) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.position === 'fixed') continue;
    let clipped = false;
    for (let up = el.parentElement; up && up !== document.documentElement; up = up.parentElement) {
      const s = getComputedStyle(up);
      if (s.overflowX !== 'visible' || s.clipPath !== 'none') {
        const b = up.getBoundingClientRect();
        if (b.right <= width + 1 && b.left >= -1) { clipped = true; break; }
      }
    }
    if (!clipped) found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''} [${Math.round(box.left)}, ${Math.round(box.right)}]`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, found: found.slice(0, 20)};
}"""


def fits_the_viewport(page):
    """Nothing sticks out past the right edge and the page does not scroll sideways."""
    result = page.evaluate(OVERFLOW)
    assert result["scrollWidth"] <= result["width"], f"the page scrolls sideways: {result}"
    assert result["found"] == [], f"elements stick out past the viewport: {result['found']}"


def axe_violations(page, *, impacts=("serious", "critical")):
    """axe-core's WCAG 2.1 A/AA violations of these impacts, as readable lines. axe is evaluated
    through the DevTools protocol, which the Content-Security-Policy does not govern."""
    page.evaluate(AXE)
    results = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                         resultTypes: ['violations']});
      return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in results if v["impact"] in impacts]


def accessible(page):
    violations = axe_violations(page)
    assert violations == [], "axe-core found:\n" + "\n".join(violations)


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 0
    return path


def holds_up(page, name):
    """The three checks, and a screenshot to look at."""
    screenshot(page, name)
    fits_the_viewport(page)
    accessible(page)
