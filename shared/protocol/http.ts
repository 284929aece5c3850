import { z } from 'zod';

/** POST /api/volunteers */
export const NICKNAME_PATTERN = /^[-_a-zA-Z0-9]{3,30}$/;
export const RegisterRequest = z.object({
  nickname: z.string().regex(NICKNAME_PATTERN, 'nickname: 3 to 30 letters, digits, - or _'),
  team: z.string().regex(NICKNAME_PATTERN, 'team: 3 to 30 letters, digits, - or _').nullish(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;
export const RegisterResponse = z.object({ id: z.number().int(), nickname: z.string(), team: z.string().nullable(), token: z.string() });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/** Error body of every /api route. */
export const ApiError = z.object({ error: z.string(), detail: z.string() });
export type ApiError = z.infer<typeof ApiError>;

/** GET /api/stats */
export const StatsResponse = z.object({
  jobs: z.record(z.string(), z.record(z.string(), z.number())),
  workersOnline: z.object({ browser: z.number(), node: z.number() }),
  coordinator: z.string(),
});
export type StatsResponse = z.infer<typeof StatsResponse>;
