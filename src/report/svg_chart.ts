/**
 * Small SVG charts for reports: a bar chart and a log-log histogram. SVG
 * keeps text sharp and renders in browsers and in markdown viewers.
 *
 * @module
 */

const WIDTH = 900;
const HEIGHT = 460;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 150 };
const COLORS = [
  "#3366cc",
  "#dc3912",
  "#ff9900",
  "#109618",
  "#990099",
  "#0099c6",
];

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${
      escapeXml(title)
    }</text>`,
    ...body,
    "</svg>",
  ].join("\n");
}

/** Maps a value to a y pixel on a log10 axis spanning [lo, hi]. */
function logScale(lo: number, hi: number): (v: number) => number {
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  return (v) =>
    bottom -
    (Math.log10(Math.max(v, lo)) - Math.log10(lo)) /
      (Math.log10(hi) - Math.log10(lo)) * (bottom - top);
}

function logTicks(
  lo: number,
  hi: number,
  y: (v: number) => number,
  label: string,
): string[] {
  const out: string[] = [];
  for (
    let e = Math.ceil(Math.log10(lo));
    e <= Math.floor(Math.log10(hi));
    e++
  ) {
    const py = y(10 ** e);
    out.push(
      `<line x1="${MARGIN.left}" x2="${
        WIDTH - MARGIN.right
      }" y1="${py}" y2="${py}" stroke="#ddd"/>`,
    );
    out.push(
      `<text x="${MARGIN.left - 6}" y="${
        py + 4
      }" text-anchor="end">1e${e}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${
      (MARGIN.top + HEIGHT - MARGIN.bottom) / 2
    }) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`,
  );
  return out;
}

/** Bars on a log-scale y axis, one per label; zero values draw no bar. */
export function logBarChart(
  title: string,
  yLabel: string,
  labels: readonly string[],
  values: readonly number[],
): string {
  const positive = values.filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1e-6)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive, lo * 10)));
  const y = logScale(lo, hi);
  const slot = (WIDTH - MARGIN.left - MARGIN.right) /
    Math.max(labels.length, 1);
  const body = logTicks(lo, hi, y, yLabel);
  labels.forEach((label, i) => {
    const x = MARGIN.left + i * slot;
    if (values[i] > 0) {
      const top = y(values[i]);
      body.push(
        `<rect x="${x + slot * 0.15}" y="${top}" width="${
          slot * 0.7
        }" height="${HEIGHT - MARGIN.bottom - top}" fill="${
          COLORS[0]
        }"><title>${
          escapeXml(`${label}: ${values[i].toExponential(2)}`)
        }</title></rect>`,
      );
    }
    const lx = x + slot / 2;
    const ly = HEIGHT - MARGIN.bottom + 8;
    body.push(
      `<text transform="translate(${lx} ${ly}) rotate(60)" font-size="10">${
        escapeXml(label)
      }</text>`,
    );
  });
  return frame(title, body);
}

/** One histogram series: counts per bin. */
export interface HistogramSeries {
  /** Legend name. */
  readonly name: string;
  /** Count per bin; bin i spans [edges[i], edges[i+1]). */
  readonly counts: ArrayLike<number>;
}

/** Step histograms over log-spaced bins, log counts, with vertical markers (e.g. γ). */
export function logHistogram(
  title: string,
  xLabel: string,
  edges: readonly number[],
  series: readonly HistogramSeries[],
  markers: readonly { x: number; label: string }[] = [],
): string {
  const all = series.flatMap((s) => Array.from(s.counts)).filter((c) => c > 0);
  const lo = 1;
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
  const y = logScale(lo, hi);
  const xLo = Math.log10(edges[0]);
  const xHi = Math.log10(edges[edges.length - 1]);
  const x = (v: number) =>
    MARGIN.left +
    (Math.log10(v) - xLo) / (xHi - xLo) * (WIDTH - MARGIN.left - MARGIN.right);
  const body = logTicks(lo, hi, y, "elements");
  for (let e = Math.ceil(xLo); e <= xHi; e++) {
    body.push(
      `<text x="${x(10 ** e)}" y="${
        HEIGHT - MARGIN.bottom + 16
      }" text-anchor="middle">1e${e}</text>`,
    );
  }
  body.push(
    `<text x="${WIDTH / 2}" y="${
      HEIGHT - MARGIN.bottom + 36
    }" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  );
  series.forEach((s, k) => {
    const points: string[] = [];
    for (let i = 0; i + 1 < edges.length; i++) {
      const py = y(Math.max(s.counts[i], lo));
      points.push(`${x(edges[i])},${py}`, `${x(edges[i + 1])},${py}`);
    }
    const color = COLORS[k % COLORS.length];
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${
        points.join(" ")
      }"/>`,
    );
    const ly = HEIGHT - MARGIN.bottom + 56 + 14 * Math.floor(k / 4);
    const lx = MARGIN.left + (k % 4) * 200;
    body.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${color}"/>`,
    );
    body.push(`<text x="${lx + 16}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  for (const m of markers) {
    body.push(
      `<line x1="${x(m.x)}" x2="${x(m.x)}" y1="${MARGIN.top}" y2="${
        HEIGHT - MARGIN.bottom
      }" stroke="black" stroke-dasharray="4 3"/>`,
    );
    body.push(
      `<text x="${x(m.x) + 4}" y="${MARGIN.top + 12}">${
        escapeXml(m.label)
      }</text>`,
    );
  }
  return frame(title, body);
}

