import { describe, expect, it } from "vitest";
import { IncidentBook } from "./heal-bot.ts";

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

describe("IncidentBook", () => {
  it("says nothing about a bot that keeps running", () => {
    const book = new IncidentBook();
    expect(book.observe("a", false, true, t(0))).toBeUndefined();
    expect(book.observe("a", false, true, t(1))).toBeUndefined();
  });

  it("gives one bot.recovered for a bot found down and healed in the same reconcile", () => {
    const book = new IncidentBook();
    expect(book.observe("a", true, true, t(0))).toEqual({
      event: "bot.recovered",
      since: t(0).toISOString(),
    });
    expect(book.observe("a", false, true, t(1))).toBeUndefined();
  });

  it("gives one bot.down however many reconciles it stays down, then one bot.recovered", () => {
    const book = new IncidentBook();
    expect(book.observe("a", true, false, t(0))).toEqual({ event: "bot.down", since: t(0).toISOString() });
    expect(book.observe("a", true, false, t(30))).toBeUndefined();
    expect(book.observe("a", true, false, t(60))).toBeUndefined();
    expect(book.since("a")).toBe(t(0).toISOString());
    expect(book.observe("a", true, true, t(90))).toEqual({
      event: "bot.recovered",
      since: t(0).toISOString(),
    });
    expect(book.observe("a", true, false, t(120))).toEqual({
      event: "bot.down",
      since: t(120).toISOString(),
    });
  });

  it("forgets the incident of a bot that is no longer declared", () => {
    const book = new IncidentBook();
    book.observe("a", true, false, t(0));
    book.retain(new Set(["b"]));
    expect(book.since("a")).toBeUndefined();
  });
});
