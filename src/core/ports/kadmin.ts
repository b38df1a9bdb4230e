/** The Kerberos admin port: principals of the realm (adapter: `src/krb5`). */
import type { PrincipalInfo } from '../model/principal';

export interface Kadmin {
  /** Throws PermanentError KRB5_PRINCIPAL_EXISTS if it exists. The password goes over stdin. */
  addPrincipal(name: string, password: string, opts: { needChange: boolean }): Promise<void>;
  /** Throws PermanentError KRB5_NO_SUCH_PRINCIPAL if it does not exist. */
  setPassword(name: string, password: string, opts: { needChange: boolean }): Promise<void>;
  getPrincipal(name: string): Promise<PrincipalInfo | null>;
  /** Returns false if there was nothing to delete. */
  deletePrincipal(name: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
