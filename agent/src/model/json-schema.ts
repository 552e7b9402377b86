import { z } from "zod";
import { fleetSchema } from "./fleet.ts";
import { rolloutSchema } from "./rollout.ts";
import { statusSchema } from "./status.ts";
import { tenantSchema } from "./tenant.ts";

const documents = {
  fleet: { schema: fleetSchema, title: "Fleetwave fleet.yaml" },
  tenant: { schema: tenantSchema, title: "Fleetwave tenants/<tenant>.yaml" },
  rollout: { schema: rolloutSchema, title: "Fleetwave rollouts/<id>.yaml" },
  status: { schema: statusSchema, title: "Fleetwave status/<host>.yaml" },
} as const;

/** File name -> JSON text, generated from the zod schemas (the source of truth) for editors. */
export function generateJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, { schema, title }] of Object.entries(documents)) {
    // zod throws at a type with no JSON Schema equivalent (none today): a new one fails here and in
    // the tests, rather than giving editors a schema that accepts anything in its place.
    const json = z.toJSONSchema(schema, { target: "draft-7", io: "input" });
    out.set(`${name}.schema.json`, `${JSON.stringify({ ...json, title }, null, 2)}\n`);
  }
  return out;
}
