/**
 * Where ceod is, and which CA vouches for it: `CEOD_URL`, else `[ceod] url`
 * in `~/.config/ceo/ceo.ini` (`$XDG_CONFIG_HOME/ceo/ceo.ini`), else in
 * `/etc/csc/ceo.ini`; `[ceod] ca_file` likewise from the first file that has
 * it (a relative path is relative to that file). Pure but for the file reads,
 * which are injected.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CliError, EXIT } from './errors';

export interface CliConfig {
  /** The API's base URL, without a trailing slash, e.g. `https://ceod.csclub.internal:9987`. */
  url: string;
  /** PEM file of the CA(s) that sign the API's certificate; absent: the system's store. */
  caFile?: string;
  /** Where the URL came from, for messages. */
  urlFrom: string;
}

export interface ConfigSources {
  env: NodeJS.ProcessEnv;
  home: string;
  /** The file's text, or undefined if it does not exist. */
  readFile: (path: string) => string | undefined;
  /** Parses INI text (the `ini` package, loaded only when a file exists). */
  parseIni: (text: string) => Record<string, unknown>;
}

export const SYSTEM_CONFIG = '/etc/csc/ceo.ini';

/** The config files, most specific first. */
export function configFiles(env: NodeJS.ProcessEnv, home: string): string[] {
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config');
  return [join(base, 'ceo', 'ceo.ini'), SYSTEM_CONFIG];
}

function checkUrl(raw: string, from: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`${from}: not a URL: ${raw}`, EXIT.usage);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`${from}: must be an http:// or https:// URL: ${raw}`, EXIT.usage);
  if (u.search || u.hash || u.username || u.password) throw new CliError(`${from}: must be a plain base URL (no query, fragment or credentials): ${raw}`, EXIT.usage);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export function resolveConfig(src: ConfigSources): CliConfig {
  let url: { value: string; from: string } | undefined;
  let caFile: string | undefined;
  if (src.env.CEOD_URL) url = { value: src.env.CEOD_URL, from: 'CEOD_URL' };
  for (const file of configFiles(src.env, src.home)) {
    if (url && caFile) break;
    const text = src.readFile(file);
    if (text === undefined) continue;
    const section = src.parseIni(text).ceod as Record<string, unknown> | undefined;
    if (typeof section?.url === 'string' && section.url && !url) url = { value: section.url, from: `${file} [ceod] url` };
    if (typeof section?.ca_file === 'string' && section.ca_file && !caFile) caFile = resolve(dirname(file), section.ca_file);
  }
  if (!url) {
    throw new CliError(`no ceod URL: set CEOD_URL, or [ceod] url in ${configFiles(src.env, src.home).join(' or ')}`, EXIT.usage);
  }
  return { url: checkUrl(url.value, url.from), caFile, urlFrom: url.from };
}
