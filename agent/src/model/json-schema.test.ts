import { describe, expect, it } from "vitest";
import { generateJsonSchemas } from "./json-schema.ts";

describe("the JSON Schemas for editors", () => {
  // Generated in each test, not once here: a test must run the generator to notice a change in it.
  const parsed = (name: string) => JSON.parse(generateJsonSchemas().get(name) ?? "null");

  it("cover every fleet-state document, each under its file name with a title naming the file", () => {
    expect(new Map([...generateJsonSchemas()].map(([name, text]) => [name, JSON.parse(text).title]))).toEqual(
      new Map([
        ["fleet.schema.json", "Fleetwave fleet.yaml"],
        ["tenant.schema.json", "Fleetwave tenants/<tenant>.yaml"],
        ["rollout.schema.json", "Fleetwave rollouts/<id>.yaml"],
        ["status.schema.json", "Fleetwave status/<host>.yaml"],
      ]),
    );
  });

  it("are draft-07 documents, indented and ending in a newline like the committed files", () => {
    for (const [name, text] of generateJsonSchemas()) {
      expect(parsed(name).$schema, name).toBe("http://json-schema.org/draft-07/schema#");
      expect(text, name).toMatch(/^\{\n {2}"\$schema"/);
      expect(text.endsWith("}\n"), name).toBe(true);
    }
  });

  it("describe what an operator writes: a field with a default is optional", () => {
    const strategy = parsed("fleet.schema.json").properties.strategy;
    expect(strategy.properties.batchPercent).toMatchObject({ default: 25, minimum: 1, maximum: 100 });
    expect(strategy.required ?? []).not.toContain("batchPercent");
  });
});
