/** The PostgreSQL member-database adapter. */
export { createPostgresql, scramVerifier, type PostgresqlOptions } from './postgresql';
export { classifyPgError, redactMessage } from './classify';
