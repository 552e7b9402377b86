/** Rollout planning: the pure planner and gates, their renderers, and the file adapter. */
export * from "./gates.ts";
export * from "./planner.ts";
export * from "./render.ts";
