/** Cron expressions: what parses, the messages for what does not, and next fire times. */
import { equal, throws } from "node:assert/strict";
import { CronError, parseCron } from "../src/server/cron_expression.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace(":00.000Z", "Z");

Deno.test("next fire times", async (t) => {
  // [expression, after, the fire times that follow, in order]
  const cases: [string, string, string[]][] = [
    ["*/5 * * * *", "2024-01-01T10:03:00Z", ["2024-01-01T10:05Z", "2024-01-01T10:10Z", "2024-01-01T10:15Z"]],
    ["*/5 * * * *", "2024-01-01T10:05:00Z", ["2024-01-01T10:10Z"]], // strictly after
    ["*/5 * * * *", "2024-01-01T10:04:59.999Z", ["2024-01-01T10:05Z"]],
    ["*/5 * * * *", "2024-12-31T23:57:10Z", ["2025-01-01T00:00Z"]],
    ["* * * * *", "2024-01-01T10:03:30Z", ["2024-01-01T10:04Z", "2024-01-01T10:05Z"]],
    ["30 * * * *", "2024-01-01T10:30:00Z", ["2024-01-01T11:30Z", "2024-01-01T12:30Z"]],
    ["30 * * * *", "2024-01-01T23:45:00Z", ["2024-01-02T00:30Z"]],
    ["0 12 * * *", "2024-01-01T12:00:01Z", ["2024-01-02T12:00Z"]],
    ["15,45 9-10 * * *", "2024-01-01T09:20:00Z", ["2024-01-01T09:45Z", "2024-01-01T10:15Z", "2024-01-01T10:45Z"]],
    ["0 0-12/6 * * *", "2024-01-01T01:00:00Z", ["2024-01-01T06:00Z", "2024-01-01T12:00Z", "2024-01-02T00:00Z"]],
    ["10/20 * * * *", "2024-01-01T10:00:00Z", ["2024-01-01T10:10Z", "2024-01-01T10:30Z", "2024-01-01T10:50Z"]],
    // Month ends: the 31st skips the shorter months.
    ["0 0 31 * *", "2024-01-31T00:00:00Z", ["2024-03-31T00:00Z", "2024-05-31T00:00Z", "2024-07-31T00:00Z"]],
    ["0 0 30 * *", "2024-01-30T00:00:00Z", ["2024-03-30T00:00Z", "2024-04-30T00:00Z"]],
    ["59 23 28-31 2 *", "2023-02-28T23:59:00Z", ["2024-02-28T23:59Z", "2024-02-29T23:59Z", "2025-02-28T23:59Z"]],
    ["0 0 1 * *", "2024-12-15T00:00:00Z", ["2025-01-01T00:00Z", "2025-02-01T00:00Z"]],
    // Feb 29 only in leap years: 2100 is not one, 2000 was.
    ["0 0 29 2 *", "2024-03-01T00:00:00Z", ["2028-02-29T00:00Z", "2032-02-29T00:00Z"]],
    ["0 0 29 2 *", "2096-03-01T00:00:00Z", ["2104-02-29T00:00Z"]],
    ["0 0 29 2 *", "1999-01-01T00:00:00Z", ["2000-02-29T00:00Z"]],
    // Both day fields restricted: either one matching fires (Friday the 13th means every Friday and every 13th).
    ["0 0 13 * FRI", "2024-09-01T00:00:00Z", [
      "2024-09-06T00:00Z",
      "2024-09-13T00:00Z",
      "2024-09-20T00:00Z",
      "2024-09-27T00:00Z",
      "2024-10-04T00:00Z",
      "2024-10-11T00:00Z",
      "2024-10-13T00:00Z",
    ]],
    ["0 0 1 * MON", "2024-04-28T00:00:00Z", ["2024-04-29T00:00Z", "2024-05-01T00:00Z", "2024-05-06T00:00Z"]],
    // One day field starting with "*": a day must match both (here the odd days that are Mondays).
    ["0 0 */2 * 1", "2024-01-01T00:00:00Z", ["2024-01-15T00:00Z", "2024-01-29T00:00Z", "2024-02-05T00:00Z"]],
    ["0 0 29 2 *", "2024-01-01T00:00:00Z", ["2024-02-29T00:00Z"]],
    ["0 0 * * 1", "2024-01-01T00:00:00Z", ["2024-01-08T00:00Z"]],
    // Sunday as 0, as 7, by name; ranges through 7.
    ["0 8 * * 0", "2024-01-01T00:00:00Z", ["2024-01-07T08:00Z", "2024-01-14T08:00Z"]],
    ["0 8 * * 7", "2024-01-01T00:00:00Z", ["2024-01-07T08:00Z", "2024-01-14T08:00Z"]],
    ["0 8 * * sun", "2024-01-01T00:00:00Z", ["2024-01-07T08:00Z"]],
    ["0 8 * * 6-7", "2024-01-01T00:00:00Z", ["2024-01-06T08:00Z", "2024-01-07T08:00Z", "2024-01-13T08:00Z"]],
    // Names of months and weekdays, in ranges and lists, any case.
    ["0 9 * * MON-FRI", "2024-01-05T09:00:00Z", ["2024-01-08T09:00Z", "2024-01-09T09:00Z"]],
    ["0 0 1 jan,Jul *", "2024-02-01T00:00:00Z", ["2024-07-01T00:00Z", "2025-01-01T00:00Z"]],
    ["0 0 1 MAR-MAY/2 *", "2024-01-01T00:00:00Z", ["2024-03-01T00:00Z", "2024-05-01T00:00Z", "2025-03-01T00:00Z"]],
    ["  0   0 1 1 *  ", "2024-01-01T00:00:00Z", ["2025-01-01T00:00Z"]],
  ];
  for (const [expression, after, expected] of cases) {
    await t.step(`${expression} after ${after}`, () => {
      const cron = parseCron(expression);
      const fired: string[] = [];
      let time = at(after);
      for (let i = 0; i < expected.length; i++) fired.push(iso(time = cron.next(time)));
      equal(fired.join(" "), expected.join(" "));
    });
  }
});

