/**
 * The API's OpenAPI 3.1 document (docs/api.md#openapi), generated from the
 * routes as registered: every route declared with `defineRoute` / `writeRoute`
 * (./route.ts), or documented with `documented()` (/health, /metrics), carries
 * a `RouteDoc` in its Fastify config, with the same zod schemas that validate
 * its parameters, query and body and filter its answer (./response.ts). Zod 4
 * turns them into JSON Schema (draft 2020-12, which OpenAPI 3.1 uses as is),
 * so a new route is documented by being declared, and the document cannot
 * drift from what the code checks.
 */
import { z } from 'zod';
import type { Access } from './auth';
import { componentName } from './components';
import { errorBodySchema, type Responses } from './response';

/** What the document says about one route; set by the route helpers as `config.doc`. */
export interface RouteDoc {
  /** Who may call it; `public`: no authentication (`allow_list`: no authentication, by client address). */
  access: Access | 'public' | 'allow_list';
  summary: string;
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  /** The JSON body; absent or `emptyBody`: none. */
  body?: z.ZodType;
  /** Body fields the path gives (`uid`), left out of the documented body. */
  bodyOmit?: readonly string[];
  responses: Responses;
  /** Of the success responses; `application/json` unless said. */
  contentType?: 'application/json' | 'text/event-stream' | 'text/plain';
  /** The job type a write enqueues; writes take an `Idempotency-Key`. */
  jobType?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    doc?: RouteDoc;
  }
}

/** A route as `buildApp` recorded it (`app.ceodRoutes`). */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** Registered by a plugin with `schema.hide` (the reference page's and the dashboard's assets): not part of the API. */
  hidden?: boolean;
  doc?: RouteDoc;
}

type JsonSchema = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  202: 'Accepted: the job is queued (its status at status_url, its events at events_url)',
  400: 'Bad request: a parameter, the query or the body is not valid (error.field names it)',
  401: 'Not authenticated: negotiate (SPNEGO) and send the token, or the session cookie',
  403: 'Forbidden: the caller may not do this, or a cross-site request',
  404: 'Not found',
  409: 'Conflict: the name is taken, or a job working on the same resource runs (error.job_id names it)',
  503: 'A server ceod needs is unavailable (Redis, LDAP, Mailman); try again',
};

const ACCESS_TEXT: Record<string, string> = {
  member: 'any member',
  staff: 'staff (office or syscom)',
  syscom: 'syscom',
  public: 'anyone, without authentication',
  allow_list: 'without authentication, from the addresses of [ceod] metrics_allow only',
};

function accessText(a: RouteDoc['access']): string {
  if (typeof a === 'string') return ACCESS_TEXT[a] ?? a;
  const club = a.club ? `, or, when the path names a club's account, any member of that club's group` : '';
  return `the member the path names, or ${ACCESS_TEXT[a.self]}${club}`;
}

