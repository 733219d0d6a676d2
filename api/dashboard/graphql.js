// The page's only way to the server: /graphql with "Authorization: Bearer <key>" (POST, or
// GET by persisted-query hash), plus a compact view of the schema (introspection) so every
// widget can check that the fields it needs exist and degrade with a message instead of
// breaking the page.

export class ApiError extends Error {
  constructor(message, errors = []) {
    super(message);
    this.errors = errors;
  }
}

/** The hex SHA-256 of a text, or null where the browser has no WebCrypto (plain http). */
async function sha256Hex(text) {
  if (!globalThis.crypto?.subtle) return null;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const isQuery = (document) => /^\s*(query\b|\{)/.test(document);
const notFound = (body) => (body?.errors ?? []).some((e) => e.extensions?.code === "PERSISTED_QUERY_NOT_FOUND" || e.message === "PersistedQueryNotFound");

/**
 * Automatic persisted queries (docs/frontend.md): a query document goes once by POST with
 * its hash, then by GET with the hash and variables alone, which a browser or a CDN can
 * cache (revalidated every time here: `cache: "no-cache"` asks the server, which answers
 * 304 when nothing changed). Only once the server said it stored the document (the header
 * X-Persisted-Query: stored): a server without the protocol gets plain POSTs.
 */
export class Client {
  constructor(endpoint, key) {
    this.endpoint = endpoint;
    this.key = key;
    this.persisted = true;
    this.registered = new Set();
  }

  async send(url, init) {
    let response;
    try {
      response = await fetch(url, { ...init, headers: { ...init.headers, Authorization: `Bearer ${this.key}` } });
    } catch (err) {
      throw new ApiError(`cannot reach the API: ${err.message}`);
    }
    try {
      const body = await response.json();
      return { ...body, stored: response.headers.get("X-Persisted-Query") === "stored" };
    } catch {
      return { notJson: true, status: response.status };
    }
  }

  post(body) {
    return this.send(this.endpoint, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  /** The answer by hash (GET), or null when the document must be sent (again). */
  async byHash(hash, variables) {
    const url = new URL(this.endpoint);
    url.searchParams.set("extensions", JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }));
    url.searchParams.set("variables", JSON.stringify(variables));
    const body = await this.send(url.href, { method: "GET", cache: "no-cache", headers: { Accept: "application/json" } });
    if (body.notJson || notFound(body)) {
      this.registered.delete(hash);
      return null;
    }
    return body;
  }

  /** {data, errors}: GraphQL may answer some fields and fail others; callers decide. */
  async requestPartial(query, variables = {}) {
    const hash = this.persisted && isQuery(query) ? await sha256Hex(query) : null;
    let body = hash && this.registered.has(hash) ? await this.byHash(hash, variables) : null;
    if (body === null) {
      const extensions = hash && this.persisted ? { persistedQuery: { version: 1, sha256Hash: hash } } : undefined;
      body = await this.post({ query, variables, extensions });
      if (body.stored) this.registered.add(hash);
    }
    if (body.notJson) throw new ApiError(`the API answered HTTP ${body.status} without JSON`);
    return { data: body.data ?? null, errors: body.errors ?? [] };
  }

  /** The data, or an ApiError carrying every error message. */
  async request(query, variables = {}) {
    const { data, errors } = await this.requestPartial(query, variables);
    if (errors.length) throw new ApiError(errors.map((e) => e.message).join("; "), errors);
    return data;
  }
}

const TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
const SCHEMA_QUERY = `query DashboardSchema {
  __schema {
    queryType { name }
    types {
      name kind
      fields { name description args { name defaultValue type { ${TYPE_REF} } } type { ${TYPE_REF} } }
      inputFields { name type { ${TYPE_REF} } }
      enumValues { name }
      possibleTypes { name }
    }
  }
}`;

/** What the server offers, read once per connection. */
export class Schema {
  static async load(client) {
    const data = await client.request(SCHEMA_QUERY);
    return new Schema(data.__schema);
  }

  constructor(raw) {
    this.types = new Map(raw.types.map((t) => [t.name, t]));
    this.query = this.types.get(raw.queryType.name);
  }

  type(name) {
    return name ? this.types.get(name) ?? null : null;
  }

  /** A field of a type (by type name or type object), or null. */
  field(type, name) {
    const t = typeof type === "string" ? this.type(type) : type;
    return t?.fields?.find((f) => f.name === name) ?? null;
  }

  arg(field, name) {
    return field?.args?.find((a) => a.name === name) ?? null;
  }

  inputField(typeName, name) {
    return this.type(typeName)?.inputFields?.find((f) => f.name === name) ?? null;
  }

  /** The type object a field's (possibly wrapped) type refers to. */
  fieldType(field) {
    return field ? this.type(namedType(field.type)) : null;
  }

  enumValues(typeRef) {
    return this.type(namedType(typeRef))?.enumValues?.map((v) => v.name) ?? [];
  }

  /** Concrete object types behind a type: itself, or an interface's or union's members. */
  concreteTypes(type) {
    if (!type) return [];
    if (type.kind === "OBJECT") return [type];
    return (type.possibleTypes ?? []).map((p) => this.type(p.name)).filter(Boolean);
  }
}

/** The innermost type name of a type reference: [Deal!]! -> Deal. */
export function namedType(ref) {
  let t = ref;
  while (t && !t.name) t = t.ofType;
  return t?.name ?? null;
}

/** A type reference as GraphQL writes it, for variable declarations: [ID!]. */
export function typeString(ref) {
  if (ref.kind === "NON_NULL") return `${typeString(ref.ofType)}!`;
  if (ref.kind === "LIST") return `[${typeString(ref.ofType)}]`;
  return ref.name;
}

/** Whether a field's type is a leaf (scalar or enum, possibly non-null or a list). */
export function isLeaf(ref) {
  let t = ref;
  while (t && !t.name) t = t.ofType;
  return t?.kind === "SCALAR" || t?.kind === "ENUM";
}
