/**
 * How a rollout plan is chosen (docs/contracts.md: rollout files and semantics). Pure: no clock, no files, no
 * git. The same input always gives the same plan.
 *
 * 1. Targets: bots whose `image` equals the plan's image, not pinned, not already running the
 *    digest (per `status/<host>.yaml`), and the digest not quarantined for this image.
 * 2. Order: by minutes until the tenant's update window next opens (counted from `now`, an open
 *    window counts 0), then the tenant's preferred hour, tenant id and bot id. Wave 1 therefore
 *    holds the bots whose windows come first, and no wave waits a day for a window that opened
 *    an hour before the plan.
 * 3. Waves: `max(1, ceil(total × batchPercent / 100))` bots per wave, counted on the total, in
 *    that order. `immediate`: everything in wave 1. `single-bot`: one bot only.
 */
import { FleetwaveError } from "../errors.ts";
import { imageAllowed } from "../model/allowlist.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import { digest as digestSchema, imageRef } from "../model/primitives.ts";
import type { Rollout, RolloutTarget, UserChangelog } from "../model/rollout.ts";
import type { HostStatus } from "../model/status.ts";
import { type Strategy, strategySchema } from "../model/strategy.ts";
import { shortDigest } from "../text/digest.ts";
import { minutesUntilWindow, tenantPreferredHour } from "./gates.ts";
import { activeQuarantine } from "./quarantine.ts";

/** A plan cannot be made from these inputs; `message` tells the operator what to change. */
export class PlanError extends FleetwaveError {
  override name = "PlanError";
}

/** The image and digest already have a plan; re-planning would run the same rollout twice. */
export class DuplicatePlanError extends PlanError {
  override name = "DuplicatePlanError";
  constructor(readonly existing: Rollout) {
    super(
      `rollout ${existing.id} already plans ${existing.image}@${existing.digest} (control.state: ${existing.control.state}); ` +
        (existing.control.state === "aborted"
          ? "that digest was aborted: build and plan a new image instead"
          : "edit or abort that plan instead of planning the same digest again"),
    );
  }
}

export type ExclusionReason = "other-image" | "pinned" | "up-to-date" | "quarantined" | "not-selected";

export interface Exclusion {
  bot: string;
  tenant: string;
  host: string;
  reason: ExclusionReason;
  /** Human detail, e.g. the image the bot follows or the quarantine record. */
  detail: string;
}

export interface PlanInput {
  state: FleetState;
  /** `repository:tag`, the channel bots follow. */
  image: string;
  /** `sha256:<64 hex>`. */
  digest: string;
  changelog?: UserChangelog;
  /** Overrides fleet.yaml's strategy field by field. */
  strategy?: Partial<Strategy>;
  /** For `single-bot`: the bot to update; without it the first target in plan order. */
  bot?: string;
  /** The plan's creation time; the id and the window ordering derive from it. */
  now: Date;
  /** The fleet-state commit the plan was computed from. */
  basedOn: string;
  source?: Rollout["source"];
}

export interface PlanResult {
  plan: Rollout;
  /** Every bot that is not a target, in fleet order, with the reason. */
  excluded: Exclusion[];
}

/** `2026-11-27T0612Z-3f2a9c1b`: the UTC minute of `now` and the first 8 hex of the digest. */
export function rolloutIdFor(now: Date, digest: string): string {
  const iso = now.toISOString(); // 2026-11-27T06:12:34.567Z
  const minute = `${iso.slice(0, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
  return `${minute}-${digest.slice("sha256:".length, "sha256:".length + 8)}`;
}

/** fleet.yaml's strategy overridden field by field, validated as a complete strategy. */
export function resolveStrategy(defaults: Strategy, override: Partial<Strategy> = {}): Strategy {
  const defined = Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined));
  const result = strategySchema.safeParse({ ...defaults, ...defined });
  if (!result.success) {
    // Strategy fields are flat, so an issue path has at most one segment and "." never shows.
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "strategy"}: ${i.message}`);
    throw new PlanError(`invalid strategy: ${problems.join("; ")}`);
  }
  const strategy = result.data;
  // An immediate rollout is one wave with no pause; say so in the plan instead of leaving
  // numbers that do not apply.
  if (strategy.name === "immediate") return { ...strategy, batchPercent: 100, pauseSeconds: 0 };
  return strategy;
}

/** Wave size: `ceil(total × batchPercent / 100)`, at least 1. */
export function waveSize(total: number, batchPercent: number): number {
  return Math.max(1, Math.ceil((total * batchPercent) / 100));
}

/** 1-based wave of the target at 0-based `index` in plan order. */
export function waveOf(
  index: number,
  total: number,
  strategy: Pick<Strategy, "name" | "batchPercent">,
): number {
  if (strategy.name !== "rolling-wave") return 1;
  return Math.floor(index / waveSize(total, strategy.batchPercent)) + 1;
}

function firstIssue(result: { success: boolean; error?: { issues: { message: string }[] } }): string {
  // Stryker disable next-line OptionalChaining,StringLiteral: only called on a failed parse, and zod reports at least one issue on failure.
  return result.error?.issues[0]?.message ?? "invalid";
}

/** The digest each bot runs now, from the status file of the bot's host. */
function runningDigests(statuses: HostStatus[], bots: FleetBot[]): Map<string, string | null> {
  const byHost = new Map(statuses.map((s) => [s.host, s]));
  const running = new Map<string, string | null>();
  for (const bot of bots) {
    const status = byHost.get(bot.host)?.bots[bot.id];
    if (status) running.set(bot.id, status.digest);
  }
  return running;
}

interface Ranked {
  bot: FleetBot;
  untilWindow: number;
  hour: number;
}

