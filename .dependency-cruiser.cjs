/**
 * The layering of src/ (docs/ARCHITECTURE.md#layers), checked by
 * `npm run lint` (and by `npm test` before the tests): dependencies point
 * inward, and no import cycle exists, type-only imports included.
 *
 *   core      ← imports nothing of ours
 *   config    ← core
 *   jobs      ← core, config (types only)
 *   adapters  ← core, config (types only); never each other (metrics/ is the adapter of the Metrics port)
 *   store     ← core, config (types only)
 *   workers   ← core, jobs, store, config
 *   api       ← core, jobs, config; never workers, store, an adapter, BullMQ, ioredis or kerberos
 *   cli       ← core (the `ceo` client: model, rules); it speaks to the API over HTTP only
 *   compose.ts, main.ts: everything (the composition root and the command)
 */
const ADAPTERS = 'ldap|krb5|mailman|mail|homedirs|mysql|postgresql|metrics';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycle anywhere, type-only imports included.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-nothing-of-ours',
      comment: 'The core (model, ports, rules) is the centre: it imports no other folder of src/.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'config-imports-only-core',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/config/'] },
    },
    {
      name: 'jobs-import-core-and-config-types',
      comment: 'A job type is data over the ports: it never sees the engine, the store, the API or an adapter.',
      severity: 'error',
      from: { path: '^src/jobs/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/jobs/', '^src/config/'] },
    },
    {
      name: 'jobs-see-config-as-types-only',
      severity: 'error',
      from: { path: '^src/(jobs|store|' + ADAPTERS + ')/' },
      to: { path: '^src/config/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'adapters-import-only-core-and-config-types',
      comment: 'An adapter speaks to one server: it imports the core (and config types), never another adapter, the engine or the API.',
      severity: 'error',
      from: { path: '^src/(' + ADAPTERS + ')/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/config/', '^src/$1/'] },
    },
    {
      name: 'store-imports-only-core',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/store/', '^src/config/'] },
    },
    {
      name: 'workers-import-core-jobs-store',
      severity: 'error',
      from: { path: '^src/workers/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/jobs/', '^src/store/', '^src/workers/', '^src/config/'] },
    },
    {
      name: 'api-imports-core-jobs-config',
      comment: 'The API gets the store, queue, adapters and SPNEGO through ports (src/api/services.ts), from the composition root.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/jobs/', '^src/config/', '^src/api/'] },
    },
    {
      name: 'cli-is-a-client',
      comment: 'The ceo command talks to the API over HTTP: it imports the core (model, rules) and itself, never the API, jobs, workers, store, config or an adapter.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/cli/'] },
    },
    {
      name: 'cli-uses-no-server-library',
      comment: 'The client needs no server library (its Kerberos client is its own; see server-clients-only-in-their-adapter).',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: 'node_modules/(ldapts|nodemailer|mysql2|pg|bullmq|ioredis|fastify|@fastify|pino)/' },
    },
    {
      name: 'daemon-never-imports-the-cli',
      comment: 'The client ships in dist/cli beside the daemon, but nothing of the daemon uses it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'bullmq-only-in-the-engine',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/workers/', '^src/compose\\.ts$'] },
      to: { path: 'node_modules/bullmq/' },
    },
    {
      name: 'ioredis-only-in-store-engine-and-root',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/store/', '^src/workers/', '^src/compose\\.ts$'] },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'server-clients-only-in-their-adapter',
      comment: 'ldapts, kerberos, nodemailer, mysql2, pg: each only in the adapter that speaks to that server (and kerberos in the ceo client, whose SPNEGO client side it is).',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(' + ADAPTERS + ')/', '^src/cli/'] },
      to: { path: 'node_modules/(ldapts|kerberos|nodemailer|mysql2|pg)/' },
    },
    {
      name: 'prom-client-only-in-the-metrics-adapter',
      comment: 'The API and the engine record through the Metrics port (src/core/ports/metrics.ts); only src/metrics speaks prom-client.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/metrics/' },
      to: { path: 'node_modules/prom-client/' },
    },
    {
      name: 'bull-board-only-in-the-engine',
      comment: 'The queue dashboard is built over BullMQ queues, in the workers layer (src/workers/queue-board.ts); the API only registers the plugin it is handed.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/workers/', '^src/compose\\.ts$'] },
      to: { path: 'node_modules/@bull-board/' },
    },
    {
      name: 'nothing-imports-the-root',
      comment: 'Only main.ts uses the composition root; nothing in src/ imports main.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/(compose|main)\\.ts$' },
    },
    {
      name: 'daemon-never-imports-tools-or-tests',
      comment: 'The dev stack (tools/), tests and benchmarks are not shipped in dist/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tools|test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle through types is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
