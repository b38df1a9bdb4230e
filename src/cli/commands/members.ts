/** `ceo members add|get|list|modify|renew|pwreset|delete|expire` (docs/api.md#create-a-member and on). */
import type { Command } from 'commander';
import { TERM_RE, termOf } from '../../core/rules/terms';
import type { Context } from '../context';
import { CliError, EXIT } from '../errors';
import { fields, memberView, table } from '../format';
import { submit } from '../job-runner';
import { ask, confirmOrRefuse } from '../prompts';
import { group, leaf, type Opts, readLeaf, seg, writeLeaf } from './define';

/** `--terms f2026,w2027` and `--terms f2026 --terms w2027` alike. */
export const list = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

const checkTerms = (v: string): true | string => (v.split(',').every((t) => TERM_RE.test(t.trim())) ? true : 'terms look like f2026 (w, s or f and a year), comma-separated');

/** "Alice B. Smith" → given name "Alice B.", surname "Smith" (one word: both). */
export function splitName(cn: string): { given_name: string; sn: string } {
  const words = cn.trim().split(/\s+/);
  return words.length < 2 ? { given_name: cn.trim(), sn: cn.trim() } : { given_name: words.slice(0, -1).join(' '), sn: words[words.length - 1]! };
}

/** The body of `POST /api/members`, asking a person for what is missing, never a script. */
export async function memberToAdd(ctx: Context, uidArg: string | undefined, o: Opts): Promise<Record<string, unknown>> {
  const mayAsk = ctx.interactive && !o.json;
  const current = termOf(ctx.now());
  let uid = uidArg ?? o.uid;
  let cn: string | undefined = o.cn;
  let program: string | undefined = o.program;
  let terms: string[] | undefined = o.terms;
  const nonMemberTerms: string[] | undefined = o.nonMemberTerms;
  if (mayAsk) {
    uid ??= await ask('uid (username):', { required: true });
    cn ??= await ask('full name:', { required: true });
    program ??= (await ask('program (e.g. MATH/Computer Science; empty for none):')) || undefined;
    if (!terms && !nonMemberTerms) terms = list(await ask('terms:', { default: current, validate: checkTerms }));
  }
  const missing = [!uid && 'a uid (ceo members add <uid>)', !cn && '--cn <full name>'].filter(Boolean);
  if (missing.length) throw new CliError(`missing ${missing.join(' and ')}${ctx.interactive ? '' : ' (ceo asks only on a terminal)'}`, EXIT.usage);
  const names = splitName(cn!);
  const body: Record<string, unknown> = { uid, cn, given_name: o.givenName ?? names.given_name, sn: o.sn ?? names.sn };
  if (program) body.program = program;
  if (nonMemberTerms) body.non_member_terms = nonMemberTerms;
  else body.terms = terms ?? [current];
  if (o.forward) body.forwarding_addresses = o.forward;
  return body;
}

