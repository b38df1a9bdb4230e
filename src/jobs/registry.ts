/** Every job type by name. A job type is data; the runner interprets them all alike. */
import type { JobType } from './step';
import { createDatabaseJob } from './create-database';
import { createGroup } from './create-group';
import { createMember } from './create-member';
import { deleteGroup } from './delete-group';
import { deleteMember } from './delete-member';
import { expireMembers } from './expire-members';
import { addGroupMember, removeGroupMember } from './group-membership';
import { subscribeList, unsubscribeList } from './list-membership';
import { modifyMember } from './modify-member';
import { renewMember } from './renew-member';
import { renewMembers } from './renew-members';
import { resetDatabasePassword } from './reset-database-password';
import { resetPassword } from './reset-password';
import { setPositions } from './set-positions';

const TYPES: JobType<any>[] = [
  createMember,
  renewMember,
  renewMembers,
  modifyMember,
  resetPassword,
  deleteMember,
  expireMembers,
  createGroup,
  deleteGroup,
  addGroupMember,
  removeGroupMember,
  setPositions,
  subscribeList,
  unsubscribeList,
  createDatabaseJob,
  resetDatabasePassword,
];

export const jobTypes: ReadonlyMap<string, JobType<any>> = new Map(TYPES.map((t) => [t.name, t]));
