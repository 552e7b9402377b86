/**
 * The contract between the HTTP module and the agent loop. The agent implements
 * {@link AgentControl}; the HTTP module only reads views and asks for actions through it, so it
 * never touches git, Docker or the fleet-state files itself.
 */
import type { Rollout, RolloutTarget } from "../model/rollout.ts";
import type { BotStatus, HostStatus } from "../model/status.ts";
import type { FleetView } from "../plan/fleet-view.ts";
import type { AgentMetrics } from "./metrics.ts";

export type BotState = BotStatus["state"];
export type RolloutControlState = Rollout["control"]["state"];
/** This host's progress on one rollout, exactly as in `fleet-state/status/<host>.yaml`. */
export type RolloutProgress = HostStatus["rollouts"][string];

/** An update waiting for a manual tenant's "Update now". */
export interface Offer {
  rollout: string;
  digest: string;
}

/** One bot this host owns. */
export interface BotView {
  /** The bot id (= container name). */
  id: string;
  tenant: string;
  /** What runs now; null when the container is missing or was never created. */
  digest: string | null;
  state: BotState;
  /** The tenant's effective update mode (manual tenants wait for "Update now"). */
  updateMode: "auto" | "manual";
  /** Set for manual tenants while a rollout waits for "Update now". */
  updateAvailable?: Offer;
  /** The last update attempt, as recorded in the status file (with reason and actor if any). */
  last?: BotStatus["last"];
}

/** A rollout plan as seen from this host. */
export interface RolloutView {
  id: string;
  createdAt: string;
  image: string;
  digest: string;
  /** Strategy name from the plan. */
  strategy: Rollout["strategy"]["name"];
  /** `control` from the LATEST fleet-state: state plus who changed it, when and why. */
  control: Rollout["control"];
  /** Targets over all hosts, and on this host. */
  targets: { total: number; onThisHost: number };
  /** This host's progress from its status file; absent until this host recorded anything. */
  progress?: RolloutProgress;
}

/** `GET /api/rollouts/:id`: the summary plus the full plan (targets, strategy, changelog). */
export interface RolloutDetailView extends RolloutView {
  plan: Rollout;
}

/** The problem the agent wants an operator to see (invalid fleet-state commit, failed push, …). */
export interface AgentErrorView {
  /** Short machine-friendly origin, e.g. "fleet-state", "git-push", "reconcile", "notify". */
  source: string;
  message: string;
  /** ISO 8601 time it was (last) seen. */
  at: string;
}

/** `GET /api/status`. */
export interface AgentStatusView {
  host: string;
  /** The fleet-state commit the agent acts on (the last VALID one); null before the first load. */
  observedCommit: string | null;
  /** Fleet-wide pause (`updates.mode: paused` in fleet.yaml). */
  paused: boolean;
  /** ISO 8601 end time of the last finished reconcile. */
  lastReconcileAt?: string;
  lastError?: AgentErrorView;
  bots: BotView[];
  rollouts: RolloutView[];
}

/**
 * The outcome of an action. On success, `commit` is the fleet-state commit that records it (if
 * one was made) and `pending: true` means the work was accepted but not finished yet (→ 202).
 * On failure the status is the HTTP status to answer with:
 * 400 bad request for this state, 404 unknown bot/rollout, 409 conflicts with the current state
 * (e.g. resuming an aborted rollout, bot already updating), 423 the fleet is paused,
 * 503 the agent cannot act right now (e.g. fleet-state invalid, shutting down).
 */
export type ActionResult =
  | { ok: true; message: string; commit?: string; pending?: boolean }
  | { ok: false; status: 400 | 404 | 409 | 423 | 503; message: string };

export interface AgentControl {
  /** This agent's host id. */
  readonly host: string;
  /** The git branch the agent follows; pushes to it via the GitHub webhook trigger a reconcile. */
  readonly watchedBranch: string;
  status(): AgentStatusView;
  /** One rollout with its plan; undefined when no such plan is in the current fleet-state. */
  rollout(id: string): RolloutDetailView | undefined;
  /**
   * "Update now": a single-bot update of a manual tenant's bot, gated only by the fleet pause.
   * With `offer` (a tenant link), only while the bot is offered exactly that rollout and digest
   * (else 409), so a link never applies anything but what its email showed.
   */
  updateBotNow(botId: string, actor: string, offer?: Offer): Promise<ActionResult>;
  /** Edit `control` of fleet-state/rollouts/<id>.yaml and commit it as `actor`. */
  setRolloutControl(
    id: string,
    state: RolloutControlState,
    actor: string,
    reason?: string,
  ): Promise<ActionResult>;
  /**
   * `fleetwave rollback` from the API: pin the bot in its tenant file to `to` (a digest it ran
   * before) or, without `to`, to the last digest it ran healthily; commit it as `actor`.
   */
  rollbackBot(botId: string, actor: string, options: { to?: string; reason?: string }): Promise<ActionResult>;
  /** Edit `updates.mode` in fleet.yaml (paused, or back to the previous mode) and commit it as `actor`. */
  setFleetPaused(paused: boolean, actor: string, reason?: string): Promise<ActionResult>;
  /** Ask for a reconcile as soon as possible; fire-and-forget, must not throw. */
  requestReconcile(reason: string): void;
  /** What the agent counts and times; GET /metrics adds the HTTP counters and status gauges. */
  metrics(): AgentMetrics;
  /** Every host's bots and every rollout per wave and host, from the status refs (docs/contracts.md). */
  fleet?(): FleetView;
}

/**
 * Builds a {@link RolloutView} from a plan and this host's progress, so the agent does not have to.
 * `control` should come from the latest fleet-state (it is the plan's own field when the plan is
 * read from the latest commit).
 */
export function rolloutView(plan: Rollout, host: string, progress?: RolloutProgress): RolloutView {
  const onThisHost = plan.targets.filter((t: RolloutTarget) => t.host === host).length;
  const view: RolloutView = {
    id: plan.id,
    createdAt: plan.createdAt,
    image: plan.image,
    digest: plan.digest,
    strategy: plan.strategy.name,
    control: plan.control,
    targets: { total: plan.targets.length, onThisHost },
  };
  if (progress) view.progress = progress;
  return view;
}

/** Same as {@link rolloutView} with the full plan attached, for `GET /api/rollouts/:id`. */
export function rolloutDetailView(
  plan: Rollout,
  host: string,
  progress?: RolloutProgress,
): RolloutDetailView {
  return { ...rolloutView(plan, host, progress), plan };
}
