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

/** Jobs and scored images of one volunteer in one verification state. */
export const CreditCount = z.object({ jobs: z.number().int().nonnegative(), images: z.number().int().nonnegative() });
export type CreditCount = z.infer<typeof CreditCount>;

/**
 * GET /api/me (Authorization: Bearer <token>): the volunteer's own credit. Only `verified` counts for the
 * leaderboard and the dataset; `pending` waits for the validator, `rejected` disagreed with other replicas.
 */
export const CreditResponse = z.object({
  nickname: z.string(),
  team: z.string().nullable(),
  pending: CreditCount,
  verified: CreditCount,
  rejected: CreditCount,
});
export type CreditResponse = z.infer<typeof CreditResponse>;

/** GET /api/leaderboard: verified work only, most images first. */
export const LeaderboardRow = z.object({ name: z.string(), team: z.string().nullable().optional(), jobs: z.number().int(), images: z.number().int() });
export const LeaderboardResponse = z.object({
  volunteers: z.array(LeaderboardRow),
  teams: z.array(LeaderboardRow),
});
export type LeaderboardResponse = z.infer<typeof LeaderboardResponse>;
