// Where model files live between visits: IndexedDB (idb), keyed by sha256, behind a match/put/delete
// interface (STYLE.md item 12) so the loader and its tests do not care which store it is. A failure to open
// or write the store (private mode, quota) is not fatal: the loader warns and keeps the bytes in memory.
import { openDB, type IDBPDatabase } from 'idb';

export interface ModelCache {
  /** The bytes stored under this sha256, or null. */
  match(sha256: string): Promise<Uint8Array | null>;
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  delete(sha256: string): Promise<void>;
  /** Every sha256 stored (to delete files of an older manifest). */
  keys(): Promise<string[]>;
}

const DB_NAME = 'crawlswarm-models';
const STORE = 'files';

export async function openIdbModelCache(dbName: string = DB_NAME): Promise<ModelCache> {
  const db: IDBPDatabase = await openDB(dbName, 1, {
    upgrade(d) {
      d.createObjectStore(STORE);
    },
  });
  return {
    async match(sha256) {
      const v = (await db.get(STORE, sha256)) as ArrayBuffer | Uint8Array | undefined;
      if (!v) return null;
      return v instanceof Uint8Array ? v : new Uint8Array(v);
    },
    async put(sha256, bytes) {
      // Store an ArrayBuffer of exactly these bytes (a view's buffer may be larger).
      const copy = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
      await db.put(STORE, copy, sha256);
    },
    async delete(sha256) {
      await db.delete(STORE, sha256);
    },
    async keys() {
      return (await db.getAllKeys(STORE)).map(String);
    },
  };
}

/** A cache that forgets everything with the worker: the fallback when IndexedDB is unavailable, and for tests. */
export function memoryModelCache(): ModelCache & { store: Map<string, Uint8Array> } {
  const store = new Map<string, Uint8Array>();
  return {
    store,
    async match(sha256) {
      return store.get(sha256) ?? null;
    },
    async put(sha256, bytes) {
      store.set(sha256, bytes);
    },
    async delete(sha256) {
      store.delete(sha256);
    },
    async keys() {
      return [...store.keys()];
    },
  };
}
