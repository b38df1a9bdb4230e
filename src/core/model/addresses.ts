/**
 * The one rule for a forwarding address (docs/api.md#modify-a-member): what
 * the API accepts and what the file server writes into `~/.forward`, so that
 * nothing the API accepts is refused later by the step (which would roll a new
 * member's whole account back over one address).
 *
 * A `.forward` line is read by the mail server, which gives some characters a
 * meaning: `|command` pipes the mail to a program, `/path` appends it to a file,
 * `\user` delivers locally, `#` starts a comment, `"` and `,` quote and separate.
 * So the local part is a plain dot-atom without any of those (nor `` ` ``, `{`,
 * `}`, `%` or `!`, old routing syntax), and the domain is a host name.
 */
import { NAME_RE } from './names';

const LOCAL = "[A-Za-z0-9$&'*+=?^_~-]+(?:\\.[A-Za-z0-9$&'*+=?^_~-]+)*";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';

/** A forwarding address: `local@domain.tld`, by the rule above. */
export const FORWARD_ADDRESS_RE = new RegExp(`^${LOCAL}@${LABEL}(?:\\.${LABEL})+$`);

export const MAX_ADDRESS_LENGTH = 254;

export function isForwardAddress(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MAX_ADDRESS_LENGTH && FORWARD_ADDRESS_RE.test(s);
}

/** A `.forward` line ceod writes: a forwarding address, or `\uid` (keep a local copy). */
export function isForwardLine(s: unknown): s is string {
  return isForwardAddress(s) || (typeof s === 'string' && s.startsWith('\\') && NAME_RE.test(s.slice(1)));
}