/** One line of a line chart. */
export interface LineSeries {
  /** Legend name. */
  readonly name: string;
  /** Points in data coordinates. */
  readonly points: readonly (readonly [number, number])[];
}

/** Lines on linear axes, e.g. a loss curve. */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly LineSeries[],
): string {
  const all = series.flatMap((s) => s.points);
  const [xLo, xHi] = [
    Math.min(...all.map((p) => p[0])),
    Math.max(...all.map((p) => p[0])),
  ];
  // The data's own range, so small changes (a loss near ln 2) stay visible.
  const [yLo, yHi] = [
    Math.min(...all.map((p) => p[1])),
    Math.max(...all.map((p) => p[1])),
  ];
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const x = (v: number) => left + (v - xLo) / (xHi - xLo || 1) * (right - left);
  const y = (v: number) =>
    bottom - (v - yLo) / (yHi - yLo || 1) * (bottom - top);
  const body: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = yLo + (yHi - yLo) * i / 4;
    body.push(
      `<line x1="${left}" x2="${right}" y1="${y(v)}" y2="${
        y(v)
      }" stroke="#ddd"/>`,
    );
    body.push(
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${
        v.toPrecision(3)
      }</text>`,
    );
    const u = xLo + (xHi - xLo) * i / 4;
    body.push(
      `<text x="${x(u)}" y="${bottom + 16}" text-anchor="middle">${
        Math.round(u)
      }</text>`,
    );
  }
  body.push(
    `<text x="${WIDTH / 2}" y="${bottom + 36}" text-anchor="middle">${
      escapeXml(xLabel)
    }</text>`,
  );
  body.push(
    `<text transform="translate(16 ${
      (top + bottom) / 2
    }) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    const points = s.points.map(([px, py]) => `${x(px)},${y(py)}`).join(" ");
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points}"/>`,
    );
    body.push(
      `<rect x="${left + k * 200}" y="${
        bottom + 47
      }" width="12" height="10" fill="${color}"/>`,
    );
    body.push(
      `<text x="${left + k * 200 + 16}" y="${bottom + 56}">${
        escapeXml(s.name)
      }</text>`,
    );
  });
  return frame(title, body);
}

/** One series of a grouped bar chart: a value per label. */
export interface BarSeries {
  /** Legend name. */
  readonly name: string;
  /** One value per label. */
  readonly values: readonly number[];
  /** Fill colour (default: the palette in series order). */
  readonly color?: string;
}

/**
 * Side-by-side bars on a linear y axis from 0, one group per label and one
 * bar per series — e.g. a range per layer before and after a rewrite.
 */
export function groupedBarChart(
  title: string,
  yLabel: string,
  labels: readonly string[],
  series: readonly BarSeries[],
): string {
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const hi = Math.max(...series.flatMap((s) => s.values), 1e-12) * 1.05;
  const y = (v: number) => bottom - v / hi * (bottom - top);
  const slot = (WIDTH - MARGIN.left - MARGIN.right) /
    Math.max(labels.length, 1);
  const bar = slot * 0.8 / Math.max(series.length, 1);
  const body: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = hi * i / 4;
    body.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${
        y(v)
      }" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${
        v.toPrecision(3)
      }</text>`,
    );
  }
  body.push(
    `<text transform="translate(16 ${
      (top + bottom) / 2
    }) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  labels.forEach((label, i) => {
    const x0 = MARGIN.left + i * slot + slot * 0.1;
    series.forEach((s, k) => {
      const v = s.values[i];
      body.push(
        `<rect x="${x0 + k * bar}" y="${y(v)}" width="${bar}" height="${
          bottom - y(v)
        }" fill="${s.color ?? COLORS[k % COLORS.length]}"><title>${
          escapeXml(`${label} ${s.name}: ${v.toPrecision(4)}`)
        }</title></rect>`,
      );
    });
    body.push(
      `<text transform="translate(${MARGIN.left + (i + 0.5) * slot} ${
        bottom + 8
      }) rotate(60)" font-size="10">${escapeXml(label)}</text>`,
    );
  });
  series.forEach((s, k) => {
    const lx = MARGIN.left + (k % 4) * 200;
    const ly = HEIGHT - 14 - 14 * Math.floor((series.length - 1 - k) / 4);
    body.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${
        s.color ?? COLORS[k % COLORS.length]
      }"/>`,
      `<text x="${lx + 16}" y="${ly}">${escapeXml(s.name)}</text>`,
    );
  });
  return frame(title, body);
}
