/** `ceo mysql create|pwreset` and `ceo postgresql create|pwreset` (docs/api.md#member-databases). */
import type { Command } from 'commander';
import type { Context } from '../context';
import { DATABASE_NAMES, type DatabaseKind, infoFilePath } from '../progress/lines';
import { group, seg, writeLeaf } from './define';

/** One group per server, alike but for its name: `ceo mysql …`, `ceo postgresql …`. */
function registerDatabase(kind: DatabaseKind) {
  const name = DATABASE_NAMES[kind];
  return (ctx: Context, program: Command): void => {
    const db = group(program, kind, `a member's (or a club's) own ${name} database`);
    writeLeaf(ctx, db, 'create <uid>', `create the ${name} database and user <uid>; the password is shown to you at the end and written to ${infoFilePath('<uid>', kind)}`, ([uid]) => ({
      method: 'POST',
      path: `/api/db/${kind}/${seg(uid)}`,
    }));
    writeLeaf(ctx, db, 'pwreset <uid>', `set a new password for the ${name} user <uid>; shown to you at the end and written to ${infoFilePath('<uid>', kind)} (the old file kept as .old)`, ([uid]) => ({
      method: 'POST',
      path: `/api/db/${kind}/${seg(uid)}/pwreset`,
    }));
  };
}

export const registerMysql = registerDatabase('mysql');
export const registerPostgresql = registerDatabase('postgresql');
