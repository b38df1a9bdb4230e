/**
 * Session revocation (docs/authorization.md#sessions): each user has a session
 * generation; a session cookie carries the generation it was issued under,
 * and is refused once the user's generation has moved on. A password reset,
 * a deletion, an expiry or leaving a staff group moves it (adapter:
 * `src/store/sessions.ts`, Redis, shared by every API host).
 */
export interface SessionRegistry {
  /** The user's current generation (0 until one was revoked). */
  generation(uid: string): Promise<number>;
  /** Ends every session of these users, on every API host, at once. */
  revoke(uids: readonly string[]): Promise<void>;
}
