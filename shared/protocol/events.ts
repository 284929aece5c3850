// The socket.io event maps, built once from the zod schemas. The coordinator uses them as
// Server<ClientToServerEvents, ServerToClientEvents>; the page and the agent as Socket<ServerToClientEvents,
// ClientToServerEvents>. Types are not validation: every handler safeParses its input.
import type { z } from 'zod';
import { ByeAck as ByeAckSchema, HelloAck as HelloAckSchema } from './hello.ts';
import {
  CompleteAck as CompleteAckSchema, FailAck as FailAckSchema, HeartbeatAck as HeartbeatAckSchema,
  JobRequestAck as JobRequestAckSchema, ReleaseAck as ReleaseAckSchema,
} from './job.ts';
import type { Bye, ByeAck, Hello, HelloAck } from './hello.ts';
import type {
  Complete, CompleteAck, Fail, FailAck, Heartbeat, HeartbeatAck, JobAvailable, JobRequest, JobRequestAck,
  Release, ReleaseAck,
} from './job.ts';

type Ask<Req extends z.ZodType, Ack> = (message: z.input<Req>, ack: (answer: Ack) => void) => void;

export interface ClientToServerEvents {
  hello: Ask<typeof Hello, HelloAck>;
  'job:request': Ask<typeof JobRequest, JobRequestAck>;
  'job:heartbeat': Ask<typeof Heartbeat, HeartbeatAck>;
  'job:complete': Ask<typeof Complete, CompleteAck>;
  'job:fail': Ask<typeof Fail, FailAck>;
  'job:release': Ask<typeof Release, ReleaseAck>;
  bye: Ask<typeof Bye, ByeAck>;
}

export interface ServerToClientEvents {
  'job:available': (message: JobAvailable) => void;
  'server:notice': (message: { level: 'info' | 'warn'; message: string }) => void;
}

export const EVENT_NAMES = ['hello', 'job:request', 'job:heartbeat', 'job:complete', 'job:fail', 'job:release', 'bye'] as const;

/** The schema of each event's acknowledgement: the client checks what the coordinator answers, too. */
export const ACK_SCHEMAS: { [E in keyof ClientToServerEvents]: z.ZodType } = {
  hello: HelloAckSchema,
  'job:request': JobRequestAckSchema,
  'job:heartbeat': HeartbeatAckSchema,
  'job:complete': CompleteAckSchema,
  'job:fail': FailAckSchema,
  'job:release': ReleaseAckSchema,
  bye: ByeAckSchema,
};
