/** Small DOM helpers: the dashboard is plain TypeScript and DOM, no framework. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`dashboard: #${id} missing from index.html`);
  return found as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; text?: string; title?: string; data?: Record<string, string> } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title) node.title = props.title;
  for (const [key, value] of Object.entries(props.data ?? {})) node.dataset[key] = value;
  node.append(...children);
  return node;
}

/** Sets text only when it changed: no layout work for cells that stayed the same. */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** A table body of `rows` rows × `cells` cells, reused frame after frame. */
export function table(headers: readonly string[]): {
  table: HTMLTableElement;
  body: HTMLTableSectionElement;
} {
  const head = el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { text: h }))));
  const body = el('tbody');
  return { table: el('table', {}, head, body), body };
}

/** Makes `body` hold exactly `count` rows of `cells` cells (added or removed at the end). */
export function resizeRows(
  body: HTMLTableSectionElement,
  count: number,
  cells: number,
): HTMLTableRowElement[] {
  while (body.rows.length > count) body.deleteRow(-1);
  while (body.rows.length < count) {
    const row = body.insertRow();
    for (let i = 0; i < cells; i += 1) row.insertCell();
  }
  return [...body.rows];
}

export function clear(node: Element): void {
  node.replaceChildren();
}

/** `12:34:56.789` in the viewer's time zone. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A decimal string shortened for display (the exact value stays in `title`/`data-*`). */
export function short(value: string | null | undefined, digits = 6): string {
  if (value === null || value === undefined) return '–';
  const n = Number(value);
  if (!Number.isFinite(n)) return value;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}
