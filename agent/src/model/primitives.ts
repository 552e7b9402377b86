import { z } from "zod";

/** Docker's rule for container and volume names. */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** `[registry[:port]/]path:tag`, the reference grammar of distribution/reference, without a digest. */
const IMAGE_REF =
  /^(?<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*):(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/;

export const digest = z
  .string()
  .regex(DIGEST, { message: 'must be "sha256:" followed by 64 lowercase hex digits' });

export const imageRef = z
  .string()
  .refine((value) => !value.includes("@"), {
    message: "must be repository:tag without a digest; hold a bot at a digest with pinnedDigest",
    abort: true,
  })
  .regex(IMAGE_REF, { message: 'must be "repository:tag" in lowercase, e.g. ghcr.io/acme/app:managed' });

export function splitImageRef(ref: string): { repository: string; tag: string } {
  const match = IMAGE_REF.exec(ref);
  if (!match?.groups) throw new Error(`not an image reference: ${ref}`);
  return { repository: match.groups.repository!, tag: match.groups.tag! };
}

export const dockerName = (what: string) =>
  z
    .string()
    .min(2, { message: `${what} must be at least 2 characters` })
    .max(128, { message: `${what} must be at most 128 characters` })
    .regex(DOCKER_NAME, {
      message: `${what} must start with a letter or digit and contain only letters, digits, "_", "." and "-"`,
    });

export const hostId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: "host id must be lowercase letters, digits and dashes" });

export const tenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
  message: "tenant id must be lowercase letters, digits and dashes (it is also the file name)",
});

export const hourUtc = z
  .number()
  .int({ message: "must be a whole hour" })
  .min(0, { message: "must be an hour from 0 to 23" })
  .max(23, { message: "must be an hour from 0 to 23" });

export const isoTime = z.iso.datetime({
  offset: true,
  message: "must be an ISO 8601 time such as 2026-11-27T06:12:00Z",
});

export const email = z.email({ message: "must be an email address" });

export const httpUrl = z.url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" });

export const rolloutId = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{4}Z-[0-9a-f]{8}$/, {
  message: "must be <UTC yyyy-mm-ddThhmmZ>-<first 8 hex of the digest>, e.g. 2026-11-27T0612Z-3f2a9c1b",
});
