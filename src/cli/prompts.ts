/**
 * Questions for a person at a terminal (@inquirer/prompts, loaded only when
 * a question is asked). Never asked when stdin or stdout is not a terminal,
 * or with --json: a script gets a usage error naming what is missing.
 */
import type { Context } from './context';
import { CliError, EXIT } from './errors';

const prompts = () => require('@inquirer/prompts') as typeof import('@inquirer/prompts');

/** Asks for a text; `validate` answers true or what is wrong. */
export async function ask(message: string, opts: { default?: string; validate?: (v: string) => true | string; required?: boolean } = {}): Promise<string> {
  try {
    const v = await prompts().input({
      message,
      default: opts.default,
      validate: (raw) => {
        const value = raw.trim();
        if (!value) return opts.required ? 'required' : true;
        return opts.validate ? opts.validate(value) : true;
      },
    });
    return v.trim();
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError') throw new CliError('cancelled', EXIT.usage);
    throw err;
  }
}

/**
 * A destructive command goes ahead with `--yes`; at a terminal it asks first;
 * a script without `--yes` is a usage error.
 */
export async function confirmOrRefuse(ctx: Context, yes: boolean | undefined, json: boolean | undefined, what: string): Promise<void> {
  if (yes) return;
  if (!ctx.interactive || json) throw new CliError(`refusing to ${what} without confirmation: add --yes`, EXIT.usage);
  let ok: boolean;
  try {
    ok = await prompts().confirm({ message: `Really ${what}?`, default: false });
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError') ok = false;
    else throw err;
  }
  if (!ok) throw new CliError(`not confirmed: did not ${what}`, EXIT.usage);
}