const byPlanOrder = (a: Ranked, b: Ranked): number =>
  a.untilWindow - b.untilWindow ||
  a.hour - b.hour ||
  (a.bot.tenant < b.bot.tenant ? -1 : a.bot.tenant > b.bot.tenant ? 1 : 0) ||
  // Stryker disable next-line EqualityOperator,ConditionalExpression: bot ids are unique (fleet-state rejects duplicates) and V8's sort only tells a negative result from a non-negative one, so the 1-or-0 branch cannot change the order.
  (a.bot.id < b.bot.id ? -1 : a.bot.id > b.bot.id ? 1 : 0);

/**
 * Computes a rollout plan. Throws PlanError (with an operator-facing message) for a malformed
 * digest or image, an image outside the allowlist, an invalid strategy, a plan that already
 * exists for the digest, or a `bot` that is not a target. An empty target list is NOT an error
 * here: the caller decides (`--allow-empty`).
 */
export function planRollout(input: PlanInput): PlanResult {
  const { state, image, digest, now } = input;
  const digestCheck = digestSchema.safeParse(digest);
  if (!digestCheck.success) throw new PlanError(`digest "${digest}": ${firstIssue(digestCheck)}`);
  const imageCheck = imageRef.safeParse(image);
  if (!imageCheck.success) throw new PlanError(`image "${image}": ${firstIssue(imageCheck)}`);
  if (!imageAllowed(state.fleet.images.allowlist, image)) {
    throw new PlanError(
      `image "${image}" is not allowed; fleet.yaml images.allowlist has ${state.fleet.images.allowlist.join(", ")}`,
    );
  }
  if (Number.isNaN(now.getTime())) throw new PlanError("the plan time is not a valid date");
  if (input.basedOn.length === 0) throw new PlanError("basedOn must name the fleet-state commit");

  const existing = state.rollouts.find((r) => r.image === image && r.digest === digest);
  if (existing) throw new DuplicatePlanError(existing);

  const strategy = resolveStrategy(state.fleet.strategy, input.strategy);
  if (input.bot !== undefined && strategy.name !== "single-bot") {
    throw new PlanError(
      `a bot (${input.bot}) can only be named with the single-bot strategy, not ${strategy.name}`,
    );
  }

  const running = runningDigests(state.statuses, state.bots);
  const quarantine = activeQuarantine(state.statuses, state.fleet.quarantine.lifted, image, digest);
  const tenants = new Map(state.tenants.map((t) => [t.tenant, t]));
  const { windowMinutes } = state.fleet.updates;

  const excluded: Exclusion[] = [];
  const candidates: Ranked[] = [];
  for (const bot of state.bots) {
    const base = { bot: bot.id, tenant: bot.tenant, host: bot.host };
    if (bot.image !== image) {
      excluded.push({ ...base, reason: "other-image", detail: `follows ${bot.image}` });
    } else if (bot.pinnedDigest) {
      excluded.push({ ...base, reason: "pinned", detail: `pinned to ${bot.pinnedDigest}` });
    } else if (running.get(bot.id) === digest) {
      excluded.push({ ...base, reason: "up-to-date", detail: `already runs ${shortDigest(digest)}` });
    } else if (quarantine.length > 0) {
      const q = quarantine[0]!;
      excluded.push({
        ...base,
        reason: "quarantined",
        detail: `${shortDigest(digest)} is quarantined for ${image} (rollout ${q.rollout} on ${q.host}: ${q.reason})`,
      });
    } else {
      const hour = tenantPreferredHour(state.fleet, tenants.get(bot.tenant));
      candidates.push({ bot, hour, untilWindow: minutesUntilWindow(hour, windowMinutes, now) });
    }
  }
  candidates.sort(byPlanOrder);

  let chosen = candidates;
  if (strategy.name === "single-bot") {
    const name = input.bot ?? candidates[0]?.bot.id;
    const pick = candidates.find((c) => c.bot.id === name);
    if (input.bot !== undefined && !pick) {
      const why = excluded.find((e) => e.bot === input.bot);
      throw new PlanError(
        why
          ? `bot ${input.bot} is not a target of this plan: ${why.reason} (${why.detail})`
          : `bot ${input.bot} is not declared in any tenants/*.yaml`,
      );
    }
    chosen = pick ? [pick] : [];
    for (const c of candidates) {
      if (c !== pick) {
        excluded.push({
          bot: c.bot.id,
          tenant: c.bot.tenant,
          host: c.bot.host,
          reason: "not-selected",
          // Stryker disable next-line OptionalChaining: a candidate is left over only when one was picked (no name: the first; a name not found throws above).
          detail: `single-bot plan for ${pick?.bot.id}`,
        });
      }
    }
  }

  const targets: RolloutTarget[] = chosen.map(({ bot }, index) => ({
    bot: bot.id,
    tenant: bot.tenant,
    host: bot.host,
    wave: waveOf(index, chosen.length, strategy),
  }));

  // Only a plan that will be written can collide with an existing file.
  const id = rolloutIdFor(now, digest);
  if (targets.length > 0 && state.rollouts.some((r) => r.id === id)) {
    throw new PlanError(
      `rollouts/${id}.yaml already exists (same minute and digest prefix); plan again in a minute`,
    );
  }
  const plan: Rollout = {
    id,
    createdAt: `${now.toISOString().slice(0, 19)}Z`,
    basedOn: input.basedOn,
    image,
    digest,
    ...(input.source ? { source: input.source } : {}),
    ...(input.changelog ? { changelog: input.changelog } : {}),
    strategy,
    control: { state: "active" },
    targets,
  };
  return { plan, excluded };
}

/** Number of waves in a plan (0 without targets). */
export function waveCount(plan: Pick<Rollout, "targets">): number {
  return plan.targets.reduce((max, t) => Math.max(max, t.wave), 0);
}
