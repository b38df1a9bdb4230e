import { checkOwner, classifyFsError, homePath } from '../../src/homedirs/paths';
import { PermanentError, TransientError } from '../../src/core/errors';

describe('homePath', () => {
  it('joins a valid name under the root', () => {
    expect(homePath('/users', 'alice')).toBe('/users/alice');
    expect(homePath('/users/', 'a-1')).toBe('/users/a-1');
  });

  it.each(['', '..', '.', 'a/b', '../etc', 'Alice', '1abc', '-x', 'a b', 'a\0', '.forward', 'x'.repeat(33)])('refuses %j', (name) => {
    expect(() => homePath('/users', name)).toThrow(PermanentError);
    try {
      homePath('/users', name);
    } catch (e) {
      expect((e as PermanentError).code).toBe('HOME_UNSAFE_PATH');
    }
  });

  it('refuses a relative root', () => {
    expect(() => homePath('users', 'alice')).toThrow(PermanentError);
  });
});

describe('checkOwner', () => {
  it('accepts ordinary ids and refuses root and nonsense', () => {
    expect(() => checkOwner(20001, 20001)).not.toThrow();
    for (const [u, g] of [[0, 20001], [20001, 0], [-1, 1], [1.5, 1], [NaN, 1], [2 ** 32, 1]]) {
      expect(() => checkOwner(u!, g!)).toThrow(PermanentError);
    }
  });
});

describe('classifyFsError', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  it.each(['EACCES', 'EPERM', 'EROFS', 'EXDEV'])('%s is permanent FS_REFUSED', (code) => {
    const c = classifyFsError(err(code), 'op');
    expect(c).toBeInstanceOf(PermanentError);
    expect(c.code).toBe('FS_REFUSED');
  });
  it.each(['EIO', 'ESTALE', 'ENOSPC', 'EBUSY', 'ENOENT'])('%s is transient FS_BUSY', (code) => {
    const c = classifyFsError(err(code), 'op');
    expect(c).toBeInstanceOf(TransientError);
    expect(c.code).toBe('FS_BUSY');
  });
  it('passes classified errors through', () => {
    const e = new PermanentError('HOME_EXISTS', 'x');
    expect(classifyFsError(e, 'op')).toBe(e);
  });
});
