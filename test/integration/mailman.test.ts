/**
 * The Mailman adapter against the test stack's Mailman 3 core. This file makes
 * its own lists (random names) and deletes them afterwards.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createMailman, type MailmanOptions } from '../../src/mailman';
import type { Mailman } from '../../src/core/ports';
import { startService, stopService, testStack } from '../helpers/stack';
import { codeOf } from '../helpers/rejection';

const info = testStack();
const suffix = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const list = `t${suffix}-list`;
const list2 = `t${suffix}-other`;
const domain = info.mailman.listDomain;
const addr = (s: string) => `t${suffix}${s}@${domain}`;

const opts: MailmanOptions = {
  url: info.mailman.url,
  user: info.mailman.user,
  password: info.mailman.password,
  listDomain: domain,
  timeoutMs: 5000,
};
const auth = 'Basic ' + Buffer.from(`${info.mailman.user}:${info.mailman.password}`).toString('base64');

/** Direct REST calls for setup and cleanup, outside the adapter under test. */
async function rest(method: string, path: string, form?: Record<string, string>): Promise<number> {
  const res = await fetch(info.mailman.url + path, {
    method,
    headers: { authorization: auth, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  await res.text();
  return res.status;
}


let mailman: Mailman;

beforeAll(async () => {
  mailman = createMailman(opts);
  for (const l of [list, list2]) expect(await rest('POST', '/lists', { fqdn_listname: `${l}@${domain}` })).toBe(201);
});

afterAll(async () => {
  for (const l of [list, list2]) await rest('DELETE', `/lists/${l}.${domain}`).catch(() => undefined);
});

describe('Mailman adapter', () => {
  it('answers ping', async () => {
    await expect(mailman.ping()).resolves.toBeUndefined();
  });

  it('reads a list\'s subscription policy and whether it is advertised; an unknown list is null', async () => {
    expect(await mailman.listPolicy(list)).toEqual({ subscriptionPolicy: 'confirm', advertised: true });
    expect(await rest('PATCH', `/lists/${list2}.${domain}/config`, { subscription_policy: 'moderate', advertised: 'false' })).toBe(204);
    expect(await mailman.listPolicy(list2)).toEqual({ subscriptionPolicy: 'moderate', advertised: false });
    expect(await mailman.listPolicy(`t${suffix}-none`)).toBeNull();
    expect(await mailman.listPolicy('syscom')).toEqual({ subscriptionPolicy: 'moderate', advertised: false });
  });

  it('lists an empty roster as no members', async () => {
    expect(await mailman.members(list)).toEqual([]);
  });

  it('subscribes once, and a second subscribe is success', async () => {
    const a = addr('a');
    await mailman.subscribe(list, a, 'Test A');
    await mailman.subscribe(list, a, 'Test A');
    expect(await mailman.members(list)).toEqual([a]);
  });

  it('finds every list an address is subscribed to', async () => {
    const b = addr('b');
    await mailman.subscribe(list, b);
    await mailman.subscribe(list2, b);
    expect(await mailman.subscriptions(b)).toEqual([list2, list].sort());
    expect(await mailman.subscriptions(addr('nobody'))).toEqual([]);
  });

  it('unsubscribes once: true, then false', async () => {
    const c = addr('c');
    await mailman.subscribe(list, c);
    expect(await mailman.unsubscribe(list, c)).toBe(true);
    expect(await mailman.unsubscribe(list, c)).toBe(false);
    expect(await mailman.members(list)).not.toContain(c);
  });

  it('tells whether a list exists, and refuses a bad name before it reaches a URL', async () => {
    expect(await mailman.listExists(list)).toBe(true);
    expect(await mailman.listExists(`t${suffix}-missing`)).toBe(false);
    expect(await codeOf(mailman.listExists('../system'))).toMatchObject({ code: 'INVALID_PAYLOAD', permanent: true });
  });

  it('classifies an unknown list as permanent MAILMAN_NO_SUCH_LIST for every operation', async () => {
    const missing = `t${suffix}-missing`;
    for (const call of [() => mailman.subscribe(missing, addr('d')), () => mailman.unsubscribe(missing, addr('d')), () => mailman.members(missing)]) {
      expect(await codeOf(call())).toMatchObject({ name: 'PermanentError', code: 'MAILMAN_NO_SUCH_LIST', permanent: true });
    }
  });

  it.each(['../system/versions', 'a/b', 'a..b', `${list}?x=1`, `${list}#x`, 'UPPER', '%2e%2e', ''])(
    'refuses the list name %j before it reaches a URL',
    async (bad) => {
      expect(await codeOf(mailman.subscribe(bad, addr('e')))).toMatchObject({ code: 'INVALID_PAYLOAD', permanent: true });
      expect(await codeOf(mailman.members(bad))).toMatchObject({ code: 'INVALID_PAYLOAD' });
    },
  );

  it.each(['no-at-sign', 'a/b@x.org', 'a@b/../lists', 'x@y\r\n', 'Name <a@b.org>'])('refuses the address %j', async (bad) => {
    expect(await codeOf(mailman.subscribe(list, bad))).toMatchObject({ code: 'INVALID_PAYLOAD', permanent: true });
    expect(await codeOf(mailman.unsubscribe(list, bad))).toMatchObject({ code: 'INVALID_PAYLOAD' });
  });

  it('refuses wrong credentials permanently, without the password or header in the message', async () => {
    const wrong = createMailman({ ...opts, password: 'wrong-Pa55word' });
    const err = await codeOf(wrong.subscribe(list, addr('f')));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'MAILMAN_REFUSED' });
    expect(err.message).not.toContain('wrong-Pa55word');
    expect(err.message).not.toContain('Basic');
    expect(err.message).not.toContain(Buffer.from(`${info.mailman.user}:wrong-Pa55word`).toString('base64'));
  });

  it('reports a closed port as transient MAILMAN_UNAVAILABLE', async () => {
    const nowhere = createMailman({ ...opts, url: 'http://127.0.0.1:1/3.1' });
    expect(await codeOf(nowhere.ping())).toMatchObject({ name: 'TransientError', code: 'MAILMAN_UNAVAILABLE' });
  });

  it('times out on a server that never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const slow = createMailman({ ...opts, url: `http://127.0.0.1:${port}/3.1`, timeoutMs: 300 });
      const started = Date.now();
      expect(await codeOf(slow.subscribe(list, addr('g')))).toMatchObject({ name: 'TransientError', code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('reports a stopped Mailman as transient, and works again once it is back', async () => {
    await stopService(info, 'mailman');
    try {
      expect(await codeOf(mailman.subscribe(list, addr('h')))).toMatchObject({ name: 'TransientError', code: 'MAILMAN_UNAVAILABLE', permanent: false });
      expect(await codeOf(mailman.ping())).toMatchObject({ permanent: false });
    } finally {
      await startService(info, 'mailman');
    }
    await mailman.subscribe(list, addr('h'));
    expect(await mailman.members(list)).toContain(addr('h'));
  });
});
