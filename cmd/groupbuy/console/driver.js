// The driver's page: one route, opened from the QR code on its route sheet.
// The pass is the URL's fragment (#route.expiry.check), sent as
// X-Driver-Pass; it opens this route only, until its delivery day ends.

import { h, fill, hhmm } from './dom.js';

const pass = decodeURIComponent(location.hash.slice(1));
const routeID = Number(pass.split('.')[0]);
const base = `/api/v1/driver/routes/${routeID}`;
const STATES = { pending: '待发车', dispatched: '在途', arrived: '已到达', received: '已签收' };
const box = document.getElementById('driver');
const problem = document.getElementById('driver-error');

async function call(method, path) {
  const res = await fetch(path, { method, headers: { 'X-Driver-Pass': pass, Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try { message = (await res.json()).error.message || message; } catch { /* not the envelope */ }
    throw new Error(res.status === 403 ? '此二维码不是这条线路的，或已过期。' : message);
  }
  return res.json();
}

function show(e) {
  problem.hidden = !e;
  problem.textContent = e ? e.message : '';
}

/** geo is the stop as a geo: URI, which a phone opens in its map app. */
const geo = (st) => `geo:${st.lat},${st.lng}?q=${st.lat},${st.lng}(${encodeURIComponent(st.name)})`;

function stopCard(r, st) {
  const act = (label, what, enabled) => h('button', {
    type: 'button', class: `big ${what}`, 'data-action': what, disabled: !enabled,
    onclick: async (ev) => {
      ev.currentTarget.disabled = true;
      try {
        await call('POST', `${base}/stops/${st.seq}/${what}`);
        show(null);
      } catch (e) { show(e); }
      await load();
    },
  }, label);
  const onTruck = r.dispatched_at && st.state && st.state !== 'pending';
  return h('li', { class: `stop ${st.handed_over_at ? 'done' : ''}`, 'data-seq': st.seq },
    h('div', { class: 'head' }, h('span', { class: 'seq' }, st.seq), h('strong', null, st.name),
      h('span', { class: 'state', 'data-state': st.state || '' }, st.handed_over_at ? '已交付' : STATES[st.state] || '—')),
    st.address && h('p', { class: 'address' }, st.address),
    h('p', { class: 'meta' }, `预计 ${hhmm(st.eta, r.time_zone)} · ${st.bags} 袋`),
    h('div', { class: 'buttons' },
      h('a', { class: 'big navigate', href: geo(st) }, '导航'),
      act('到达', 'arrive', onTruck && !st.arrived_at),
      act('已交付', 'deliver', onTruck && !st.handed_over_at)));
}

async function load() {
  try {
    const r = await call('GET', base);
    const done = r.stops.filter((st) => st.handed_over_at).length;
    fill(box,
      h('h1', null, `线路 ${r.code}`),
      h('p', { class: 'meta' }, `${r.delivery_date} · ${r.vehicle} · 已交付 ${done} / ${r.stops.length} 站`),
      !r.dispatched_at && h('p', { class: 'waiting' }, '尚未发车：仓库发车后可以标记到达。'),
      h('ol', { class: 'driver-stops' }, r.stops.map((st) => stopCard(r, st))));
  } catch (e) {
    show(e);
  }
}

if (!routeID) show(new Error('请扫描线路单上的二维码打开本页。'));
else {
  load();
  setInterval(() => { if (!document.hidden) load(); }, 15000);
}
