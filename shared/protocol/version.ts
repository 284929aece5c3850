/**
 * The wire protocol's version. Bump it on any incompatible change to a message in this folder; the
 * coordinator refuses clients below MIN_PROTOCOL_VERSION with `version_too_old` and tells them to update.
 */
// 2: per-URL results carry the candidate's url and alt.
export const PROTOCOL_VERSION = 2;
export const MIN_PROTOCOL_VERSION = 2;
export const CLIENT_VERSION = '0.1.0';
