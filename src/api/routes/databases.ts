/**
 * Member databases (docs/api.md#member-databases): `POST /api/db/{mysql,postgresql}/:uid`
 * creates the account's database and user, `…/pwreset` gives the user a new
 * password; both write the info file in the account's home. The member
 * themself or syscom may ask; for a club's account, also any member of the
 * club's group.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { classify, PermanentError } from '../../core/errors';
import { uidSchema } from '../../core/model/fields';
import { isClubAccount } from '../../core/model/user';
import { DATABASE_KINDS, type DatabaseKind } from '../../core/ports';
import { createDatabaseJob } from '../../jobs/create-database';
import { type DatabasePayload, KIND_NAMES } from '../../jobs/database-info';
import { resetDatabasePassword } from '../../jobs/reset-database-password';
import { writeRoute } from '../http/route';
import type { ApiServices } from '../services';

const params = z.object({ uid: uidSchema }).strict();

/** The job's payload: the account's numbers for the fs host, which has no LDAP (404 if there is no account). */
async function payloadFor(s: ApiServices, uid: string, kind: DatabaseKind): Promise<DatabasePayload> {
  const user = await s.ldap.getUser(uid);
  if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
  return { uid, kind, account: isClubAccount(user) ? 'club' : 'member', uid_number: user.uidNumber, gid_number: user.gidNumber };
}

/**
 * Whether the account has a database of `kind`, when this host can ask the
 * server (its config has the section); undefined when it cannot (no section,
 * or the server does not answer): the job is enqueued anyway, and its db step
 * checks again and refuses.
 */
async function databaseExists(s: ApiServices, req: FastifyRequest, kind: DatabaseKind, uid: string): Promise<boolean | undefined> {
  const db = s.databases?.[kind];
  if (!db) return undefined;
  try {
    return await db.exists(uid);
  } catch (err) {
    req.log.warn({ kind, uid, error: classify(err) }, 'cannot ask the database server whether the database exists; enqueueing anyway');
    return undefined;
  }
}

export async function databaseRoutes(api: FastifyInstance): Promise<void> {
  for (const kind of DATABASE_KINDS) {
    const name = KIND_NAMES[kind];
    writeRoute(api, {
      method: 'POST',
      url: `/db/${kind}/:uid`,
      access: { self: 'syscom', club: true },
      what: ({ uid }) => `create a ${name} database for ${uid}`,
      summary: `Create a member's ${name} database`,
      description: `A database and a user named after the account, with a generated password: in the job's \`result.password\` (to the requester, once completed) and in \`~/ceo-${kind}-info\`. A \`409\` (\`DB_EXISTS\`) if the account has one already.`,
      params,
      job: createDatabaseJob,
      payload: ({ params: { uid }, services }) => payloadFor(services, uid, kind),
      subject: (p) => p.uid,
      field: 'uid',
      precheck: async (p, { req, services }) => {
        if (await databaseExists(services, req, kind, p.uid)) {
          throw new PermanentError('DB_EXISTS', `${p.uid} already has a ${name} database; reset its password with POST /api/db/${kind}/${p.uid}/pwreset`, 'uid');
        }
      },
    });

    writeRoute(api, {
      method: 'POST',
      url: `/db/${kind}/:uid/pwreset`,
      access: { self: 'syscom', club: true },
      what: ({ uid }) => `reset the ${name} password of ${uid}`,
      summary: `Reset the password of a member's ${name} user`,
      description: `A new generated password: in the job's \`result.password\` (to the requester, once completed) and in \`~/ceo-${kind}-info\`. A \`404\` (\`DB_NO_SUCH_DATABASE\`) if the account has no database.`,
      params,
      job: resetDatabasePassword,
      payload: ({ params: { uid }, services }) => payloadFor(services, uid, kind),
      subject: (p) => p.uid,
      field: 'uid',
      precheck: async (p, { req, services }) => {
        if ((await databaseExists(services, req, kind, p.uid)) === false) {
          throw new PermanentError('DB_NO_SUCH_DATABASE', `${p.uid} has no ${name} database; create one with POST /api/db/${kind}/${p.uid}`, 'uid');
        }
      },
    });
  }
}
