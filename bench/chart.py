"""bench/chart.py - the benchmarks' charts, as SVG, with Python's standard
library only (no gnuplot): one dot per allocator and workload at the median
ratio to the baseline, and a whisker from the smallest to the largest
repetition's ratio (the spread the tables give as ±), on a log scale;
Okabe-Ito colours with a marker shape each (safe for colour-blind readers);
the date, commit and machine under the title.  Used by bench/run,
bench/arenas and bench/suite-chart.

    dot_chart(path, title, stamp, panels)

panels: a list of dict(title=..., categories=[...], series={name: [cell,
...]}), a cell being None (nothing), "FAIL", or (median, lo, hi) ratios.
"""
import math
from xml.sax.saxutils import escape

# Okabe-Ito, then greys for the yardsticks.
PALETTE = ["#D55E00", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#999999", "#000000"]
SHAPES = ["circle", "square", "diamond", "triangle", "down", "circle-open", "square-open", "diamond-open"]


def _marker(shape, x, y, colour, r=4.5):
    filled = not shape.endswith("-open")
    fill = colour if filled else "white"
    base = shape.replace("-open", "")
    style = 'fill="%s" stroke="%s" stroke-width="1.5"' % (fill, colour)
    if base == "circle":
        return '<circle cx="%.1f" cy="%.1f" r="%.1f" %s/>' % (x, y, r, style)
    if base == "square":
        return '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s/>' % (x - r, y - r, 2 * r, 2 * r, style)
    if base == "diamond":
        pts = [(x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)]
    elif base == "triangle":
        pts = [(x, y - r * 1.3), (x + r * 1.2, y + r), (x - r * 1.2, y + r)]
    else:  # down
        pts = [(x, y + r * 1.3), (x + r * 1.2, y - r), (x - r * 1.2, y - r)]
    return '<polygon points="%s" %s/>' % (" ".join("%.1f,%.1f" % p for p in pts), style)


def _text(x, y, s, size=12, anchor="start", extra=""):
    return '<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s"%s>%s</text>' % (
        x, y, size, anchor, extra, escape(s))


def _range(panel):
    vals = [v for cells in panel["series"].values() for c in cells if isinstance(c, tuple) for v in c if v > 0]
    lo = 10 ** (math.floor(math.log10(min(vals + [1.0]) / 1.1) * 2) / 2)
    hi = 10 ** (math.ceil(math.log10(max(vals + [1.0]) * 1.1) * 2) / 2)
    return lo, hi


def _ticks(lo, hi):
    out = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo <= v * (1 + 1e-9) and v <= hi * (1 + 1e-9):
                out.append(v)
    return out


def dot_chart(path, title, stamp, panels, baseline="glibc"):
    names = []
    for p in panels:
        for n in p["series"]:
            if n not in names:
                names.append(n)
    style = {n: (PALETTE[i % len(PALETTE)], SHAPES[i % len(SHAPES)]) for i, n in enumerate(names)}
    left, right, ph, gap = 70, 20, 300, 120
    ncat = max(len(p["categories"]) for p in panels)
    width = max(900, left + right + ncat * max(46, 12 * len(names)))
    height = 110 + len(panels) * (ph + gap)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           _text(left, 26, title, 17, extra=' font-weight="bold"'),
           _text(left, 46, stamp, 11, extra=' fill="#444"')]
    x = left
    for n in names:  # the legend
        colour, shape = style[n]
        out.append(_marker(shape, x + 5, 66, colour))
        out.append(_text(x + 14, 70, n, 12))
        x += 30 + 7.5 * len(n)
    out.append(_text(x + 10, 70, "marker: median of the repetitions; whisker: smallest to largest; "
                     "cross on the 1 line: failed", 11, extra=' fill="#444"'))
    top = 110
    for p in panels:
        cats = p["categories"]
        lo, hi = _range(p)
        plot_w = width - left - right
        slot = plot_w / len(cats)

        def py(v):
            return top + ph - ph * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

        out.append(_text(left, top - 12, p["title"], 14, extra=' font-weight="bold"'))
        for t in _ticks(lo, hi):
            y = py(t)
            out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"/>'
                       % (left, width - right, y, y, "#000" if abs(t - 1) < 1e-9 else "#ddd",
                          "1.5" if abs(t - 1) < 1e-9 else "1"))
            out.append(_text(left - 6, y + 4, ("%g" % t) + ("  " + baseline if abs(t - 1) < 1e-9 else ""), 11, "end"))
        for i, c in enumerate(cats):
            if i % 2:
                out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#f4f4f4"/>'
                           % (left + slot * i, top, slot, ph))
            out.append(_text(left + slot * (i + 0.5), top + ph + 16 + 14 * (i % 2), c, 11, "middle"))
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#000" stroke-width="1.5"/>'
                   % (left, width - right, py(1), py(1)))
        k = len(p["series"])
        for j, (n, cells) in enumerate(p["series"].items()):
            colour, shape = style[n]
            for i, cell in enumerate(cells):
                if cell is None:
                    continue
                x = left + slot * i + slot * (j + 1) / (k + 1)
                if cell == "FAIL":  # a cross on the 1 line
                    out.append('<g stroke="%s" stroke-width="2"><title>%s, %s: FAIL</title>'
                               '<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/></g>'
                               % (colour, escape(n), escape(cats[i]), x - 4, py(1) - 4, x + 4, py(1) + 4,
                                  x - 4, py(1) + 4, x + 4, py(1) - 4))
                    continue
                med, a, b = cell
                out.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>'
                           % (x, x, py(max(a, lo)), py(min(b, hi)), colour))
                out.append('<g>%s<title>%s, %s: %.2f (%.2f to %.2f)</title></g>'
                           % (_marker(shape, x, py(med), colour), escape(n), escape(cats[i]), med, a, b))
        out.append(_text(width - right, top + ph + 60, p.get("note", ""), 11, "end", extra=' fill="#444"'))
        top += ph + gap
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path
