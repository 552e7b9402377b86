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
    /** Size of the tar file. */
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
  })
  .strict()
  .refine((m) => m.method !== "archive" || (m.mountPath !== undefined && m.mountPath !== "/"), {
    message: "an archive snapshot needs the mountPath (not /) it was read from",
    path: ["mountPath"],
  });

export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;
export type SnapshotMethod = SnapshotManifest["method"];
