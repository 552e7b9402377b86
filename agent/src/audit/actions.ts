/**
 * The control actions people (or an agent at a failure threshold) take, as the
 * `Fleetwave-Action: <kind> <args…>` trailer of the commit that carries them, so
 * `fleetwave history` lists them beside the bots' updates without reading prose.
 */
export type ControlAction =
  | { kind: "rollout.pause" | "rollout.resume" | "rollout.abort"; rollout: string }
  | { kind: "fleet.pause" | "fleet.resume" }
  | { kind: "quarantine.lift"; image: string; digest: string }
  | { kind: "bot.rollback"; bot: string; digest: string };

export type ControlActionKind = ControlAction["kind"];

export function actionTrailer(a: ControlAction): string {
  switch (a.kind) {
    case "rollout.pause":
    case "rollout.resume":
    case "rollout.abort":
      return `${a.kind} ${a.rollout}`;
    case "fleet.pause":
    case "fleet.resume":
      return a.kind;
    case "quarantine.lift":
      return `${a.kind} ${a.image} ${a.digest}`;
    case "bot.rollback":
      return `${a.kind} ${a.bot} ${a.digest}`;
  }
}

/** The trailer's value back as an action; undefined for a kind this version does not know or a short value. */
export function parseActionTrailer(value: string): ControlAction | undefined {
  const [kind = "", ...args] = value.trim().split(/\s+/);
  switch (kind) {
    case "rollout.pause":
    case "rollout.resume":
    case "rollout.abort":
      return args[0] ? { kind, rollout: args[0] } : undefined;
    case "fleet.pause":
    case "fleet.resume":
      return { kind };
    case "quarantine.lift":
      return args[0] && args[1] ? { kind, image: args[0], digest: args[1] } : undefined;
    case "bot.rollback":
      return args[0] && args[1] ? { kind, bot: args[0], digest: args[1] } : undefined;
    default:
      return undefined;
  }
}
