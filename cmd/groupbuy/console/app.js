// The operator console: login, the waves of today and tomorrow per
// warehouse, a wave's map, manifests, printouts, notices and timeline, the
// refunds still unpaid, and orders with their story.
// Views: #/ (today and tomorrow in each warehouse's time zone),
// #/day/YYYY-MM-DD (that day and the next), #/wave/ID, #/orders (search),
// #/wave/ID/purchase (the buyer's purchase orders), #/dock/PO (receiving),
// #/wave/ID/summary (the day in figures).

import { api, send, download, session, openSession, closeSession, APIError } from './api.js';
import { h, s, fill, num, kg, litres, km, yuan, hhmm, dateTime, today, addDays } from './dom.js';
import { drawMap, routeColour, reasonText } from './map.js';

const POLL_MS = 2000;

const STATES = {
  open: '接单中', closed: '已截单', allocated: '已分配', picked: '已拣货', routed: '已排线',
  ready: '待发车', dispatched: '配送中', delivered: '已送达',
};
const STATE_ORDER = Object.keys(STATES);
const reached = (wave, state) => STATE_ORDER.indexOf(wave.state) >= STATE_ORDER.indexOf(state);
const STAGES = [['close', '截单'], ['purchase', '采购'], ['allocate', '分配'], ['pick', '拣货'], ['refund', '退款'], ['route', '排线'], ['ready', '就绪']];
const DELIVERIES = { pending: '待发车', dispatched: '在途', arrived: '已到达', received: '已签收' };
const KINDS = { arrival: '到货通知', reminder: '取货提醒', refund: '退款通知', return: '退回通知' };
// Refund reasons, in the order a wave's night meets them; 缺货 is only what allocation cut.
const REFUNDS = {
  shortage: '缺货退款', missing: '缺件退款', damaged: '破损退款', returned: '超时未取退款', after_sale: '售后退款',
};
const REFUND_STATES = { created: '待提交', submitted: '已提交', paid: '已到账', failed: '支付失败' };
const ORDER_STATES = {
  placed: '已下单', cancelled: '已取消', confirmed: '已截单', short_shipped: '缺货少发', delivered: '已送达',
  ready_for_pickup: '待自提', collected: '已自提', partly_collected: '部分自提', returned: '已退回',
};
const EVENTS = {
  opened: '开始接单', closed_by_hand: '手动截单', closed_at_cutoff: '到点截单', stage_started: '开始', stage_finished: '完成',
  stage_failed: '失败', stage_rerun: '重跑', receipts_recorded: '登记收货', routes_dispatched: '发车',
};
// What a wave waits for; an unknown reason shows the API's message.
const WAITS = { receipts: '等待收货：仓库确认到货并标记为最终后开始分配' };

const $ = (id) => document.getElementById(id);
const view = $('view');
let current = null; // the view on screen: {stop()}

// ---------------------------------------------------------------- plumbing

/** poll runs fn now and every ms while the view lives; it pauses in hidden tabs. */
function poll(fn, ms, onError) {
  let timer = 0;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
        onError(null);
      } catch (e) {
        if (e instanceof APIError && e.status === 401) return logout('登录已失效，请重新登录。');
        onError(e);
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

function flash() {
  const el = h('p', { class: 'flash', role: 'status', hidden: true });
  el.show = (e) => {
    el.hidden = !e;
    el.textContent = e ? `数据刷新失败：${e.message}（稍后自动重试）` : '';
  };
  return el;
}

let warehouses = null;
async function warehouseList() {
  warehouses ??= (await api('/api/v1/ops/warehouses')).warehouses;
  return warehouses;
}

function badge(state) {
  return h('span', { class: `badge state-${state}` }, STATES[state] || state);
}

/** refundTexts lists a wave's refunds per reason, ' · 缺货退款 2 件 ¥37.80' each, none for reasons without any. */
function refundTexts(refunds) {
  const by = (refunds && refunds.by_reason) || {};
  const reasons = [...Object.keys(REFUNDS), ...Object.keys(by).filter((r) => !(r in REFUNDS))];
  return reasons.filter((r) => by[r] && by[r].units > 0)
    .map((r) => ` · ${REFUNDS[r] || `${r} 退款`} ${num(by[r].units)} 件 ${yuan(by[r].amount_fen)}`);
}

/** waitingNote says what a wave waits for (the API's words in its tooltip); nothing when it waits for nothing. */
function waitingNote(wave) {
  const w = wave.waiting_for;
  return w && h('p', { class: 'waiting', title: w.message }, WAITS[w.what] || w.message);
}

// ---------------------------------------------------------------- login

function showLogin(message) {
  $('nav').hidden = true;
  $('login').hidden = false;
  view.replaceChildren();
  $('login-error').textContent = message || '';
  $('token').focus();
}

async function logout(message) {
  session.clear();
  warehouses = null;
  if (current) current.stop();
  current = null;
  await closeSession();
  if (location.hash !== '' && location.hash !== '#/') history.replaceState(null, '', '#/');
  showLogin(message);
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = $('token').value.trim();
  $('login-error').textContent = '';
  try {
    const who = await openSession(token);
    session.set(token, who);
    $('token').value = '';
    route();
  } catch (e) {
    $('login-error').textContent = e.status === 401 ? '令牌无效、已过期或已吊销。'
      : e.status === 403 ? '团长令牌不能登录运营台。' : `登录失败：${e.message}`;
  }
});
$('logout').addEventListener('click', () => logout());

// ---------------------------------------------------------------- notices panel

