import { createHash } from 'node:crypto';
import { HandshakeAuth, type HandshakeRefusal } from '../../shared/protocol/handshake.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../shared/protocol/version.ts';
import { findVolunteerByTokenHash } from '../db/queries/findVolunteerByToken.ts';
import type { Deps } from '../deps.ts';
import type { CoordinatorServer } from './types.ts';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function refuse(next: (err?: Error) => void, data: HandshakeRefusal): void {
  const err = new Error(data.detail) as Error & { data: HandshakeRefusal };
  err.data = data;
  next(err);
}

/** Checks the protocol version and the API token once per connection, before any event is accepted. */
export function installAuth(io: CoordinatorServer, deps: Deps): void {
  io.use(async (socket, next) => {
    const parsed = HandshakeAuth.safeParse(socket.handshake.auth);
    if (!parsed.success) {
      return refuse(next, { reason: 'bad_request', detail: 'handshake auth must be { token, protocol, clientVersion }' });
    }
    const { token, protocol, clientVersion } = parsed.data;
    if (protocol < MIN_PROTOCOL_VERSION) {
      return refuse(next, {
        reason: 'version_too_old',
        detail: `this client speaks protocol ${protocol} (version ${clientVersion}); the coordinator needs ${MIN_PROTOCOL_VERSION} or newer (it speaks ${PROTOCOL_VERSION}). Update crawlswarm (npm install -g crawlswarm@latest) or reload the page.`,
      });
    }
    try {
      const volunteer = await findVolunteerByTokenHash(deps.db, hashToken(token));
      if (!volunteer) return refuse(next, { reason: 'unauthorized', detail: 'unknown API token: register again to get a new one' });
      socket.data.volunteer = volunteer;
      socket.data.protocolVersion = protocol;
      socket.data.clientVersion = clientVersion;
      next();
    } catch (err) {
      deps.log.error('handshake failed', { error: String(err) });
      next(new Error('the coordinator cannot reach its database; retrying'));
    }
  });
}
