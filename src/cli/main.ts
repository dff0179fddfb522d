/**
 * @module cli/main — the `research` command line. Every file in `cli/commands/` exports
 * `register(program)` and adds its subcommands; heavy modules are imported inside actions so
 * `research --help` stays fast.
 */
import { Command, CommanderError, Option } from "commander";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UserError } from "../util/errors.js";
import { DEVICE_CHOICES, DEVICE_HELP, MODEL_COMMANDS } from "./options.js";

/** The subcommand at a path like "serve model". */
function findCommand(program: Command, path: string): Command | undefined {
  let c: Command | undefined = program;
  for (const name of path.split(" ")) c = c?.commands.find((x) => x.name() === name);
  return c;
}

export interface CommandModule {
  register(program: Command): void;
}

export async function buildProgram(): Promise<Command> {
  const program = new Command("research")
    .description("ReSearch.ts: train, evaluate and serve language models that reason with search")
    .version("0.1.0")
    .showHelpAfterError();
  const dir = join(dirname(fileURLToPath(import.meta.url)), "commands");
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !/\.(test|d)\.(ts|js)$/.test(f))
    .sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as CommandModule;
    if (typeof mod.register === "function") mod.register(program);
  }
  // every command that runs a model takes --device; the choice becomes the process's engine default before the action
  for (const path of MODEL_COMMANDS) {
    const c = findCommand(program, path);
    if (!c) throw new Error(`cli: no command "${path}" to add --device to`);
    c.addOption(new Option("--device <device>", DEVICE_HELP).choices(DEVICE_CHOICES).default("auto"));
  }
  program.hook("preAction", async (_program, action) => {
    const device = (action.opts() as { device?: (typeof DEVICE_CHOICES)[number] }).device;
    if (device === undefined) return;
    const { setEngineDefaults, usesTsEngine } = await import("../model/engine-select.js");
    setEngineDefaults({ device });
    if (!usesTsEngine()) (await import("../ggml/lib.js")).checkDevice(device);
  });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
