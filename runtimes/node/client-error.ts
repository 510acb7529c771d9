/**
 * Node's HTTP parser errors (a malformed request, headers too large, a header or request
 * timeout) answered with the same JSON error body as every other error, instead of Node's empty
 * 400/408/431.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";

const ANSWERS: Record<string, [status: number, reason: string, code: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large", "headers_too_large", "the request headers are too large"],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "Payload Too Large", "payload_too_large", "the chunk extensions are too large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", "request_timeout", "the request did not arrive in time"],
};
const BAD_REQUEST: [number, string, string, string] = [400, "Bad Request", "bad_request", "the request is not valid HTTP/1.1"];

/** The raw HTTP/1.1 response for a parser error code (exported for tests). */
export function clientErrorResponse(errorCode: string | undefined): string {
  const [status, reason, code, message] = (errorCode && ANSWERS[errorCode]) || BAD_REQUEST;
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Installs the JSON answer on `server`'s `clientError` (Node's default rules otherwise). */
export function answerClientErrorsWithJson(server: Server): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    // As Node's own handler: answer only when no response of this connection has started.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code !== "ECONNRESET" && socket.writable && !inFlight?.headersSent) {
      socket.end(clientErrorResponse(error.code));
    }
    socket.destroySoon();
  });
}
