import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NotifyEvent } from "./events.ts";
import { Outbox, type OutboxOptions } from "./outbox.ts";
import {
  backoffDelay,
  type Channel,
  type Deliver,
  type Delivery,
  defaultBackoff,
  PermanentDeliveryError,
  recordFileName,
} from "./outbox-record.ts";

const event: NotifyEvent = { type: "rollout.started", rollout: "2026-11-27T0612Z-3f2a9c1b" };
const hook: Channel = {
  kind: "webhook",
  url: "http://127.0.0.1:9/hook",
  event: "rollout.started",
  body: "{}",
};

/** A virtual clock: sleeping advances it at once, and the sleeps are recorded. */
function virtualClock(start = Date.parse("2026-11-27T06:00:00Z")) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleeps,
    sleep: async (ms: number, signal: AbortSignal) => {
      if (signal.aborted) throw signal.reason;
      sleeps.push(ms);
      t += ms;
    },
  };
}

describe("backoffDelay", () => {
  it("doubles from 1 s and caps at 5 minutes", () => {
    const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, defaultBackoff));
    expect(delays).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000,
    ]);
  });
});

describe("Outbox", () => {
  let dir: string;
  const opened: Outbox[] = [];
  const logs: string[] = [];

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "fleetwave-outbox-")), "outbox");
    logs.length = 0;
  });

  afterEach(async () => {
    for (const o of opened.splice(0)) await o.stop();
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  async function open(deliver: Deliver, extra: Partial<OutboxOptions> = {}): Promise<Outbox> {
    const outbox = await Outbox.open({ dir, deliver, log: (l) => logs.push(l), ...extra });
    opened.push(outbox);
    return outbox;
  }

  it("backs off 1 s, 2 s, 4 s … on the injected clock and gives up after maxAttempts", async () => {
    const clock = virtualClock();
    const attempts: number[] = [];
    const outbox = await open(
      async () => {
        attempts.push(clock.now());
        throw new Error("HTTP 500");
      },
      { now: clock.now, sleep: clock.sleep },
    );
    expect(await outbox.add({ key: "k", event, channels: [hook] })).toBe(true);
    expect(await outbox.flush(5000)).toBe(true);
    expect(clock.sleeps).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000]);
    expect(attempts).toHaveLength(10);
    const record = JSON.parse(await readFile(join(dir, "done", recordFileName("k")), "utf8"));
    expect(record.deliveries[0]).toMatchObject({ status: "failed", attempts: 10, lastError: "HTTP 500" });
    expect(logs.at(-1)).toContain("GAVE UP");
  });

  it("does not retry a permanent failure", async () => {
    let calls = 0;
    const outbox = await open(async () => {
      calls += 1;
      throw new PermanentDeliveryError("SMTP_URL is not set in this run");
    });
    await outbox.add({ key: "k", event, channels: [hook] });
    expect(await outbox.flush(2000)).toBe(true);
    expect(calls).toBe(1);
  });

  it("queues a key once, also when asked twice at the same time", async () => {
    const sent: string[] = [];
    const outbox = await open(async (d) => {
      sent.push(d.id);
    });
    const results = await Promise.all([
      outbox.add({ key: "same", event, channels: [hook] }),
      outbox.add({ key: "same", event, channels: [hook] }),
      outbox.add({ key: "other", event, channels: [hook] }),
    ]);
    expect(results).toEqual([true, false, true]);
    await outbox.flush(2000);
    expect(sent).toHaveLength(2);
    expect(await readdir(join(dir, "done"))).toHaveLength(2);
  });

  it("records an event with no channel so it is not queued again", async () => {
    const outbox = await open(async () => undefined);
    expect(await outbox.add({ key: "k", event, channels: [] })).toBe(true);
    expect(outbox.has("k")).toBe(true);
    expect(await readdir(join(dir, "done"))).toEqual([recordFileName("k")]);
  });

  it("sends each channel of an event on its own: one failing does not hold back or repeat the other", async () => {
    const hits: string[] = [];
    const outbox = await open(
      async (d: Readonly<Delivery>) => {
        const url = d.channel.kind === "webhook" ? d.channel.url : "";
        hits.push(url);
        if (url.endsWith("/flaky") && hits.filter((h) => h === url).length < 3) throw new Error("HTTP 502");
      },
      { backoff: { initialMs: 5 } },
    );
    await outbox.add({
      key: "k",
      event,
      channels: [
        { ...hook, url: "http://127.0.0.1:9/flaky" },
        { ...hook, url: "http://127.0.0.1:9/steady" },
      ],
    });
    expect(await outbox.flush(2000)).toBe(true);
    expect(hits.filter((h) => h.endsWith("/steady"))).toHaveLength(1);
    expect(hits.filter((h) => h.endsWith("/flaky"))).toHaveLength(3);
  });

  it("keeps a record after stop() and sends it from the next outbox", async () => {
    const first = await open(async () => undefined);
    await first.stop();
    expect(await first.add({ key: "late", event, channels: [hook] })).toBe(true);
    expect(await readdir(join(dir, "pending"))).toHaveLength(1);

    let sent = 0;
    const second = await open(async () => {
      sent += 1;
    });
    expect(second.has("late")).toBe(true);
    expect(await second.flush(2000)).toBe(true);
    expect(sent).toBe(1);
  });

  it("stop() aborts an in-flight send without counting it as an attempt", async () => {
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      started = resolve;
    });
    const outbox = await open(
      (_d, signal) =>
        new Promise<void>((_resolve, reject) => {
          started();
          signal.addEventListener("abort", () => reject(new Error("aborted")));
        }),
    );
    await outbox.add({ key: "k", event, channels: [hook] });
    await inFlight;
    await outbox.stop();
    const record = JSON.parse(await readFile(join(dir, "pending", recordFileName("k")), "utf8"));
    expect(record.deliveries[0]).toMatchObject({ status: "pending", attempts: 0 });
  });

  it("recovers from a crash between writing done/ and removing pending/, and sets corrupt files aside", async () => {
    await mkdir(join(dir, "pending"), { recursive: true });
    await mkdir(join(dir, "done"), { recursive: true });
    const both = recordFileName("both");
    const record = {
      version: 1,
      key: "both",
      type: "rollout.started",
      createdAt: new Date().toISOString(),
      event,
      deliveries: [],
    };
    await writeFile(join(dir, "pending", both), JSON.stringify(record));
    await writeFile(join(dir, "done", both), JSON.stringify(record));
    await writeFile(join(dir, "pending", recordFileName("bad")), "{ not json");
    await writeFile(join(dir, "pending", ".half-written.tmp"), "{");

    let sent = 0;
    const outbox = await open(async () => {
      sent += 1;
    });
    expect(await readdir(join(dir, "pending"))).toEqual([`${recordFileName("bad")}.corrupt`]);
    expect(outbox.has("both")).toBe(true);
    expect(outbox.has("bad")).toBe(true);
    expect(await outbox.add({ key: "bad", event, channels: [hook] })).toBe(false);
    expect(sent).toBe(0);
    expect(logs.some((l) => l.includes("unreadable"))).toBe(true);
  });

  it("forgets finished events older than the retention", async () => {
    const first = await open(async () => undefined);
    await first.add({ key: "old", event, channels: [hook] });
    await first.add({ key: "new", event, channels: [hook] });
    await first.flush(2000);
    await first.stop();
    const longAgo = new Date(Date.now() - 200 * 86_400_000);
    await utimes(join(dir, "done", recordFileName("old")), longAgo, longAgo);

    const second = await open(async () => undefined, { retentionDays: 180 });
    expect(second.has("old")).toBe(false);
    expect(second.has("new")).toBe(true);
  });
});
