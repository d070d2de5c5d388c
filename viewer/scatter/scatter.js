// Glue between a Streamlit components-v2 mount (or standalone_page()) and regl-scatterplot, whose bundle is
// prepended to this file as the IIFE `reglScatterplot`. Streamlit calls the default export on every rerun whose
// data changed, and the cleanup it returns only on unmount, so one view lives per parent element.
/* global reglScatterplot */

const GREY = '#dddddd';
const PAD = 0.05; // the data's box fills [-1 + PAD, 1 - PAD] of the canvas both ways (tests rely on it)
const views = new WeakMap();

function hasWebgl() {
  try {
    return !!document.createElement('canvas').getContext('webgl');
  } catch {
    return false;
  }
}

// One accessor over both kinds of `points`: an Arrow Table from Streamlit, or an object of arrays.
function table(points) {
  if (typeof points.getChild === 'function') {
    const column = (c) => points.getChild(c);
    return { n: points.numRows, column: (c) => column(c).toArray(), value: (c, i) => column(c).get(i) };
  }
  return { n: points.x.length, column: (c) => points[c], value: (c, i) => points[c][i] };
}

// Data coordinates to [-1, 1] per axis; the canvas then shows [-1, 1]² whole (aspectRatio = width / height).
function normalise(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? (2 - 2 * PAD) / (hi - lo) : 0;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = -1 + PAD + (values[i] - lo) * scale;
  return out;
}

function format(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && !Number.isInteger(value)) return value.toFixed(3);
  return String(value);
}

function el(tag, className, parent) {
  const node = document.createElement(tag);
  node.className = className;
  parent.appendChild(node);
  return node;
}

function createView(parentElement, height) {
  const root = el('div', 'rl-scatter', parentElement);
  const legend = el('div', 'rl-scatter-legend', root);
  const frame = el('div', 'rl-scatter-frame', root);
  frame.style.height = `${height}px`;
  const view = { root, legend, frame, plot: null, digest: null, style: null, lasso: [], lassoing: false };
  view.queue = Promise.resolve(); // updates run one after another: the library refuses a draw during a draw
  view.destroy = () => {
    view.resize?.disconnect();
    view.plot?.destroy();
    root.remove();
    views.delete(parentElement);
  };
  if (!hasWebgl()) return view;
  const canvas = el('canvas', 'rl-scatter-canvas', frame);
  const tooltip = el('div', 'rl-scatter-tooltip', frame);
  const width = frame.clientWidth || 600;
  let plot;
  try {
    plot = reglScatterplot.default({
      canvas, width, height, aspectRatio: width / height, backgroundColor: '#ffffff',
      pointColorHover: '#262730', pointColorActive: '#ff4b4b', lassoColor: '#262730',
      lassoMinDelay: 5, deselectOnDblClick: true, deselectOnEscape: true,
    });
  } catch (error) {
    console.error('regl-scatterplot failed to start', error);
    canvas.remove();
    return view;
  }
  view.plot = plot;
  const ids = () => view.data.column('text_id');
  const report = (indices) => {
    const all = ids();
    if (indices.length || view.lasso.length) view.setStateValue('selected', Array.from(indices, (i) => Number(all[i])));
    view.lasso = indices;
  };
  // A click selects one point in the library: it opens that text, and the lasso selection is put back.
  plot.subscribe('select', ({ points }) => {
    if (view.lassoing) return;
    view.setTriggerValue('opened', Number(ids()[points[0]]));
    plot.select(view.lasso, { preventEvent: true });
  });
  plot.subscribe('lassoStart', () => {
    view.lassoing = true;
  });
  plot.subscribe('lassoEnd', () => {
    view.lassoing = false;
    report(plot.get('selectedPoints'));
  });
  plot.subscribe('deselect', () => {
    if (!view.lassoing && view.lasso.length) report([]);
  });
  // Hover: the point's tooltip columns, as text only, next to the point.
  plot.subscribe('pointover', (i) => {
    tooltip.replaceChildren();
    view.tooltip.forEach((c, j) => {
      const row = el('div', '', tooltip);
      el('b', '', row).textContent = `${view.titles[j]}: `;
      row.append(format(view.data.value(c, i)));
    });
    const [x, y] = plot.getScreenPosition(i);
    tooltip.style.display = 'block';
    const left = x + 12 + tooltip.offsetWidth > frame.clientWidth ? x - 12 - tooltip.offsetWidth : x + 12;
    tooltip.style.left = `${Math.max(0, left)}px`;
    tooltip.style.top = `${Math.max(0, Math.min(y + 12, frame.clientHeight - tooltip.offsetHeight))}px`;
  });
  const hide = () => {
    tooltip.style.display = 'none';
  };
  plot.subscribe('pointout', hide);
  plot.subscribe('lassoStart', hide);
  canvas.addEventListener('wheel', hide);
  // The container's width follows the page; the data keeps filling the canvas.
  view.resize = new ResizeObserver(() => {
    const w = frame.clientWidth;
    const h = frame.clientHeight;
    if (w > 0 && h > 0 && (w !== plot.get('width') || h !== plot.get('height'))) {
      plot.set({ width: w, height: h, aspectRatio: w / h });
    }
  });
  view.resize.observe(frame);
  return view;
}

