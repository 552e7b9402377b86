/**
 * Which digest a declared bot without a container is created at. A new bot must never be the
 * first to run a digest nobody has proven: a channel tag moves as soon as an image is pushed,
 * long before a rollout has shown that digest healthy, and a quarantined digest was shown bad.
 */
import type { FleetBot } from "../model/fleet-state.ts";
import type { HostStatus } from "../model/status.ts";

export type CreateDigestChoice =
  | { kind: "digest"; digest: string; why: string }
  /** Nothing is confirmed for the image: the caller resolves the channel tag and asks `tagChoice`. */
  | { kind: "resolve-tag" };

/** True when any host quarantined `digest` for `image`. */
export function isQuarantined(statuses: readonly HostStatus[], image: string, digest: string): boolean {
  return statuses.some((s) => s.quarantine.some((q) => q.image === image && q.digest === digest));
}

/**
 * The digest the fleet has confirmed for `image`: one a bot of that image runs after a successful
 * update or creation to it (or runs without any recorded update, e.g. adopted), not quarantined
 * anywhere. The most recently confirmed wins.
 */
export function confirmedDigest(
  image: string,
  bots: readonly Pick<FleetBot, "id" | "image">[],
  statuses: readonly HostStatus[],
): string | undefined {
  const ofImage = new Set(bots.filter((b) => b.image === image).map((b) => b.id));
  let best: { digest: string; at: string } | undefined;
  for (const status of statuses) {
    for (const [id, bot] of Object.entries(status.bots)) {
      if (!ofImage.has(id) || bot.state !== "running" || !bot.digest) continue;
      if (bot.last && (bot.last.result !== "updated" || bot.last.to !== bot.digest)) continue;
      if (isQuarantined(statuses, image, bot.digest)) continue;
      const at = bot.last?.at ?? "";
      if (!best || at > best.at) best = { digest: bot.digest, at };
    }
  }
  return best?.digest;
}

/**
 * The digest to create `bot` at, before any registry lookup: its pin, else the digest this host
 * last ran it at, else the fleet's confirmed digest for its image. `own` is this host's status
 * (fresher than its file among `statuses`).
 */
export function chooseCreateDigest(
  bot: FleetBot,
  bots: readonly Pick<FleetBot, "id" | "image">[],
  statuses: readonly HostStatus[],
  own: HostStatus,
): CreateDigestChoice {
  if (bot.pinnedDigest) return { kind: "digest", digest: bot.pinnedDigest, why: "its pinned digest" };
  const all = [own, ...statuses.filter((s) => s.host !== own.host)];
  const recorded = own.bots[bot.id]?.digest;
  if (recorded && !isQuarantined(all, bot.image, recorded))
    return { kind: "digest", digest: recorded, why: "the digest this host last ran it at" };
  const confirmed = confirmedDigest(bot.image, bots, all);
  if (confirmed)
    return { kind: "digest", digest: confirmed, why: `the digest the fleet runs for ${bot.image}` };
  return { kind: "resolve-tag" };
}

/** With nothing confirmed, the tag's digest is used unless it is quarantined. */
export function tagChoice(
  bot: Pick<FleetBot, "image">,
  tagDigest: string,
  statuses: readonly HostStatus[],
): { ok: true; digest: string; why: string } | { ok: false; reason: string } {
  if (isQuarantined(statuses, bot.image, tagDigest))
    return {
      ok: false,
      reason: `no digest of ${bot.image} is confirmed by the fleet and the tag's digest ${tagDigest} is quarantined; the bot is not created until a rollout proves a digest or it is pinned`,
    };
  return {
    ok: true,
    digest: tagDigest,
    why: `no digest of ${bot.image} is confirmed by the fleet yet: the tag's current digest`,
  };
}
