/** Plain-text views of the API's answers for people (`--json` prints the answers themselves). */

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: (string | number | undefined)[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ').trimEnd());
}

/** `key: value` lines, keys aligned; empty values shown as `-`. */
export function fields(pairs: [string, unknown][]): string[] {
  const w = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(w)} ${show(v)}`);
}

export function show(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map(show).join(', ') : '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An ISO time as `2026-09-08 14:03:11` (UTC), or `-`. */
export const shortTime = (iso: unknown): string => (typeof iso === 'string' && iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-');

export function memberView(m: any): string[] {
  const pairs: [string, unknown][] = [
    ['uid', m.uid],
    ['name', m.cn],
    ['program', m.program],
    ['terms', m.terms],
    ['non-member terms', m.non_member_terms],
    ['club rep', m.is_club_rep],
    ['login shell', m.login_shell],
    ['home', m.home_directory],
    ['uid number', m.uid_number],
    ['groups', m.groups],
    ['positions', m.positions],
  ];
  if ('forwarding_addresses' in m) pairs.push(['forwarding', m.forwarding_addresses]);
  return fields(pairs);
}
