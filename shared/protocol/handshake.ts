import { z } from 'zod';

/** socket.io `auth` payload, checked once per connection (io.use) before any event is accepted. */
export const HandshakeAuth = z.object({
  token: z.string().min(16).max(200),
  protocol: z.number().int().nonnegative(),
  clientVersion: z.string().max(40),
});
export type HandshakeAuth = z.infer<typeof HandshakeAuth>;

/** `err.data` of a refused connection (socket.io `connect_error`). Clients must not retry these. */
export const HandshakeRefusal = z.object({
  reason: z.enum(['unauthorized', 'version_too_old', 'bad_request']),
  detail: z.string(),
});
export type HandshakeRefusal = z.infer<typeof HandshakeRefusal>;