export function registerMembers(ctx: Context, program: Command): void {
  const members = group(program, 'members', 'create, read, list, change, renew and delete members');

  writeLeaf(ctx, members, 'add [uid]', 'create a member (or a club rep with --non-member-terms); asks for what is missing on a terminal', async ([uid], o) => ({
    method: 'POST',
    path: '/api/members',
    body: await memberToAdd(ctx, uid, o),
  }))
    .option('--cn <name>', 'full name, e.g. "Alice Smith"')
    .option('--given-name <name>', 'given name (default: all but the last word of --cn)')
    .option('--sn <name>', 'surname (default: the last word of --cn)')
    .option('--program <program>', 'program of study, e.g. MATH/Computer Science')
    .option('--terms <terms>', 'member terms, comma-separated (default: the current term)', list)
    .option('--non-member-terms <terms>', 'club rep terms instead of member terms', list)
    .option('--forward <addresses>', 'forwarding addresses for ~/.forward, comma-separated', list);

  readLeaf(ctx, members, 'get <uid>', "show a member (forwarding addresses only to themself and syscom)", ([uid]) => `/api/members/${seg(uid)}`, memberView);

  readLeaf(
    ctx,
    members,
    'list',
    'list members, by uid (optionally those of one term)',
    (_, o) => `/api/members?${new URLSearchParams({ ...(o.term ? { term: o.term } : {}), limit: String(o.limit), offset: String(o.offset) })}`,
    (b) => [
      ...table(
        ['UID', 'NAME', 'PROGRAM', 'TERMS'],
        b.members.map((m: any) => [m.uid, m.cn, m.program, [...m.terms, ...m.non_member_terms.map((t: string) => `${t} (rep)`)].join(', ')]),
      ),
      `${b.members.length ? `${b.offset + 1}–${b.offset + b.members.length}` : 'none'} of ${b.total}${b.offset + b.members.length < b.total ? ` (next: --offset ${b.offset + b.members.length})` : ''}`,
    ],
  )
    .option('--term <term>', 'only members (or club reps) of this term, e.g. f2026')
    .option('--limit <n>', 'at most this many (1–500)', '100')
    .option('--offset <n>', 'skip this many', '0');

  writeLeaf(ctx, members, 'modify <uid>', 'change a login shell or forwarding addresses (a member may change their own)', ([uid], o) => {
    const body: Record<string, unknown> = {};
    if (o.loginShell) body.login_shell = o.loginShell;
    if (o.forward) body.forwarding_addresses = o.forward;
    if (o.clearForward) body.forwarding_addresses = [];
    if (!Object.keys(body).length) throw new CliError('nothing to change: give --login-shell, --forward or --clear-forward', EXIT.usage);
    return { method: 'PATCH', path: `/api/members/${seg(uid)}`, body };
  })
    .option('--login-shell <shell>', 'e.g. /bin/zsh (one of the allowed shells)')
    .option('--forward <addresses>', 'replace the forwarding addresses, comma-separated', list)
    .option('--clear-forward', 'remove ~/.forward');

  writeLeaf(ctx, members, 'renew <uid>', 'add terms (default: the current term, as a member or a club rep as the account already is)', async ([uid], o) => {
    let body: Record<string, unknown>;
    if (o.terms) body = { terms: o.terms };
    else if (o.nonMemberTerms) body = { non_member_terms: o.nonMemberTerms };
    else {
      const m = await ctx.client().request<{ is_club_rep: boolean }>('GET', `/api/members/${seg(uid)}`);
      body = m.is_club_rep ? { non_member_terms: [termOf(ctx.now())] } : { terms: [termOf(ctx.now())] };
    }
    return { method: 'POST', path: `/api/members/${seg(uid)}/renew`, body };
  })
    .option('--terms <terms>', 'member terms, comma-separated', list)
    .option('--non-member-terms <terms>', 'club rep terms, comma-separated', list);

  writeLeaf(ctx, members, 'pwreset <uid>', 'set a new random password, to be changed at the next login (shown to you at the end)', ([uid]) => ({
    method: 'POST',
    path: `/api/members/${seg(uid)}/pwreset`,
  }));

  writeLeaf(ctx, members, 'delete <uid>', 'delete a member: lists, home, databases, principal, groups, account (asks first; --yes in scripts)', async ([uid], o) => {
    await confirmOrRefuse(ctx, o.yes, o.json, `delete ${uid} and their home directory`);
    return { method: 'DELETE', path: `/api/members/${seg(uid)}` };
  }).option('-y, --yes', 'do not ask');

  leaf(members, 'expire', 'expire lapsed members (their shell becomes the expired one); --dry-run lists them', async (_, o) => {
    if (o.dryRun) return dryRun(ctx, o);
    await confirmOrRefuse(ctx, o.yes, o.json, 'expire every lapsed member');
    return submit(ctx, 'POST', '/api/members/expire', {}, o);
  })
    .option('--dry-run', 'only list who would expire')
    .option('-y, --yes', 'do not ask')
    .option('--no-wait', 'print the job id once it is queued, and do not follow it');
}

async function dryRun(ctx: Context, o: Opts) {
  const b = await ctx.client().request<{ current_term: string; threshold: string; uids: string[] }>('POST', '/api/members/expire', { dry_run: true });
  if (o.json) ctx.out(JSON.stringify(b, null, 2));
  else {
    for (const line of fields([['current term', b.current_term], ['threshold', `${b.threshold} (a latest term before it has lapsed)`], ['would expire', `${b.uids.length}`]])) ctx.out(line);
    for (const uid of b.uids) ctx.out(`  ${uid}`);
  }
  return EXIT.ok;
}
