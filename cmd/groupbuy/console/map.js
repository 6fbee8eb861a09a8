// The wave's map as SVG, drawn from our own data only (no tiles): the
// delivery areas' H3 hexagons, pickup points, one line per route from the
// warehouse through its stops and back, and the stops the plan could not
// serve. An equirectangular projection fitted to the data is exact enough at
// city scale.

import { s, hhmm, kg } from './dom.js';

/** ROUTE_COLOURS tell routes apart; they repeat after ten. */
export const ROUTE_COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c',
  '#0891b2', '#a16207', '#db2777', '#4d7c0f', '#475569'];
const AREA_FILLS = ['#dbeafe', '#dcfce7', '#fef3c7', '#fce7f3', '#e0e7ff', '#ccfbf1', '#ffedd5', '#f3e8ff'];

export const routeColour = (i) => ROUTE_COLOURS[i % ROUTE_COLOURS.length];

/**
 * REASONS name the routing engine's causes of an unserved stop in Chinese,
 * recognised by the words its reasons are made of; the reason itself, with
 * its numbers, follows in brackets.
 */
export const REASONS = [
  [/exceeds every vehicle's capacity|fits no single vehicle type/, '需求超过所有车型的载重或容积'],
  [/closes before the earliest arrival|after every shift ends/, '任何班次都无法在时间窗内送达'],
  [/^a round trip to it alone takes/, '单独往返也超过所有车型的最长行驶时间'],
  [/^no vehicle type both carries/, '没有车型既装得下又能按时送达'],
  [/do not overlap the warehouse's delivery window/, '自提点收货时间与仓库配送时间不重叠'],
  [/^no compatible vehicle/, '没有可装载冷藏或冷冻货品的车型'],
  [/^fleet full|^no route in use has room/, '车辆不足：车队已排满'],
];
export const reasonText = (r) => {
  const known = REASONS.find(([words]) => words.test(r));
  return known ? `${known[1]}（${r}）` : r;
};

const W = 960;
const H = 620;
const PAD = 30;

function rings(geometry) {
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

/** projection fits [lng, lat] pairs into the drawing. */
function projection(lngLats) {
  let minLng = Infinity; let maxLng = -Infinity; let minLat = Infinity; let maxLat = -Infinity;
  for (const [lng, lat] of lngLats) {
    minLng = Math.min(minLng, lng); maxLng = Math.max(maxLng, lng);
    minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat);
  }
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180); // a degree of longitude is shorter
  const spanX = Math.max((maxLng - minLng) * k, 1e-4);
  const spanY = Math.max(maxLat - minLat, 1e-4);
  const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
  const ox = (W - spanX * scale) / 2;
  const oy = (H - spanY * scale) / 2;
  const round = (v) => Math.round(v * 10) / 10;
  const project = ([lng, lat]) => [round(ox + (lng - minLng) * k * scale), round(oy + (maxLat - lat) * scale)];
  project.pxPerKm = scale / 111.32; // a degree of latitude is 111.32 km
  return project;
}

function pathOf(project, ringList) {
  return ringList.map((ring) => `M${ring.map((p) => project(p).join(',')).join('L')}Z`).join('');
}

function scaleBar(pxPerKm) {
  const lengths = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];
  const len = lengths.find((l) => l * pxPerKm >= 70) || lengths[lengths.length - 1];
  const w = Math.round(len * pxPerKm);
  const x = 16; const y = H - 16;
  return s('g', { class: 'scalebar' },
    s('path', { d: `M${x},${y - 6}V${y}H${x + w}V${y - 6}` }),
    s('text', { x: x + w / 2, y: y - 9, 'text-anchor': 'middle' }, len < 1 ? `${len * 1000} m` : `${len} km`));
}

/**
 * drawMap returns the SVG of a wave: areas is the warehouse's delivery-area
 * GeoJSON, plan the wave's routes and unserved stops, selected a route code.
 */
