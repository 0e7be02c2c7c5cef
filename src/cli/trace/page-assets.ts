/**
 * The inline style and script of a timeline page. The script only moves what the server drew:
 * it maps each element's times (`data-s`, `data-d`, in µs) to x for the visible window, so
 * zooming keeps text and strokes crisp. It sets `document.body.dataset.renderMs` when done.
 */

export const PAGE_STYLE = `
:root { font: 13px/1.4 system-ui, sans-serif; color: #212529; background: #fff; }
body { margin: 0 16px 24px; }
h1 { font-size: 20px; margin: 14px 0 4px; }
h2 { font-size: 15px; margin: 18px 0 2px; }
.intro, .note { margin: 2px 0 6px; max-width: 70em; color: #495057; }
header { position: sticky; top: 0; background: #fff; z-index: 2; padding-bottom: 6px; border-bottom: 1px solid #dee2e6; }
.bar { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; justify-content: space-between; }
.legend { display: flex; flex-wrap: wrap; gap: 10px; }
.key i { display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: -1px; border-radius: 2px; }
.zoom button { font: inherit; min-width: 30px; margin-right: 4px; cursor: pointer; }
.hint { color: #868e96; margin-left: 6px; }
svg.chart { display: block; user-select: none; cursor: grab; overflow: visible; }
svg.chart.dragging { cursor: grabbing; }
.lane-bg { fill: #fff; }
.lane:nth-child(even) .lane-bg { fill: #f8f9fa; }
.lane-label { font-size: 10px; fill: #495057; }
.span-label { font-size: 9px; fill: #fff; pointer-events: none; }
.mark-label { font-size: 9px; fill: #212529; pointer-events: none; }
.lk-run, .lk-sleep { fill: #343a40; }
.mark-label.lk-overwrote, .mark-label.lk-lost { fill: #c92a2a; font-weight: 600; }
.axis text { font-size: 10px; fill: #868e96; }
.axis line { stroke: #e9ecef; }
.span { stroke: none; }
.k-run { fill: #e7f5ff; } i.k-run { background: #e7f5ff; border: 1px solid #a5d8ff; }
.span.k-run { stroke: #a5d8ff; stroke-width: 1; }
.k-wait { fill: #f08c00; } i.k-wait { background: #f08c00; }
.k-hold { fill: #2f9e44; } i.k-hold { background: #2f9e44; }
.k-mark { fill: #4263eb; } i.k-mark { background: #4263eb; }
.k-pool { fill: #9c36b5; } i.k-pool { background: #9c36b5; }
.k-lifetime { fill: #495057; } i.k-lifetime { background: #495057; }
.k-read { fill: #1971c2; } i.k-read { background: #1971c2; }
.k-sleep { fill: #ced4da; } i.k-sleep { background: #ced4da; }
.k-write { fill: #2b8a3e; } i.k-write { background: #2b8a3e; }
.k-lost { fill: #fff; stroke: #e03131; stroke-width: 2; } i.k-lost { background: #fff; border: 2px solid #e03131; box-sizing: border-box; border-radius: 50%; width: 10px; }
.mark.k-write { fill: #2b8a3e; } .mark.k-overwrote { fill: #e03131; stroke: #fff; stroke-width: .5; }
.k-overwrote { fill: #e03131; } i.k-overwrote { background: #e03131; }
.link { stroke: #e03131; stroke-width: 1.2; fill: none; opacity: .75; }
.arrow-head { fill: #e03131; }
.span:hover, .mark:hover { opacity: .7; }
#tip { position: fixed; z-index: 3; max-width: 32em; padding: 4px 8px; background: #212529; color: #f8f9fa; border-radius: 4px; font-size: 12px; pointer-events: none; white-space: pre-line; }
`;

