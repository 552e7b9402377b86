import { posix } from "node:path";
import { z } from "zod";
import { portSpec } from "./ports.ts";
import { digest, dockerName, email, hostId, hourUtc, httpUrl, imageRef, tenantId } from "./primitives.ts";

export const volumeSchema = z.strictObject({
  name: dockerName("volume name"),
  path: z.string().refine((p) => posix.isAbsolute(p) && posix.normalize(p) === p && p !== "/", {
    message: 'mount path must be an absolute, normalised path other than "/", e.g. /data',
  }),
});

/**
 * An env value kept out of git: the file on the host holds it (e.g. an API key), read when the
 * container is created. The agent accepts only files under its secrets directory.
 */
export const secretRefSchema = z.strictObject({
  fromFile: z.string().refine((p) => posix.isAbsolute(p) && posix.normalize(p) === p && !p.endsWith("/"), {
    message: "fromFile must be an absolute, normalised file path, e.g. /etc/fleetwave/secrets/acme/API_KEY",
  }),
});
export type SecretRef = z.output<typeof secretRefSchema>;

const healthSchema = z.strictObject({
  url: httpUrl,
  expectStatus: z
    .number()
    .int()
    .min(100, { message: "must be an HTTP status from 100 to 599" })
    .max(599, { message: "must be an HTTP status from 100 to 599" })
    .default(200),
  expectJson: z.record(z.string(), z.unknown()).optional(),
});

export const botSchema = z.strictObject({
  id: dockerName("bot id"),
  host: hostId,
  image: imageRef,
  pinnedDigest: digest.nullable().default(null),
  volumes: z.array(volumeSchema).default([]),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "env names are letters, digits and _" }),
      z.union([z.string(), secretRefSchema], {
        error:
          "expected a string, or { fromFile: /etc/fleetwave/secrets/<tenant>/<NAME> } for a secret kept on the host",
      }),
    )
    .default({}),
  command: z.array(z.string()).min(1).nullable().default(null),
  network: z.union([z.literal("host"), dockerName("network name")]).default("host"),
  ports: z.array(portSpec).default([]),
  health: healthSchema.nullable().default(null),
});
export type Bot = z.output<typeof botSchema>;
export type BotHealth = z.output<typeof healthSchema>;
export type Volume = z.output<typeof volumeSchema>;

export const tenantSchema = z.strictObject({
  tenant: tenantId,
  update: z
    .strictObject({
      mode: z.enum(["auto", "manual"]).default("manual"),
      preferredHourUtc: hourUtc.optional(),
    })
    .default({ mode: "manual" }),
  contacts: z.array(email).default([]),
  bots: z.array(botSchema).default([]),
});
export type Tenant = z.output<typeof tenantSchema>;