/** JSON Schema of a zod schema: `input` for what a client sends, `output` for what ceod answers. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const name = componentName(schema);
  if (name) return { $ref: `#/components/schemas/${name}` };
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function objectProperties(schema: z.ZodType): { properties: Record<string, JsonSchema>; required: Set<string> } {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return { properties: s.properties ?? {}, required: new Set(s.required ?? []) };
}

/** `/api/members/:uid` → `/api/members/{uid}`. */
export const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** `GET /api/members/:uid` → `getMembersByUid`. */
function operationId(method: string, url: string): string {
  const words = url
    .replace(/^\/api\//, '/')
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith(':') ? `by-${seg.slice(1)}` : seg))
    .flatMap((seg) => seg.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** `/api/members/...` → `members`; the routes outside `/api/<resource>` are `operations`. */
function tagOf(url: string): string {
  const m = /^\/api\/([a-z]+)(\/|$)/.exec(url);
  return m && m[1] !== 'openapi' ? m[1]! : 'operations';
}

function operation(route: RegisteredRoute, doc: RouteDoc): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  if (doc.params) {
    for (const [name, schema] of Object.entries(objectProperties(doc.params).properties)) parameters.push({ name, in: 'path', required: true, schema });
  }
  if (doc.query) {
    const { properties, required } = objectProperties(doc.query);
    for (const [name, schema] of Object.entries(properties)) parameters.push({ name, in: 'query', required: required.has(name), schema });
  }
  if (doc.jobType) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'A retry with the same key (same caller, method, path and body) gets the original job back (docs/api.md#idempotency-key)',
      schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
    });
  }
  const op: Record<string, unknown> = {
    operationId: operationId(route.method, route.url),
    tags: [tagOf(route.url)],
    summary: doc.summary,
    description: [doc.description, `Who may call it: ${accessText(doc.access)}.`, doc.jobType && `Enqueues a \`${doc.jobType}\` job (docs/jobs.md).`]
      .filter(Boolean)
      .join('\n\n'),
    'x-ceod-access': typeof doc.access === 'string' ? doc.access : { self: doc.access.self, ...(doc.access.club ? { club: true } : {}) },
    ...(doc.jobType ? { 'x-ceod-job-type': doc.jobType } : {}),
  };
  if (parameters.length) op.parameters = parameters;
  if (doc.body) {
    const body = jsonSchema(doc.body, 'input');
    if (doc.bodyOmit?.length && body.properties) {
      const props = { ...(body.properties as Record<string, unknown>) };
      for (const f of doc.bodyOmit) delete props[f];
      body.properties = props;
      const required = ((body.required as string[] | undefined) ?? []).filter((f) => !doc.bodyOmit!.includes(f));
      if (required.length) body.required = required;
      else delete body.required;
    }
    op.requestBody = { required: !doc.body.safeParse(undefined).success, content: { 'application/json': { schema: body } } };
  }
  const responses: Record<string, unknown> = {};
  const contentType = doc.contentType ?? 'application/json';
  for (const [status, schema] of Object.entries(doc.responses)) {
    responses[status] = { description: STATUS_TEXT[Number(status)] ?? 'OK', content: { [contentType]: { schema: jsonSchema(schema, 'output') } } };
  }
  const error = (status: number) => (responses[status] ??= { $ref: `#/components/responses/E${status}` });
  const authenticated = typeof doc.access !== 'string' || !['public', 'allow_list'].includes(doc.access);
  if (doc.params || doc.query || doc.body) error(400);
  if (authenticated) [401, 403].forEach(error);
  if (doc.access === 'allow_list') error(403);
  if (doc.params) error(404);
  if (doc.jobType) error(409);
  if (authenticated) error(503);
  responses.default = { $ref: '#/components/responses/Error' };
  op.responses = responses;
  if (!authenticated) op.security = [];
  return op;
}

/** The document for `routes` (those without a `doc` are left out: the caller's test says none is). */
export function openApiDocument(routes: readonly RegisteredRoute[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const named = new Map<string, z.ZodType>();
  const collect = (schema: z.ZodType | undefined) => {
    const name = schema && componentName(schema);
    if (name) named.set(name, schema);
  };
  collect(errorBodySchema);
  for (const route of routes) {
    if (route.hidden || !route.doc) continue;
    const ops = (paths[openApiPath(route.url)] ??= {});
    ops[route.method.toLowerCase()] = operation(route, route.doc);
    [route.doc.params, route.doc.query, route.doc.body, ...Object.values(route.doc.responses)].forEach(collect);
  }
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of [...named].sort(([a], [b]) => a.localeCompare(b))) {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
    schemas[name] = rest;
  }
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  const responses: Record<string, unknown> = { Error: errorResponse('An error, in the one error shape (docs/api.md#errors)') };
  for (const status of [400, 401, 403, 404, 409, 503]) responses[`E${status}`] = errorResponse(STATUS_TEXT[status]!);
  return {
    openapi: '3.1.0',
    info: {
      title: 'ceod',
      version: info.version,
      description:
        "The Computer Science Club's account and membership API. Writes enqueue a job and answer 202; follow it at status_url or its events at events_url. " +
        'Authenticate with SPNEGO (Kerberos, service ceod: `curl --negotiate -u : --service-name ceod`); the answer sets the session cookie ceod_session, which later requests may send instead.',
    },
    // In the order the routes were registered; a new resource's routes bring their tag.
    tags: [...new Set([...routes.filter((r) => !r.hidden && r.doc).map((r) => tagOf(r.url)).filter((t) => t !== 'operations'), 'operations'])].map((name) =>
      name === 'operations' ? { name, description: 'Health, metrics and this document' } : { name },
    ),
    paths,
    components: {
      schemas,
      responses,
      securitySchemes: {
        negotiate: {
          type: 'http',
          scheme: 'negotiate',
          description: 'SPNEGO (RFC 4559) with a Kerberos ticket for ceod/<API host>; the answer carries the mutual-authentication token and sets ceod_session',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'ceod_session',
          description: 'The session cookie a successful handshake set (HttpOnly, SameSite=Strict, Path=/api, [ceod] session_ttl_seconds)',
        },
      },
    },
    security: [{ negotiate: [] }, { session: [] }],
  };
}
