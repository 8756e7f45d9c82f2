/**
 * Keep-alive connections for a ClusterReader's requests. client-node 1.4 builds a new http(s).Agent for every
 * request (KubeConfig.applySecurityAuthentication → createAgent) without keep-alive, so every request — every page
 * of a list, every GET — opened a TCP connection, and against a real cluster made a TLS handshake. The middleware
 * below swaps that fresh, still unused agent for a keep-alive agent built from the same options (CA, client
 * certificate, key, server name, verification), one per distinct set of options, kept by the reader.
 *
 * Proxy agents (a cluster's proxy-url) are left as client-node made them. Nothing about timeouts changes: a request
 * the reader abandons (its timeout, an abort) destroys its socket, so a silent connection is never reused; a socket
 * the server closed while idle is dropped by the agent, and a request that still met one fails as a network error,
 * which the reader retries. Idle sockets are closed after KEEP_ALIVE_IDLE_MS and never keep the process alive.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

/**
 * Idle keep-alive sockets are closed after this long. A run's requests follow each other closely (the pages of a
 * list; the next kind's list starts while the database writes the last one), so a second carries them; a reader that
 * lives on (the watch's, which relists rarely) holds no connection while it has nothing to ask, and the client, not
 * the server (Node's HTTP servers wait 5 s), closes an idle connection.
 */
export const KEEP_ALIVE_IDLE_MS = 1_000;

/**
 * The options client-node's createAgent sets, beside rejectUnauthorized and servername: two agents with equal values
 * connect alike.
 */
const SECRET_OPTION_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase'] as const;

type AgentOptions = http.AgentOptions & https.AgentOptions;

/** The keep-alive agents of one reader, by protocol and connection options. */
export class KeepAliveAgents {
  private readonly agents = new Map<string, http.Agent>();

  /** The pooled agent standing in for `fresh` (made for one request), or `fresh` itself when it is not a plain one. */
  agentFor(fresh: unknown): unknown {
    const proto = fresh === null || typeof fresh !== 'object' ? null : (Object.getPrototypeOf(fresh) as unknown);
    const secure = proto === https.Agent.prototype;
    if (!secure && proto !== http.Agent.prototype) return fresh; // a proxy's agent, or none
    const options = (fresh as { options?: AgentOptions }).options ?? {};
    const key = agentKey(secure, options);
    let agent = this.agents.get(key);
    if (!agent) {
      const keepAlive: AgentOptions = { ...options, keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS };
      agent = secure ? new https.Agent(keepAlive) : new http.Agent(keepAlive);
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Middleware that gives every request of the reader its pooled agent. */
  middleware(): ObservableMiddleware {
    return {
      pre: (ctx: RequestContext) => {
        ctx.setAgent(this.agentFor(ctx.getAgent()) as http.Agent);
        return new Observable(Promise.resolve(ctx));
      },
      post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
    };
  }
}

/** What makes two agents' connections alike; certificates and keys enter it as a digest, never in clear. */
function agentKey(secure: boolean, options: AgentOptions): string {
  const plain = `${secure ? 'https' : 'http'}|${String(options.rejectUnauthorized)}|${options.servername ?? ''}`;
  if (SECRET_OPTION_KEYS.every((k) => options[k] === undefined)) return plain; // no hashing for every request
  const hash = createHash('sha256').update(plain);
  for (const k of SECRET_OPTION_KEYS) {
    const v = options[k] as unknown;
    hash.update(`\0${k}=`);
    if (v === undefined) continue;
    for (const part of Array.isArray(v) ? v : [v]) {
      if (Buffer.isBuffer(part) || typeof part === 'string') {
        hash.update(part).update('\0');
        continue;
      }
      hash.update(JSON.stringify(part)).update('\0'); // a pfx entry object
    }
  }
  return `${plain}|${hash.digest('hex')}`;
}