function noticesPanel() {
  const body = h('tbody');
  const el = h('aside', { class: 'panel notices', id: 'notices' },
    h('h2', null, '通知'),
    h('table', null,
      h('thead', null, h('tr', null, h('th', null, '类型'), h('th', null, '排队'), h('th', null, '重试中'),
        h('th', null, '已发送'), h('th', null, '失败'), h('th', null, '合计'))),
      body),
    h('p', { class: 'hint' }, '全部仓库的发件箱；“重试中”已计入“排队”。'));
  const refresh = async () => {
    const { kinds } = await api('/api/v1/ops/notices');
    const t = { queued: 0, retrying: 0, sent: 0, failed: 0 };
    const rows = kinds.map((k) => {
      for (const key of Object.keys(t)) t[key] += k[key];
      return h('tr', { 'data-kind': k.kind },
        h('th', null, KINDS[k.kind] || k.kind), h('td', null, num(k.queued)), h('td', null, num(k.retrying)),
        h('td', { class: 'ok' }, num(k.sent)), h('td', { class: k.failed ? 'bad' : null }, num(k.failed)),
        h('td', { class: 'total' }, num(k.queued + k.sent + k.failed)));
    });
    if (!rows.length) rows.push(h('tr', null, h('td', { colspan: 6, class: 'empty' }, '暂无通知')));
    else {
      rows.push(h('tr', { class: 'sum', 'data-kind': '*' }, h('th', null, '合计'), h('td', null, num(t.queued)),
        h('td', null, num(t.retrying)), h('td', null, num(t.sent)), h('td', null, num(t.failed)),
        h('td', { class: 'total' }, num(t.queued + t.sent + t.failed))));
    }
    fill(body, ...rows);
  };
  return { el, refresh };
}

// ---------------------------------------------------------------- unpaid refunds panel

/** refundsPanel lists the refunds the payment system has not paid a day after they were made. */
function refundsPanel() {
  const body = h('tbody');
  const count = h('p', { class: 'count' });
  const el = h('aside', { class: 'panel refunds', id: 'unpaid-refunds' },
    h('h2', null, '未到账退款（超过一天）'), count,
    h('table', null,
      h('thead', null, h('tr', null, h('th', null, '退款'), h('th', null, '商品'), h('th', null, '原因'),
        h('th', null, '金额'), h('th', null, '状态'))),
      body));
  const refresh = async () => {
    const { total, refunds } = await api('/api/v1/ops/refunds/unpaid?limit=20');
    count.textContent = total ? `共 ${num(total)} 笔，居民仍在等待到账` : '没有超过一天未到账的退款';
    count.className = total ? 'count bad' : 'count ok';
    fill(body, ...refunds.map((r) => h('tr', { 'data-refund': r.id },
      h('td', null, h('a', { href: `#/orders?line_id=${r.order_line_id}` }, `#${r.id}`)),
      h('td', null, r.name), h('td', null, REFUNDS[r.reason] || r.reason),
      h('td', { class: 'n' }, yuan(r.amount_fen)),
      h('td', { class: r.state === 'failed' ? 'bad' : null, title: r.failure || '' }, REFUND_STATES[r.state] || r.state))));
  };
  return { el, refresh };
}

// ---------------------------------------------------------------- timeline

function timelineList(wave, tz) {
  const events = wave.timeline || [];
  return h('section', { class: 'panel timeline', id: 'timeline' },
    h('h2', null, '时间线'),
    events.length ? h('ol', null, events.map((e) => h('li', { 'data-kind': e.kind },
      h('time', null, dateTime(e.at, tz)), ' ',
      h('strong', null, `${e.stage ? `${(STAGES.find(([n]) => n === e.stage) || [0, e.stage])[1]} ` : ''}${EVENTS[e.kind] || e.kind}`),
      ` · ${e.actor || '系统'}`,
      e.detail && h('span', { class: 'detail' }, ` · ${e.detail}`))))
      : h('p', { class: 'hint' }, '暂无记录。'));
}

// ---------------------------------------------------------------- stages

function stageList(wave, tz) {
  const byName = new Map((wave.stages || []).map((st) => [st.stage, st]));
  return h('ol', { class: 'stages' }, STAGES.map(([name, label]) => {
    const st = byName.get(name);
    let status = 'waiting';
    let text = '等待';
    if (st && st.finished_at) {
      status = 'done';
      text = `完成 ${hhmm(st.finished_at, tz)}`;
    } else if (st && st.started_at) {
      status = st.last_error ? 'failing' : 'running';
      // The route stage counts the seconds of its solver budget while it solves.
      const unit = name === 'route' ? '秒' : '行';
      text = st.rows_total ? `${num(st.rows_done)} / ${num(st.rows_total)} ${unit}` : '进行中';
    }
    const value = st && st.finished_at ? 1 : st && st.rows_total ? st.rows_done / st.rows_total : 0;
    return h('li', { class: `stage ${status}`, 'data-stage': name },
      h('span', { class: 'name' }, label),
      h('progress', { max: 1, value: value.toFixed(3) }),
      h('span', { class: 'text' }, text),
      st && st.attempts > 1 && h('span', { class: 'attempts' }, `尝试 ${st.attempts} 次`),
      st && st.last_error && h('span', { class: 'error', title: st.last_error }, `错误：${st.last_error}`));
  }));
}

// ---------------------------------------------------------------- actions

/** canRun says whether this login may do what access allows: 'ops' (ops, admin) or 'warehouse' (any staff). */
function canRun(access) {
  const role = session.who.role;
  return access === 'warehouse' ? ['warehouse', 'ops', 'admin'].includes(role) : ['ops', 'admin'].includes(role);
}

/**
 * actionButton is a button that makes one write of the API, says how it
 * went in note, and then calls done (the view's refresh); it is left out
 * when this login may not make the write.
 */
function actionButton(props, label, access, write, note, done) {
  if (!canRun(access)) return null;
  return h('button', {
    type: 'button', class: 'action', ...props,
    onclick: async (ev) => {
      const btn = ev.currentTarget;
      btn.disabled = true;
      try {
        await write();
        note.textContent = `${label}：已完成`;
        note.className = 'note';
        await done();
      } catch (e) {
        note.textContent = `${label}失败：${e.message}`;
        note.className = 'note error';
      } finally {
        btn.disabled = false;
      }
    },
  }, label);
}

