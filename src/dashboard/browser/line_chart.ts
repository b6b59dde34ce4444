/**
 * A small SVG line chart of the last minutes, one line per series, with its scale, a legend and a
 * text summary of the latest values (for screen readers too).
 */
import { h, s } from "./dom.ts";
import { amount } from "./format.ts";

/** One line. */
export interface SeriesSpec {
  label: string;
  /** CSS class of its line and legend key: `series-0` … `series-2`. */
  className: string;
}

/** What the chart shows. */
export interface ChartSpec {
  title: string;
  /** After each value: "calls/s", "ms". */
  unit: string;
  series: SeriesSpec[];
  /** Seconds across (default 300). */
  seconds?: number;
}

/** The plot's own units; it is stretched to the figure's width (lines keep their thickness). */
const width = 600;
const height = 120;

/**
 * A chart placed in the page; `update` redraws it.
 *
 * @example
 * ```ts
 * const chart = new LineChart({ title: "Calls per second", unit: "calls/s", series: [{ label: "calls", className: "series-0" }] });
 * page.append(chart.element);
 * chart.update([[1, 2, 3]]);
 * ```
 */
export class LineChart {
  readonly element: HTMLElement;
  #spec: ChartSpec;
  #svg: SVGSVGElement;
  #paths: SVGPathElement[];
  #scale: HTMLElement[];
  #summary: HTMLElement;

  constructor(spec: ChartSpec) {
    this.#spec = spec;
    const seconds = spec.seconds ?? 300;
    this.#paths = spec.series.map((series) => s("path", { class: `line ${series.className}`, d: "" }));
    // Axis labels are HTML beside the plot, so stretching the plot does not stretch them.
    this.#scale = [0, 1, 2].map(() => h("span"));
    this.#svg = s(
      "svg",
      { viewBox: `0 0 ${width} ${height}`, role: "img", preserveAspectRatio: "none", class: "chart-svg" },
      [0, 1, 2].map((i) => {
        const y = height - (i / 2) * height;
        return s("line", { class: "grid", x1: 0, x2: width, y1: y, y2: y });
      }),
      this.#paths,
    );
    this.#summary = h("span", { class: "chart-now" });
    this.element = h(
      "figure",
      { class: "chart" },
      h("figcaption", {}, h("span", { class: "chart-title" }, spec.title), " ", this.#summary),
      h(
        "div",
        { class: "chart-body" },
        h("div", { class: "chart-scale", "aria-hidden": "true" }, [...this.#scale].reverse()),
        this.#svg,
        h(
          "div",
          { class: "chart-time", "aria-hidden": "true" },
          h("span", {}, `${Math.round(seconds / 60)} min ago`),
          h("span", {}, "now"),
        ),
      ),
      h(
        "ul",
        { class: "legend", "aria-hidden": "true" },
        spec.series.map((series) => h("li", {}, h("span", { class: `key ${series.className}` }), series.label)),
      ),
    );
  }

  /** Redraws with one array of values per series, oldest first, one value a second. */
  update(values: number[][]): void {
    const max = niceCeiling(Math.max(1, ...values.flat()));
    values.forEach((line, index) => {
      const step = line.length > 1 ? width / (line.length - 1) : 0;
      const d = line.map((value, i) => {
        const y = height - (Math.min(value, max) / max) * height;
        return `${i === 0 ? "M" : "L"}${(i * step).toFixed(1)} ${y.toFixed(1)}`;
      }).join("");
      this.#paths[index]?.setAttribute("d", d);
    });
    this.#scale.forEach((label, i) => {
      const text = amount((max * i) / 2);
      if (label.textContent !== text) label.textContent = text;
    });
    const latest = this.#spec.series.map((series, i) => `${series.label} ${amount(values[i]?.at(-1) ?? 0)}`);
    const summary = `now: ${latest.join(", ")} ${this.#spec.unit}`.trim();
    if (this.#summary.textContent !== summary) this.#summary.textContent = summary;
    const peak = `peak ${amount(Math.max(0, ...values.flat()))} ${this.#spec.unit}`.trim();
    this.#svg.setAttribute(
      "aria-label",
      `${this.#spec.title} over the last ${Math.round((this.#spec.seconds ?? 300) / 60)} minutes; ${summary}; ${peak}`,
    );
  }
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
