export * from './ack.ts';
export * from './handshake.ts';
export * from './hello.ts';
export * from './job.ts';
export * from './version.ts';
export type { ClientToServerEvents, ServerToClientEvents } from './events.ts';