/** waveActions are what a dispatcher can do to the wave now: close it, rerun a failed stage, dispatch every route. */
function waveActions(wave, note, done) {
  const path = `/api/v1/ops/waves/${wave.id}`;
  const failed = (wave.stages || []).filter((st) => st.last_error && !st.finished_at);
  const label = (name) => (STAGES.find(([n]) => n === name) || [0, name])[1];
  return [
    wave.state === 'open' && actionButton({ 'data-action': 'close' }, '立即截单', 'ops',
      () => send('POST', `${path}/close`), note, done),
    failed.map((st) => actionButton({ 'data-action': 'rerun', 'data-stage': st.stage }, `重跑${label(st.stage)}`, 'ops',
      () => send('POST', `${path}/stages/${st.stage}/rerun`), note, done)),
    (wave.state === 'ready' || wave.state === 'dispatched') && actionButton({ 'data-action': 'dispatch' }, '全部发车', 'warehouse',
      () => send('POST', `${path}/dispatch`), note, done),
  ];
}

// ---------------------------------------------------------------- route progress

/** routeProgress shows the route solver at work (or how it ended); nothing before it starts. */
function routeProgress(wave, tz) {
  const p = wave.route_progress;
  if (!p) return null;
  const solving = !p.finished_at && wave.state === 'picked';
  const share = p.stops_total ? p.stops_served / p.stops_total : 0;
  return h('section', { class: `panel route-progress${solving ? ' solving' : ''}`, id: 'route-progress',
    'data-solving': solving ? 'yes' : 'no' },
  h('h2', null, solving ? '排线中' : '排线结果'),
  h('progress', { max: 1, value: share.toFixed(3) }),
  h('dl', null,
    h('dt', null, '扇区'), h('dd', { 'data-field': 'sectors' }, `${num(p.sectors_done)} / ${num(p.sectors_total)}`),
    h('dt', null, '已排站点'), h('dd', { 'data-field': 'stops' }, `${num(p.stops_served)} / ${num(p.stops_total)}`),
    h('dt', null, '当前最优成本'), h('dd', { 'data-field': 'cost' }, yuan(p.best_cost_fen)),
    solving && [h('dt', null, '剩余时间'), h('dd', { 'data-field': 'left' }, `${num(p.seconds_left)} 秒`)],
    h('dt', null, solving ? '更新于' : '结束于'), h('dd', null, dateTime(p.finished_at || p.updated_at, tz))));
}

// ---------------------------------------------------------------- waves view

function wavesView(from) {
  const list = h('div', { class: 'warehouses' }, h('p', { class: 'hint' }, '加载中…'));
  const notices = noticesPanel();
  const refunds = refundsPanel();
  const status = flash();
  const date = h('input', { type: 'date', id: 'day', value: from || '', required: true });
  const pick = h('form', { class: 'day-form', onsubmit: (ev) => { ev.preventDefault(); location.hash = `#/day/${date.value}`; } },
    h('label', { for: 'day' }, '查看日期'), date, h('button', { type: 'submit' }, '前往'),
    from && h('a', { href: '#/' }, '回到今天'));
  fill(view, h('div', { class: 'layout' },
    h('div', { class: 'content' },
      h('div', { class: 'toolbar' }, h('h1', null, from ? `${from} 起两天的波次` : '今天和明天的波次'), pick),
      status, list),
    h('div', { class: 'side' }, refunds.el, notices.el)));

  const stop = poll(async () => {
    const ws = await warehouseList();
    const days = new Map(ws.map((w) => {
      const first = from || today(w.time_zone);
      return [w.id, [first, addDays(first, 1)]];
    }));
    const dates = [...new Set([...days.values()].flat())];
    const lists = await Promise.all(dates.map((d) => api(`/api/v1/ops/waves?date=${d}`)));
    const waveOf = new Map();
    lists.forEach((l) => l.waves.forEach((w) => waveOf.set(`${w.warehouse_id}/${w.delivery_date}`, w)));
    fill(list, ...(ws.length ? ws.map((w) => warehouseSection(w, days.get(w.id), waveOf))
      : [h('p', { class: 'hint' }, '还没有仓库。')]));
    await Promise.all([notices.refresh(), refunds.refresh()]);
  }, POLL_MS, status.show);
  return { stop };
}

function warehouseSection(w, days, waveOf) {
  const now = today(w.time_zone);
  const label = (d) => (d === now ? '今天' : d === addDays(now, 1) ? '明天' : d === addDays(now, -1) ? '昨天' : '');
  return h('section', { class: 'warehouse', 'data-warehouse': w.id },
    h('h2', null, w.name, h('small', null,
      `${w.code} · ${w.time_zone} · 截单 ${w.cutoff_local} · 配送 ${w.delivery_start}–${w.delivery_end}`)),
    h('div', { class: 'wave-pair' }, days.map((d) => waveCard(w, d, label(d), waveOf.get(`${w.id}/${d}`)))));
}

function waveCard(w, date, label, wave) {
  if (!wave) {
    return h('article', { class: 'wave none' },
      h('header', null, h('span', { class: 'day' }, `${label} ${date}`), h('span', { class: 'badge' }, '无波次')),
      h('p', { class: 'hint' }, '这一天还没有上架商品。'));
  }
  const tz = w.time_zone;
  return h('article', { class: 'wave', 'data-wave': wave.id },
    h('header', null, h('span', { class: 'day' }, `${label} ${date}`), badge(wave.state)),
    h('p', { class: 'figures' },
      `${num(wave.orders)} 单 · ${num(wave.lines)} 行 · ${num(wave.units)} 件 · ${yuan(wave.amount_fen)}`,
      wave.totals_live && h('span', { class: 'live' }, ' 实时')),
    h('p', { class: 'meta' }, `截单 ${dateTime(wave.cutoff_at, tz)}`, refundTexts(wave.refunds)),
    waitingNote(wave),
    stageList(wave, tz),
    h('a', { class: 'open', href: `#/wave/${wave.id}` }, '打开波次 →'));
}

