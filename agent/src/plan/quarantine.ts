import type { Fleet } from "../model/fleet.ts";
import type { HostStatus } from "../model/status.ts";

export type QuarantineRecord = HostStatus["quarantine"][number];
export type QuarantineLift = Fleet["quarantine"]["lifted"][number];

/** One host's quarantine record, and the lift that cleared it if one did. */
export interface QuarantineEntry extends QuarantineRecord {
  host: string;
  liftedBy?: QuarantineLift;
}

/** The lift of fleet.yaml that clears `q`: same image and digest, recorded at or after it. */
export function liftOf(q: QuarantineRecord, lifts: readonly QuarantineLift[]): QuarantineLift | undefined {
  return lifts.find(
    (l) => l.image === q.image && l.digest === q.digest && Date.parse(l.at) >= Date.parse(q.at),
  );
}

/** Every host's quarantine records, oldest first, each with the lift that cleared it. */
export function quarantineEntries(
  statuses: readonly Pick<HostStatus, "host" | "quarantine">[],
  lifts: readonly QuarantineLift[],
): QuarantineEntry[] {
  return statuses
    .flatMap((s) =>
      s.quarantine.map((q) => {
        const lift = liftOf(q, lifts);
        return { host: s.host, ...q, ...(lift ? { liftedBy: lift } : {}) };
      }),
    )
    .sort((a, b) => a.at.localeCompare(b.at) || a.host.localeCompare(b.host));
}

/** The records still in force for an image+digest: they keep it out of every plan. */
export function activeQuarantine(
  statuses: readonly Pick<HostStatus, "host" | "quarantine">[],
  lifts: readonly QuarantineLift[],
  image: string,
  digest: string,
): QuarantineEntry[] {
  return quarantineEntries(statuses, lifts).filter(
    (q) => !q.liftedBy && q.image === image && q.digest === digest,
  );
}