function drawLegend(view, palette, legend, highlight) {
  view.legend.replaceChildren();
  legend.forEach((name, i) => {
    const item = el('span', 'rl-scatter-legend-item', view.legend);
    el('span', 'rl-scatter-swatch', item).style.background = highlight == null || highlight === i ? palette[i] : GREY;
    item.append(name);
  });
}

async function update(view, data) {
  const { points, digest, palette, legend, highlight, height, tooltip } = data;
  const style = JSON.stringify([palette, legend, highlight, height]);
  const { plot } = view;
  if (style !== view.style) {
    view.style = style;
    drawLegend(view, palette, legend, highlight);
    view.frame.style.height = `${height}px`;
    if (plot && plot.get('height') !== height) {
      const w = view.frame.clientWidth || plot.get('width');
      plot.set({ height, width: w, aspectRatio: w / height });
    }
    const colors = palette.map((c, i) => (highlight == null || highlight === i ? c : GREY));
    plot?.set({ pointColor: colors, colorBy: 'valueA' });
  }
  if (!plot) {
    view.root.dataset.webgl = 'false';
    view.frame.textContent = 'This browser cannot draw WebGL, so the map is not shown here.';
    if (!view.reportedNoWebgl) view.setStateValue('webgl', false);
    view.reportedNoWebgl = true;
    return;
  }
  view.tooltip = tooltip;
  view.titles = data.titles ?? tooltip;
  if (digest === view.digest) return;
  view.digest = digest;
  view.data = table(points);
  const n = view.data.n;
  const base = n > 200000 ? 2 : n > 20000 ? 3 : 5;
  const hasSize = data.size;
  plot.set({
    pointSize: hasSize ? Array.from({ length: 8 }, (_, i) => base + (i * base * 1.5) / 7) : base,
    sizeBy: hasSize ? 'valueB' : null,
    opacity: n > 200000 ? 0.6 : 0.85,
  });
  const drawn = {
    x: normalise(view.data.column('x')),
    y: normalise(view.data.column('y')),
    z: view.data.column('__color'),
    w: hasSize ? view.data.column('__size') : new Float32Array(n),
  };
  // New points: the old selection's indices mean nothing any more.
  plot.deselect({ preventEvent: true });
  if (view.lasso.length) view.setStateValue('selected', []);
  view.lasso = [];
  view.root.removeAttribute('data-drawn');
  await plot.draw(drawn, { zDataType: 'categorical', wDataType: 'continuous' });
  // Two animation frames: regl renders on the next one, and the one after comes once it is painted.
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  if (view.digest === digest) view.root.dataset.drawn = String(n);
}

export default function mount(component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let view = views.get(parentElement);
  if (!view) {
    view = createView(parentElement, data.height);
    views.set(parentElement, view);
  }
  Object.assign(view, { setStateValue, setTriggerValue });
  view.queue = view.queue.then(() => update(view, data)).catch((error) => console.error('scatter map', error));
  return view.destroy;
}
