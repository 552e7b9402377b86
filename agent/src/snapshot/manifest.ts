import { z } from "zod";
import { isValidSnapshotId } from "./id.ts";

/** How to recreate the volume empty: `docker volume inspect`'s Driver, Options and Labels. */
export const volumeSpecSchema = z
  .object({
    driver: z.string().min(1),
    options: z.record(z.string(), z.string()),
    labels: z.record(z.string(), z.string()),
  })
  .strict();

export type VolumeSpec = z.infer<typeof volumeSpecSchema>;

/** The second part of a pair: `<id>.l1.tar`, GNU tar's level-1 of what changed since the level-0 began. */
export const level1Schema = z
  .object({
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    entries: z.number().int().nonnegative(),
    /** When the level-0 (`<id>.tar`, taken while the bot still ran) began; `createdAt` is the level-1's. */
    level0At: z.iso.datetime(),
  })
  .strict();

export type Level1Part = z.infer<typeof level1Schema>;

/** What `<dataDir>/snapshots/<id>.json` holds. Its existence means `<id>.tar` was written completely. */
export const snapshotManifestSchema = z
  .object({
    version: z.literal(1),
    id: z.string().refine(isValidSnapshotId, { message: "not a valid snapshot id" }),
    volume: z.string().min(1),
    bot: z.string().min(1),
    /** The digest of the image the bot ran when the snapshot was taken. */
    imageDigest: z.string().min(1).nullable(),
    createdAt: z.iso.datetime(),
    /** Size of the tar file (`<id>.tar`; of a pair, the level-0). */
    bytes: z.number().int().nonnegative(),
    /** sha256 of the tar file, lowercase hex. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Entries in the archive, the volume's root directory included (pax/longname headers are not counted). */
    entries: z.number().int().nonnegative(),
    /** mountpoint: GNU tar of the volume's Mountpoint, entries `./…`; archive: Engine archive API, entries `<basename of mountPath>/…`. */
    method: z.enum(["mountpoint", "archive"]),
    /** For `archive`: where the volume was mounted in the container the archive was read from. */
    mountPath: z.string().startsWith("/").optional(),
    /**
     * For `archive`: the volume's driver, options and labels when it was snapshotted, so a restore that was
     * interrupted after the volume was removed can still recreate it.
     */
    volumeSpec: volumeSpecSchema.optional(),
    /**
     * A pair (mountpoint only): `<id>.tar` is a level-0 taken while the bot ran, possibly torn, and this
     * level-1 taken after the stop completes it; restoring both in order gives the stopped state.
     */
    level1: level1Schema.optional(),
  })
  .strict()
  .refine((m) => m.method !== "archive" || (m.mountPath !== undefined && m.mountPath !== "/"), {
    message: "an archive snapshot needs the mountPath (not /) it was read from",
    path: ["mountPath"],
  })
  .refine((m) => m.method === "mountpoint" || m.level1 === undefined, {
    message: "only a mountpoint snapshot can be a pair",
    path: ["level1"],
  });

export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;
export type SnapshotMethod = SnapshotManifest["method"];
