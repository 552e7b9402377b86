import type { FleetEvent } from "../model/fleet.ts";
import type { Problem } from "../model/problems.ts";
import type { UserChangelog } from "../model/rollout.ts";

/** Fields every bot event carries. Digests are full `sha256:<64 hex>` strings. */
interface BotEventBase {
  /** Bot id (= container name). */
  bot: string;
  /** Tenant id; its contacts get the tenant-facing emails. */
  tenant: string;
  /** Rollout id; part of the dedupe key. Absent for an update that belongs to no rollout. */
  rollout?: string;
  /** When it happened (ISO 8601); defaults to the time `notify` was called. */
  at?: string;
}

/** A manual tenant has a new version waiting for "Update now". To the tenant's contacts. */
export interface BotUpdateAvailableEvent extends BotEventBase {
  type: "bot.update_available";
  /** Digest the bot runs now, if known. */
  from?: string;
  /** Digest waiting to be applied. */
  to: string;
  changelog?: UserChangelog;
}

/** The bot was updated and is healthy on `to`. To the tenant's contacts. */
export interface BotUpdatedEvent extends BotEventBase {
  type: "bot.updated";
  from?: string;
  to: string;
  changelog?: UserChangelog;
  durationMs?: number;
}

/**
 * The bot could not be updated and was never touched (for example the pull failed on every
 * attempt). To admins. Raise `bot.rolled_back` / `bot.rollback_failed` instead when a rollback
 * happened, so admins do not get two emails for one failure.
 */
export interface BotUpdateFailedEvent extends BotEventBase {
  type: "bot.update_failed";
  from?: string;
  to: string;
  reason: string;
  attempts?: number;
}

/** The new version was unhealthy; the old container and the volumes are back. To admins. */
export interface BotRolledBackEvent extends BotEventBase {
  type: "bot.rolled_back";
  /** Digest the bot was on before, and is on again. */
  from: string;
  /** Digest that failed. */
  to: string;
  reason: string;
}

/** The update failed AND the rollback failed: the bot may be down, snapshots were kept. To admins. */
export interface BotRollbackFailedEvent extends BotEventBase {
  type: "bot.rollback_failed";
  from: string;
  to: string;
  reason: string;
  /** Ids of the snapshots kept for this update, if known. */
  snapshots?: string[];
}

/**
 * A declared bot is not running and reconcile could not bring it back (start, revive or health
 * gate failed). Sent once per incident, not per reconcile. To admins.
 */
export interface BotDownEvent extends BotEventBase {
  type: "bot.down";
  /** When the agent first found it not running (ISO 8601); names the incident. */
  since: string;
  /** Digest of the container left, if known. */
  digest?: string;
  reason: string;
}

/**
 * A bot found not running is running and healthy again: started by reconcile, or back by other
 * means after a `bot.down`. Ends the incident. To admins.
 */
export interface BotRecoveredEvent extends BotEventBase {
  type: "bot.recovered";
  since: string;
  digest?: string;
  /** What was done, e.g. "the container had exited (code 137); it was started again". */
  reason: string;
}

/** One failed bot of a rollout, for the threshold notifications. */
export interface FailedBot {
  bot: string;
  tenant?: string;
  host?: string;
  /** e.g. "rolled-back", "rollback-failed", "failed". */
  result?: string;
  reason: string;
}

interface RolloutEventBase {
  rollout: string;
  at?: string;
  image?: string;
  digest?: string;
}

/** The rollout's first wave started (sent by the host of its first target). To admins. */
export interface RolloutStartedEvent extends RolloutEventBase {
  type: "rollout.started";
  /** How many bots the plan targets, on every host. */
  targets?: number;
  strategy?: string;
}

/**
 * Every target of the rollout has a final result on every host (sent by the host of its first
 * target). To admins. `waiting` counts manual tenants' bots still offered "Update now".
 */
export interface RolloutCompletedEvent extends RolloutEventBase {
  type: "rollout.completed";
  summary?: { updated: number; failed: number; skipped: number; waiting?: number };
}

/** Failed bots reached the threshold and the strategy says `pause`. To admins. */
export interface RolloutPausedEvent extends RolloutEventBase {
  type: "rollout.paused";
  reason: string;
  failed: FailedBot[];
  failureThreshold?: number;
}

/** The rollout was aborted (threshold with `abort`, or a person). To admins. */
export interface RolloutAbortedEvent extends RolloutEventBase {
  type: "rollout.aborted";
  reason: string;
  failed: FailedBot[];
  failureThreshold?: number;
}

/** A fleet-state commit failed validation; the agent keeps the last valid one. To admins. */
export interface FleetStateInvalidEvent {
  type: "fleet_state.invalid";
  commit: string;
  problems: Problem[];
  /** The commit the agent keeps acting on, if any. */
  lastValidCommit?: string;
  at?: string;
}

/** Everything the agent can ask the notifier to tell people about. */
export type NotifyEvent =
  | BotUpdateAvailableEvent
  | BotUpdatedEvent
  | BotUpdateFailedEvent
  | BotRolledBackEvent
  | BotRollbackFailedEvent
  | BotDownEvent
  | BotRecoveredEvent
  | RolloutStartedEvent
  | RolloutCompletedEvent
  | RolloutPausedEvent
  | RolloutAbortedEvent
  | FleetStateInvalidEvent;

export type NotifyEventType = NotifyEvent["type"];

// Every event type of fleet.yaml's webhook `events` list can be raised, and nothing else.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _eventTypesMatchFleetEvents: Same<NotifyEventType, FleetEvent> = true;
void _eventTypesMatchFleetEvents;

/**
 * The key under which an event is sent once: `type|bot or -|rollout or -`, plus the commit for
 * `fleet_state.invalid`. A bot event without a rollout uses `@<to digest>` in the rollout's place,
 * so a later update of the same bot to another digest is not swallowed.
 */
export function dedupeKey(event: NotifyEvent): string {
  switch (event.type) {
    case "fleet_state.invalid":
      return `${event.type}|-|-|${event.commit}`;
    case "rollout.started":
    case "rollout.completed":
    case "rollout.paused":
    case "rollout.aborted":
      return `${event.type}|-|${event.rollout}`;
    case "bot.down":
    case "bot.recovered":
      return `${event.type}|${event.bot}|@${event.since}`;
    default:
      return `${event.type}|${event.bot}|${event.rollout ?? `@${event.to}`}`;
  }
}

export function isBotEvent(
  event: NotifyEvent,
): event is
  | BotUpdateAvailableEvent
  | BotUpdatedEvent
  | BotUpdateFailedEvent
  | BotRolledBackEvent
  | BotRollbackFailedEvent
  | BotDownEvent
  | BotRecoveredEvent {
  return event.type.startsWith("bot.");
}