export function drawMap({ areas, plan, warehouse, selected, tz }) {
  const features = (areas && areas.features) || [];
  const lngLats = [[warehouse.lng, warehouse.lat]];
  for (const f of features) {
    if (f.geometry.type === 'Point') lngLats.push(f.geometry.coordinates);
    else for (const ring of rings(f.geometry)) lngLats.push(...ring);
  }
  for (const r of plan.routes) for (const st of r.stops) lngLats.push([st.lng, st.lat]);
  const project = projection(lngLats);

  const cells = s('g', { class: 'cells' });
  const outlines = s('g', { class: 'areas' });
  const points = s('g', { class: 'points' });
  const pointAt = new Map();
  for (const f of features) {
    const p = f.properties || {};
    if (p.kind === 'cell') {
      cells.append(s('path', { d: pathOf(project, rings(f.geometry)), fill: AREA_FILLS[(p.area || 0) % AREA_FILLS.length] },
        s('title', null, `配送区 ${p.area} · H3 ${p.h3_cell}`)));
    } else if (p.kind === 'area') {
      outlines.append(s('path', { d: pathOf(project, rings(f.geometry)), class: p.over_limit ? 'over' : null },
        s('title', null, `配送区 ${p.area}：${p.points} 个自提点，${kg(p.weight_g)}${p.over_limit ? '（超出单车载重）' : ''}`)));
    } else if (p.kind === 'point') {
      const [x, y] = project(f.geometry.coordinates);
      pointAt.set(p.pickup_point_id, [x, y]);
      points.append(s('circle', { cx: x, cy: y, r: 3 }, s('title', null, `${p.code} ${p.name} · 需求 ${kg(p.weight_g)}`)));
    }
  }

  const depot = project([warehouse.lng, warehouse.lat]);
  const totalStops = plan.routes.reduce((n, r) => n + r.stops.length, 0);
  const numbered = totalStops <= 80;
  const lines = s('g', { class: 'routes' });
  const stops = s('g', { class: 'stops' });
  plan.routes.forEach((r, i) => {
    const colour = routeColour(i);
    const xy = r.stops.map((st) => project([st.lng, st.lat]));
    const cls = `route${r.code === selected ? ' selected' : ''}`;
    lines.append(s('polyline', { class: cls, points: [depot, ...xy, depot].map((p) => p.join(',')).join(' '), stroke: colour, 'data-route': r.code },
      s('title', null, `线路 ${r.code} · ${r.stops.length} 站 · ${kg(r.weight_g)}`)));
    r.stops.forEach((st, j) => {
      const [x, y] = xy[j];
      stops.append(s('g', { class: 'stop', 'data-route': r.code },
        s('circle', { cx: x, cy: y, r: numbered ? 7 : 4, fill: colour }),
        numbered && s('text', { x, y: y + 3, 'text-anchor': 'middle' }, String(st.seq)),
        s('title', null, `${r.code} 第 ${st.seq} 站 · ${st.name}\n到达 ${hhmm(st.arrival_at, tz)} · ${st.bags} 袋 · ${kg(st.weight_g)}`)));
    });
  });

  const unserved = s('g', { class: 'unserved' });
  for (const u of plan.unserved || []) {
    const at = pointAt.get(u.pickup_point_id);
    if (!at) continue;
    unserved.append(s('g', { class: 'miss', 'data-point': u.pickup_point_id },
      s('circle', { cx: at[0], cy: at[1], r: 14, class: 'ring' }),
      s('circle', { cx: at[0], cy: at[1], r: 4 }),
      s('title', null, `未配送：${u.name}\n原因：${reasonText(u.reason)}`)));
  }

  const home = s('g', { class: 'depot' },
    s('rect', { x: depot[0] - 8, y: depot[1] - 8, width: 16, height: 16, rx: 2 }),
    s('text', { x: depot[0] + 12, y: depot[1] + 4 }, warehouse.name),
    s('title', null, `仓库 ${warehouse.name}`));

  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map', role: 'img', 'aria-label': '配送地图' },
    s('rect', { class: 'sea', width: W, height: H }),
    cells, outlines, points, lines, stops, unserved, home, scaleBar(project.pxPerKm));
}
