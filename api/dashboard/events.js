// syncFinished: the server-sent event stream that says new data has landed, so the page
// refreshes itself. Read with fetch() rather than EventSource, because EventSource cannot
// send an Authorization header and the API key must never travel in a URL.

const RETRY_MS = [1_000, 5_000, 15_000, 30_000];

/** Parse "event:/data:/id:" blocks out of a text/event-stream, calling ``onEvent``. */
export function parseStream(buffer, onEvent) {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    let type = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue; // a keep-alive comment
      const [field, ...value] = line.split(":");
      const text = value.join(":").replace(/^ /, "");
      if (field === "event") type = text;
      else if (field === "data") data.push(text);
    }
    if (data.length) onEvent(type, data.join("\n"));
  }
  return rest;
}

export class SyncEvents {
  constructor(endpoint, key, onFinished) {
    this.endpoint = endpoint;
    this.key = key;
    this.onFinished = onFinished;
    this.controller = null;
    this.failures = 0;
  }

  /** Listen to these workspaces (any earlier stream is closed). */
  watch(workspaceIds) {
    this.close();
    const url = new URL(this.endpoint);
    for (const id of workspaceIds) url.searchParams.append("workspaceId", id);
    this.controller = new AbortController();
    this.listen(url.href, this.controller.signal);
  }

  close() {
    this.controller?.abort();
    this.controller = null;
  }

  async listen(url, signal) {
    while (!signal.aborted) {
      try {
        const response = await fetch(url, {
          headers: { Authorization: `Bearer ${this.key}`, Accept: "text/event-stream" },
          signal,
        });
        if ([204, 401, 403, 404].includes(response.status)) return; // no stream from this server
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        document.body.dataset.events = "open";
        this.failures = 0;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = parseStream(buffer + value, (type, data) => {
            if (type === "syncFinished") this.onFinished(JSON.parse(data));
          });
        }
      } catch (err) {
        if (signal.aborted) return;
      }
      document.body.dataset.events = "closed";
      const wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
      this.failures += 1;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
