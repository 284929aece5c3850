// sha256 of an image's bytes as lowercase hex, with Web Crypto so the page and the agent share it (the
// agent's hot path uses node:crypto's synchronous hash in server/image/prepare.ts; both give the same hex).
export async function sha256HexWeb(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