// ---------------------------------------------------------------- wave view

const PRINTOUTS = [
  ['pick-list', '总拣单', 'picked'], ['sort-sheet', '分拣单', 'routed'],
  ['labels', '袋标签', 'routed'], ['route-sheet', '全部路线单', 'routed'],
];

function downloadButton(waveID, file, label, note) {
  return h('button', {
    type: 'button', class: 'download', 'data-file': file,
    onclick: async (ev) => {
      const btn = ev.currentTarget;
      btn.disabled = true;
      try {
        const name = await download(`/api/v1/ops/waves/${waveID}/printouts/${file}`, `wave${waveID}-${file.replace('?route=', '-')}`);
        note.textContent = `已下载 ${name}`;
        note.className = 'note';
      } catch (e) {
        note.textContent = `下载失败：${e.message}`;
        note.className = 'note error';
      } finally {
        btn.disabled = false;
      }
    },
  }, label);
}

function waveView(id) {
  const status = flash();
  const head = h('div', { class: 'wave-head' });
  const note = h('p', { class: 'note', role: 'status' });
  const downloads = h('div', { class: 'downloads' });
  const mapBox = h('div', { class: 'map-box' }, h('p', { class: 'hint' }, '加载地图…'));
  const legend = h('div', { class: 'legend' });
  const deliveries = h('div', { class: 'panel deliveries' });
  const manifest = h('section', { class: 'manifest', id: 'manifest' });
  const unserved = h('section', { class: 'unserved-list' });
  const notices = noticesPanel();
  const timeline = h('div');
  const actions = h('div', { class: 'actions', id: 'actions' });
  fill(view,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← 全部波次')),
    status, head,
    h('div', { class: 'toolbar' }, actions, h('a', { class: 'open', href: `#/wave/${id}/purchase`, id: 'purchase-link' }, '采购与收货'),
      h('a', { class: 'open', href: `#/wave/${id}/summary`, id: 'summary-link' }, '当日小结'),
      h('span', { class: 'label' }, '打印：'), downloads, note),
    h('div', { class: 'layout' },
      h('div', { class: 'content' }, h('div', { class: 'map-panel' }, mapBox, legend), manifest, unserved),
      h('div', { class: 'side' }, deliveries, timeline, notices.el)));

  let wave = null;
  let w = null;
  let plan = null;
  let areas = null;
  let selected = '';
  let drawnFor = '';
  let pointState = new Map();
  let shown = ''; // what the map and manifest were drawn from

  // The map and the manifest are redrawn only when what they show changed,
  // not on every poll, so a pointer resting on the map keeps its tooltip.
  const render = () => {
    const tz = w.time_zone;
    fill(mapBox, drawMap({ areas, plan, warehouse: w, selected, tz }));
    fill(legend,
      h('h2', null, `线路（${plan.routes.length}）`),
      plan.routes.length ? h('ul', null, plan.routes.map((r, i) => h('li', null,
        h('button', { type: 'button', class: `route-chip${r.code === selected ? ' selected' : ''}`, 'data-route': r.code,
          onclick: () => { selected = r.code; render(); } },
        s('svg', { width: 14, height: 14, viewBox: '0 0 14 14', 'aria-hidden': 'true' },
          s('rect', { width: 14, height: 14, rx: 3, fill: routeColour(i) })),
        h('strong', null, r.code),
        ` ${r.stops.length} 站 · ${kg(r.weight_g)} · ${km(r.distance_m)}`))))
        : h('p', { class: 'hint' }, reached(wave, 'routed') ? '没有线路。' : '排线完成后显示线路。'),
      plan.unserved.length > 0 && h('p', { class: 'warn' }, `${plan.unserved.length} 个自提点未能排入线路（地图上红圈）`));
    renderManifest(tz);
    fill(unserved, ...(plan.unserved.length ? [
      h('h2', null, '未配送的自提点'),
      h('table', null, h('thead', null, h('tr', null, h('th', null, '自提点'), h('th', null, '原因'))),
        h('tbody', null, plan.unserved.map((u) => h('tr', { 'data-point': u.pickup_point_id },
          h('td', null, u.name), h('td', { title: u.reason }, reasonText(u.reason)))))),
    ] : []));
  };

  const renderManifest = (tz) => {
    const i = plan.routes.findIndex((r) => r.code === selected);
    if (i < 0) { manifest.replaceChildren(); return; }
    const r = plan.routes[i];
    const bags = r.stops.reduce((n, st) => n + st.bags, 0);
    fill(manifest,
      h('header', null,
        s('svg', { width: 14, height: 14, viewBox: '0 0 14 14', 'aria-hidden': 'true' },
          s('rect', { width: 14, height: 14, rx: 3, fill: routeColour(i) })),
        h('h2', null, `线路 ${r.code} 装车清单`),
        h('span', { class: 'meta' }, `${r.vehicle_type} · 出发 ${hhmm(r.departure_at, tz)} · 返回 ${hhmm(r.return_at, tz)} · ${km(r.distance_m)}`),
        h('span', { class: 'actions' },
          r.stops.some((st) => pointState.get(st.pickup_point_id) === 'pending') && actionButton({ 'data-action': 'dispatch-route' },
            '本线发车', 'warehouse', () => send('POST', `/api/v1/ops/routes/${r.id}/dispatch`), note, refresh),
          downloadButton(wave.id, `route-sheet.pdf?route=${encodeURIComponent(r.code)}`, '路线单 PDF', note),
          downloadButton(wave.id, `route-sheet.csv?route=${encodeURIComponent(r.code)}`, '路线单 CSV', note))),
      h('table', null,
        h('thead', null, h('tr', null, ['站', '自提点', '到达', '开始卸货', '袋数', '重量', '体积', '状态']
          .map((t, col) => h('th', { class: col === 1 || col === 7 ? null : 'n' }, t)))),
        h('tbody', null, r.stops.map((st) => h('tr', { 'data-seq': st.seq },
          h('td', { class: 'n' }, st.seq), h('td', null, st.name),
          h('td', { class: 'n' }, hhmm(st.arrival_at, tz)), h('td', { class: 'n' }, hhmm(st.start_at, tz)),
          h('td', { class: 'n' }, num(st.bags)), h('td', { class: 'n' }, kg(st.weight_g)), h('td', { class: 'n' }, litres(st.volume_ml)),
          h('td', null, DELIVERIES[pointState.get(st.pickup_point_id)] || '—',
            pointState.get(st.pickup_point_id) === 'dispatched' && actionButton({ 'data-action': 'arrive' }, '到达', 'warehouse',
              () => send('POST', `/api/v1/ops/routes/${r.id}/stops/${st.seq}/arrive`), note, refresh))))),
        h('tfoot', null, h('tr', null, h('th', { colspan: 4 }, `合计 ${r.stops.length} 站`),
          h('td', { class: 'n' }, num(bags)), h('td', { class: 'n' }, kg(r.weight_g)), h('td', { class: 'n' }, litres(r.volume_ml)),
          h('td', null, '')))));
  };

  mapBox.addEventListener('click', (ev) => {
    const hit = ev.target.closest('[data-route]');
    if (hit && hit.dataset.route !== selected) { selected = hit.dataset.route; render(); }
  });

  const refresh = async () => {
    wave = await api(`/api/v1/ops/waves/${id}`);
    w = (await warehouseList()).find((x) => x.id === wave.warehouse_id);
    if (!w) { warehouses = null; throw new Error('找不到波次所属的仓库'); }
    const tz = w.time_zone;
    fill(head,
      h('div', { class: 'title' },
        h('h1', null, `${w.name} · ${wave.delivery_date} 波次 #${wave.id}`), badge(wave.state)),
      h('p', { class: 'figures' },
        `${num(wave.orders)} 单 · ${num(wave.lines)} 行 · ${num(wave.units)} 件 · ${yuan(wave.amount_fen)} · 截单 ${dateTime(wave.cutoff_at, tz)}`,
        wave.totals_live && h('span', { class: 'live' }, ' 实时'),
        refundTexts(wave.refunds),
        ` · 分配策略 ${wave.allocation_policy === 'even' ? '均分' : '先到先得'}`),
      waitingNote(wave),
      stageList(wave, tz),
      routeProgress(wave, tz));
    const acts = JSON.stringify([wave.state, (wave.stages || []).map((st) => [st.stage, !!st.last_error, !!st.finished_at])]);
    if (actions.dataset.shown !== acts) {
      actions.dataset.shown = acts;
      fill(actions, waveActions(wave, note, refresh));
    }
    fill(timeline, timelineList(wave, tz));
    if (!downloads.firstChild || downloads.dataset.state !== wave.state) {
      downloads.dataset.state = wave.state;
      fill(downloads, ...PRINTOUTS.flatMap(([kind, label, after]) => {
        const pdf = downloadButton(wave.id, `${kind}.pdf`, `${label} PDF`, note);
        const csv = downloadButton(wave.id, `${kind}.csv`, 'CSV', note);
        pdf.disabled = csv.disabled = !reached(wave, after);
        return [h('span', { class: 'pair' }, pdf, csv)];
      }));
    }
    // Routes and areas change only with the wave's state: fetch them then.
    if (drawnFor !== wave.state) {
      [plan, areas] = await Promise.all([
        api(`/api/v1/ops/waves/${id}/routes`),
        api(`/api/v1/ops/warehouses/${w.id}/areas?date=${wave.delivery_date}`),
      ]);
      plan.routes ||= [];
      plan.unserved ||= [];
      if (!plan.routes.some((r) => r.code === selected)) selected = plan.routes.length ? plan.routes[0].code : '';
      drawnFor = wave.state;
    }
    const { deliveries: ds } = await api(`/api/v1/ops/waves/${id}/deliveries`);
    const seen = JSON.stringify([drawnFor, ds.map((d) => [d.pickup_point_id, d.state])]);
    const counts = {};
    for (const d of ds) counts[d.state] = (counts[d.state] || 0) + 1;
    fill(deliveries, h('h2', null, '配送'),
      ds.length ? h('dl', null, Object.entries(DELIVERIES).map(([k, label]) => [h('dt', null, label), h('dd', null, num(counts[k] || 0))]))
        : h('p', { class: 'hint' }, '就绪后生成配送单。'));
    if (seen !== shown) {
      pointState = new Map(ds.map((d) => [d.pickup_point_id, d.state]));
      shown = seen;
      render();
    }
    await notices.refresh();
  };
  const stop = poll(refresh, POLL_MS, status.show);
  return { stop };
}

