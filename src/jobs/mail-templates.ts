/**
 * The mails ceod sends, as pure functions from data to a message: the welcome
 * mail to a new member, the new-member announcement to staff, and the expiry
 * notice. They never contain a password: the member gets theirs from the
 * office, and must change it at first login.
 */
import type { MailMessage } from '../core/model/mail';
import { memberAddress } from '../core/model/names';

/** A message whose recipient the caller may choose (e.g. the configured staff list). */
export type Draft = Omit<MailMessage, 'to'> & { to?: string | string[] };

/** Collapses control characters (newlines above all) so a name cannot add header lines or fake paragraphs. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function list(items: readonly string[]): string {
  return items.map(oneLine).join(', ');
}

export interface WelcomeMailInput {
  uid: string;
  /** Full name, as in LDAP `cn`. */
  cn: string;
  /** The club's mail domain: the member's address is `<uid>@<domain>`. */
  domain: string;
}

/** Welcome mail to a new member, sent to `<uid>@<domain>`. */
export function welcomeMail(i: WelcomeMailInput): MailMessage {
  const uid = oneLine(i.uid);
  const cn = oneLine(i.cn);
  const domain = oneLine(i.domain);
  const lines = [
    `Hello ${cn},`,
    '',
    'Welcome to the Computer Science Club! Your account has been created.',
    '',
    `    Username:      ${uid}`,
    `    Mail address:  ${memberAddress(uid, domain)}`,
    '',
    'To log in, use the password the office staff gave you when you signed up.',
    'The first time you log in you will be asked to choose a new password;',
    'pick one you do not use anywhere else.',
  ];
  lines.push(
    '',
    'To change your password later, log in and run `passwd`.',
    'Mail to your club address is delivered to your home directory, or',
    'forwarded to the addresses listed in ~/.forward.',
    '',
    'If you did not sign up, or have questions, reply to this mail.',
    '',
    '-- ',
    'The Computer Science Club',
    '',
  );
  return { to: memberAddress(uid, domain), subject: 'Welcome to the Computer Science Club', text: lines.join('\n') };
}

export interface AnnouncementInput {
  uid: string;
  cn: string;
  program?: string;
  terms: readonly string[];
  /** Terms a club rep holds instead of member terms. */
  nonMemberTerms?: readonly string[];
  /** The staff list address; the caller may also set `to` itself. */
  to?: string;
}

/** "New member: <cn> (<uid>)", to the club's staff list. */
export function announcement(i: AnnouncementInput): Draft {
  const uid = oneLine(i.uid);
  const cn = oneLine(i.cn);
  const rep = i.terms.length === 0 && (i.nonMemberTerms?.length ?? 0) > 0;
  const what = rep ? 'New club rep' : 'New member';
  const lines = [`${what}: ${cn} (${uid})`, ''];
  lines.push(`    Program: ${i.program ? oneLine(i.program) : '(not given)'}`);
  if (i.terms.length) lines.push(`    Terms:   ${list(i.terms)}`);
  if (i.nonMemberTerms?.length) lines.push(`    Non-member terms: ${list(i.nonMemberTerms)}`);
  lines.push('', '-- ', 'ceod', '');
  return {
    ...(i.to ? { to: i.to } : {}),
    subject: `${what}: ${cn} (${uid})`,
    text: lines.join('\n'),
  };
}

export interface ExpiryNoticeInput {
  uid: string;
  cn: string;
  domain: string;
  /** The member's latest term, e.g. `f2025`. */
  lastTerm?: string;
  /** The term in which the membership lapsed, e.g. `w2026`. */
  currentTerm: string;
}

/** Tells a member their membership has expired and how to renew. */
export function expiryNotice(i: ExpiryNoticeInput): MailMessage {
  const uid = oneLine(i.uid);
  const domain = oneLine(i.domain);
  const last = i.lastTerm ? ` Your last paid term was ${oneLine(i.lastTerm)}.` : '';
  return {
    to: memberAddress(uid, domain),
    subject: 'Your Computer Science Club membership has expired',
    text: [
      `Hello ${oneLine(i.cn)},`,
      '',
      `Your Computer Science Club membership was not renewed for ${oneLine(i.currentTerm)}.${last}`,
      'Your account has been disabled for logins; your files and mail are kept.',
      '',
      'To renew, come by the club office; your account is enabled again as soon',
      'as the renewal is recorded.',
      '',
      `This mail is about the account ${uid}. If you have questions, reply to it.`,
      '',
      '-- ',
      'The Computer Science Club',
      '',
    ].join('\n'),
  };
}
