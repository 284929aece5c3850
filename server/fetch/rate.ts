// Parses the agent's `--bandwidth` value into bytes per second for FetcherOptions.bandwidthBytesPerSecond.
// Accepts a number of bytes per second with an optional SI or binary suffix and an optional "/s":
// "500000", "500k", "2M", "2MB/s", "1.5MiB/s", "800KiB". Bits are refused ("8Mbit", "10mbps"): a volunteer
// should say what they mean in bytes rather than have us guess.

export type RateParse = { ok: true; bytesPerSecond: number } | { ok: false; reason: 'bad_rate'; detail: string };

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
};

export function parseByteRate(text: string): RateParse {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*(?:\/s)?\s*$/i.exec(text);
  const factor = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) return { ok: false, reason: 'bad_rate', detail: `cannot read ${JSON.stringify(text)} as bytes per second (e.g. 500k, 2MB/s, 1.5MiB/s)` };
  const bytesPerSecond = Math.round(Number(m[1]) * factor);
  if (!(bytesPerSecond >= 1024)) return { ok: false, reason: 'bad_rate', detail: `${text} is below 1 KiB/s` };
  return { ok: true, bytesPerSecond };
}
