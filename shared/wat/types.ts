// Types shared across the WAT pipeline: gzip members -> WARC records -> image/alt-text candidates.

/** Why part of the input could not be read. Stable strings: stored, counted, matched in tests. */
export type WatErrorReason =
  /** The last gzip member ends early (download or file cut short). */
  | 'truncated_gzip'
  /** A gzip member does not inflate (bad header, bad deflate data, CRC or length mismatch). */
  | 'corrupt_gzip'
  /** A gzip member inflates past the record cap, or has no end within the compressed cap. */
  | 'member_too_large'
  /** No WARC record at all in the input. */
  | 'not_warc'
  /** Bytes where a record should start that are not `WARC/1.x` (skipped up to the next one). */
  | 'bad_record_start'
  /** A header block longer than the header cap, or without its blank line. */
  | 'bad_header'
  /** A missing or non-numeric Content-Length. */
  | 'bad_content_length'
  /** A Content-Length above the record cap (the record is skipped, never buffered). */
  | 'record_too_large'
  /** The record did not end where its Content-Length says; it was resynced on the next `WARC/1.` line. */
  | 'content_length_mismatch'
  /** The input ended inside a record. */
  | 'truncated_record'
  /** A WAT metadata record whose JSON does not parse. */
  | 'bad_json'
  /** The byte source failed mid-way (network reset, aborted body); what came before was used. */
  | 'read_error';

export interface WatError {
  reason: WatErrorReason;
  /** File offset: the gzip member's start for gzip input, the byte offset for uncompressed input. */
  offset: number;
  detail: string;
}

/** One WARC record. `body` is a view that is only valid until the next record is requested. */
export interface WarcRecord {
  /** File offset of the record (its gzip member's start for gzip input). */
  offset: number;
  /** The version line, e.g. `WARC/1.0`. */
  version: string;
  /** Header fields as written (names keep their case; a repeated name keeps the last value). */
  headers: Record<string, string>;
  /** `WARC-Type`, lower-cased ('' when missing). */
  type: string;
  body: Uint8Array;
  /** True when the record was recovered after a Content-Length error (its body is a best guess). */
  damaged: boolean;
}

/** One image/alt-text pair found in a page. */
export interface Candidate {
  /** Absolute http(s) image URL, fragment removed. */
  url: string;
  /** Alt text: entities decoded, whitespace collapsed, trimmed, at most `maxAltChars` code points. */
  alt: string;
  /** The page the image was found on (`WARC-Target-URI`). */
  pageUrl: string;
  /** ISO 639-1 code of the alt text when the detector is confident, '' otherwise (LAION's "nolang"). */
  language: string;
  /** The detector's score for its top language (0..1; 0 when none), whatever `language` says. */
  languageScore: number;
}

/** Counts of image links dropped by each rule (a link is counted under the first rule that drops it). */
export interface DropCounts {
  /** Alt missing or only whitespace. */
  noAlt: number;
  /** Alt shorter than `minAltChars` after decoding and whitespace collapse. */
  shortAlt: number;
  /** Url empty or not parseable against the base. */
  badUrl: number;
  /** Scheme other than the allowed ones (data:, javascript:, ftp:, ...). */
  protocol: number;
  /** Url longer than `maxUrlChars` after resolution. */
  longUrl: number;
  /** Path ends in a dropped extension (.svg, .gif). */
  extension: number;
  /** Same (url, alt) already seen in this job. */
  duplicate: number;
}

export interface ExtractProgress {
  /** WARC records read so far. */
  records: number;
  /** Input bytes read so far (compressed bytes for gzip input). */
  bytes: number;
  /** Decompressed bytes so far. */
  inflatedBytes: number;
  candidates: number;
  /** Input size when the caller knows it (for a percentage), else null. */
  totalBytes: number | null;
  /** Bytes of this slice (end offset, or the input size, minus the start) when known: `bytes` out of this. */
  sliceBytes: number | null;
}

export interface ExtractSummary {
  /** All WARC records read (any type). */
  records: number;
  /** Records with `WARC-Type: metadata`. */
  metadataRecords: number;
  /** All links with path `IMG@/src`. */
  imgLinks: number;
  /** Those whose raw alt has a non-space character. */
  withAlt: number;
  /** Candidates after every rule, deduplicated. */
  candidates: number;
  /** Number of errors (each damaged spot counts once). */
  errors: number;
  /** True when any error happened: some input could not be read. */
  damaged: boolean;
  /** Input bytes read (compressed bytes for gzip input; may pass the slice end to finish a member). */
  bytes: number;
  /** Decompressed bytes handed to the WARC reader. */
  inflatedBytes: number;
  seconds: number;
  format: 'gzip' | 'plain';
  /** LAION-5B split of the candidates: English, other detected language, no confident language. */
  languages: { en: number; multi: number; nolang: number };
  dropped: DropCounts;
  errorsByReason: Partial<Record<WatErrorReason, number>>;
  /** The first few errors, for logs and job reports. */
  errorSamples: WatError[];
}
