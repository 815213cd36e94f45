// The room protocol's close codes and error names, as the server defines them (room/protocol.py).
// The page carries them in a JSON script element; without one (a test under Node), everything is empty.

const node = globalThis.document?.getElementById("room-protocol");
const data = node ? JSON.parse(node.textContent) : { close: {}, error: {}, final_closes: [], final_errors: [] };

export const Close = Object.freeze(data.close);
export const ErrorCode = Object.freeze(data.error);
// The connection is over for good: reconnecting would meet the same answer.
export const FINAL_CLOSES = new Set(data.final_closes);
export const FINAL_ERRORS = new Set(data.final_errors);
