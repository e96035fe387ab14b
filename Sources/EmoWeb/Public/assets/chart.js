// A small SVG line chart of counts per emoji over the last 60 bursts (windows), and the table beneath it
// with the same numbers (for screen readers, and for anyone who wants them).

const SVG = "http://www.w3.org/2000/svg";
const WINDOWS = 60;
const SERIES = 6;
const COLORS = ["#ffb547", "#5ad1ff", "#ff6b9a", "#8cf07a", "#b28dff", "#ffe066"];
const PAD_L = 40, PAD_R = 10, PAD_T = 10, PAD_B = 10;

export class Chart {
  constructor({ svg, table }) {
    this.svg = svg;
    this.body = table.tBodies[0];
    this.windows = []; // [{seq, counts: Map}]
    new ResizeObserver(() => { if (this.windows.length) this.render(); }).observe(svg);
  }

  add(burst) {
    this.windows.push({ seq: burst.seq, counts: new Map(burst.emojis.map((e) => [e.emoji_type, e.count])) });
    if (this.windows.length > WINDOWS) this.windows.splice(0, this.windows.length - WINDOWS);
    this.render();
  }

  reset() {
    this.windows = [];
    this.render();
  }

  totals() {
    const sums = new Map();
    for (const w of this.windows) for (const [emoji, n] of w.counts) sums.set(emoji, (sums.get(emoji) || 0) + n);
    return [...sums].sort((a, b) => b[1] - a[1]);
  }

  render() {
    // Draw in the SVG's own pixels, so text and dots keep their shape at any width.
    const W = Math.max(200, Math.round(this.svg.clientWidth || 600));
    const H = Math.max(120, Math.round(this.svg.clientHeight || 220));
    this.svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const totals = this.totals();
    const shown = totals.slice(0, SERIES).map(([emoji]) => emoji);
    const max = niceMax(Math.max(1, ...this.windows.flatMap((w) => shown.map((e) => w.counts.get(e) || 0))));
    const x = (i) => PAD_L + (i / (WINDOWS - 1)) * (W - PAD_L - PAD_R);
    const y = (v) => PAD_T + (1 - v / max) * (H - PAD_T - PAD_B);
    const offset = WINDOWS - this.windows.length;

    const nodes = [];
    for (const tick of [0, max / 2, max]) {
      nodes.push(el("line", { x1: PAD_L, x2: W - PAD_R, y1: y(tick), y2: y(tick), class: "grid" }));
      nodes.push(el("text", { x: PAD_L - 6, y: y(tick) + 4, class: "axis", "text-anchor": "end" }, formatCount(tick)));
    }
    shown.forEach((emoji, index) => {
      const points = this.windows.map((w, i) => `${x(i + offset).toFixed(1)},${y(w.counts.get(emoji) || 0).toFixed(1)}`);
      const color = COLORS[index % COLORS.length];
      nodes.push(el("polyline", { points: points.join(" "), stroke: color, class: "series", "data-emoji": emoji }));
      const last = this.windows.at(-1);
      if (last) {
        nodes.push(el("circle", { cx: x(WINDOWS - 1), cy: y(last.counts.get(emoji) || 0), r: 3.5, fill: color }));
      }
    });
    this.svg.replaceChildren(this.svg.querySelector("desc"), ...nodes);

    const last = this.windows.at(-1);
    const rows = totals.map(([emoji, sum]) => {
      const row = document.createElement("tr");
      row.dataset.emoji = emoji;
      row.dataset.last = String(last?.counts.get(emoji) || 0);
      row.dataset.sum = String(sum);
      const index = shown.indexOf(emoji);
      const head = document.createElement("th");
      head.scope = "row";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      if (index >= 0) swatch.style.setProperty("--color", COLORS[index % COLORS.length]);
      head.append(swatch, emoji);
      row.append(head, cell(row.dataset.last), cell(String(sum)));
      return row;
    });
    this.body.replaceChildren(...rows);
  }
}

function el(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function niceMax(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatCount(value) {
  if (value >= 1e6) return (value / 1e6).toFixed(value % 1e6 ? 1 : 0) + "M";
  if (value >= 1e3) return (value / 1e3).toFixed(value % 1e3 ? 1 : 0) + "k";
  return String(Math.round(value * 10) / 10);
}
