// The viewer's connection to a cluster node: a WebSocket (Server-Sent Events when WebSockets fail), with
// reconnection through a new ticket from /api/connect and `after=<last seq>` so that no burst is missed.

import { ApiError } from "./api.js";

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

export class BurstStream {
  /**
   * connect: async (channel, replaces) => {node, ws_url, sse_url, ticket}; throws ApiError. `replaces` is the ticket
   *   of the previous placement (null at first).
   * on: { state(kind, detail), hello(msg, transport), burst(msg, missed), authLost(error), switchFailed(error) }
   */
  constructor({ connect, on, channel }) {
    this.connectAPI = connect;
    this.on = on;
    this.channel = channel;
    this.previousChannel = null; // while a switch is pending: where to go back if it is refused
    this.lastSeq = null;
    this.missed = 0;
    this.transport = "WebSocket" in window ? "ws" : "sse";
    this.everLive = false;
    this.abort = new AbortController();
    this.socket = null;
    this.retryNow = null;
    this.lastTicket = null; // of the last placement, sent as `replaces` by the next one
  }

  start() { this.loop(); }

  stop() {
    this.abort.abort();
    this.closeSocket();
  }

  /** Skips the current back-off wait. */
  retry() { this.retryNow?.(); }

  /**
   * Watches another channel. Over a WebSocket the node moves this connection (answering with a new hello); over
   * Server-Sent Events the page reconnects with a ticket for the new channel. Bursts of the old channel still
   * on their way are ignored.
   */
  switchChannel(channel) {
    if (channel === this.channel) return;
    this.previousChannel = this.channel;
    this.channel = channel;
    this.lastSeq = null;
    this.missed = 0;
    const overWebSocket = typeof WebSocket !== "undefined" && this.socket instanceof WebSocket;
    if (overWebSocket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "switch", channel }));
    } else {
      this.reconnectNow = true;
      this.closeSocket();
      this.endWatch?.("switching channel");
      this.retry();
    }
  }

  closeSocket() {
    if (this.socket) {
      this.socket.onclose = this.socket.onerror = this.socket.onmessage = null;
      this.socket.close();
      this.socket = null;
    }
  }

  withAfter(url) {
    if (this.lastSeq === null) return url;
    return url + (url.includes("?") ? "&" : "?") + "after=" + encodeURIComponent(this.lastSeq);
  }

  async wait(ms) {
    const skip = new Promise((resolve) => { this.retryNow = resolve; });
    await Promise.race([sleep(ms, this.abort.signal), skip]);
    this.retryNow = null;
  }

  /** Gets a ticket and watches until the connection drops; then again, with back-off, until stopped. */
  async loop() {
    let attempt = 0;
    while (!this.abort.signal.aborted) {
      // While waiting out a refusal (tier limit, no capacity) the page keeps showing why, not "connecting".
      if (this.switching) this.on.state("connecting", { attempt });
      else if (attempt === 0 || this.everLive) this.on.state(this.everLive ? "reconnecting" : "connecting", { attempt });
      this.switching = false;
      let info;
      try {
        // Naming the ticket of the stream that ended lets the gateway check that stream's node: if it is down, the
        // lost session stops counting against the tier limit at once.
        info = await this.connectAPI(this.channel, this.lastTicket);
        this.lastTicket = info.ticket;
      } catch (error) {
        if (this.abort.signal.aborted) return;
        if (error instanceof ApiError && error.code === "invalid_replaces") {
          this.lastTicket = null; // e.g. the gateways' secret changed: connect without it
          continue;
        }
        if (error instanceof ApiError && error.status === 401) {
          this.on.authLost(error);
          return;
        }
        if (error instanceof ApiError && error.code === "unknown_channel" && this.previousChannel) {
          // A switch (by reconnecting) to a channel that is not open: back to the one we came from.
          this.channel = this.previousChannel;
          this.previousChannel = null;
          this.on.switchFailed(error);
          continue;
        }
        attempt += 1;
        const delay = this.backoff(error, attempt);
        this.on.state("waiting", { error, attempt, delay, reconnecting: this.everLive });
        await this.wait(delay);
        continue;
      }
      if (this.abort.signal.aborted) return;
      const outcome = await this.watch(info);
      if (this.abort.signal.aborted) return;
      if (this.reconnectNow) {
        this.reconnectNow = false;
        this.switching = true;
        attempt = 0;
        continue;
      }
      if (outcome.wasLive) attempt = 0;
      attempt += 1;
      this.on.state("reconnecting", { attempt, reason: outcome.reason });
      // The first retry is quick: a dropped socket usually means a node went away and another is ready.
      await this.wait(attempt === 1 ? 200 : Math.min(8000, 400 * 2 ** attempt) * (0.75 + Math.random() / 2));
    }
  }

  backoff(error, attempt) {
    const jitter = 0.75 + Math.random() / 2;
    if (error.code === "tier_limit") return Math.min(5000, 1000 * attempt) * jitter;
    const base = error.retryAfter ? error.retryAfter * 1000 : 1000;
    return Math.min(30000, base * 2 ** (attempt - 1)) * jitter;
  }

  /** Resolves when the connection ends: {wasLive, reason}. */
  watch(info) {
    return new Promise((resolve) => {
      const open = (transport, fellBack) => {
        let live = false;
        const finish = (reason, code) => {
          this.socket = null;
          // 1006: the WebSocket could not be opened at all (a proxy, a blocked upgrade). A node that refuses the
          // ticket closes with 1008 instead, and then a new ticket is what helps, not another transport.
          if (!live && transport === "ws" && !fellBack && code === 1006) {
            // The WebSocket never came up; the ticket is still unused, so try the same node over SSE.
            this.transport = "sse";
            open("sse", true);
            return;
          }
          if (!live && fellBack) this.transport = "ws"; // SSE failed too: not a WebSocket problem.
          this.endWatch = null;
          resolve({ wasLive: live, reason });
        };
        this.endWatch = (reason) => finish(reason);
        const onText = (text) => {
          let message;
          try { message = JSON.parse(text); } catch { return; }
          if (message.type === "hello") {
            if (message.channel && message.channel !== this.channel) return; // a switch overtaken by another
            live = true;
            this.everLive = true;
            this.previousChannel = null;
            if (this.lastSeq === null) this.lastSeq = message.seq;
            this.on.hello(message, transport);
          } else if (message.type === "burst") {
            if (message.channel && message.channel !== this.channel) return; // still in flight from the old channel
            this.receive(message);
          } else if (message.type === "reconnect") {
            // The node is stopping: get a new ticket (and another node) now rather than wait for the close.
            const current = this.socket;
            if (current) { current.onclose = null; current.onerror = null; current.close(); }
            finish(message.reason || "node stopping");
          } else if (message.type === "error") {
            if (this.previousChannel && message.channel === this.channel) {
              this.channel = this.previousChannel; // refused: the node keeps us where we were
              this.previousChannel = null;
            }
            this.on.switchFailed(new ApiError(400, message));
          }
        };
        if (transport === "ws") {
          const socket = new WebSocket(this.withAfter(info.ws_url));
          this.socket = socket;
          socket.onmessage = (event) => onText(event.data);
          socket.onclose = (event) => finish(event.reason || "closed (" + event.code + ")", event.code);
        } else {
          const source = new EventSource(this.withAfter(info.sse_url));
          this.socket = source;
          source.onmessage = (event) => onText(event.data);
          // EventSource would retry by itself with the same, now used, ticket: close it and get a new one.
          source.onerror = () => { source.close(); finish("stream ended"); };
        }
      };
      open(this.transport, false);
    });
  }

  receive(burst) {
    if (this.lastSeq !== null && burst.seq <= this.lastSeq) return; // already shown (a replay after reconnecting)
    if (this.lastSeq !== null && burst.seq > this.lastSeq + 1) this.missed += burst.seq - this.lastSeq - 1;
    this.lastSeq = burst.seq;
    this.on.burst(burst, this.missed);
  }
}
