/**
 * The largest socket.io message the coordinator accepts (its maxHttpBufferSize). A bigger one makes the server
 * drop the connection, and a client that retried it after every reconnect would never get anywhere: the
 * WorkClient measures each result first and reports an oversized one as a failed job instead.
 * 64 MiB holds a WAT slice's 200,000 candidates at about 300 bytes each.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Room for the envelope around a result (lease id, event name, socket.io framing). */
export const MESSAGE_OVERHEAD_BYTES = 64 * 1024;
