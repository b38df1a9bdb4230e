/** `ceo mailman subscribe|unsubscribe` (docs/api.md#subscribe-or-unsubscribe). */
import type { Command } from 'commander';
import type { Context } from '../context';
import { group, seg, writeLeaf } from './define';

export function registerMailman(ctx: Context, program: Command): void {
  const mailman = group(program, 'mailman', 'mailing list subscriptions (a member may change their own)');
  writeLeaf(ctx, mailman, 'subscribe <uid> <list>', 'subscribe <uid>@<base domain> to a list', ([uid, list]) => ({ method: 'POST', path: `/api/mailman/${seg(list)}/${seg(uid)}` }));
  writeLeaf(ctx, mailman, 'unsubscribe <uid> <list>', 'unsubscribe <uid>@<base domain> from a list', ([uid, list]) => ({ method: 'DELETE', path: `/api/mailman/${seg(list)}/${seg(uid)}` }));
}
