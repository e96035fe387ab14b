// Calls to the EmoStream API. Errors come back as ApiError with the server's JSON error code.

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || `request failed (${status})`);
    this.status = status;
    this.code = body?.error || (status === 0 ? "network" : "http_" + status);
    this.body = body || {};
    this.retryAfter = retryAfter;
  }
}

export async function api(path, { method = "POST", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = "Bearer " + token;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, { error: "network", message: "EmoStream cannot be reached. Check your connection." });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const retry = Number(response.headers.get("Retry-After"));
    throw new ApiError(response.status, data, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return data;
}

export const register = (name, password, tier) => api("/api/register", { body: { name, password, tier } });
export const login = (name, password) => api("/api/login", { body: { name, password } });
export const connect = (token, channel, replaces) =>
  api("/api/connect", { token, body: replaces ? { channel, replaces } : { channel } });
export const listChannels = () => api("/api/channels", { method: "GET" });
export const sendReaction = (userID, emojiType, channel) =>
  api("/api/emojis", { body: [{ user_id: userID, emoji_type: emojiType, timestamp: Date.now(), channel }] });
