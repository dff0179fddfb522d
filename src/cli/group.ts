/** @module cli/group — command groups (`research serve …`) that several modules add subcommands to. */
import type { Command } from "commander";

export function getOrCreateGroup(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}
