/**
 * When `fleetwave agent` reconciles on its own: at start, then after every reconcile (whatever
 * asked for it: the schedule, a webhook, an API action) the next one after the poll interval
 * ± 10 % jitter, or sooner when a gate this host waits on opens by the clock (TickReport.wakeAt:
 * a wave's pause ends, a tenant's window opens). Without the wake-up every wave of a rollout
 * would wait up to one poll interval longer than its pause.
 */

/** After the gate's time, so that the gate is surely open when the reconcile checks it. */
export const WAKE_MARGIN_MS = 250;
/** The least time between a reconcile and a wake-up: a time in the past never spins. */
export const WAKE_FLOOR_MS = 1000;

export interface NextReconcile {
  delayMs: number;
  /** The reason in the reconcile's log line. */
  reason: "interval" | "gate opens";
}

/**
 * The next reconcile from `now` (ms since the epoch): the interval scaled by `random` in [0, 1)
 * to ± 10 %, or `wakeAt` + WAKE_MARGIN_MS (at least WAKE_FLOOR_MS from now) when that is sooner.
 */
export function nextReconcile(o: {
  intervalMs: number;
  wakeAt: Date | undefined;
  now: number;
  random: number;
}): NextReconcile {
  const polled = o.intervalMs * (0.9 + o.random * 0.2);
  if (o.wakeAt === undefined) return { delayMs: polled, reason: "interval" };
  const woken = Math.max(o.wakeAt.getTime() + WAKE_MARGIN_MS - o.now, WAKE_FLOOR_MS);
  return woken < polled ? { delayMs: woken, reason: "gate opens" } : { delayMs: polled, reason: "interval" };
}

/** What the schedule needs of the agent (agent/src/agent/agent.ts). */
export interface Reconciling {
  requestReconcile(reason: string): void;
  /** The last reconcile's TickReport.wakeAt. */
  readonly wakeAt: Date | undefined;
  /** Calls `listener` after every reconcile; returns what unsubscribes it. */
  onReconciled(listener: () => void): () => void;
}

export class ReconcileSchedule {
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private stopped = false;

  constructor(
    private readonly agent: Reconciling,
    private readonly o: { intervalMs: number; now?: () => number; random?: () => number },
  ) {}

  /** Reconciles now; every reconcile that ends plans the next one. */
  start(): void {
    this.unsubscribe = this.agent.onReconciled(() => this.planNext());
    this.agent.requestReconcile("start");
  }

  /** No reconcile starts on its own any more; one in flight finishes (Agent.stop waits for it). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
  }

  private planNext(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const next = nextReconcile({
      intervalMs: this.o.intervalMs,
      wakeAt: this.agent.wakeAt,
      now: (this.o.now ?? Date.now)(),
      random: (this.o.random ?? Math.random)(),
    });
    this.timer = setTimeout(() => this.agent.requestReconcile(next.reason), next.delayMs);
  }
}