Deno.test("a year of */7 minutes: every fire is a multiple of 7 past the hour, none skipped", () => {
  const cron = parseCron("*/7 * * * *");
  let time = at("2023-12-31T23:59:00Z");
  let count = 0;
  while ((time = cron.next(time)) < at("2025-01-01T00:00:00Z")) {
    equal(new Date(time).getUTCMinutes() % 7, 0);
    count++;
  }
  // 2024 has 366 days of 24 hours, each with minutes 0, 7, …, 56.
  equal(count, 366 * 24 * 9);
});

Deno.test("invalid expressions say what is wrong", async (t) => {
  const cases: [string, RegExp][] = [
    ["", /expected 5 fields \(minute hour day-of-month month day-of-week\), got 0/],
    ["* * * *", /expected 5 fields .*, got 4/],
    ["0 0 * * * *", /expected 5 fields .*, got 6/],
    ["60 * * * *", /minute field "60": 60 is out of range 0–59/],
    ["* 24 * * *", /hour field "24": 24 is out of range 0–23/],
    ["* * 0 * *", /day-of-month field "0": 0 is out of range 1–31/],
    ["* * 32 * *", /day-of-month field "32": 32 is out of range 1–31/],
    ["* * * 13 *", /month field "13": 13 is out of range 1–12/],
    ["* * * * 8", /day-of-week field "8": 8 is out of range 0–7/],
    ["*/0 * * * *", /minute field "\*\/0": a step of 0 never moves on/],
    ["*/x * * * *", /minute field "\*\/x": step "x" is not a whole number/],
    ["*/2/3 * * * *", /has more than one "\/"/],
    ["30-10 * * * *", /minute field "30-10": range 30-10 runs backwards/],
    ["* * * * FRI-MON", /day-of-week field "FRI-MON": range FRI-MON runs backwards/],
    ["1,,2 * * * *", /minute field "1,,2" has an empty list item/],
    ["1- * * * *", /minute field "1-": "1-" is not a value or a range a-b/],
    ["1-2-3 * * * *", /"1-2-3" is not a value or a range a-b/],
    ["* * * FOO *", /month field "FOO": "FOO" is not a number or a name JAN–DEC/],
    ["* * * * MONDAY", /day-of-week field "MONDAY": "MONDAY" is not a number or a name SUN–SAT/],
    ["MON * * * *", /minute field "MON": "MON" is not a number$/],
    ["-1 * * * *", /"-1" is not a value or a range a-b/],
    ["@hourly", /expected 5 fields/],
    // Dates that never come: refused rather than searched for ever.
    ["0 0 31 2 *", /it never fires: February has no day 31/],
    ["0 0 30,31 2 *", /it never fires: February has no day 30 or 31/],
    ["0 0 31 4,6,9,11 *", /it never fires: April, June, September, November have no day 31/],
    ["0 0 31 2 */2", /it never fires: February has no day 31/],
  ];
  for (const [expression, message] of cases) {
    await t.step(JSON.stringify(expression), () => {
      throws(() => parseCron(expression), (err: Error) => {
        equal(err instanceof CronError, true);
        equal(err.message.startsWith(`invalid cron "${expression}": `), true, err.message);
        equal(message.test(err.message), true, `${err.message} should match ${message}`);
        return true;
      });
    });
  }
});

Deno.test("dates that exist only some years, or on either day field, are allowed", () => {
  equal(parseCron("0 0 29 2 *").source, "0 0 29 2 *");
  equal(parseCron("0 0 30,31 2,4 *").next(at("2024-01-01T00:00:00Z")), at("2024-04-30T00:00:00Z"));
  // Both day fields restricted: Mondays in February fire, the 31st never does.
  equal(parseCron("0 0 31 2 MON").next(at("2024-01-01T00:00:00Z")), at("2024-02-05T00:00:00Z"));
});
