import { isIP } from "node:net";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

/**
 * Development tools (the mailbox, and every later one such as a dev phone) show other people's
 * mail and links: whoever reads them can take over accounts. They answer only requests from
 * the machine the server runs on, whatever HOST is, unless DEV_TOOLS=public (never in
 * production); any other caller gets the answer of a route that does not exist.
 *
 * "From this machine" is judged by the socket peer, never by X-Forwarded-For or Forwarded:
 * anyone can write those. They can only narrow the answer: a local proxy (the Vite dev server)
 * forwarding another machine's request is refused too.
 */
export function devTool<Options extends Record<string, unknown>>(
  plugin: FastifyPluginAsync<Options>,
  allowRemote: boolean,
): FastifyPluginAsync<Options> {
  // Not wrapped in fastify-plugin on purpose: the hook applies to the tool's routes only.
  return async (app, opts) => {
    if (!allowRemote) app.addHook("onRequest", hideFromOtherMachines);
    await app.register(plugin, opts);
  };
}

async function hideFromOtherMachines(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!isFromThisMachine(request)) return reply.callNotFound();
}

export function isFromThisMachine(request: FastifyRequest): boolean {
  if (!isLoopback(request.raw.socket.remoteAddress)) return false;
  return forwardedFor(request).every(isLoopback);
}

/** Every client address a proxy says it forwarded for (X-Forwarded-For, X-Real-IP, Forwarded). */
function forwardedFor(request: FastifyRequest): string[] {
  const header = (name: string) => {
    const v = request.headers[name];
    return Array.isArray(v) ? v.join(",") : (v ?? "");
  };
  const addresses = [...header("x-forwarded-for").split(","), ...header("x-real-ip").split(",")];
  for (const match of header("forwarded").matchAll(/for\s*=\s*("[^"]*"|[^;,\s]*)/gi)) {
    addresses.push(stripPort(match[1]!.replace(/"/g, "")));
  }
  return addresses.map((a) => a.trim()).filter((a) => a !== "");
}

/** `[2001:db8::1]:4711` → `2001:db8::1`, `192.0.2.1:80` → `192.0.2.1`. */
function stripPort(address: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!;
  return /^[\d.]+:\d+$/.test(address) ? address.slice(0, address.lastIndexOf(":")) : address;
}

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (::ffff:127.x.x.x). Anything else is not. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.toLowerCase().startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return isIP(address) === 6 && /^(0{0,4}:){1,7}0{0,3}1$|^::1$/.test(address);
}
