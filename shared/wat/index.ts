// Public surface of WAT extraction (see extract.ts for the entry point).
export { extractWat, type ExtractOptions } from './extract.ts';
export { DEFAULT_RULES, candidatesFromWat, createExtractState, normaliseAlt, normaliseImageUrl, resolveBase, type ExtractRules } from './candidates.ts';
export { createWebMemberInflater, splitGzipMembers, type InflateResult, type MemberInflater } from './gzip.ts';
export { createEldDetector, laionSubset, type EldSize, type LanguageDetector, type LanguageGuess } from './language.ts';
export { decodeHtmlEntities } from './html.ts';
export { createJsMemberInflater, inflateGzipMembers } from './inflate.ts';
export { readWarcRecords, type WarcEvent } from './warc.ts';
export { openWatUrl, streamChunks, type ByteRange, type SourceFailure, type WatSource } from './source.ts';
export type { Candidate, DropCounts, ExtractProgress, ExtractSummary, WarcRecord, WatError, WatErrorReason } from './types.ts';