// ---------------------------------------------------------------- purchase orders (the buyer's view)

const PO_STATES = {
  queued: '待发送', sent: '已发送', arriving: '到货中', received: '已收货', not_coming: '不来货', superseded: '已被新版本取代',
  send_failed: '发送失败',
};
const ZONES = { ambient: '常温', chilled: '冷藏', frozen: '冷冻' };
const REJECTS = [['quality', '质量不合格'], ['damage', '破损'], ['wrong_item', '错货'], ['short_shelf_life', '保质期不足']];

function poBadge(po) {
  return h('span', { class: `badge po-${po.state}`, 'data-state': po.state, title: po.send_error || null },
    PO_STATES[po.state] || po.state);
}

/** purchaseView lists a wave's purchase orders, latest versions first, with what the dock received and what is short. */
function purchaseView(waveID) {
  const status = flash();
  const head = h('div', { class: 'wave-head' });
  const body = h('tbody');
  const older = h('input', { type: 'checkbox', id: 'show-superseded' });
  fill(view,
    h('p', { class: 'crumbs' }, h('a', { href: `#/wave/${waveID}` }, '← 返回波次')),
    status, head,
    h('label', { class: 'check' }, older, ' 显示被取代的旧版本'),
    h('table', { class: 'purchase-orders', id: 'purchase-orders' },
      h('thead', null, h('tr', null, ['采购单', '供应商', '状态', '预计到货', '订购', '到货', '验收', '拒收', '短缺', '金额', '']
        .map((t, i) => h('th', { class: i >= 4 && i <= 9 ? 'n' : null }, t)))),
      body));
  let last = null;
  const render = () => {
    const { wave, w, orders } = last;
    const shown = orders.orders.filter((po) => po.latest || older.checked);
    const sum = (k) => shown.filter((po) => po.latest).reduce((n, po) => n + po[k], 0);
    const count = (st) => shown.filter((po) => po.latest && po.state === st).length;
    fill(head,
      h('div', { class: 'title' }, h('h1', null, `${w.name} · ${wave.delivery_date} 波次 #${wave.id} 采购单`), badge(wave.state)),
      h('p', { class: 'figures', id: 'po-summary' },
        `${num(shown.filter((po) => po.latest).length)} 张 · 已发送 ${count('sent')} · 到货中 ${count('arriving')} · 已收货 ${count('received')}`,
        count('send_failed') ? ` · 发送失败 ${count('send_failed')}` : '',
        ` · 订购 ${num(sum('units'))} 件 · 验收 ${num(sum('accepted'))} 件 · 短缺 ${num(sum('short_units'))} 件`),
      waitingNote(wave));
    fill(body, ...(shown.length ? shown.map((po) => h('tr', { 'data-po': po.id, class: po.latest ? null : 'old' },
      h('td', null, `${po.number} v${po.version}`), h('td', null, po.supplier_name),
      h('td', null, poBadge(po), po.state === 'send_failed' && h('div', { class: 'send-error' }, po.send_error)),
      h('td', { class: 'n' }, dateTime(po.expected_at, w.time_zone)),
      h('td', { class: 'n' }, num(po.units)), h('td', { class: 'n' }, num(po.arrived)), h('td', { class: 'n' }, num(po.accepted)),
      h('td', { class: po.rejected ? 'n bad' : 'n' }, num(po.rejected)),
      h('td', { class: po.short_units ? 'n bad' : 'n', 'data-field': 'short' }, num(po.short_units)),
      h('td', { class: 'n' }, yuan(po.amount_fen)),
      h('td', null, po.latest && h('a', { class: 'open', href: `#/dock/${po.id}` }, '收货 →'))))
      : [h('tr', null, h('td', { colspan: 11, class: 'empty' }, '这一波次没有采购单（截单后生成）。'))]));
  };
  older.addEventListener('change', () => last && render());
  const stop = poll(async () => {
    const wave = await api(`/api/v1/ops/waves/${waveID}`);
    const w = (await warehouseList()).find((x) => x.id === wave.warehouse_id) || { name: '', time_zone: 'UTC' };
    const orders = await api(`/api/v1/ops/waves/${waveID}/purchase-orders`);
    last = { wave, w, orders };
    render();
  }, POLL_MS, status.show);
  return { stop };
}

