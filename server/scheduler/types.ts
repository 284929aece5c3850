import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol/events.ts';
import type { Capabilities } from '../../shared/protocol/hello.ts';
import type { VolunteerRow } from '../db/queries/findVolunteerByToken.ts';

/** Per-connection state, set by the handshake (volunteer) and by `hello` (worker). */
export interface SocketData {
  volunteer: VolunteerRow;
  protocolVersion: number;
  clientVersion: string;
  worker?: { id: string; capabilities: Capabilities };
}

export type CoordinatorServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type CoordinatorSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
