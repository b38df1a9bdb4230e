/** A Kerberos principal as `getprinc` shows it. */
export interface PrincipalInfo {
  name: string;
  /** e.g. `REQUIRES_PWCHANGE`, from kadmin's "Attributes:" line. */
  attributes: string[];
}