// ---------------------------------------------------------------- the dock's receiving screen

/** scanID is a new id for one entry at the dock: the same entry sent again counts once. */
function scanID(poID, lineID) {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `console-${poID}-${lineID}-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * dockView is the receiving screen of one purchase order: per line, the
 * units accepted and rejected (with a reason), and the lot and expiry for
 * chilled and frozen goods, each entry posted as one scan. A scanner typing
 * a SKU (and Enter) into the scan box jumps to that line.
 */
function dockView(poID) {
  const status = flash();
  const head = h('div', { class: 'wave-head' });
  const note = h('p', { class: 'note', role: 'status', id: 'dock-note' });
  const lines = h('div', { class: 'dock-lines' });
  const finder = h('input', { id: 'dock-scan', placeholder: '扫描或输入商品编码后回车', autocomplete: 'off' });
  const back = h('a', { href: '#/' }, '← 全部波次');
  fill(view, h('p', { class: 'crumbs' }, back), status, head,
    h('form', { class: 'dock-find', onsubmit: (ev) => {
      ev.preventDefault();
      const row = lines.querySelector(`[data-sku="${CSS.escape(finder.value.trim())}"]`);
      note.textContent = row ? '' : `本采购单没有商品 ${finder.value.trim()}`;
      note.className = row ? 'note' : 'note error';
      if (row) row.querySelector('input[name=accepted]').focus();
      finder.value = '';
    } }, h('label', { for: 'dock-scan' }, '扫码'), finder),
    note, lines);

  let po = null;
  const entries = new Map(); // line id → its form, kept across refreshes so typing is not lost
  const lineForm = (l) => {
    const cold = l.zone === 'chilled' || l.zone === 'frozen';
    const field = (name, label, props) => h('label', null, label, h('input', { name, ...props }));
    const form = h('form', { class: 'dock-line', 'data-line': l.id, 'data-sku': l.sku },
      h('div', { class: 'what' }, h('strong', null, l.name), h('small', null, ` ${l.sku} · ${ZONES[l.zone] || l.zone} · 箱规 ${l.case_pack}`)),
      h('div', { class: 'totals' }),
      field('accepted', '验收', { type: 'number', min: 0, step: 1, value: '', inputmode: 'numeric' }),
      field('rejected', '拒收', { type: 'number', min: 0, step: 1, value: '', inputmode: 'numeric' }),
      h('label', null, '拒收原因', h('select', { name: 'reason' }, h('option', { value: '' }, '—'),
        REJECTS.map(([v, t]) => h('option', { value: v }, t)))),
      cold && field('lot', '批次', { maxlength: 40, autocomplete: 'off' }),
      cold && field('expires_on', '到期日', { type: 'date' }),
      h('button', { type: 'submit' }, '登记'));
    form.dataset.scan = scanID(poID, l.id);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const v = (name) => (form.elements[name] ? form.elements[name].value.trim() : '');
      const accepted = Number(v('accepted') || 0);
      const rejected = Number(v('rejected') || 0);
      const scan = { scan_id: form.dataset.scan, arrived: accepted + rejected, accepted, rejected };
      if (rejected) scan.reason = v('reason');
      if (v('lot')) scan.lot = v('lot');
      if (v('expires_on')) scan.expires_on = v('expires_on');
      const btn = form.querySelector('button');
      btn.disabled = true;
      try {
        const rec = await send('POST', `/api/v1/ops/purchase-order-lines/${l.id}/scans`, scan);
        note.textContent = `已登记 ${l.name}：验收 ${num(rec.accepted)}，拒收 ${num(rec.rejected)}`;
        note.className = 'note';
        form.reset();
        form.dataset.scan = scanID(poID, l.id); // the next entry is a new scan
        await refresh();
      } catch (e) {
        // The same scan id stays: sending the entry again cannot count it twice.
        note.textContent = `${l.name} 登记失败：${e.message}`;
        note.className = 'note error';
      } finally {
        btn.disabled = false;
      }
    });
    return form;
  };

  const refresh = async () => {
    po = await api(`/api/v1/ops/purchase-orders/${poID}`);
    back.href = `#/wave/${po.wave_id}/purchase`;
    back.textContent = '← 本波次采购单';
    const closed = po.state === 'received' || po.state === 'not_coming' || po.state === 'superseded';
    fill(head,
      h('div', { class: 'title' }, h('h1', null, `收货 · ${po.number} v${po.version} · ${po.supplier_name}`), poBadge(po)),
      h('p', { class: 'figures', id: 'dock-totals' },
        `订购 ${num(po.units)} 件 · 到货 ${num(po.arrived)} · 验收 ${num(po.accepted)} · 拒收 ${num(po.rejected)} · 短缺 ${num(po.short_units)}`),
      !closed && h('p', { class: 'actions' },
        actionButton({ 'data-action': 'po-received' }, '收货完成', 'warehouse',
          () => send('POST', `/api/v1/ops/purchase-orders/${poID}/close`, { outcome: 'received' }), note, refresh),
        // Only an order nothing arrived on can be "not coming": once goods
        // are at the dock, closing it received is what counts them.
        po.arrived === 0 && actionButton({ 'data-action': 'po-not-coming' }, '供应商不来货', 'warehouse',
          () => send('POST', `/api/v1/ops/purchase-orders/${poID}/close`, { outcome: 'not_coming' }), note, refresh)));
    for (const l of po.lines) {
      if (!entries.has(l.id)) entries.set(l.id, lineForm(l));
      const form = entries.get(l.id);
      const short = Math.max(0, l.quantity - l.accepted);
      fill(form.querySelector('.totals'),
        `订购 ${num(l.quantity)} · 到货 ${num(l.arrived)} · 验收 ${num(l.accepted)} · 拒收 ${num(l.rejected)}`,
        short > 0 && h('span', { class: 'bad' }, ` · 短缺 ${num(short)}`));
      form.querySelector('button').hidden = closed;
    }
    if (lines.childElementCount !== po.lines.length) fill(lines, po.lines.map((l) => entries.get(l.id)));
  };
  const stop = poll(refresh, POLL_MS * 2, status.show);
  return { stop };
}

