import { z } from "zod";

/**
 * An allowlist entry: a registry, or a repository path, with or without a trailing "/". Never a
 * tag or digest: the allowlist says where images may come from, pinning is `pinnedDigest`'s job.
 */
const ENTRY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/?$/;

export const allowlistEntry = z
  .string()
  .min(1, { message: "an allowlist entry cannot be empty" })
  .regex(ENTRY, {
    message:
      'must be a registry or repository path in lowercase without a tag or digest, e.g. "ghcr.io/acme/" or "ghcr.io/acme/app"',
  });

/** `ghcr.io/acme/app` from `ghcr.io/acme/app:tag`, `…@sha256:…` or `…:tag@sha256:…`. */
export function repositoryOf(image: string): string {
  const at = image.indexOf("@");
  const name = at === -1 ? image : image.slice(0, at);
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
}

/**
 * Whether `image` comes from inside the allowlist. Entries match whole path components, never a
 * prefix of one: "ghcr.io/acme" admits ghcr.io/acme and ghcr.io/acme/app but not
 * ghcr.io/acme-evil/app; "ghcr.io/acme/" admits only repositories under ghcr.io/acme/. The tag or
 * digest of the image never matters, and neither does a registry name appearing later in the path.
 */
export function imageAllowed(allowlist: readonly string[], image: string): boolean {
  const repository = repositoryOf(image);
  return allowlist.some((entry) =>
    entry.endsWith("/")
      ? repository.length > entry.length && repository.startsWith(entry)
      : repository === entry || repository.startsWith(`${entry}/`),
  );
}
