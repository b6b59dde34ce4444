/**
 * Building elements from data: text always goes in as text (never parsed as HTML), attributes one
 * by one, listeners by `on<event>` names.
 */

/** What an element may hold: nodes, text, numbers; nothing for null, undefined and false. */
export type Child = Node | string | number | null | undefined | false | Child[];

/** Attribute values; `true` sets an empty attribute, `false` and undefined leave it out. */
export type Attributes = Record<string, string | number | boolean | undefined | EventListener>;

/**
 * An HTML element.
 *
 * @example
 * ```ts
 * h("a", { href: "/ui/calls", class: "link" }, "Calls");
 * ```
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  element.append(...nodes(children));
  return element;
}

const svgNamespace = "http://www.w3.org/2000/svg";

/**
 * An SVG element.
 *
 * @example
 * ```ts
 * s("path", { d: "M0 0L10 10", class: "series-0" });
 * ```
 */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(svgNamespace, tag);
  setAttributes(element, attributes);
  element.append(...nodes(children));
  return element;
}

/**
 * The element's children replaced.
 *
 * @example
 * ```ts
 * fill(document.getElementById("page")!, h("p", {}, "Nothing yet."));
 * ```
 */
export function fill(element: Element, ...children: Child[]): void {
  element.replaceChildren(...nodes(children));
}

function setAttributes(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
}

function nodes(children: Child[]): Node[] {
  const out: Node[] = [];
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) out.push(...nodes(child));
    else if (typeof child === "string" || typeof child === "number") out.push(document.createTextNode(String(child)));
    else out.push(child);
  }
  return out;
}
