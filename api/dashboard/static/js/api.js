// The JSON API of one workspace. The key, when there is one, goes in the Authorization header, never in a URL
// or a cookie.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function createApi({ workspace, key }) {
  const base = `/api/v1/workspaces/${encodeURIComponent(workspace)}`;

  async function request(method, path, { params, body } = {}) {
    const url = new URL(base + path, window.location.origin);
    for (const [name, value] of Object.entries(params ?? {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
    }
    const headers = { Accept: "application/json" };
    const secret = key();
    if (secret) headers.Authorization = `Bearer ${secret}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", "the server cannot be reached");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const problem = data && typeof data === "object" && data.error ? data.error : {};
      throw new ApiError(response.status, problem.code ?? "error", problem.message ?? response.statusText);
    }
    return data;
  }

  // The live stream (server-sent events), read with fetch so that the key travels in the header like every other
  // read (EventSource cannot send one). Resolves to the Response; its body is the event stream.
  function stream(lastEventId, signal) {
    const headers = { Accept: "text/event-stream" };
    const secret = key();
    if (secret) headers.Authorization = `Bearer ${secret}`;
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    return fetch(new URL(`${base}/stream`, window.location.origin), {
      headers,
      signal,
      credentials: "omit",
      cache: "no-store",
    });
  }

  return {
    get: (path, params) => request("GET", path, { params }),
    post: (path, body) => request("POST", path, { body }),
    stream,
  };
}
