// etape dashboard: follows the change feed (server-sent events) and asks htmx to refresh the live region
// when something it shows has changed; draws the evidence charts with uPlot. Without this file every page
// still shows the truth as of its load.
(() => {
  const live = document.getElementById('live');
  const state = document.getElementById('live-state');
  const COLORS = ['#0b4f8a', '#7a4a00', '#13612e', '#6b2d91', '#8a0b4f', '#2d6b91', '#4f8a0b', '#914f2d'];
  const charts = new WeakMap();

  function drawCharts(root) {
    if (typeof uPlot === 'undefined') return;
    for (const el of root.querySelectorAll('.chart[data-chart]')) {
      let data;
      try {
        data = JSON.parse(el.dataset.chart);
      } catch {
        continue;
      }
      const times = [...new Set(data.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
      const index = new Map(times.map((t, i) => [t, i]));
      const cols = [times.map((t) => t / 1000)];
      const marks = [];
      for (const s of data.series) {
        const col = new Array(times.length).fill(null);
        const bad = new Array(times.length).fill(null);
        for (const [t, v, verdict] of s.points) {
          col[index.get(t)] = v;
          if (verdict === 1 || verdict === 2) bad[index.get(t)] = v ?? 0;
        }
        cols.push(col);
        marks.push(bad);
      }
      for (const m of marks) cols.push(m);
      const key = data.series.map((s) => s.label).join('|');
      const prev = charts.get(el);
      if (prev && prev.key === key && el.firstChild) {
        prev.u.setData(cols);
        continue;
      }
      if (prev) prev.u.destroy();
      el.textContent = '';
      const width = Math.max(280, Math.min(el.parentElement.clientWidth || 800, 1100));
      const series = [{}];
      data.series.forEach((s, i) =>
        series.push({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true, points: { show: false } }),
      );
      data.series.forEach((s) =>
        series.push({ label: `${s.label} failed/errored`, stroke: '#a3161b', width: 0, points: { show: true, size: 7, fill: '#a3161b' } }),
      );
      const u = new uPlot(
        {
          width,
          height: 180,
          series,
          axes: [{}, { label: data.unit === 'ms' ? 'ms' : data.unit === 'score' ? 'score' : 'value', size: 60 }],
          legend: { show: true },
          cursor: { drag: { x: true, y: false } },
        },
        cols,
        el,
      );
      charts.set(el, { u, key });
    }
  }

  drawCharts(document);
  document.addEventListener('htmx:after:settle', () => drawCharts(document));

  const topic = live && live.dataset.liveTopic;
  if (!topic || typeof EventSource === 'undefined') return;

  let busy = false;
  let again = false;
  function refresh() {
    if (typeof htmx === 'undefined') return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    htmx.trigger(live, 'etape:refresh');
  }
  document.addEventListener('htmx:finally:request', (e) => {
    if (e.target !== live) return;
    busy = false;
    if (again) {
      again = false;
      refresh();
    }
  });

  const evidenceLive = () => live.querySelector('[data-evidence="live"]') !== null;
  const es = new EventSource('/ui/live');
  const say = (text) => {
    if (state && state.textContent !== text) state.textContent = text;
  };
  es.addEventListener('hello', () => say('Live: this page follows changes as they happen.'));
  es.addEventListener('change', (e) => {
    let c;
    try {
      c = JSON.parse(e.data);
    } catch {
      return;
    }
    if (
      topic === 'rollouts' ||
      topic === 'fleet' ||
      (topic === 'incidents' && c.other) ||
      (topic.startsWith('rollout:') && c.rollouts.includes(topic.slice('rollout:'.length)))
    ) {
      refresh();
    }
  });
  es.addEventListener('evidence', () => {
    if (evidenceLive()) refresh();
  });
  es.onerror = () => say('Live updates interrupted; reconnecting…');
})();
