import { announcement, expiryNotice, welcomeMail } from '../../src/jobs/mail-templates';

describe('welcomeMail', () => {
  const msg = welcomeMail({ uid: 'alice', cn: 'Alice Liddell', domain: 'csclub.internal' });

  it('goes to the member at the club domain', () => {
    expect(msg.to).toBe('alice@csclub.internal');
    expect(msg.subject).toMatch(/welcome/i);
  });

  it('greets them, names their uid, and tells them how to log in and change the password', () => {
    expect(msg.text).toContain('Hello Alice Liddell,');
    expect(msg.text).toMatch(/Username:\s+alice\n/);
    expect(msg.text).toMatch(/new password/);
    expect(msg.text).toContain('passwd');
  });

  it('never contains a password', () => {
    expect(msg.text).not.toMatch(/password:/i);
  });

  it('names the member\'s club address', () => {
    expect(welcomeMail({ uid: 'alice', cn: 'A', domain: 'csclub.internal' }).text).toContain('Mail address:  alice@csclub.internal');
  });

  it('keeps a hostile name on one line', () => {
    const m = welcomeMail({ uid: 'eve', cn: 'Eve\r\nBcc: victim@example.org\n\nFake paragraph', domain: 'csclub.internal' });
    expect(m.text.split('\n')[0]).toBe('Hello Eve Bcc: victim@example.org Fake paragraph,');
  });
});

describe('announcement', () => {
  it('announces a member with program and terms', () => {
    const m = announcement({ uid: 'alice', cn: 'Alice Liddell', program: 'MATH/Computer Science', terms: ['w2026', 's2026'], to: 'staff@csclub.internal' });
    expect(m.to).toBe('staff@csclub.internal');
    expect(m.subject).toBe('New member: Alice Liddell (alice)');
    expect(m.text).toContain('New member: Alice Liddell (alice)');
    expect(m.text).toContain('Program: MATH/Computer Science');
    expect(m.text).toContain('Terms:   w2026, s2026');
  });

  it('says when the program is unknown and leaves `to` to the caller', () => {
    const m = announcement({ uid: 'bob', cn: 'Bob', terms: ['f2026'] });
    expect(m).not.toHaveProperty('to');
    expect(m.text).toContain('Program: (not given)');
  });

  it('calls a club rep a club rep', () => {
    const m = announcement({ uid: 'carol', cn: 'Carol', terms: [], nonMemberTerms: ['w2026'] });
    expect(m.subject).toBe('New club rep: Carol (carol)');
    expect(m.text).toContain('Non-member terms: w2026');
    expect(m.text).not.toContain('Terms:   ');
  });

  it('keeps the subject a single line', () => {
    expect(announcement({ uid: 'x', cn: 'X\nSubject: spoof', terms: ['w2026'] }).subject).not.toMatch(/\n/);
  });
});

describe('expiryNotice', () => {
  it('tells the member the account expired and how to renew', () => {
    const m = expiryNotice({ uid: 'dave', cn: 'Dave', domain: 'csclub.internal', lastTerm: 'f2025', currentTerm: 'w2026' });
    expect(m.to).toBe('dave@csclub.internal');
    expect(m.subject).toMatch(/expired/);
    expect(m.text).toContain('not renewed for w2026');
    expect(m.text).toContain('last paid term was f2025');
    expect(m.text).toMatch(/renew/);
  });
});
