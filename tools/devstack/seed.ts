/**
 * What every stack starts with: the directory tree, three users, the staff
 * groups, their principals and the mailing lists the configs name. Numbers sit
 * in the configured ranges (members 20001.., clubs 30001.., system groups 10001..).
 */
import type { ListPolicy, SeedUid } from './types';

export const REALM = 'CSCLUB.INTERNAL';
export const BASE_DOMAIN = 'csclub.internal';
export const BASE_DN = 'dc=csclub,dc=internal';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const USERS_BASE = `ou=People,${BASE_DN}`;
export const GROUPS_BASE = `ou=Group,${BASE_DN}`;
export const SUDO_BASE = `ou=SUDOers,${BASE_DN}`;
export const SERVICE_PRINCIPAL = 'ceod/localhost';
export const ADMIN_PRINCIPAL = 'ceod/admin';
export const MAILMAN_USER = 'restadmin';

export interface SeedUser {
  uid: SeedUid;
  cn: string;
  givenName: string;
  sn: string;
  uidNumber: number;
  program: string;
}

export const SEED_USERS: readonly SeedUser[] = [
  { uid: 'ctdalek', cn: 'Calum T. Dalek', givenName: 'Calum', sn: 'Dalek', uidNumber: 20001, program: 'MATH/Computer Science' },
  { uid: 'office1', cn: 'Office Staff One', givenName: 'Office', sn: 'One', uidNumber: 20002, program: 'MATH/Computer Science' },
  { uid: 'regular1', cn: 'Regular Member One', givenName: 'Regular', sn: 'One', uidNumber: 20003, program: 'ENG/Software Engineering' },
];

export interface SeedGroup {
  cn: string;
  gidNumber: number;
  description: string;
  members: SeedUid[];
}

/** Staff groups; `staff`, `exec` and `termcom` exist because the configs map syscom → office, staff, termcom → office and positions → exec. */
export const SEED_GROUPS: readonly SeedGroup[] = [
  { cn: 'syscom', gidNumber: 10001, description: 'Systems Committee', members: ['ctdalek'] },
  { cn: 'office', gidNumber: 10002, description: 'Office Staff', members: ['office1'] },
  { cn: 'staff', gidNumber: 10003, description: 'Staff', members: [] },
  { cn: 'exec', gidNumber: 10004, description: 'Executive Council', members: [] },
  { cn: 'termcom', gidNumber: 10005, description: 'Terminal Committee', members: [] },
];

/** Mailing lists (short names, domain BASE_DOMAIN): the new-member list, the announce list, syscom's auxiliary lists, exec. */
export const SEED_LISTS: readonly string[] = ['csc-general', 'ceo', 'syscom', 'syscom-alerts', 'exec'];

/**
 * How each list admits subscribers. csc-general is the open list every new
 * member joins; syscom is moderated and unadvertised, as a staff list is (the
 * case that self-service subscription must refuse). The rest keep Mailman's
 * defaults.
 */
const OPEN: ListPolicy = { subscription_policy: 'confirm', advertised: true };
export const SEED_LIST_POLICIES: Readonly<Record<string, ListPolicy>> = {
  'csc-general': OPEN,
  ceo: OPEN,
  syscom: { subscription_policy: 'moderate', advertised: false },
  'syscom-alerts': OPEN,
  exec: OPEN,
};

export const userDn = (uid: string) => `uid=${uid},${USERS_BASE}`;
export const groupDn = (cn: string) => `cn=${cn},${GROUPS_BASE}`;

/** The term containing `date`: w (Jan–Apr), s (May–Aug), f (Sep–Dec) + year. */
export function termOf(date: Date): string {
  const m = date.getMonth();
  return `${m < 4 ? 'w' : m < 8 ? 's' : 'f'}${date.getFullYear()}`;
}
