/** What a promise rejected with, as the runner sees it (name, code, permanent, message); fails if it resolved. */
export async function codeOf(p: Promise<unknown>): Promise<{ name: string; code: string; permanent: boolean; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; code: string; permanent: boolean; message: string };
    return { name: err.name, code: err.code, permanent: err.permanent, message: err.message };
  }
  throw new Error('expected a rejection');
}
