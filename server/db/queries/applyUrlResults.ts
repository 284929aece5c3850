import { sql } from 'drizzle-orm';
import type { UrlItemResult } from '../../../shared/jobs/url.ts';
import type { Database } from '../database.ts';
import { at } from '../sqlHelpers.ts';

/**
 * Writes a URL job's per-image outcomes onto its candidates. A `cors` outcome is not the site's failure:
 * a browser was not allowed to read the bytes, so the candidate goes back to the packer flagged for agents
 * that can fetch cross-origin. Only candidates that belong to this URL job are touched.
 */
export async function applyUrlResults(
  db: Pick<Database, 'rows'>,
  r: { urlJobId: number; modelHash: string; items: readonly UrlItemResult[]; now: Date },
): Promise<{ scored: number; rerouted: number }> {
  const rows = r.items.map((i) => ({
    id: i.id, st: i.status, hs: i.httpStatus, w: i.width, h: i.height, sha: i.sha256, sim: i.similarity, kept: i.kept, emb: i.embedding,
  }));
  const res = await db.rows<{ scored: number; rerouted: number }>(sql`
    with v as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as v(id bigint, st text, hs int, w int, h int, sha text, sim float8, kept boolean, emb text)
    ), scored as (
      update candidates c set state = 'scored', status = v.st, http_status = v.hs, width = v.w, height = v.h, sha256 = v.sha,
        similarity = v.sim, kept = v.kept, embedding = v.emb, model_hash = ${r.modelHash}, scored_at = ${at(r.now)}
      from v where c.id = v.id and c.url_job_id = ${r.urlJobId} and c.state = 'packed' and v.st <> 'cors'
      returning 1
    ), rerouted as (
      update candidates c set state = 'new', needs_cross_origin = true, url_job_id = null
      from v where c.id = v.id and c.url_job_id = ${r.urlJobId} and c.state = 'packed' and v.st = 'cors'
      returning 1
    )
    select (select count(*) from scored)::int as scored, (select count(*) from rerouted)::int as rerouted`);
  return res[0] ?? { scored: 0, rerouted: 0 };
}
