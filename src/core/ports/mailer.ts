/** The outgoing-mail port (adapter: `src/mail`). */
import type { MailMessage } from '../model/mail';

export interface Mailer {
  send(msg: MailMessage): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