// ---------------------------------------------------------------- orders view

const SEARCH = [['phone', '居民手机号'], ['point_id', '自提点 ID'], ['order_id', '订单号'], ['line_id', '订单行 ID']];
// The parts of a line's story, in the order the night meets them.
const STORY = [['ordered', '下单'], ['cut', '缺货'], ['missing', '缺件'], ['damaged', '破损'], ['returned', '超时退回'],
  ['after_sale', '售后'], ['refunded', '已退款'], ['collected', '已自提']];

function storyCell(u, tz) {
  if (!u || !u.units) return h('td', { class: 'n empty' }, '—');
  const why = [u.why, u.at && dateTime(u.at, tz), u.state && REFUND_STATES[u.state]].filter(Boolean).join(' · ');
  return h('td', { class: 'n', title: why }, `${num(u.units)} 件 ${yuan(u.amount_fen)}`, why && h('small', null, why));
}

function orderCard(o, tz) {
  return h('article', { class: 'order', 'data-order': o.id },
    h('header', null, h('strong', null, `订单 #${o.id}`),
      h('span', { class: `badge order-${o.status}`, 'data-status': o.status }, ORDER_STATES[o.status] || o.status),
      h('span', { class: 'meta' }, `${o.delivery_date} · 自提点 ${o.pickup_point_id} · ${o.resident.name} ${o.resident.phone} · ${yuan(o.total_fen)}`)),
    h('table', null,
      h('thead', null, h('tr', null, h('th', null, '行 ID'), h('th', null, '商品'), STORY.map(([, label]) => h('th', { class: 'n' }, label)))),
      h('tbody', null, o.lines.map((l) => h('tr', { 'data-line': l.id },
        h('td', { class: 'n' }, l.id), h('td', null, l.name),
        STORY.map(([part]) => storyCell(l.story && l.story[part], tz)))))));
}

