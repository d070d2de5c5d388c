"""The texts the viewer and the report show as escaped HTML, never as charts: a text's heat maps, and what a
behavioural test case changed. Every word is escaped, so a text's markup shows as text and runs nothing."""

from __future__ import annotations

import difflib
import html

import pandas as pd

# Each direction's shades, lightest to darkest, as in Vega's greens and reds schemes.
HEAT_SHADES = {
    "toward": ((247, 252, 245), (116, 196, 118), (0, 68, 27)),
    "away": ((255, 245, 240), (251, 106, 74), (103, 0, 13)),
}
# The heat maps' look, shared by the viewer and the report: text that wraps as the page does.
HEAT_CSS = """
.heat { font-family: ui-monospace, monospace; font-size: 13px; line-height: 1.75; max-width: 60ch; }
.heat span { padding: 1px 2px; border-radius: 2px; }
.heat .unseen { color: #aaaaaa; }
"""


def _shade(direction: str, strength: float) -> str:
    """The colour of a push of `strength` (0 to 1): from the lightest to the darkest of the direction's shades."""
    light, middle, dark = HEAT_SHADES[direction]
    low, high, t = (light, middle, strength * 2) if strength < 0.5 else (middle, dark, strength * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high, strict=True))


def heat_map(tokens: pd.DataFrame, direction: str) -> str:
    """One model's push of every token toward a class or away from it (`direction`), as the text reads: darker
    is stronger, relative to the model's strongest token in the text.

    Escaped HTML, one element per token, its score in the title. Tokens pushing the other way are left unshaded;
    tokens the model never saw (cut off by truncation) are grey and unscored.
    """
    sign = 1 if direction == "toward" else -1
    words = []
    for token in tokens.itertuples():
        text = html.escape(token.token)
        if not token.seen:
            words.append(f'<span class="unseen" title="not seen: cut off">{text}</span>')
            continue
        strength = max(sign * token.relative, 0.0) if token.relative == token.relative else 0.0
        title = f'title="{token.score:+.4f} toward the class"'
        if strength > 0:
            ink = "; color: #ffffff" if strength > 0.6 else ""
            words.append(f'<span style="background: {_shade(direction, strength)}{ink}" {title}>{text}</span>')
        else:
            words.append(f"<span {title}>{text}</span>")
    return f'<div class="heat" data-direction="{direction}">{" ".join(words)}</div>'


def marked_change(before: str | None, after: str, context: int = 20) -> tuple[str, str]:
    """The words a case changed, marked in both texts, as escaped HTML: only the stretches around the changes,
    `context` words either side. A made-up text (no before) is shown whole."""
    if before is None:
        return "", html.escape(after)
    old, new = before.split(), after.split()
    changed_old, changed_new = set(), set()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op != "equal":
            changed_old.update(range(i1, i2))
            changed_new.update(range(j1, j2))
    return _excerpt(old, changed_old, context), _excerpt(new, changed_new, context)


def _excerpt(words: list[str], changed: set[int], context: int) -> str:
    near = {i for c in changed for i in range(c - context, c + context + 1) if 0 <= i < len(words)}
    parts, last = [], -1
    for i in sorted(near or range(min(len(words), 2 * context))):
        if i != last + 1:
            parts.append("…")
        word = html.escape(words[i])
        parts.append(f"<mark>{word}</mark>" if i in changed else word)
        last = i
    if last < len(words) - 1:
        parts.append("…")
    return " ".join(parts)
