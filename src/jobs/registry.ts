/** Every job type by name. A job type is data; the runner interprets them all alike. */
import type { JobType } from './types';
import { createMember } from './create-member';

const TYPES: JobType<any>[] = [createMember];

export const jobTypes: ReadonlyMap<string, JobType<any>> = new Map(TYPES.map((t) => [t.name, t]));

export function jobType(name: string): JobType<any> | undefined {
  return jobTypes.get(name);
}
