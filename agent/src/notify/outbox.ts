/**
 * The durable outbox: every notification is a JSON file in `<dataDir>/outbox/`, written
 * atomically (temp file, fsync, rename, fsync of the directory) before anything is sent.
 *
 *   outbox/pending/<hash>.json   an event with at least one delivery still to attempt
 *   outbox/done/<hash>.json      an event whose deliveries all ended (delivered or failed)
 *
 * `<hash>` is derived from the event's dedupe key, so the existence of either file means "this
 * event was already taken care of": the key is never queued twice, not even across restarts.
 * Each delivery (one per channel) is retried in the background with exponential backoff; the
 * caller of `add` only waits for the file write. Delivery is at-least-once: a crash between a
 * successful send and the write that records it sends that one delivery again on restart, with
 * the same delivery id (webhook header, email Message-ID) so receivers can tell.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { FleetwaveError } from "../errors.ts";
import { fsyncDir, writeFileAtomic } from "../fs/durable.ts";
import type { NotifyEvent } from "./events.ts";
import {
  type BackoffPolicy,
  backoffDelay,
  type Channel,
  type Deliver,
  type Delivery,
  defaultBackoff,
  describeChannel,
  message,
  type OutboxRecord,
  PermanentDeliveryError,
  recordFileName,
  recordSchema,
} from "./outbox-record.ts";
import { Semaphore } from "./semaphore.ts";

export interface OutboxOptions {
  /** The outbox directory, e.g. `<dataDir>/outbox`. */
  dir: string;
  deliver: Deliver;
  log: (line: string) => void;
  backoff?: Partial<BackoffPolicy>;
  /** Deliveries sent at once (default 4). */
  concurrency?: number;
  /** Finished events older than this are forgotten at start (default 180 days; 0 keeps all). */
  retentionDays?: number;
  /** Injectable clock (epoch ms) and sleep for tests. `sleep` must reject or resolve on abort. */
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export class Outbox {
  private readonly pendingDir: string;
  private readonly doneDir: string;
  private readonly policy: BackoffPolicy;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly semaphore: Semaphore;
  private readonly stopController = new AbortController();
  /** File names of every event ever queued (pending or done). */
  private readonly known = new Set<string>();
  /** Records with deliveries still pending, by file name. */
  private readonly records = new Map<string, OutboxRecord>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly writes = new Map<string, Promise<void>>();
  private stopping = false;

  private constructor(private readonly options: OutboxOptions) {
    this.pendingDir = join(options.dir, "pending");
    this.doneDir = join(options.dir, "done");
    this.policy = { ...defaultBackoff, ...options.backoff };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.semaphore = new Semaphore(Math.max(1, options.concurrency ?? 4));
  }

  /** Opens (creating) the outbox directory and resumes every pending delivery in the background. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(options);
    await outbox.load();
    return outbox;
  }

  private async load(): Promise<void> {
    const { log } = this.options;
    await mkdir(this.pendingDir, { recursive: true });
    await mkdir(this.doneDir, { recursive: true });
    const doneNames = await this.listRecords(this.doneDir);
    const pendingNames = await this.listRecords(this.pendingDir);

    const retentionDays = this.options.retentionDays ?? 180;
    if (retentionDays > 0) {
      const cutoff = this.now() - retentionDays * 86_400_000;
      for (const name of doneNames) {
        const info = await stat(join(this.doneDir, name)).catch(() => undefined);
        if (info && info.mtimeMs < cutoff) {
          await rm(join(this.doneDir, name), { force: true });
          doneNames.delete(name);
        }
      }
    }
    for (const name of doneNames) this.known.add(name);

    for (const name of pendingNames) {
      this.known.add(name);
      if (doneNames.has(name)) {
        // Crashed between writing done/ and removing pending/: done/ is the newer state.
        await rm(join(this.pendingDir, name), { force: true });
        continue;
      }
      const path = join(this.pendingDir, name);
      let record: OutboxRecord;
      try {
        record = recordSchema.parse(JSON.parse(await readFile(path, "utf8")));
      } catch (error) {
        log(`notify: outbox file ${path} is unreadable (${message(error)}); moved aside, not sent`);
        await rename(path, `${path}.corrupt`).catch(() => undefined);
        continue;
      }
      const pending = record.deliveries.filter((d) => d.status === "pending");
      if (pending.length === 0) {
        await this.persist(name, record);
        continue;
      }
      this.records.set(name, record);
      log(
        `notify: resuming ${pending.length} pending deliver${pending.length === 1 ? "y" : "ies"} of ${record.key}`,
      );
      for (const delivery of pending) this.drive(name, record, delivery);
    }
  }

  private async listRecords(dir: string): Promise<Set<string>> {
    const names = new Set<string>();
    for (const name of await readdir(dir)) {
      if (name.endsWith(".tmp")) await rm(join(dir, name), { force: true });
      else if (name.endsWith(".json")) names.add(name);
    }
    return names;
  }

  /** True when this key was queued before (by this or an earlier agent run). */
  has(key: string): boolean {
    return this.known.has(recordFileName(key));
  }

  /**
   * Records the event under `key` and starts its deliveries in the background. Returns false,
   * doing nothing, when the key was queued before. Resolves once the record is on disk. After
   * `stop()` the record is still written, and is delivered by the next outbox over this dir.
   */
  async add(input: { key: string; event: NotifyEvent; channels: Channel[] }): Promise<boolean> {
    const name = recordFileName(input.key);
    if (this.known.has(name)) return false;
    this.known.add(name);
    const at = new Date(this.now()).toISOString();
    const record: OutboxRecord = {
      version: 1,
      key: input.key,
      type: input.event.type,
      createdAt: at,
      event: input.event,
      deliveries: input.channels.map((channel) => ({
        id: randomUUID(),
        channel,
        status: "pending",
        attempts: 0,
        nextAttemptAt: at,
      })),
    };
    try {
      await this.persist(name, record);
    } catch (error) {
      this.known.delete(name);
      throw new FleetwaveError(
        `could not record notification ${input.key} in ${this.options.dir}: ${message(error)}`,
        { cause: error },
      );
    }
    if (record.deliveries.length > 0) {
      this.records.set(name, record);
      if (!this.stopping) for (const delivery of record.deliveries) this.drive(name, record, delivery);
    }
    return true;
  }

  /** Deliveries not yet delivered or given up. */
  pendingCount(): number {
    let count = 0;
    for (const record of this.records.values()) {
      count += record.deliveries.filter((d) => d.status === "pending").length;
    }
    return count;
  }

  /**
   * Waits until no delivery is pending, or `timeoutMs` passed; true when none is pending.
   * Deliveries still pending stay on disk for the next run.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const timeout = new AbortController();
    const timedOut = delay(Math.max(0, timeoutMs), "timeout" as const, { signal: timeout.signal }).catch(
      () => "cancelled" as const,
    );
    try {
      while (this.tasks.size > 0) {
        const winner = await Promise.race([
          Promise.allSettled([...this.tasks]).then(() => "tasks" as const),
          timedOut,
        ]);
        if (winner === "timeout") break;
      }
      await Promise.allSettled([...this.writes.values()]);
    } finally {
      timeout.abort();
    }
    return this.pendingCount() === 0;
  }

  /**
   * Stops attempting: waits out sleeps, aborts in-flight webhook requests (not counted as
   * attempts), waits for in-flight emails and for every write. Pending deliveries stay on disk.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopController.abort(new FleetwaveError("the notification outbox is stopping"));
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    await Promise.allSettled([...this.writes.values()]);
  }

  private drive(name: string, record: OutboxRecord, delivery: Delivery): void {
    const task = this.run(name, record, delivery).catch((error: unknown) => {
      this.options.log(
        `notify: delivery ${delivery.id} of ${record.key} stopped unexpectedly: ${message(error)}`,
      );
    });
    this.tasks.add(task);
    void task.then(() => this.tasks.delete(task));
  }

  private async run(name: string, record: OutboxRecord, delivery: Delivery): Promise<void> {
    const { log } = this.options;
    const signal = this.stopController.signal;
    while (delivery.status === "pending" && !this.stopping) {
      const wait = Date.parse(delivery.nextAttemptAt) - this.now();
      if (wait > 0) {
        try {
          await this.sleep(wait, signal);
        } catch {
          return;
        }
        if (this.stopping) return;
      }
      let release: () => void;
      try {
        release = await this.semaphore.acquire(signal);
      } catch {
        return;
      }
      const what = `${record.key} by ${describeChannel(delivery.channel)}`;
      try {
        delivery.attempts += 1;
        await this.options.deliver(delivery, signal);
        delivery.status = "delivered";
        delivery.deliveredAt = new Date(this.now()).toISOString();
        delete delivery.lastError;
        log(`notify: sent ${what}${delivery.attempts > 1 ? ` (attempt ${delivery.attempts})` : ""}`);
      } catch (error) {
        if (signal.aborted) {
          // Interrupted by stop(): not the receiver's fault, so not an attempt.
          delivery.attempts -= 1;
        } else {
          delivery.lastError = message(error);
          if (error instanceof PermanentDeliveryError || delivery.attempts >= this.policy.maxAttempts) {
            delivery.status = "failed";
            log(`notify: GAVE UP on ${what} after ${delivery.attempts} attempt(s): ${delivery.lastError}`);
          } else {
            const wait = backoffDelay(delivery.attempts, this.policy);
            delivery.nextAttemptAt = new Date(this.now() + wait).toISOString();
            log(
              `notify: attempt ${delivery.attempts} of ${what} failed (${delivery.lastError}); retrying in ${Math.round(wait / 100) / 10}s`,
            );
          }
        }
      } finally {
        release();
      }
      try {
        await this.persist(name, record);
      } catch (error) {
        log(`notify: could not record the state of ${what}: ${message(error)}`);
      }
    }
  }

  /** Writes the record's current state; writes of one record happen one after another. */
  private persist(name: string, record: OutboxRecord): Promise<void> {
    const previous = this.writes.get(name) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const content = `${JSON.stringify(record, null, 2)}\n`;
        if (record.deliveries.every((d) => d.status !== "pending")) {
          await writeFileAtomic(join(this.doneDir, name), content);
          await rm(join(this.pendingDir, name), { force: true });
          await fsyncDir(this.pendingDir);
          this.records.delete(name);
        } else {
          await writeFileAtomic(join(this.pendingDir, name), content);
        }
      });
    this.writes.set(name, next);
    const forget = () => {
      if (this.writes.get(name) === next) this.writes.delete(name);
    };
    void next.then(forget, forget);
    return next;
  }
}
