/** Outgoing mail: the SMTP adapter (the messages themselves are the jobs', src/jobs/mail-templates.ts). */
export { createMailer, type MailerOptions } from './mailer';
export { classifySmtpError } from './classify';
