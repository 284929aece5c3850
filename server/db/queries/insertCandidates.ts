import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';

export interface CandidateRow {
  url: string;
  alt: string;
  pageUrl: string;
  language: string;
  languageScore: number;
}

/** The crawl-wide dedup key of a pair. */
export function candidateKey(url: string, alt: string): string {
  return createHash('md5').update(url).update('\n').update(alt).digest('hex');
}

/** Inserts candidates, skipping pairs the crawl already has (unique key). Returns how many were new. */
export async function insertCandidates(
  db: Pick<Database, 'rows'>,
  rows: readonly CandidateRow[],
  from: { crawl: string | null; watJobId: number },
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500).map((c) => {
      let host = '';
      try {
        host = new URL(c.url).hostname;
      } catch {
        // the WAT job only emits parseable urls; an unparseable one still gets stored, under no host
      }
      return { k: candidateKey(c.url, c.alt), u: c.url, a: c.alt, p: c.pageUrl, h: host, l: c.language, s: c.languageScore };
    });
    const res = await db.rows<{ n: number }>(sql`
      with ins as (
        insert into candidates (key_hash, url, alt, page_url, host, language, language_score, crawl, wat_job_id)
        select v.k, v.u, v.a, v.p, v.h, v.l, v.s, ${from.crawl}, ${from.watJobId}
        from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) as v(k text, u text, a text, p text, h text, l text, s float8)
        on conflict (key_hash) do nothing
        returning 1
      ) select count(*)::int as n from ins`);
    inserted += res[0]?.n ?? 0;
  }
  return inserted;
}
