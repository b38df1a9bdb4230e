/** `ceo groups add|get|search|delete|addmember|removemember` (docs/api.md#create-a-club and on). */
import type { Command } from 'commander';
import type { Context } from '../context';
import { CliError, EXIT } from '../errors';
import { fields, table } from '../format';
import { ask, confirmOrRefuse } from '../prompts';
import { group, readLeaf, seg, writeLeaf } from './define';

export function registerGroups(ctx: Context, program: Command): void {
  const groups = group(program, 'groups', 'clubs and groups: create, read, search, delete, change members');

  writeLeaf(ctx, groups, 'add <cn>', 'create a club: its group, club user, home directory and sudo role', async ([cn], o) => {
    let description: string | undefined = o.description;
    if (!description && ctx.interactive && !o.json) description = await ask("the club's full name:", { required: true });
    if (!description) throw new CliError('missing --description <full name of the club>', EXIT.usage);
    return { method: 'POST', path: '/api/groups', body: { cn, description } };
  }).option('-d, --description <text>', 'the club\'s full name, e.g. "Chess Club"');

  readLeaf(ctx, groups, 'get <cn>', 'show a group and its members', ([cn]) => `/api/groups/${seg(cn)}`, (g) => [
    ...fields([
      ['group', g.cn],
      ['gid number', g.gid_number],
      ['description', g.description],
      ['members', `${g.members.length}`],
    ]),
    ...(g.members.length ? table(['UID', 'NAME', 'PROGRAM'], g.members.map((m: any) => [m.uid, m.cn, m.program])).map((l) => `  ${l}`) : []),
  ]);

  readLeaf(
    ctx,
    groups,
    'search <text>',
    'find groups by name or description, best match first',
    ([text], o) => `/api/groups?${new URLSearchParams({ search: text ?? '', limit: String(o.limit) })}`,
    (b) => (b.groups.length ? table(['GROUP', 'GID', 'DESCRIPTION'], b.groups.map((g: any) => [g.cn, g.gid_number, g.description])) : ['no group matches']),
  ).option('--limit <n>', 'at most this many (1–100)', '10');

  writeLeaf(ctx, groups, 'delete <cn>', "delete a club: sudo role, its MySQL and PostgreSQL databases, club user, group, and its home if the club owns it (asks first; --yes in scripts)", async ([cn], o) => {
    await confirmOrRefuse(ctx, o.yes, o.json, `delete the club ${cn}`);
    return { method: 'DELETE', path: `/api/groups/${seg(cn)}` };
  }).option('-y, --yes', 'do not ask');

  writeLeaf(ctx, groups, 'addmember <cn> <uid>', "add a member to a group (and its auxiliary groups and lists)", ([cn, uid], o) => ({
    method: 'POST',
    path: `/api/groups/${seg(cn)}/members/${seg(uid)}${o.subscribe === false ? '?subscribe_to_lists=false' : ''}`,
  })).option('--no-subscribe', "do not subscribe them to the group's auxiliary lists");

  writeLeaf(ctx, groups, 'removemember <cn> <uid>', 'remove a member from a group (and what it alone implied)', ([cn, uid], o) => ({
    method: 'DELETE',
    path: `/api/groups/${seg(cn)}/members/${seg(uid)}${o.unsubscribe === false ? '?unsubscribe_from_lists=false' : ''}`,
  })).option('--no-unsubscribe', 'leave their list subscriptions alone');
}
