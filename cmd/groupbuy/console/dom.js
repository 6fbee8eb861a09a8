// DOM building without HTML strings: every text — pickup point and leader
// names come from users — goes in as a text node or an attribute value,
// never through the HTML parser.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Children: nodes and text, in nested arrays; null, undefined and false are
// left out, so `cond && h(...)` adds nothing when cond is false.
function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function build(el, props, children) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  return append(el, children);
}

/** h builds an HTML element: h('td', {class: 'n'}, text, ...). */
export const h = (tag, props, ...children) => build(document.createElement(tag), props, children);

/** s builds an SVG element. */
export const s = (tag, props, ...children) => build(document.createElementNS(SVG_NS, tag), props, children);

/** fill replaces el's children, by h's rules (unlike replaceChildren, which prints false as "false"). */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// ---------------------------------------------------------------- numbers, dates

const int = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const money = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const num = (n) => int.format(n || 0);
export const kg = (grams) => `${one.format((grams || 0) / 1000)} kg`;
export const litres = (ml) => `${one.format((ml || 0) / 1000)} L`;
export const km = (m) => `${one.format((m || 0) / 1000)} km`;
export const yuan = (fen) => `¥${money.format((fen || 0) / 100)}`;

const clocks = new Map();
function clock(tz, withDate) {
  const key = tz + withDate;
  if (!clocks.has(key)) {
    clocks.set(key, new Intl.DateTimeFormat('zh-CN', {
      timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
      ...(withDate ? { month: '2-digit', day: '2-digit' } : {}),
    }));
  }
  return clocks.get(key);
}

/** hhmm is an instant as HH:MM in the warehouse's time zone. */
export const hhmm = (iso, tz) => (iso ? clock(tz, false).format(new Date(iso)) : '—');

/** dateTime is an instant as MM/DD HH:MM in the warehouse's time zone. */
export const dateTime = (iso, tz) => (iso ? clock(tz, true).format(new Date(iso)) : '—');

/** today is the calendar date (YYYY-MM-DD) now in time zone tz. */
export function today(tz) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date());
}

/** addDays shifts a YYYY-MM-DD date by n days. */
export function addDays(ymd, n) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}
