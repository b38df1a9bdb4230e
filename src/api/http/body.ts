/**
 * How request bodies are read (docs/api.md#request-bodies):
 *
 * - JSON, refusing a body with a duplicate key (`{"dry_run":true,"dry_run":false}`
 *   would otherwise mean its last value, which a proxy or a log may read
 *   differently) and `__proto__` / `constructor.prototype` keys;
 * - a JSON body sent as `application/x-www-form-urlencoded` is read as JSON,
 *   as the service ceod replaces did (`curl -d` sends that content type by
 *   default). This is safe only because the cross-site rule (`./cross-site.ts`)
 *   runs first: a browser's form post from a foreign page carries an `Origin`;
 * - an empty body is no body, whatever its content type (routes that take no
 *   body accept it);
 * - a body in any other content type is a 415, and so is a compressed body
 *   (`Content-Encoding` other than `identity`): ceod decodes none.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { PermanentError } from '../../core/errors';

/**
 * The first key that occurs twice in one object of `text`, which must be valid
 * JSON. Keys are compared after JSON unescaping (`"a"` and `"\u0061"` are one key).
 */
export function duplicateKey(text: string): string | null {
  // One frame per open object (its keys so far) or array (null).
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        const raw = text.slice(i, j + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return null;
}

/** Parses a JSON body: the project's 400 for bad JSON, a duplicate key or a prototype key. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (e) {
    const proto = /prototype/i.test((e as Error).message);
    throw new PermanentError('BAD_REQUEST', proto ? 'body: a key may not be __proto__ or constructor.prototype' : 'body: not valid JSON', 'body');
  }
  const dup = duplicateKey(text);
  if (dup !== null) throw new PermanentError('BAD_REQUEST', `body: the key ${JSON.stringify(dup).slice(0, 80)} appears twice`, 'body');
  return value;
}

/** Registers the body parsers and the Content-Encoding check on `app`. */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const json = (_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    try {
      done(null, parseJsonBody(body));
    } catch (e) {
      done(e as Error);
    }
  };
  app.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], { parseAs: 'string' }, json);
  // Any other content type: no body is fine, a body is a 415.
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body: string, done) => {
    if (body.length === 0) return done(null, undefined);
    done(new PermanentError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${String(req.headers['content-type']).slice(0, 80)} is not supported: send JSON`));
  });
  app.addHook('onRequest', async (req) => {
    const enc = req.headers['content-encoding'];
    if (enc !== undefined && enc.trim().toLowerCase() !== 'identity') {
      throw new PermanentError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${String(enc).slice(0, 40)} is not supported: send the body uncompressed`);
    }
  });
}
