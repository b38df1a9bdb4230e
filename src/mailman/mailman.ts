/**
 * The `Mailman` adapter: Mailman 3 core's REST API over fetch, basic auth,
 * a deadline on every request.
 *
 * Lists are named by their short name (`csc-general`); the list id is
 * `<list>.<listDomain>`. Names and addresses are checked before they reach a URL
 * path, and both are percent-encoded on top of that.
 */
import { PermanentError, TransientError } from '../core/errors';
import type { ListPolicy, Mailman } from '../core/ports';
import { classifyFetchError, classifyMailmanStatus } from './classify';

export interface MailmanOptions {
  /** REST root including the API version, e.g. `http://127.0.0.1:8001/3.1`. */
  url: string;
  user: string;
  password: string;
  /** Mail host of the lists, e.g. `csclub.internal`. */
  listDomain: string;
  timeoutMs: number;
}

const LIST_NAME = /^[a-z0-9][a-z0-9._-]*$/;
/** Plain `local@domain` addresses only: no spaces, slashes, quotes or display names. */
const ADDRESS = /^[A-Za-z0-9.!#$&'*+=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

export function checkListName(list: string): void {
  if (typeof list !== 'string' || list.length > 64 || !LIST_NAME.test(list) || list.includes('..')) {
    throw new PermanentError('INVALID_PAYLOAD', `invalid list name ${JSON.stringify(String(list)).slice(0, 80)}`);
  }
}

export function checkAddress(address: string): void {
  if (typeof address !== 'string' || address.length > 254 || !ADDRESS.test(address)) {
    throw new PermanentError('INVALID_PAYLOAD', `invalid mail address ${JSON.stringify(String(address)).slice(0, 80)}`);
  }
}

interface Answer {
  status: number;
  body: string;
}

export function createMailman(opts: MailmanOptions): Mailman {
  const root = new URL(opts.url);
  if (root.username || root.password) {
    // fetch refuses such URLs with a message that quotes them; refuse first, without quoting.
    throw new Error('mailman url must not contain credentials; use user and password');
  }
  const base = opts.url.replace(/\/+$/, '');
  const authorization = 'Basic ' + Buffer.from(`${opts.user}:${opts.password}`).toString('base64');
  const listId = (list: string): string => `${list}.${opts.listDomain}`;
  const suffix = `.${opts.listDomain}`.toLowerCase();

  /** One request; resolves with any HTTP answer, rejects (classified) when there is none. */
  async function request(what: string, method: string, path: string, form?: Record<string, string>): Promise<Answer> {
    try {
      const res = await fetch(base + path, {
        method,
        headers: {
          authorization,
          accept: 'application/json',
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs),
        redirect: 'error',
      });
      return { status: res.status, body: await res.text() };
    } catch (e) {
      throw classifyFetchError(e, what);
    }
  }

  async function json<T>(what: string, path: string): Promise<T> {
    const a = await request(what, 'GET', path);
    if (a.status !== 200) throw classifyMailmanStatus(a.status, a.body, what);
    try {
      return JSON.parse(a.body) as T;
    } catch {
      throw new TransientError('MAILMAN_UNAVAILABLE', `${what}: answer is not JSON`);
    }
  }

  async function listExists(list: string): Promise<boolean> {
    checkListName(list);
    const what = `look up list ${list}`;
    const a = await request(what, 'GET', `/lists/${encodeURIComponent(listId(list))}`);
    if (a.status === 200) return true;
    if (a.status === 404) return false;
    throw classifyMailmanStatus(a.status, a.body, what);
  }

  async function listPolicy(list: string): Promise<ListPolicy | null> {
    checkListName(list);
    const what = `read the settings of list ${list}`;
    const a = await request(what, 'GET', `/lists/${encodeURIComponent(listId(list))}/config`);
    if (a.status === 404) return null;
    if (a.status !== 200) throw classifyMailmanStatus(a.status, a.body, what);
    let c: { subscription_policy?: unknown; advertised?: unknown };
    try {
      c = JSON.parse(a.body) as typeof c;
    } catch {
      throw new TransientError('MAILMAN_UNAVAILABLE', `${what}: answer is not JSON`);
    }
    if (typeof c.subscription_policy !== 'string' || typeof c.advertised !== 'boolean') {
      throw new PermanentError('MAILMAN_REFUSED', `${what}: no subscription_policy or advertised in the answer`);
    }
    return { subscriptionPolicy: c.subscription_policy, advertised: c.advertised };
  }

  return {
    listPolicy,

    async subscribe(list: string, address: string, displayName?: string): Promise<void> {
      checkListName(list);
      checkAddress(address);
      const what = `subscribe ${address} to ${list}`;
      const form: Record<string, string> = {
        list_id: listId(list),
        subscriber: address,
        pre_verified: 'true',
        pre_confirmed: 'true',
        pre_approved: 'true',
        send_welcome_message: 'false',
      };
      if (displayName) form.display_name = displayName.replace(/[\r\n\0]/g, ' ').slice(0, 200);
      const a = await request(what, 'POST', '/members', form);
      if (a.status === 201 || a.status === 409) return; // 409: "Member already subscribed"
      if (a.status === 202) {
        // Without the pre_* flags Mailman holds the request; with them it never should.
        throw new PermanentError('MAILMAN_REFUSED', `${what}: subscription is pending approval`);
      }
      throw classifyMailmanStatus(a.status, a.body, what);
    },

    async unsubscribe(list: string, address: string): Promise<boolean> {
      checkListName(list);
      checkAddress(address);
      const what = `unsubscribe ${address} from ${list}`;
      const a = await request(what, 'DELETE', `/lists/${encodeURIComponent(listId(list))}/member/${encodeURIComponent(address)}`);
      if (a.status === 204 || a.status === 200) return true;
      if (a.status === 404) {
        // The same 404 means "not a member" and "no such list": tell them apart.
        if (await listExists(list)) return false;
        throw new PermanentError('MAILMAN_NO_SUCH_LIST', `${what}: no such list`);
      }
      throw classifyMailmanStatus(a.status, a.body, what);
    },

    async members(list: string): Promise<string[]> {
      checkListName(list);
      const r = await json<{ entries?: { email?: string }[] }>(
        `list members of ${list}`,
        `/lists/${encodeURIComponent(listId(list))}/roster/member`,
      );
      // An empty roster has no `entries` key at all.
      return (r.entries ?? []).map((e) => e.email).filter((e): e is string => typeof e === 'string');
    },

    async subscriptions(address: string): Promise<string[]> {
      checkAddress(address);
      const q = new URLSearchParams({ subscriber: address, role: 'member' });
      const r = await json<{ entries?: { list_id?: string }[] }>(`find subscriptions of ${address}`, `/members/find?${q}`);
      const lists = (r.entries ?? [])
        .map((e) => e.list_id)
        .filter((id): id is string => typeof id === 'string')
        // Short names for our own domain's lists; a list of another domain keeps its full id.
        .map((id) => (id.toLowerCase().endsWith(suffix) ? id.slice(0, -suffix.length) : id));
      return [...new Set(lists)].sort();
    },

    listExists,

    async ping(): Promise<void> {
      await json('ping mailman', '/system/versions');
    },
  };
}
