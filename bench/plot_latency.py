#!/usr/bin/env python3
"""Latency against throughput as an SVG (standard library only), from the CSV that
bench/throughput_figures.sh writes: one p50 and one p99 line per network size, x = achieved
finalized transactions per second, y = latency in ms (logarithmic).

    python3 bench/plot_latency.py figures.csv figures.svg
"""
import csv
import math
import sys
from collections import defaultdict

W, H = 720, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 30, 50
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def main(src, dst):
    series = defaultdict(list)
    with open(src, newline="") as f:
        for row in csv.DictReader(f):
            series[int(row["validators"])].append(
                (float(row["achieved_tx_s"]), float(row["p50_ms"]), float(row["p99_ms"])))
    if not series:
        sys.exit("no rows in " + src)
    xs = [p[0] for s in series.values() for p in s]
    ys = [v for s in series.values() for p in s for v in p[1:] if v > 0]
    x_max = max(xs) * 1.1 or 1
    y_lo = 10 ** math.floor(math.log10(min(ys))) if ys else 1
    y_hi = 10 ** math.ceil(math.log10(max(ys))) if ys else 10
    if y_hi <= y_lo:
        y_hi = y_lo * 10

    def px(x):
        return LEFT + (W - LEFT - RIGHT) * x / x_max

    def py(y):
        y = max(y, y_lo)
        return TOP + (H - TOP - BOTTOM) * (1 - (math.log10(y) - math.log10(y_lo)) /
                                          (math.log10(y_hi) - math.log10(y_lo)))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2 - 60}" y="18" font-size="14">Latency against throughput</text>']
    # Axes, grid and labels.
    out.append(f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="black"/>')
    step = 10 ** math.floor(math.log10(x_max / 2)) if x_max > 2 else 1
    x = 0.0
    while x <= x_max:
        out.append(f'<line x1="{px(x):.1f}" y1="{H - BOTTOM}" x2="{px(x):.1f}" y2="{TOP}" stroke="#eee"/>')
        out.append(f'<text x="{px(x) - 12:.1f}" y="{H - BOTTOM + 16}">{x:.0f}</text>')
        x += step
    y = y_lo
    while y <= y_hi * 1.001:
        out.append(f'<line x1="{LEFT}" y1="{py(y):.1f}" x2="{W - RIGHT}" y2="{py(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 45}" y="{py(y) + 4:.1f}">{y:g} ms</text>')
        y *= 10
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2 - 90}" y="{H - 12}">finalized transactions per second</text>')
    # One p50 (dashed) and one p99 (solid) line per network size.
    legend_y = TOP + 10
    for i, (n, points) in enumerate(sorted(series.items())):
        color = COLORS[i % len(COLORS)]
        points.sort()
        for idx, dash, name in ((1, "4 3", "p50"), (2, "", "p99")):
            pts = " ".join(f"{px(p[0]):.1f},{py(p[idx]):.1f}" for p in points)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"'
                       + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            for p in points:
                out.append(f'<circle cx="{px(p[0]):.1f}" cy="{py(p[idx]):.1f}" r="3" fill="{color}"/>')
            out.append(f'<line x1="{W - RIGHT + 15}" y1="{legend_y}" x2="{W - RIGHT + 45}" y2="{legend_y}" '
                       f'stroke="{color}" stroke-width="2"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            label = f"{n} validator{'s' if n != 1 else ''}, {name}"
            out.append(f'<text x="{W - RIGHT + 50}" y="{legend_y + 4}">{label}</text>')
            legend_y += 18
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
