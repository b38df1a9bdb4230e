/**
 * The authentication port: turns a client's SPNEGO token (RFC 4559,
 * `Authorization: Negotiate …`) into a principal (adapter: `src/krb5/spnego.ts`).
 */
export interface SpnegoResult {
  /** The authenticated principal, e.g. `ctdalek@CSCLUB.INTERNAL`. */
  principal: string;
  /** Mutual-auth token for `WWW-Authenticate: Negotiate <token>`, if any. */
  responseToken?: string;
}

/** Accepts one client token; rejects whatever the GSS layer refuses (bad token, replay, wrong key). */
export type Authenticator = (token: string) => Promise<SpnegoResult>;
