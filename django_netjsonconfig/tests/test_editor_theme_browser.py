"""
The advanced mode's code editor (CodeMirror) in the admin's light and dark
modes, in a real browser (Debian's headless Chromium driven by Playwright
against a live server): the dark mode of the system or of the admin's theme
toggle gives the editor One Dark, every text of the editor at 4.5:1 at
least against what is behind it; the light mode keeps CodeMirror's colours.
Any JavaScript error, failed request or HTTP error fails the test.
"""

import re

from playwright.sync_api import expect

from django_netjsonconfig.tests.test_editor_browser import EditorTestCase

#: every visible text of the editor: its colour, the colour behind it (the
#: backgrounds of its ancestors composed) and their contrast ratio (WCAG 2)
TEXT_CONTRAST = """editor => {
    const parse = text => { const v = text.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1] }
    const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1])
    const behind = element => {
        const layers = []
        for (let node = element; node; node = node.parentElement) {
            const color = parse(getComputedStyle(node).backgroundColor)
            if (color[3] > 0) layers.push(color)
            if (color[3] === 1) break
        }
        return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1])
    }
    const luminance = rgb => {
        const [r, g, b] = rgb.slice(0, 3).map(v => v / 255).map(v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    }
    const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05) }
    return [...editor.querySelectorAll('*')]
        .filter(element => element.checkVisibility({ visibilityProperty: true, opacityProperty: true }) && [...element.childNodes].some(node => node.nodeType === 3 && node.textContent.trim()))
        .map(element => {
            const background = behind(element)
            const color = over(parse(getComputedStyle(element).color), background)
            return {
                text: [...element.childNodes].filter(node => node.nodeType === 3).map(node => node.textContent).join('').trim(),
                color: getComputedStyle(element).color,
                background: `rgb(${background.slice(0, 3).map(Math.round).join(', ')})`,
                ratio: ratio(color, background),
            }
        })
}"""

CONFIG = {
    "general": {"description": "lobby"},
    "interfaces": [{"name": "eth0", "type": "ethernet", "mtu": 1500, "disabled": False}],
}
#: CodeMirror's default light colours of a string, a number and a boolean, and its background
LIGHT = {'"lobby"': "rgb(170, 17, 17)", "1500": "rgb(17, 102, 68)", "false": "rgb(34, 17, 153)"}
#: the same in One Dark
DARK = {'"lobby"': "rgb(152, 195, 121)", "1500": "rgb(229, 192, 123)", "false": "rgb(209, 154, 102)"}


class TestCodeEditorTheme(EditorTestCase):
    def _advanced_mode(self, color_scheme):
        self.context.close()
        self.open_page(color_scheme=color_scheme)
        template = self._create_template(name="lobby", config=CONFIG)
        self._open(self.template_model, "change", template.pk)
        self.page.click(".advanced-mode")
        expect(self.page.locator(".djnjc-codeeditor .cm-content")).to_contain_text('"lobby"')

    def _token_colors(self):
        tokens = self.page.locator(".djnjc-codeeditor .cm-content span")
        return {
            text: tokens.filter(has_text=re.compile(f"^{re.escape(text)}$")).first.evaluate(
                "e => getComputedStyle(e).color"
            )
            for text in LIGHT
        }

    def _background(self, selector=".cm-editor"):
        return self.page.locator(f".djnjc-codeeditor {selector}").evaluate("e => getComputedStyle(e).backgroundColor")

    def assertReadable(self):
        texts = self.page.locator(".djnjc-codeeditor .cm-editor").evaluate(TEXT_CONTRAST)
        self.assertGreater(len(texts), 20)
        self.assertEqual([text for text in texts if text["ratio"] < 4.5], [])

    def _toggle_theme(self, expected):
        self.page.locator("button.theme-toggle").click()
        expect(self.page.locator("html")).to_have_attribute("data-theme", expected)

    def test_dark_system_preference_gives_a_readable_dark_editor(self):
        self._advanced_mode("dark")
        self.assertReadable()
        self.assertEqual(self._token_colors(), DARK)
        # on the admin's dark background, the line numbers too
        self.assertEqual([self._background(), self._background(".cm-gutters")], ["rgb(18, 18, 18)"] * 2)
        # the admin's theme toggle: light (from "auto", dark here)
        self._toggle_theme("light")
        self.assertEqual(self._token_colors(), LIGHT)
        self.assertReadable()

    def test_light_mode_keeps_codemirror_colours_and_follows_a_switch_to_dark(self):
        self._advanced_mode("light")
        self.assertEqual(self._token_colors(), LIGHT)
        self.assertEqual(self._background(), "rgb(255, 255, 255)")
        self.assertEqual(self._background(".cm-gutters"), "rgb(245, 245, 245)")
        self.assertReadable()
        # the system's preference changes while the page is open (the admin's theme is "auto")
        self.page.emulate_media(color_scheme="dark")
        expect(self.page.locator(".djnjc-codeeditor .cm-editor")).to_have_class(re.compile("djnjc-cm-dark"))
        self.assertEqual(self._token_colors(), DARK)
        self.page.emulate_media(color_scheme="light")
        expect(self.page.locator(".djnjc-codeeditor .cm-editor")).not_to_have_class(re.compile("djnjc-cm-dark"))
        self.assertEqual(self._token_colors(), LIGHT)
        self._toggle_theme("dark")
        self.assertEqual(self._token_colors(), DARK)
        self.assertReadable()
        # and back to light
        self._toggle_theme("light")
        self.assertEqual(self._token_colors(), LIGHT)
