/**
 * Five-field cron expressions in UTC (minute hour day-of-month month day-of-week): parsing, with
 * messages that say what is wrong, and the next time an expression fires.
 *
 * Each field is `*` or a comma-separated list of `n`, `a-b`, `*\/step`, `a-b/step` or `a/step` (from
 * `a` to the field's end). Months may be named JAN–DEC and weekdays SUN–SAT (any case); Sunday is 0
 * or 7. As in Vixie cron and POSIX crontab: when both day fields are restricted (neither starts with
 * `*`), a day matching either one fires; otherwise a day must match both.
 */

/** A cron expression that cannot be parsed or never fires. */
export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CronError";
  }
}

interface FieldRule {
  name: string;
  min: number;
  max: number;
  /** Three-letter names of the values from `min` on. */
  names?: string[];
}

const rules: FieldRule[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(" ") },
  { name: "day-of-week", min: 0, max: 7, names: "SUN MON TUE WED THU FRI SAT".split(" ") },
];

const monthNames = "January February March April May June July August September October November December"
  .split(" ");
/** The most days each month can have (February in a leap year). */
const longestMonths = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const minuteMs = 60_000;
/** Gregorian dates repeat every 400 years: a search that long without a match never ends. */
const searchYears = 400;

/**
 * A parsed cron expression.
 *
 * @example
 * ```ts
 * const every5 = parseCron("*\/5 * * * *");
 * every5.next(Date.UTC(2024, 0, 1, 10, 3)); // Date.UTC(2024, 0, 1, 10, 5)
 * ```
 */
export class CronExpression {
  /** The expression as written. */
  readonly source: string;
  readonly #minutes: boolean[];
  readonly #hours: boolean[];
  readonly #daysOfMonth: boolean[];
  readonly #months: boolean[];
  readonly #daysOfWeek: boolean[];
  /** True when both day fields are restricted: a day matching either fires. */
  readonly #eitherDay: boolean;

