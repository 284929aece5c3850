import { sql } from 'drizzle-orm';
import type { Capabilities } from '../../../shared/protocol/hello.ts';
import type { WorkerKind } from '../../../shared/states.ts';
import type { Database } from '../database.ts';
import { at } from '../sqlHelpers.ts';

/**
 * Records a `hello`. A session id already owned by another volunteer is refused (`conflict`), so nobody can
 * take over someone else's leases by reusing their session id.
 */
export async function upsertWorker(
  db: Database,
  w: {
    id: string; volunteerId: number; kind: WorkerKind; capabilities: Capabilities; clientVersion: string;
    protocolVersion: number; address: string | null; userAgent: string | null; coordinatorId: string; now: Date;
  },
): Promise<{ ok: true; leases: string[] } | { ok: false; reason: 'conflict' }> {
  const rows = await db.rows<{ id: string }>(sql`
    insert into workers (id, volunteer_id, kind, capabilities, client_version, protocol_version, address, user_agent,
                         coordinator_id, connected_at, last_seen_at)
    values (${w.id}, ${w.volunteerId}, ${w.kind}, ${JSON.stringify(w.capabilities)}::jsonb, ${w.clientVersion},
            ${w.protocolVersion}, ${w.address}, ${w.userAgent}, ${w.coordinatorId}, ${at(w.now)}, ${at(w.now)})
    on conflict (id) do update set
      kind = excluded.kind, capabilities = excluded.capabilities, client_version = excluded.client_version,
      protocol_version = excluded.protocol_version, address = excluded.address, user_agent = excluded.user_agent,
      coordinator_id = excluded.coordinator_id, connected_at = excluded.connected_at,
      last_seen_at = excluded.last_seen_at, disconnected_at = null
    where workers.volunteer_id = excluded.volunteer_id
    returning id::text as id`);
  if (!rows[0]) return { ok: false, reason: 'conflict' };
  const leases = await db.rows<{ lease_id: string }>(sql`
    select lease_id::text as lease_id from assignments where worker_id = ${w.id} and state = 'leased'`);
  return { ok: true, leases: leases.map((r) => r.lease_id) };
}
