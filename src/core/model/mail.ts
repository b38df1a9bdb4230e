/** An outgoing mail, as jobs hand it to the `Mailer` port. */
export interface MailMessage {
  to: string | string[];
  subject: string;
  text: string;
  /** Message-ID to send with, so a resent mail can be recognised as the same one. */
  messageId?: string;
}
