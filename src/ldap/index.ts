/** The LDAP adapter and the escaping helpers it is built on. */
export { createLdap, type LdapOptions } from './ldap';
export { escapeDnValue, escapeFilterValue, unescapeDnValue, childValue, normalizeDn } from './escape';
export { classifyLdapError } from './classify';
