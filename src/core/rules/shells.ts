/** Login shells (docs/config.md#shells): which a member may choose. */
import { ruleViolation } from './violation';

export function assertShellAllowed(shell: string, allowed: readonly string[]): void {
  if (!allowed.includes(shell)) throw ruleViolation('login_shell', `must be one of ${allowed.join(', ')}`);
}
