// A small line chart on a canvas: enough for loss curves, no library.
export class LineChart {
  constructor(canvas, options = {}) {
    this.canvas = canvas;
    this.series = new Map(); // name -> {color, points: [[x, y]]}
    this.logY = !!options.logY;
    this.pending = false;
  }

  add(name, color, x, y) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    if (!this.series.has(name)) this.series.set(name, { color, points: [] });
    this.series.get(name).points.push([x, y]);
    this.canvas.dataset.points = this.count();
    this.schedule();
  }

  clear() {
    this.series.clear();
    this.canvas.dataset.points = 0;
    this.schedule();
  }

  count() {
    let n = 0;
    for (const s of this.series.values()) n += s.points.length;
    return n;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 380, h = c.clientHeight || 200;
    c.width = w * dpr; c.height = h * dpr;
    const g = c.getContext('2d');
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, h);
    const all = [...this.series.values()].flatMap(s => s.points);
    if (!all.length) { g.fillStyle = '#999'; g.fillText('waiting for data…', 10, 20); return; }
    const fy = v => this.logY ? Math.log10(Math.max(v, 1e-12)) : v;
    let x0 = Math.min(...all.map(p => p[0])), x1 = Math.max(...all.map(p => p[0]));
    let y0 = Math.min(...all.map(p => fy(p[1]))), y1 = Math.max(...all.map(p => fy(p[1])));
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) { const pad = Math.abs(y0) * 0.1 || 0.5; y1 += pad; y0 -= pad; }
    const L = 48, R = 8, T = 8, B = 20;
    const px = x => L + (x - x0) / (x1 - x0) * (w - L - R);
    const py = y => T + (1 - (fy(y) - y0) / (y1 - y0)) * (h - T - B);
    g.strokeStyle = '#ccc'; g.fillStyle = '#666'; g.font = '11px system-ui';
    g.beginPath(); g.moveTo(L, T); g.lineTo(L, h - B); g.lineTo(w - R, h - B); g.stroke();
    const fmt = v => Math.abs(v) >= 1000 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
    g.fillText(fmt(this.logY ? 10 ** y1 : y1), 2, T + 8);
    g.fillText(fmt(this.logY ? 10 ** y0 : y0), 2, h - B);
    g.fillText(String(x0), L, h - 5);
    g.fillText(String(x1), w - R - 30, h - 5);
    let ly = T + 12;
    for (const [name, s] of this.series) {
      g.strokeStyle = s.color; g.lineWidth = 1.5;
      g.beginPath();
      s.points.forEach(([x, y], i) => i ? g.lineTo(px(x), py(y)) : g.moveTo(px(x), py(y)));
      g.stroke();
      if (s.points.length === 1) { g.fillStyle = s.color; g.fillRect(px(s.points[0][0]) - 2, py(s.points[0][1]) - 2, 4, 4); }
      g.fillStyle = s.color; g.fillText(name, w - R - 90, ly); ly += 13;
    }
  }
}