  constructor(source: string, fields: boolean[][], eitherDay: boolean) {
    this.source = source;
    [this.#minutes, this.#hours, this.#daysOfMonth, this.#months, this.#daysOfWeek] = fields;
    this.#eitherDay = eitherDay;
  }

  /**
   * The first fire time strictly after `afterMs` (milliseconds since the epoch), a whole UTC
   * minute. Throws a CronError if there is none within 400 years, which `parseCron` rules out.
   *
   * @example
   * ```ts
   * parseCron("30 * * * *").next(Date.UTC(2024, 0, 1, 10, 30)); // Date.UTC(2024, 0, 1, 11, 30)
   * ```
   */
  next(afterMs: number): number {
    let time = Math.floor(afterMs / minuteMs) * minuteMs + minuteMs;
    const lastYear = new Date(time).getUTCFullYear() + searchYears;
    for (;;) {
      const date = new Date(time);
      const year = date.getUTCFullYear();
      const month = date.getUTCMonth();
      const day = date.getUTCDate();
      const hour = date.getUTCHours();
      if (year > lastYear) throw new CronError(`cron "${this.source}" never fires`);
      if (!this.#months[month + 1]) {
        time = Date.UTC(year, month + 1, 1);
      } else if (!this.matchesDay(year, month, day)) {
        time = Date.UTC(year, month, day + 1);
      } else if (!this.#hours[hour]) {
        time = Date.UTC(year, month, day, hour + 1);
      } else {
        const minute = this.#minutes.indexOf(true, date.getUTCMinutes());
        if (minute >= 0) return Date.UTC(year, month, day, hour, minute);
        time = Date.UTC(year, month, day, hour + 1);
      }
    }
  }

  /** Whether the expression's day fields allow a date (`month` counts from 0, as in Date). */
  matchesDay(year: number, month: number, day: number): boolean {
    const byMonthDay = this.#daysOfMonth[day];
    const byWeekday = this.#daysOfWeek[new Date(Date.UTC(year, month, day)).getUTCDay()];
    return this.#eitherDay ? byMonthDay || byWeekday : byMonthDay && byWeekday;
  }

  toString(): string {
    return this.source;
  }
}

/**
 * Parses a five-field cron expression; throws a CronError naming the field and what is wrong, or
 * saying why the expression could never fire (`0 0 31 2 *`: February has no 31st).
 *
 * @example
 * ```ts
 * const weekdayMornings = parseCron("0 9 * * MON-FRI");
 * ```
 */
export function parseCron(source: string): CronExpression {
  const fail = (problem: string): never => {
    throw new CronError(`invalid cron "${source}": ${problem}`);
  };
  const texts = source.trim().split(/\s+/).filter(Boolean);
  if (texts.length !== rules.length) {
    fail(`expected 5 fields (minute hour day-of-month month day-of-week), got ${texts.length}`);
  }
  const fields = texts.map((text, index) => parseField(text, rules[index], fail));
  // Sunday is both 0 and 7.
  fields[4][0] ||= fields[4][7];
  fields[4].length = 7;
  const dayOfMonthRestricted = !texts[2].startsWith("*");
  const dayOfWeekRestricted = !texts[4].startsWith("*");
  const eitherDay = dayOfMonthRestricted && dayOfWeekRestricted;
  if (!eitherDay) {
    // Every date falls on every weekday in some year: only a day of the month that none of the
    // chosen months has makes an expression that never fires.
    const months = fields[3].flatMap((allowed, month) => allowed ? [month] : []);
    const days = fields[2].flatMap((allowed, day) => allowed ? [day] : []);
    if (!months.some((month) => days.some((day) => day <= longestMonths[month - 1]))) {
      const names = months.map((month) => monthNames[month - 1]).join(", ");
      fail(`it never fires: ${names} ${months.length === 1 ? "has" : "have"} no day ${days.join(" or ")}`);
    }
  }
  return new CronExpression(source.trim(), fields, eitherDay);
}

/** One field as a table of allowed values, indexed by value. */
function parseField(text: string, rule: FieldRule, fail: (problem: string) => never): boolean[] {
  const allowed: boolean[] = new Array(rule.max + 1).fill(false);
  const where = `${rule.name} field "${text}"`;
  for (const item of text.split(",")) {
    if (item === "") fail(`${where} has an empty list item`);
    const parts = item.split("/");
    if (parts.length > 2) fail(`${where}: "${item}" has more than one "/"`);
    const [range, stepText] = parts;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) fail(`${where}: step "${stepText}" is not a whole number`);
      step = Number(stepText);
      if (step === 0) fail(`${where}: a step of 0 never moves on`);
    }
    let first: number;
    let last: number;
    if (range === "*") {
      // A day-of-week `*` is Sunday to Saturday; 7 would only repeat Sunday.
      [first, last] = [rule.min, rule.name === "day-of-week" ? 6 : rule.max];
    } else {
      const ends = range.split("-");
      if (ends.length > 2 || ends.includes("")) fail(`${where}: "${range}" is not a value or a range a-b`);
      first = parseValue(ends[0], rule, where, fail);
      last = ends.length === 2 ? parseValue(ends[1], rule, where, fail) : stepText === undefined ? first : rule.max;
      if (last < first) fail(`${where}: range ${range} runs backwards`);
    }
    for (let value = first; value <= last; value += step) allowed[value] = true;
  }
  return allowed;
}

function parseValue(text: string, rule: FieldRule, where: string, fail: (problem: string) => never): number {
  const named = rule.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return rule.min + named;
  if (!/^\d+$/.test(text)) {
    const names = rule.names ? ` or a name ${rule.names[0]}–${rule.names.at(-1)}` : "";
    return fail(`${where}: "${text}" is not a number${names}`);
  }
  const value = Number(text);
  if (value < rule.min || value > rule.max) fail(`${where}: ${value} is out of range ${rule.min}–${rule.max}`);
  return value;
}