export const PAGE_SCRIPT = `(() => {
  const LABEL_W = 190, MIN_PX = 2;
  const tip = document.getElementById('tip');
  const views = [];
  for (const section of document.querySelectorAll('section.timeline')) {
    const svg = section.querySelector('svg.chart');
    const extent = Number(section.dataset.extent);
    const num = (el, k) => Number(el.dataset[k]);
    const spans = Array.from(svg.querySelectorAll('.span'), (el) => [el, num(el, 's'), num(el, 'd')]);
    const labels = Array.from(svg.querySelectorAll('.span-label'), (el) => [el, num(el, 's'), num(el, 'd'), el.textContent.length * 5.5 + 4]);
    const marks = Array.from(svg.querySelectorAll('.mark'), (el) => [el, num(el, 's'), num(el, 'y')]);
    const markLabels = Array.from(svg.querySelectorAll('.mark-label'), (el) => [el, num(el, 's')]);
    const links = Array.from(svg.querySelectorAll('.link'), (el) => [el, num(el, 's1'), num(el, 's2')]);
    for (const el of svg.querySelectorAll('title')) { el.parentNode.dataset.tip = el.textContent; el.remove(); }
    const view = { svg, extent, a: 0, b: extent, width: 0 };
    const axis = svg.querySelector('.axis');
    const height = Number(axis.dataset.h);
    view.layout = () => {
      const W = Math.max(400, section.clientWidth);
      view.width = W;
      svg.setAttribute('width', W);
      svg.setAttribute('viewBox', '0 0 ' + W + ' ' + height);
      svg.querySelector('.clip').setAttribute('width', W - LABEL_W);
      const k = (W - LABEL_W - 10) / (view.b - view.a);
      const x = (t) => LABEL_W + (t - view.a) * k;
      for (const [el, s, d] of spans) { el.setAttribute('x', x(s)); el.setAttribute('width', Math.max(MIN_PX, d * k)); }
      for (const [el, s, d, need] of labels) { el.setAttribute('x', x(s) + 2); el.style.display = d * k >= need ? '' : 'none'; }
      for (const [el, s, y] of marks) el.setAttribute('transform', 'translate(' + x(s) + ',' + y + ')');
      for (const [el, s] of markLabels) el.setAttribute('x', x(s) + 7);
      for (const [el, s1, s2] of links) { el.setAttribute('x1', x(s1)); el.setAttribute('x2', x(s2)); }
      const span = view.b - view.a, raw = span / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));
      const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
      const unit = step >= 1000 ? [1000, ' ms'] : [1, ' µs'];
      let out = '';
      for (let t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
        const px = x(t).toFixed(1);
        out += '<line x1="' + px + '" x2="' + px + '" y1="16" y2="' + height + '"/><text x="' + px + '" y="12" text-anchor="middle">' + +(t / unit[0]).toFixed(3) + unit[1] + '</text>';
      }
      axis.innerHTML = out;
    };
    view.zoom = (factor, at) => {
      const span = view.b - view.a;
      const next = Math.min(view.extent, Math.max(view.extent / 1e5, span / factor));
      const anchor = at ?? view.a + span / 2;
      const f = (anchor - view.a) / span;
      view.a = Math.max(0, Math.min(view.extent - next, anchor - f * next));
      view.b = view.a + next;
      view.layout();
    };
    view.timeAt = (clientX) => {
      const r = svg.getBoundingClientRect();
      return view.a + ((clientX - r.left - LABEL_W) / (view.width - LABEL_W - 10)) * (view.b - view.a);
    };
    svg.addEventListener('wheel', (e) => {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      view.zoom(e.deltaY < 0 ? 1.25 : 0.8, view.timeAt(e.clientX));
    }, { passive: false });
    let drag;
    svg.addEventListener('pointerdown', (e) => { drag = { x: e.clientX, a: view.a }; svg.classList.add('dragging'); svg.setPointerCapture(e.pointerId); });
    svg.addEventListener('pointermove', (e) => {
      if (drag) {
        const span = view.b - view.a;
        const dt = ((e.clientX - drag.x) / (view.width - LABEL_W - 10)) * span;
        view.a = Math.max(0, Math.min(view.extent - span, drag.a - dt));
        view.b = view.a + span;
        view.layout();
      }
    });
    const endDrag = () => { drag = undefined; svg.classList.remove('dragging'); };
    svg.addEventListener('pointerup', endDrag);
    svg.addEventListener('pointercancel', endDrag);
    views.push(view);
  }
  document.addEventListener('mouseover', (e) => {
    const text = e.target && e.target.dataset ? e.target.dataset.tip : undefined;
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.hidden = false;
  });
  document.addEventListener('mousemove', (e) => {
    if (tip.hidden) return;
    tip.style.left = Math.min(e.clientX + 12, innerWidth - tip.offsetWidth - 8) + 'px';
    tip.style.top = e.clientY + 14 + 'px';
  });
  for (const b of document.querySelectorAll('[data-zoom]')) {
    b.addEventListener('click', () => {
      for (const v of views) {
        if (b.dataset.zoom === 'reset') { v.a = 0; v.b = v.extent; v.layout(); }
        else v.zoom(b.dataset.zoom === 'in' ? 2 : 0.5);
      }
    });
  }
  addEventListener('resize', () => views.forEach((v) => v.layout()));
  views.forEach((v) => v.layout());
  document.body.dataset.renderMs = performance.now().toFixed(1);
})();`;
