// X-Robots-Tag opt-out, following img2dataset's default (`--disallowed_header_directives`): the directives
// noai, noimageai, noindex and noimageindex, either unscoped or scoped to our user-agent token; directives
// scoped to another crawler are ignored. Google's syntax: `X-Robots-Tag: [token:] directive, directive`,
// possibly several headers, and `unavailable_after: <date>` carries a colon that is not a scope.

export const OUR_ROBOTS_TOKEN = 'crawlswarm';
export const DEFAULT_DISALLOWED_DIRECTIVES = ['noai', 'noimageai', 'noindex', 'noimageindex'] as const;

/** Directives whose value follows a colon; `name: value` for these is not a user-agent scope. */
const VALUED_DIRECTIVES = new Set(['unavailable_after', 'max-snippet', 'max-image-preview', 'max-video-preview']);

export interface RobotsVerdict {
  optOut: boolean;
  /** The directive that decided it, with its scope (`crawlswarm: noai` or `noai`), for the detail text. */
  matched: string | null;
}

/** `headers` are the X-Robots-Tag values (one per header line; a comma-joined line works too). */
export function checkXRobotsTag(
  headers: string | readonly string[] | null | undefined,
  userAgentToken: string = OUR_ROBOTS_TOKEN,
  disallowed: readonly string[] = DEFAULT_DISALLOWED_DIRECTIVES,
): RobotsVerdict {
  if (headers == null) return { optOut: false, matched: null };
  const lines = typeof headers === 'string' ? [headers] : headers;
  const ours = userAgentToken.toLowerCase();
  for (const line of lines) {
    let scope: string | null = null; // a scope lasts until the end of its header line
    for (const rawPart of line.split(',')) {
      let part = rawPart.trim().toLowerCase();
      if (!part) continue;
      const colon = part.indexOf(':');
      if (colon > 0) {
        const name = part.slice(0, colon).trim();
        if (!VALUED_DIRECTIVES.has(name)) {
          scope = name;
          part = part.slice(colon + 1).trim();
          // `token: unavailable_after: date`: the rest is a valued directive, not another scope.
        }
      }
      const directive = part.split(/[\s:]/, 1)[0] ?? '';
      if (scope !== null && scope !== ours && scope !== '*') continue;
      if (disallowed.includes(directive)) return { optOut: true, matched: scope ? `${scope}: ${directive}` : directive };
    }
  }
  return { optOut: false, matched: null };
}
