/** Outgoing mail: the SMTP adapter and the messages ceod sends. */
export { createMailer, mailerFromConfig, mailerOptionsFromConfig, type MailerOptions } from './mailer';
export { classifySmtpError } from './classify';
export { welcomeMail, announcement, expiryNotice, type Draft, type WelcomeMailInput, type AnnouncementInput, type ExpiryNoticeInput } from './templates';
