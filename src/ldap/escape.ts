/**
 * Escaping of values that go into DNs (RFC 4514) and search filters (RFC 4515).
 *
 * Callers validate uids and group names, but the adapter must be safe on its
 * own: a value never changes the structure of a DN or a filter, whatever it holds.
 */

/**
 * Escapes an attribute value for use in a DN's RDN, e.g. `uid=<here>,ou=People,…`.
 * Escapes the specials `"+,;<>\` and `=`, a leading space or `#`, a trailing
 * space, and every control character (including NUL) as `\XX`.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) {
      out += '\\' + code.toString(16).padStart(2, '0');
    } else if ('"+,;<>\\='.includes(ch)) {
      out += '\\' + ch;
    } else if ((i === 0 && (ch === ' ' || ch === '#')) || (i === value.length - 1 && ch === ' ')) {
      out += '\\' + ch;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Escapes a value for an equality or ordering assertion in a filter:
 * `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`.
 * Other characters, including non-ASCII, pass through (ldapts decodes `\XX`
 * escapes byte by byte as Latin-1, so escaping UTF-8 bytes would corrupt them).
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (ch) => '\\' + ch.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** Reverses `escapeDnValue`, and accepts the `\XX` hex form of any byte (UTF-8 sequences too). */
export function unescapeDnValue(value: string): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch !== '\\') {
      bytes.push(...enc.encode(ch));
      continue;
    }
    const hex = value.slice(i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (i + 1 < value.length) {
      bytes.push(...enc.encode(value[i + 1]!));
      i += 1;
    } else {
      throw new Error('DN value ends with a lone backslash');
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Splits a DN string into its RDNs at unescaped commas, leaving escapes intact.
 * Enough for the DNs this adapter builds and reads back; multi-valued RDNs
 * (`a=1+b=2`) stay as one element.
 */
export function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i]!;
    if (ch === '\\' && i + 1 < dn.length) {
      current += ch + dn[i + 1];
      i += 1;
    } else if (ch === ',') {
      parts.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current.trim());
  return parts;
}

/** A DN in a form fit for comparison: RDNs trimmed, attribute names and ASCII lower-cased. */
export function normalizeDn(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      if (eq < 0) return rdn.toLowerCase();
      return rdn.slice(0, eq).trim().toLowerCase() + '=' + escapeDnValue(unescapeDnValue(rdn.slice(eq + 1).trim())).toLowerCase();
    })
    .join(',');
}

/**
 * If `dn` is `<attr>=<value>,<base>` (one level below `base`), returns the
 * unescaped value; otherwise null. Used to turn `uniqueMember` DNs into uids.
 */
export function childValue(dn: string, attr: string, base: string): string | null {
  const rdns = splitDn(dn);
  const first = rdns.shift();
  if (!first) return null;
  const eq = first.indexOf('=');
  if (eq < 0 || first.slice(0, eq).trim().toLowerCase() !== attr.toLowerCase()) return null;
  if (normalizeDn(rdns.join(',')) !== normalizeDn(base)) return null;
  try {
    return unescapeDnValue(first.slice(eq + 1).trim());
  } catch {
    return null;
  }
}
