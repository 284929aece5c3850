// The fixed per-URL status vocabulary of URL jobs. Every candidate URL ends with exactly one of these,
// whoever processed it (browser tab or Node agent), and a job result carries the counts per status.
// `transient` says whether another try later (or by another worker) could plausibly end differently:
// the verifier tolerates disagreement on transient statuses and the scheduler may retry them.

export const URL_STATUS_INFO = {
  ok: { transient: false, summary: 'fetched, checked and prepared for CLIP' },
  timeout: { transient: true, summary: 'connect, headers or body took too long' },
  'http-error': { transient: false, summary: 'non-2xx HTTP answer (5xx and 429 are transient, see isTransientOutcome)' },
  'blocked-address': { transient: false, summary: 'host resolves to a private/loopback/link-local/metadata/reserved address' },
  'opt-out': { transient: false, summary: 'X-Robots-Tag noai/noimageai/noindex/noimageindex for us' },
  'too-small': { transient: false, summary: 'fewer bytes than the minimum (tracking pixels, icons)' },
  'too-large': { transient: false, summary: 'body larger than the maximum (stopped while streaming)' },
  'not-image': { transient: false, summary: 'bytes are not JPEG, PNG or WebP, whatever Content-Type says' },
  bomb: { transient: false, summary: 'header claims more pixels than the limit (decompression bomb)' },
  'decode-error': { transient: false, summary: 'header or pixel data could not be decoded' },
  cors: { transient: false, summary: 'browser only: the host does not allow cross-origin reads' },
  'redirect-loop': { transient: false, summary: 'a redirect pointed back to a URL already visited' },
  'too-many-redirects': { transient: false, summary: 'more redirects than allowed' },
  'dns-error': { transient: true, summary: 'the host name did not resolve' },
  'connect-error': { transient: true, summary: 'connection refused/reset or TLS failure' },
  'host-skipped': { transient: true, summary: 'skipped: this host failed repeatedly earlier in the job' },
  'bad-url': { transient: false, summary: 'not an absolute http(s) URL' },
  aborted: { transient: true, summary: 'the job was cancelled before this URL finished' },
} as const satisfies Record<string, { transient: boolean; summary: string }>;

export type UrlStatus = keyof typeof URL_STATUS_INFO;
export const URL_STATUSES = Object.keys(URL_STATUS_INFO) as UrlStatus[];

export function isUrlStatus(value: unknown): value is UrlStatus {
  return typeof value === 'string' && Object.hasOwn(URL_STATUS_INFO, value);
}

/** Transient-ness of one outcome: `http-error` depends on the code (5xx and 429 may pass later, 404 will not). */
export function isTransientOutcome(status: UrlStatus, httpStatus?: number | null): boolean {
  if (status === 'http-error') return httpStatus != null && (httpStatus >= 500 || httpStatus === 429 || httpStatus === 408);
  return URL_STATUS_INFO[status].transient;
}

export type StatusCounts = Partial<Record<UrlStatus, number>>;

/** Counts per status, only statuses that occur (a job result's `counts`). */
export function countStatuses(statuses: Iterable<UrlStatus | { status: UrlStatus }>): StatusCounts {
  const counts: StatusCounts = {};
  for (const s of statuses) {
    const key = typeof s === 'string' ? s : s.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
