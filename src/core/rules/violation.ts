import { PermanentError } from '../errors';

/**
 * A request that breaks a rule of the club's (a past term, a shell not
 * allowed): the same error whether the API finds it before enqueueing or a
 * step finds it later (the world may have changed in between).
 */
export function ruleViolation(field: string, message: string): PermanentError {
  return new PermanentError('BAD_REQUEST', `${field}: ${message}`, field);
}
