import { z } from "zod";
import { digest, dockerName, hostId, imageRef, isoTime, rolloutId, tenantId } from "./primitives.ts";
import { MAX_WAVES, strategySchema } from "./strategy.ts";

export const changelogSectionTitles = ["New", "Improved", "Fixed"] as const;

/** The user-facing changelog (changelogs/user-facing/*.json), embedded into plans. */
export const userChangelogSchema = z.strictObject({
  version: z.string().min(1),
  date: z.string().min(1),
  range: z.strictObject({ from: z.string(), to: z.string() }).optional(),
  sections: z.array(z.strictObject({ title: z.enum(changelogSectionTitles), items: z.array(z.string()) })),
});
export type UserChangelog = z.output<typeof userChangelogSchema>;

export const rolloutControlStates = ["active", "paused", "aborted"] as const;

export const rolloutTargetSchema = z.strictObject({
  bot: dockerName("bot id"),
  tenant: tenantId,
  host: hostId,
  wave: z
    .number()
    .int()
    .min(1, { message: "waves are numbered from 1" })
    .max(MAX_WAVES, { message: `a rollout has at most ${MAX_WAVES} waves` }),
});

export const rolloutSchema = z.strictObject({
  id: rolloutId,
  createdAt: isoTime,
  basedOn: z.string().min(1, { message: "basedOn names the fleet-state commit the plan was computed from" }),
  image: imageRef,
  digest,
  source: z
    .strictObject({ repository: z.string().min(1), commit: z.string().min(1), run: z.string().optional() })
    .optional(),
  changelog: userChangelogSchema.optional(),
  strategy: strategySchema,
  control: z.strictObject({
    state: z.enum(rolloutControlStates),
    by: z.string().optional(),
    at: isoTime.optional(),
    reason: z.string().optional(),
  }),
  targets: z.array(rolloutTargetSchema),
});
export type Rollout = z.output<typeof rolloutSchema>;
export type RolloutTarget = Rollout["targets"][number];