function ordersView(query) {
  const params = new URLSearchParams(query);
  const status = flash();
  const results = h('div', { class: 'orders' });
  const inputs = SEARCH.map(([name, label]) => h('label', null, label,
    h('input', { name, id: `search-${name}`, value: params.get(name) || '', inputmode: name === 'phone' ? 'tel' : 'numeric' })));
  const form = h('form', { class: 'search-form', id: 'order-search', onsubmit: (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [name] of SEARCH) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    location.hash = `#/orders?${q}`;
  } }, inputs, h('button', { type: 'submit' }, '查找'));
  fill(view, h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← 全部波次')), h('h1', null, '订单查询'), form, status, results);
  if (![...params.keys()].length) {
    fill(results, h('p', { class: 'hint' }, '按居民手机号、自提点、订单号或订单行查找订单，查看每一行的经过。'));
    return { stop() {} };
  }
  const stop = poll(async () => {
    const [{ orders }, ws] = await Promise.all([api(`/api/v1/ops/orders/search?${params}`), warehouseList()]);
    const tz = (o) => (ws.find((w) => w.id === o.warehouse_id) || { time_zone: 'UTC' }).time_zone;
    fill(results, ...(orders.length ? orders.map((o) => orderCard(o, tz(o))) : [h('p', { class: 'hint' }, '没有找到订单。')]));
  }, POLL_MS * 5, status.show);
  return { stop };
}

// ---------------------------------------------------------------- the day's summary

const pct = (r) => `${(100 * (r || 0)).toFixed(1)}%`;

/** summaryView is a wave's day in figures: what was ordered, delivered, cut, on time, driven and collected. */
function summaryView(waveID) {
  const status = flash();
  const head = h('div', { class: 'wave-head' });
  const tiles = h('div', { class: 'tiles', id: 'summary-tiles' });
  const counts = h('div', { class: 'panel summary-counts' });
  fill(view, h('p', { class: 'crumbs' }, h('a', { href: `#/wave/${waveID}` }, '← 返回波次')), status, head, tiles, counts);
  const tile = (key, label, value, note) => h('div', { class: 'tile', 'data-figure': key },
    h('span', { class: 'label' }, label), h('strong', null, value), h('span', { class: 'meta' }, note));
  const row = (label, value) => [h('dt', null, label), h('dd', null, value)];
  const stop = poll(async () => {
    const [sum, ws] = await Promise.all([api(`/api/v1/ops/waves/${waveID}/summary`), warehouseList()]);
    const w = ws.find((x) => x.id === sum.warehouse_id) || { name: '' };
    const d = sum.driving;
    const p = sum.points;
    fill(head, h('div', { class: 'title' }, h('h1', null, `${w.name} · ${sum.delivery_date} 当日小结`), badge(sum.state)),
      h('p', { class: 'figures' }, `${num(sum.orders)} 单 · ${num(sum.lines)} 行 · ${num(sum.units_ordered)} 件`));
    fill(tiles,
      tile('fill_rate', '满足率', pct(sum.fill_rate), `送达完好 ${num(p.units_received)} / 订购 ${num(sum.units_ordered)} 件`),
      tile('cut_rate', '缺货率', pct(sum.cut_rate), `缺货取消 ${num(sum.units_cut)} 件`),
      tile('on_time_rate', '准时到站', pct(sum.on_time_rate), `${num(d.stops_on_time)} / ${num(d.stops)} 站在收货时段内到达`),
      tile('km_per_order', '每单里程', `${sum.km_per_order.toFixed(2)} km`, `共 ${km(d.distance_m)} · ${num(d.routes)} 条线路`),
      tile('cost_per_order', '每单配送成本', yuan(sum.cost_per_order_fen), `共 ${yuan(d.cost_fen)}`),
      tile('collection_rate', '取货率', pct(sum.collection_rate), `已取 ${num(p.units_collected)} / 待取 ${num(p.units_ready)} 件`));
    fill(counts, h('h2', null, '明细'), h('dl', null,
      row('到站', `${num(d.stops_reached)} / ${num(d.stops)}`),
      row('团长签收', `${num(p.received)} / ${num(p.deliveries)}`),
      row('签收缺件', `${num(p.units_missing)} 件`),
      row('签收破损', `${num(p.units_damaged)} 件`),
      row('已取货居民', `${num(p.residents_collected)} / ${num(p.residents)}`),
      row('超时退回', `${num(p.units_returned)} 件`)));
  }, POLL_MS * 2, status.show);
  return { stop };
}

// ---------------------------------------------------------------- router

function route() {
  if (current) current.stop();
  current = null;
  if (!session.token) { showLogin(); return; }
  $('login').hidden = true;
  $('nav').hidden = false;
  const who = session.who;
  $('who').textContent = who.name ? `${who.name}（${who.role}）` : '';
  $('queues-link').hidden = !who.queues;
  const wave = /^#\/wave\/(\d+)$/.exec(location.hash);
  const purchase = /^#\/wave\/(\d+)\/purchase$/.exec(location.hash);
  const summary = /^#\/wave\/(\d+)\/summary$/.exec(location.hash);
  const dock = /^#\/dock\/(\d+)$/.exec(location.hash);
  const day = /^#\/day\/(\d{4}-\d{2}-\d{2})$/.exec(location.hash);
  const orders = /^#\/orders(?:\?(.*))?$/.exec(location.hash);
  current = wave ? waveView(Number(wave[1])) : purchase ? purchaseView(Number(purchase[1]))
    : summary ? summaryView(Number(summary[1]))
    : dock ? dockView(Number(dock[1])) : orders ? ordersView(orders[1] || '') : wavesView(day ? day[1] : '');
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);
route();
