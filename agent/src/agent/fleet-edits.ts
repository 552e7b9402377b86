import { parseDocument } from "yaml";
import { FleetwaveError } from "../errors.ts";

/** A desired-state edit asked for through the API, applied to YAML text with its comments kept. */
export class EditError extends FleetwaveError {
  override name = "EditError";
}

function load(text: string, file: string) {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new EditError(`${file} is not valid YAML; fix it in git first: ${doc.errors[0]!.message}`);
  return doc;
}

/** Sets `control` of a rollout plan, recording who and why. */
export function setRolloutControl(
  text: string,
  file: string,
  change: { state: "active" | "paused" | "aborted"; by: string; at: Date; reason?: string },
): string {
  const doc = load(text, file);
  const current = doc.getIn(["control", "state"]);
  if (current === "aborted" && change.state !== "aborted") {
    throw new EditError("the rollout was aborted, which is final; plan a new image to try again");
  }
  doc.setIn(
    ["control"],
    doc.createNode(
      {
        state: change.state,
        by: change.by,
        at: change.at.toISOString(),
        ...(change.reason ? { reason: change.reason } : {}),
      },
      { flow: true },
    ),
  );
  return doc.toString({ lineWidth: 0 });
}

const RESUME_NOTE = /was:\s*(auto|manual)/;

/**
 * Pauses or resumes the whole fleet in fleet.yaml. Pausing notes the mode it replaced in a
 * comment on the same line, so resuming a manual fleet brings it back to manual, not auto.
 */
export function setFleetPaused(text: string, paused: boolean, by: string): string {
  const doc = load(text, "fleet.yaml");
  const node = doc.getIn(["updates", "mode"], true) as
    | { value?: unknown; comment?: string | null }
    | undefined;
  const current = typeof node?.value === "string" ? node.value : "auto";
  if (paused) {
    if (current === "paused") return text;
    doc.setIn(["updates", "mode"], "paused");
    const scalar = doc.getIn(["updates", "mode"], true) as { comment?: string | null };
    scalar.comment = ` paused by ${by}; was: ${current}`;
  } else {
    if (current !== "paused") return text;
    const previous = RESUME_NOTE.exec(node?.comment ?? "")?.[1] ?? "auto";
    doc.setIn(["updates", "mode"], previous);
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * Pins one bot of a tenant file to `digest` (a rollback): the agent moves a pinned bot to its
 * pin with the same snapshot and health gate as a rollout, and no rollout touches it until the
 * pin is set back to null. The comment on the line says who pinned it and why.
 */
export function pinBot(text: string, file: string, bot: string, digest: string, note: string): string {
  const doc = load(text, file);
  const bots = doc.get("bots", true) as { items?: unknown[] } | undefined;
  const index = (bots?.items ?? []).findIndex(
    (item) => (item as { get?: (k: string) => unknown }).get?.("id") === bot,
  );
  if (index < 0) throw new EditError(`${file} declares no bot ${bot}`);
  const pin = doc.createNode(digest);
  pin.comment = ` ${note}`;
  doc.setIn(["bots", index, "pinnedDigest"], pin);
  return doc.toString({ lineWidth: 0 });
}

/**
 * Records in fleet.yaml that a quarantined digest may be planned again. The entry stays as the
 * record of who lifted it; a quarantine recorded after it (the digest failed again) is in force.
 */
export function liftQuarantine(
  text: string,
  lift: { image: string; digest: string; by: string; at: Date; reason?: string },
): string {
  const doc = load(text, "fleet.yaml");
  const entry = doc.createNode(
    {
      image: lift.image,
      digest: lift.digest,
      by: lift.by,
      at: lift.at.toISOString(),
      ...(lift.reason ? { reason: lift.reason } : {}),
    },
    { flow: true },
  );
  const list = doc.getIn(["quarantine", "lifted"], true) as { items?: unknown[] } | undefined;
  if (list?.items) list.items.push(entry);
  else doc.setIn(["quarantine", "lifted"], doc.createNode([entry]));
  return doc.toString({ lineWidth: 0 });
}
