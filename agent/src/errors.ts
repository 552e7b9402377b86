/**
 * Base of every error Fleetwave raises on purpose. The CLI prints `message` without a stack
 * trace, so messages must say what is wrong and what the operator should do next.
 */
export class FleetwaveError extends Error {
  override name = "FleetwaveError";
}

/** A command-line flag or argument is missing or malformed. */
export class UsageError extends FleetwaveError {
  override name = "UsageError";
}
