import type { Command } from "../command.ts";
import { schemaCommand } from "./schema.ts";
import { validateCommand } from "./validate.ts";

export const commands: Command[] = [validateCommand, schemaCommand];
