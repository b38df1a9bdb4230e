/** The MySQL (MariaDB) member-database adapter. */
export { createMysql, grantPattern, nativePasswordHash, type MysqlOptions } from './mysql';
export { classifyMysqlError, redactMessage } from './classify';
